"""The CLI contract, run as a user runs it: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from reports.schema import validate_report
from scanner import snapshot
from scanner.demo.build import build
from tests.conftest import FIXED_NOW

SPINE_RULES = {
    "KV-REC-001",
    "KV-REC-002",
    "KV-REC-003",
    "KV-NET-001",
    "KV-NET-002",
    "KV-LOG-001",
    "KV-TIER-002",
    "KV-KEY-001",
    "KV-LIFE-001",
    "KV-LIFE-004",
    "KV-ACC-001",
}


def test_demo_writes_valid_json_and_html_with_every_spine_rule_failing(kvaudit, tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    result = kvaudit("demo", "-o", f"json:{out_json}", "-o", f"html:{out_html}", "--now", FIXED_NOW)
    assert result.returncode == 0, result.stderr
    report = json.loads(out_json.read_text())
    validate_report(report)
    failing = {f["rule_id"] for f in report["findings"] if f["status"] == "FAIL"}
    assert SPINE_RULES <= failing
    passing = {f["rule_id"] for f in report["findings"] if f["status"] == "PASS"}
    assert SPINE_RULES <= passing
    html = out_html.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "kv-nw-legacy" in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_scan_snapshot_exit_codes(kvaudit, tmp_path: Path) -> None:
    snap = tmp_path / "estate.json"
    snapshot.save(build(), snap)
    assert kvaudit("scan", str(snap), "--fail-on", "high", "--now", FIXED_NOW).returncode == 1
    assert kvaudit("scan", str(snap), "--fail-on", "critical", "--now", FIXED_NOW).returncode == 0
    assert kvaudit("scan", str(snap), "--fail-on", "none", "--now", FIXED_NOW).returncode == 0


def test_incomplete_scan_exits_3(kvaudit, tmp_path: Path) -> None:
    inv = build()
    from scanner.inventory import frame

    inv.tables["collection_errors"] = frame(
        "collection_errors",
        [
            {
                "id": "/x",
                "vault_id": "/x",
                "operation": "keys.list",
                "affects": ["keys"],
                "status_code": 403,
                "error": "Forbidden",
            }
        ],
    )
    snap = tmp_path / "estate.json"
    snapshot.save(inv, snap)
    result = kvaudit("scan", str(snap), "-o", f"json:{tmp_path / 'r.json'}", "--now", FIXED_NOW)
    assert result.returncode == 3
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["coverage"]["complete"] is False
    assert report["coverage"]["collection_errors"][0]["operation"] == "keys.list"


def test_usage_and_input_errors_are_one_line_exit_2(kvaudit, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "kvaudit-snapshot", "version": 1, "tables": {')
    cases = [
        ("scan",),
        ("scan", str(tmp_path / "missing.json")),
        ("scan", str(bad)),
        ("scan", str(bad), "-o", "pdf:x"),
        ("demo", "--policy", str(tmp_path / "nope.toml")),
        ("demo", "--now", "yesterday-ish"),
        ("frobnicate",),
    ]
    for args in cases:
        result = kvaudit(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("kvaudit: error:")]
        assert len(errors) == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_policy_file_names_the_file(kvaudit, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[rules.KV-REC-002]\nmin_days = 3\n")
    result = kvaudit("demo", "--policy", str(policy))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"kvaudit: error: {policy}:2: rule KV-REC-002 has no parameter 'min_days' (parameters: min_retention_days)"
    )


def test_rules_lists_the_catalogue_with_mappings(kvaudit) -> None:
    result = kvaudit("rules", "--format", "json")
    assert result.returncode == 0
    catalogue = json.loads(result.stdout)
    ids = [entry["id"] for entry in catalogue]
    assert ids == sorted(ids) and SPINE_RULES <= set(ids)
    purge = next(e for e in catalogue if e["id"] == "KV-REC-003")
    assert {"framework": "CIS-Azure-6.0.0", "control": "8.3.5"}.items() <= purge["compliance"][0].items() or any(
        m["framework"].startswith("CIS") for m in purge["compliance"]
    )
    text = kvaudit("rules").stdout
    assert "KV-REC-003" in text and "controls:" in text


def test_report_to_stdout_is_valid(kvaudit) -> None:
    result = kvaudit("demo", "-o", "json", "--now", FIXED_NOW, "--omit-passed")
    report = json.loads(result.stdout)
    validate_report(report)
    assert not any(f["status"] == "PASS" for f in report["findings"])
    assert report["summary"]["by_status"]["PASS"] > 0


def test_python_dash_m_and_version(kvaudit) -> None:
    result = kvaudit("--version")
    assert result.returncode == 0 and result.stdout.startswith("kvaudit ")


def test_schema_id_names_the_report_schema_version() -> None:
    from reports.model import SCHEMA_VERSION
    from reports.schema import report_schema

    assert report_schema()["$id"].endswith(f"report-{SCHEMA_VERSION}.json")
