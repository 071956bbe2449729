"""Renderers: goldens for every format, plus the properties each format promises."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from html import unescape as html_unescape
from importlib.resources import files
from typing import Any

import jsonschema
import pandas as pd
import pytest

from kvaudit.reports.renderers import RENDERERS, get_renderer
from kvaudit.reports.renderers.common import control_matrix
from kvaudit.reports.renderers.csv_report import defuse
from kvaudit.reports.renderers.markdown import cell
from tests.reports.fixtures import GOLDEN, HOSTILE, demo_report, golden_outputs, golden_report


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return golden_report()


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    return golden_outputs()


def test_every_registered_format_has_a_golden(outputs: dict[str, str]) -> None:
    assert set(RENDERERS) == {"json", "html", "sarif", "junit", "markdown", "csv", "csv-controls"}
    assert len(outputs) == len(RENDERERS) + 3


@pytest.mark.parametrize(
    "name",
    [
        "report.json",
        "report.html",
        "report.sarif",
        "report.junit.xml",
        "report.md",
        "report.csv",
        "report-controls.csv",
        "drift.json",
        "drift.md",
        "drift.html",
    ],
)
def test_output_matches_golden(name: str, outputs: dict[str, str]) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert outputs[name] == expected, f"{name} differs from tests/golden (regenerate: python -m tests.reports.fixtures)"


def test_rendering_is_deterministic(report: dict[str, Any]) -> None:
    for name in RENDERERS:
        assert get_renderer(name)(copy.deepcopy(report)) == get_renderer(name)(report)


def _schema() -> dict[str, Any]:
    return json.loads(files("kvaudit.reports").joinpath("schema/report.schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("build", [demo_report, golden_report])
def test_json_report_validates_against_the_schema(build: Any) -> None:
    rendered = json.loads(get_renderer("json")(build()))
    jsonschema.Draft202012Validator(_schema()).validate(rendered)


# --- HTML -------------------------------------------------------------------------------------


def _inline(html: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S)
    assert match, tag
    return match.group(1)


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_html_csp_allows_exactly_the_inline_style_and_script(outputs: dict[str, str]) -> None:
    html = outputs["report.html"]
    csp = html_unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert csp == (
        f"default-src 'none'; style-src {_sha(_inline(html, 'style'))}; script-src {_sha(_inline(html, 'script'))}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    assert html.count("<script") == 2  # the JSON data block and the one hashed script


def test_html_has_no_network_references(outputs: dict[str, str]) -> None:
    html = outputs["report.html"]
    assert not re.search(r'\s(src|href)="(https?:)?//', html)
    assert "@import" not in html and "url(" not in html


def test_html_escapes_hostile_values(outputs: dict[str, str]) -> None:
    html = outputs["report.html"]
    assert HOSTILE not in html
    assert "<img" not in html and "<script>alert" not in html
    data = re.search(r'<script type="application/json" id="kv-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and ">" not in data and "&" not in data
    rows = json.loads(data)["findings"]
    assert any(row[3] == HOSTILE for row in rows)
    assert "&lt;b&gt;tracked&lt;/b&gt;" in html  # a waiver justification, rendered server-side


def test_html_embeds_findings_not_the_inventory(report: dict[str, Any], outputs: dict[str, str]) -> None:
    html = outputs["report.html"]
    data = json.loads(re.search(r'id="kv-data">(.*?)</script>', html, re.S).group(1))
    assert set(data) == {"rules", "vaults", "controls", "passed_included", "findings"}
    assert [row[9] for row in data["findings"]] == [f["fingerprint"] for f in report["findings"]]
    # Vaults travel as compact summaries (no keys, versions or assignments), referenced by index.
    assert [v["name"] for v in data["vaults"]] == [v["name"] for v in report["vaults"]]
    assert set(data["vaults"][0]) == {
        "id",
        "display_id",
        "name",
        "kind",
        "source",
        "file",
        "properties",
        "keys",
        "consumers",
    }
    ids = [v["id"] for v in data["vaults"]]
    assert [None if row[13] is None else ids[row[13]] for row in data["findings"]] == [
        f["resource"]["vault_id"] if f["resource"]["vault_id"] in ids else None for f in report["findings"]
    ]


def test_html_sections_and_metadata(outputs: dict[str, str], report: dict[str, Any]) -> None:
    html = outputs["report.html"]
    for anchor in (
        "summary",
        "fix-first",
        "compliance",
        "vaults",
        "findings",
        "coverage",
        "exceptions",
        "controls",
        "rules",
        "metadata",
    ):
        assert f'<section id="{anchor}">' in html
    assert report["integrity"]["digest"] in html
    assert report["scan"]["policy"]["digest"] in html
    assert "W-002" in html and "expired" in html
    assert "ForbiddenByRbac: caller lacks Key Vault Reader" in html
    assert "@media print" in html
    # Times read as people write them: no ISO 'T', offsets or microseconds outside the data block.
    visible = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert (
        "Evaluated at <strong>2025-06-01 00:00 UTC</strong>; scan from 2025-06-01 00:00:00 UTC to 2025-06-01 00:00:07 UTC."
        in visible
    )
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", visible)


# --- control matrix ---------------------------------------------------------------------------


def _mini() -> dict[str, Any]:
    def rule(rule_id: str, controls: list[tuple[str, str]]) -> dict[str, Any]:
        return {"id": rule_id, "compliance": [{"framework": f, "control": c, "title": c} for f, c in controls]}

    def finding(rule_id: str, status: str, suppressed: bool = False) -> dict[str, Any]:
        return {
            "rule_id": rule_id,
            "status": status,
            "suppression": {"kind": "waiver", "active": True} if suppressed else None,
        }

    return {
        "rules": [
            rule("KV-A-001", [("CIS", "8.3.10"), ("NIST", "SC-12")]),
            rule("KV-B-001", [("CIS", "8.3.9")]),
            rule("KV-C-001", [("CIS", "8.3.2")]),
        ],
        "findings": [
            finding("KV-A-001", "FAIL"),
            finding("KV-A-001", "FAIL", suppressed=True),
            finding("KV-A-001", "PASS"),
            finding("KV-B-001", "UNKNOWN"),
            finding("KV-B-001", "PASS"),
        ],
    }


def test_control_matrix_counts_and_verdicts() -> None:
    matrix = control_matrix(_mini())
    rows = [
        (r["framework"], r["control"], r["verdict"], r["FAIL"], r["UNKNOWN"], r["PASS"], r["SUPPRESSED"])
        for r in matrix
    ]
    assert rows == [
        ("CIS", "8.3.2", "NO RESULTS", 0, 0, 0, 0),
        ("CIS", "8.3.9", "UNKNOWN", 0, 1, 1, 0),
        ("CIS", "8.3.10", "FAIL", 1, 0, 1, 1),
        ("NIST", "SC-12", "FAIL", 1, 0, 1, 1),
    ]


# --- SARIF ------------------------------------------------------------------------------------


def test_sarif_catalogue_results_locations_and_suppressions(report: dict[str, Any]) -> None:
    sarif = json.loads(get_renderer("sarif")(report))
    run = sarif["runs"][0]
    descriptors = run["tool"]["driver"]["rules"]
    # The catalogue, then each rule's companion for UNKNOWN results (no security-severity).
    ids = [r["id"] for r in report["rules"]]
    assert [r["id"] for r in descriptors] == ids + [i + "/unknown" for i in ids]
    rules, companions = descriptors[: len(ids)], descriptors[len(ids) :]
    assert all(r["properties"]["security-severity"] in {"9.5", "8.0", "5.5", "3.0", "1.0"} for r in rules)
    assert all("```" in r["help"]["markdown"] for r in rules)
    assert not any("security-severity" in c["properties"] for c in companions)
    assert [c["relationships"][0]["target"] for c in companions] == [{"id": i, "index": n} for n, i in enumerate(ids)]
    assert {c["defaultConfiguration"]["level"] for c in companions} == {"note"}
    open_findings = [f for f in report["findings"] if f["status"] in ("FAIL", "UNKNOWN")]
    placed = [f for f in open_findings if f["location"] and not (f["suppression"] or {}).get("active")]
    assert [r["partialFingerprints"]["kvaudit/v1"] for r in run["results"]] == [f["fingerprint"] for f in placed]
    hostile, in_module = run["results"]
    # A resource declared in a module: at the call in the root, its declaration related and linked.
    assert in_module["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "infra/main.tf", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 20},
    }
    assert in_module["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "infra/modules/kv/keys/main.tf", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 7},
            },
            "message": {"text": 'declared in module.kv.module.keys["cmk"]'},
        }
    ]
    assert in_module["message"]["text"].endswith(" (declared at [infra/modules/kv/keys/main.tf:7](1))")
    assert (in_module["properties"]["kvaudit/module"], in_module["properties"]["kvaudit/source"]) == (
        'module.kv.module.keys["cmk"]',
        "demo",
    )
    assert "relatedLocations" not in hostile and hostile["properties"]["kvaudit/module"] is None
    assert hostile["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "infra/main.bicep", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 12},
    }
    assert hostile["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == placed[0]["resource"]["id"]
    assert "suppressions" not in hostile
    assert run["properties"]["kvaudit/omitted"] == {
        "no-file": sum(1 for f in open_findings if not f["location"] and not (f["suppression"] or {}).get("active")),
        "outside-repository": 0,
        "suppressed": sum(1 for f in open_findings if (f["suppression"] or {}).get("active")),
    }
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"][0]["level"] == "warning"


def test_sarif_levels_follow_severity(report: dict[str, Any]) -> None:
    sarif = json.loads(get_renderer("sarif")(report))
    for result in sarif["runs"][0]["results"]:
        if result["kind"] == "fail":
            severity = result["properties"]["kvaudit/severity"]
            assert result["level"] == {"critical": "error", "high": "error", "medium": "warning"}.get(severity, "note")


# --- JUnit ------------------------------------------------------------------------------------


def test_junit_suites_cases_and_outcomes(report: dict[str, Any]) -> None:
    root = ET.fromstring(get_renderer("junit")(report).encode())
    suites = root.findall("testsuite")
    ruled = {f["rule_id"] for f in report["findings"]}
    assert len(suites) == len(ruled)
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(report["findings"]) == int(root.get("tests"))
    active_fail = [
        f for f in report["findings"] if f["status"] == "FAIL" and not (f["suppression"] or {}).get("active")
    ]
    assert int(root.get("failures")) == len(active_fail) == len(root.findall(".//failure"))
    skipped_expected = sum(
        1
        for f in report["findings"]
        if f["status"] in ("UNKNOWN", "NOT_APPLICABLE")
        or (f["status"] == "FAIL" and (f["suppression"] or {}).get("active"))
    )
    assert int(root.get("skipped")) == skipped_expected
    messages = [s.get("message") for s in root.findall(".//skipped")]
    assert any(m.startswith("suppressed by waiver W-001: Legacy vault") for m in messages)
    assert any(m.startswith("UNKNOWN: ") for m in messages)
    assert any(c.get("name") == HOSTILE for c in cases)


def test_junit_strips_characters_xml_cannot_carry(report: dict[str, Any]) -> None:
    bad = copy.deepcopy(report)
    bad["findings"][0]["message"] = "bell\x07 and nul\x00"
    ET.fromstring(get_renderer("junit")(bad).encode())  # parses: nothing invalid left


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_cell_escapes_html_markdown_and_mentions() -> None:
    assert cell("<b>x</b> | *y* [z](http://e) @team `c`") == (
        "&lt;b&gt;x&lt;/b&gt; \\| \\*y\\* \\[z\\]\\(http\\[:\\]//e\\) @\u200bteam \\`c\\`"
    )
    assert cell("line1\nline2") == "line1 line2"
    assert cell("x" * 300).endswith("…") and len(cell("x" * 300)) == 200


def test_markdown_summary_counts(outputs: dict[str, str], report: dict[str, Any]) -> None:
    md = outputs["report.md"]
    open_fail = [f for f in report["findings"] if f["status"] == "FAIL" and not (f["suppression"] or {}).get("active")]
    counts = [
        (s, sum(1 for f in open_fail if f["severity"] == s)) for s in ("critical", "high", "medium", "low", "info")
    ]
    by_severity = ", ".join(f"{n} {s}" for s, n in counts if n)
    assert md.startswith(f"## kvaudit: {len(open_fail)} failing findings ({by_severity}) — **scan incomplete**\n")
    assert "**Suppressed:** 3 (baseline 1, waiver 1, inline 1); expired waivers: 1." in md
    assert "<img" not in md and "<script" not in md


# --- CSV --------------------------------------------------------------------------------------


def test_csv_findings_round_trip(report: dict[str, Any]) -> None:
    frame = pd.read_csv(io.StringIO(get_renderer("csv")(report)), keep_default_na=False)
    assert len(frame) == len(report["findings"])
    assert list(frame["fingerprint"]) == [f["fingerprint"] for f in report["findings"]]
    waived = frame[frame["suppression_kind"] == "waiver"]
    assert sorted(waived["suppressed"].astype(str)) == ["False", "True"]
    assert json.loads(frame.loc[0, "evidence"]) == report["findings"][0]["evidence"]


def test_csv_defuses_formulas(report: dict[str, Any]) -> None:
    assert [defuse(v) for v in ("=1+2", "+x", "-y", "@z", "\tq", "ok", 5, None)] == [
        "'=1+2",
        "'+x",
        "'-y",
        "'@z",
        "'\tq",
        "ok",
        5,
        None,
    ]
    evil = copy.deepcopy(report)
    evil["findings"][0]["resource"]["name"] = '=HYPERLINK("http://evil","x")'
    frame = pd.read_csv(io.StringIO(get_renderer("csv")(evil)), keep_default_na=False)
    assert frame.loc[0, "resource_name"] == '\'=HYPERLINK("http://evil","x")'


def test_csv_controls_matches_the_matrix(report: dict[str, Any]) -> None:
    frame = pd.read_csv(io.StringIO(get_renderer("csv-controls")(report)), dtype=str, keep_default_na=False)
    matrix = control_matrix(report)
    assert list(zip(frame["framework"], frame["control"], frame["verdict"], strict=True)) == [
        (r["framework"], r["control"], r["verdict"]) for r in matrix
    ]
    assert list(frame["FAIL"].astype(int)) == [r["FAIL"] for r in matrix]


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_renderer_handles_the_live_demo_report(name: str) -> None:
    """The goldens use a frozen report; this keeps the renderers honest about today's rules."""
    text = get_renderer(name)(demo_report())
    assert text.endswith("\n") or text.endswith("</html>")


def test_html_renders_a_report_from_before_schema_1_2(report: dict[str, Any]) -> None:
    """History keeps older reports: without per-control states, vaults or fix-first they still render."""
    old = copy.deepcopy(report)
    for key in ("compliance", "vaults", "fix_first"):
        old.pop(key)
    for finding in old["findings"]:
        finding["resource"].pop("vault_id")
    html = get_renderer("html")(old)
    assert "No unsuppressed failures." not in html
    assert html.count("This report predates report schema 1.2.0") == 2  # fix-first and controls
    data = json.loads(re.search(r'id="kv-data">(.*?)</script>', html, re.S).group(1))
    assert data["vaults"] == [] and data["controls"] == []
    assert {row[13] for row in data["findings"]} == {None}
