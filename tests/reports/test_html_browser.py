"""The HTML report in a real headless Chromium: it runs cleanly offline, filters, and stays inert.

Skipped, with the reason, when Debian's ``chromium`` is not installed (.ci/run installs it).
Screenshots are written to tests/artifacts/ for a human to look at (the findings table, the
summary, the fix-first list, a vault page and a control's resource list). Layout is asserted
from element boxes at a 1280 px window, never from pixels.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kvaudit.reports.renderers import get_renderer
from tests.reports.browser import Browser, chromium_path
from tests.reports.fixtures import HOSTILE, golden_report

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="chromium is not installed (apt-get install -y chromium)"
)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ROWS = "document.querySelectorAll('#findings-body tr.finding').length"


async def _set(page: Any, element_id: str, value: str, event: str = "change") -> None:
    """Set a filter control's value and fire the event a user's edit would fire."""
    await page.evaluate(
        f"(() => {{ const e = document.getElementById({json.dumps(element_id)}); e.value = {json.dumps(value)};"
        f" e.dispatchEvent(new Event({json.dumps(event)})); }})()"
    )
    if event == "input":
        await asyncio.sleep(0.4)  # text boxes are debounced


def _run(html: str, tmp_path: Path, steps: Callable[[Any], Awaitable[None]]) -> None:
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")

    async def main() -> None:
        async with Browser() as browser:
            page = await browser.page()
            await page.navigate(path.as_uri())
            await steps(page)
            await page.close()

    asyncio.run(main())


def test_report_loads_without_errors_and_filters_by_severity(tmp_path: Path) -> None:
    report = golden_report()
    high = sum(1 for f in report["findings"] if f["severity"] == "high")
    total = len(report["findings"])

    async def steps(page: Any) -> None:
        await page.send(
            "Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False
        )
        assert await page.evaluate("document.getElementById('findings-js').hidden") is False
        assert await page.evaluate(ROWS) == min(total, 50)
        assert await page.evaluate("document.getElementById('findings-count').textContent") == (
            f"Showing 1\u2013{min(total, 50)} of {total}"
        )
        # Untick every severity but "high": only high findings remain.
        await page.evaluate(
            "document.querySelectorAll('input.sev-filter').forEach(b => { if (b.value !== 'high') b.click(); })"
        )
        assert await page.evaluate(ROWS) == min(high, 50)
        shown = await page.evaluate(
            "Array.from(document.querySelectorAll('#findings-body tr.finding .sev')).map(e => e.textContent)"
        )
        assert set(shown) == {"high"}
        assert await page.evaluate("document.getElementById('findings-count').textContent") == (
            f"Showing 1\u2013{min(high, 50)} of {high} (filtered from {total})"
        )
        await page.screenshot(ARTIFACTS / "report.png")
        assert page.problems() == []

    _run(get_renderer("html")(report), tmp_path, steps)


def test_search_status_control_links_and_details(tmp_path: Path) -> None:
    report = golden_report()
    suppressed = sum(1 for f in report["findings"] if (f["suppression"] or {}).get("active"))

    async def steps(page: Any) -> None:
        await _set(page, "filter-supp", "suppressed")
        assert await page.evaluate(ROWS) == suppressed
        await _set(page, "filter-supp", "")
        # A control-matrix count link filters the table to that control's failing results.
        link = await page.evaluate(
            "(() => { const a = document.querySelector('a[data-framework][data-status=FAIL]'); a.click();"
            " return [a.getAttribute('data-framework'), a.getAttribute('data-control'), a.textContent]; })()"
        )
        assert await page.evaluate(ROWS) == int(link[2])
        assert await page.evaluate("document.getElementById('control-filter').hidden") is False
        # Open the first row's details: evidence and remediation appear.
        await page.evaluate("document.querySelector('#findings-body tr.finding').click()")
        detail = await page.evaluate("document.querySelector('#findings-body tr.detail').textContent")
        assert "Evidence" in detail and "Remediation (az CLI)" in detail
        await page.evaluate("document.getElementById('control-filter-clear').click()")
        await _set(page, "filter-status", "")
        # Search by fingerprint finds exactly that finding.
        fingerprint = report["findings"][7]["fingerprint"]
        await _set(page, "filter-search", fingerprint, "input")
        found = await page.evaluate(
            "Array.from(document.querySelectorAll('#findings-body tr.finding')).map(r => r.dataset.fingerprint)"
        )
        assert found == [fingerprint]
        assert page.problems() == []

    _run(get_renderer("html")(report), tmp_path, steps)


def test_hostile_resource_name_is_text_and_never_runs(tmp_path: Path) -> None:
    report = golden_report()
    target = next(f for f in report["findings"] if f["resource"]["name"] == HOSTILE)

    async def steps(page: Any) -> None:
        await _set(page, "filter-search", target["fingerprint"], "input")
        name = await page.evaluate("document.querySelector('#findings-body tr.finding .res-name').textContent")
        assert name == HOSTILE
        assert await page.evaluate("document.querySelectorAll('img').length") == 0
        assert await page.evaluate("document.querySelectorAll('script').length") == 2
        assert page.dialogs == []
        assert page.problems() == []

    _run(get_renderer("html")(report), tmp_path, steps)


# --- layout, routed pages and print ----------------------------------------------------------

WIDTH = 1280
#: Every visible element's right edge, the page's scroll width and the findings table's width.
LAYOUT = """(() => {
  const doc = document.documentElement, cw = doc.clientWidth, wide = [];
  document.querySelectorAll('body *').forEach(e => {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > cw + 0.5) wide.push(e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className);
  });
  const table = document.getElementById('findings-table').getBoundingClientRect();
  return {scroll: doc.scrollWidth, client: cw, wide: wide.slice(0, 10), table: table.width};
})()"""
#: Per Type cell: how many lines its text takes (1: it does not wrap), its width, text and tooltip.
TYPE_CELLS = """(() => Array.from(document.querySelectorAll('#findings-body td.col-type')).map(td => {
  const range = document.createRange(); range.selectNodeContents(td);
  const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size;
  return [lines, Math.round(td.getBoundingClientRect().width), td.textContent, td.title];
}))()"""


async def _at_width(page: Any, width: int = WIDTH, height: int = 900) -> None:
    await page.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)


async def _go(page: Any, fragment: str) -> None:
    await page.evaluate(f"location.hash = {json.dumps(fragment)}")
    await asyncio.sleep(0.2)


async def _assert_fits(page: Any) -> None:
    layout = await page.evaluate(LAYOUT)
    assert layout["scroll"] <= layout["client"], layout
    assert layout["wide"] == [], layout
    assert layout["table"] <= layout["client"], layout


def _vault_index(report: dict[str, Any], name: str) -> int:
    return [v["name"] for v in report["vaults"]].index(name)


def test_layout_fits_1280_px_with_no_horizontal_scroll(tmp_path: Path) -> None:
    report = golden_report()
    legacy = _vault_index(report, "kv-nw-legacy")

    async def steps(page: Any) -> None:
        await _at_width(page)
        await page.evaluate(
            "document.getElementById('page-size').value = '500';"
            "document.getElementById('page-size').dispatchEvent(new Event('change'))"
        )
        await _assert_fits(page)
        # The Type column shows the type's last segment on one line (full type in its tooltip).
        cells = await page.evaluate(TYPE_CELLS)
        assert len(cells) == len(report["findings"])
        assert {lines for lines, _, _, _ in cells} == {1}
        assert min(width for _, width, _, _ in cells) >= 100
        assert [(text, title) for _, _, text, title in cells] == [
            ((f["resource"]["type"] or "").rsplit("/", 1)[-1], f["resource"]["type"] or "") for f in report["findings"]
        ]
        # An expanded finding (evidence, remediation snippets) still fits.
        await page.evaluate("document.querySelector('#findings-body tr.finding').click()")
        await _assert_fits(page)
        for fragment in (f"vault={legacy}", "control=" + "CIS-Azure-6.0.0/8.3.7", "fix-first", "controls", "rules"):
            await _go(page, fragment)
            await _assert_fits(page)
        assert page.problems() == []

    _run(get_renderer("html")(report), tmp_path, steps)


def test_fix_first_leads_to_the_vault_page(tmp_path: Path) -> None:
    report = golden_report()
    first = report["fix_first"][0]
    mine = [f for f in report["findings"] if f["resource"]["vault_id"] == first["vault_id"]]
    listed = [f for f in mine if f["status"] not in ("PASS", "NOT_APPLICABLE")]

    async def steps(page: Any) -> None:
        await _at_width(page)
        groups = await page.evaluate(
            "Array.from(document.querySelectorAll('.fix-group .fix-head .vault-link')).map(a => a.textContent)"
        )
        assert groups == [g["name"] for g in report["fix_first"] if g["vault_id"]]
        actions = await page.evaluate(
            "Array.from(document.querySelectorAll('.fix-group:first-child .fix-actions li strong')).map(e => e.textContent)"
        )
        assert actions == [a["rule_id"] for a in first["actions"][:10]]
        await _go(page, "fix-first")
        await page.screenshot(ARTIFACTS / "fix-first.png")
        await page.evaluate("document.querySelector('.fix-group .vault-link').click()")
        await asyncio.sleep(0.2)
        assert await page.evaluate("document.getElementById('view').hidden") is False
        assert await page.evaluate("document.getElementById('findings').offsetParent") is None  # the page stands alone
        assert await page.evaluate("document.querySelector('#view h2').textContent") == f"Managed HSM {first['name']}"
        props = await page.evaluate(
            "Object.fromEntries(Array.from(document.querySelectorAll('#view .props div')).map(d =>"
            " [d.querySelector('dt').textContent, d.querySelector('dd').textContent]))"
        )
        vault = next(v for v in report["vaults"] if v["id"] == first["vault_id"])
        assert props["keys"] == str(vault["keys"]) and props["consumers of its keys"] == str(vault["consumers"])
        assert props["sku"] == vault["properties"]["sku"]
        assert props["security domain activated"] == "true" and "rbac authorization enabled" not in props
        rows = await page.evaluate(
            "Array.from(document.querySelectorAll('#view table.view-findings tbody tr')).map(r =>"
            " r.cells[2].querySelector('strong').textContent)"
        )
        assert sorted(rows) == sorted(f["rule_id"] for f in listed)
        await page.screenshot(ARTIFACTS / "vault-page.png")
        # "Show all" filters the findings table to this vault.
        await page.evaluate("document.querySelector('#view p a.no-print').click()")
        await asyncio.sleep(0.2)
        assert await page.evaluate("document.getElementById('view').hidden") is True
        assert await page.evaluate("document.getElementById('findings-count').textContent") == (
            f"Showing 1\u2013{min(len(mine), 50)} of {len(mine)} (filtered from {len(report['findings'])})"
        )
        assert page.problems() == []

    _run(get_renderer("html")(report), tmp_path, steps)


def test_control_resource_list_and_summary(tmp_path: Path) -> None:
    report = golden_report()
    control = next(
        c for c in report["compliance"]["controls"] if (c["framework"], c["control"]) == ("CIS-Azure-6.0.0", "8.3.7")
    )
    rank = {"failing": 3, "unknown": 2, "suppressed": 1, "passing": 0}
    states: dict[str, str] = {}
    for f in report["findings"]:
        if f["rule_id"] not in control["rules"] or f["status"] == "NOT_APPLICABLE":
            continue
        state = {"FAIL": "failing", "UNKNOWN": "unknown", "PASS": "passing"}[f["status"]]
        if f["status"] == "FAIL" and (f["suppression"] or {}).get("active"):
            state = "suppressed"
        name = f["resource"]["name"]
        if rank[state] > rank.get(states.get(name, "passing"), 0) or name not in states:
            states[name] = state
    expected = sorted(states.items(), key=lambda kv: (-rank[kv[1]], kv[0]))

    async def steps(page: Any) -> None:
        await _at_width(page, height=1240)  # tall enough to show the framework table
        await page.screenshot(ARTIFACTS / "summary.png")
        await _at_width(page)
        frameworks = await page.evaluate(
            "Array.from(document.querySelectorAll('#summary table.fit tbody tr')).map(r => r.cells[6].textContent)"
        )
        cis = [fw for fw in report["compliance"]["controls"] if fw["framework"] == "CIS-Azure-6.0.0"]
        passing, assessed = sum(c["passing"] for c in cis), sum(c["assessed"] for c in cis)
        assert frameworks[0] == f"{passing} of {assessed} ({passing / assessed * 100:.1f}%)"
        await page.evaluate("document.querySelector('#compliance a[href=\"#control=CIS-Azure-6.0.0/8.3.7\"]').click()")
        await asyncio.sleep(0.2)
        heading = await page.evaluate("document.querySelector('#view h2').textContent")
        assert heading == "CIS-Azure-6.0.0 8.3.7: Ensure Public Network Access is Disabled"
        summary = await page.evaluate("document.querySelector('#view p.muted').textContent")
        assert summary == (
            f"{control['assessed']} resources assessed: {control['passing']} passing, {control['failing']} failing, "
            f"{control['unknown']} unknown, {control['suppressed']} suppressed."
        )
        rows = await page.evaluate(
            "Array.from(document.querySelectorAll('#view table.view-resources tbody tr')).map(r =>"
            " [r.cells[0].textContent, r.cells[2].textContent])"
        )
        assert [tuple(r) for r in rows] == expected
        await page.screenshot(ARTIFACTS / "control-resources.png")
        assert page.problems() == []

    _run(get_renderer("html")(report), tmp_path, steps)


def test_a_scoped_control_lists_only_the_resources_in_its_scope(tmp_path: Path) -> None:
    """CIS 8.3.1 holds the keys of RBAC vaults and 8.3.2 those of access-policy vaults: the same
    rule's findings split between them, and a Managed HSM key is in neither."""
    report = golden_report()
    expected: dict[str, list[str]] = {"8.3.1": [], "8.3.2": []}
    for f in report["findings"]:
        if f["rule_id"] != "KV-LIFE-001" or f["status"] == "NOT_APPLICABLE":
            continue
        for mapping in f["compliance"]:
            if mapping["control"] in expected:
                expected[mapping["control"]].append(f["resource"]["name"])
    assert expected["8.3.1"] and expected["8.3.2"] and not set(expected["8.3.1"]) & set(expected["8.3.2"])

    async def steps(page: Any) -> None:
        for control, names in expected.items():
            await page.evaluate(f"location.hash = '#control=CIS-Azure-6.0.0/{control}'")
            await asyncio.sleep(0.2)
            rows = await page.evaluate(
                "Array.from(document.querySelectorAll('#view table.view-resources tbody tr')).map(r => r.cells[0].textContent)"
            )
            assert sorted(rows) == sorted(names), control
        assert page.problems() == []

    _run(get_renderer("html")(report), tmp_path, steps)


@pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext is not installed (apt-get install -y poppler-utils)"
)
def test_print_repeats_a_labelled_header_and_prints_a_vault_page_alone(tmp_path: Path) -> None:
    report = golden_report()
    pdf, vault_pdf = tmp_path / "report.pdf", tmp_path / "vault.pdf"
    kek = _vault_index(report, "hsm-nw-kek")

    async def steps(page: Any) -> None:
        result = await page.send("Page.printToPDF", printBackground=False, preferCSSPageSize=False)
        pdf.write_bytes(base64.b64decode(result["data"]))
        await _go(page, f"vault={kek}")
        result = await page.send("Page.printToPDF", printBackground=False, preferCSSPageSize=False)
        vault_pdf.write_bytes(base64.b64decode(result["data"]))

    def pdf_pages(path: Path) -> list[list[str]]:
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
        pages = [[line.strip() for line in page.splitlines() if line.strip()] for page in text.stdout.split("\f")]
        return [p for p in pages if p]

    _run(get_renderer("html")(report), tmp_path, steps)
    # A vault's page prints on its own: its properties and findings, none of the report's sections.
    vault_text = "\n".join("\n".join(p) for p in pdf_pages(vault_pdf))
    assert len(pdf_pages(vault_pdf)) <= 4
    assert "Managed HSM hsm-nw-kek" in vault_text and "Properties" in vault_text
    assert "Rule catalogue" not in vault_text and "Executive summary" not in vault_text
    pages = pdf_pages(pdf)
    assert len(pages) < 60
    start = next(i for i, p in enumerate(pages) if "Findings" in p)
    end = next(i for i, p in enumerate(pages) if "Coverage gaps" in p)
    assert end - start >= 2  # the findings table spans pages, so its header repeats
    for lines in pages[start + 1 : end + 1]:
        if lines[0] == "Coverage gaps":
            continue  # the next section begins on a page of its own
        assert lines[0].split() == ["Severity", "Status", "Rule", "Resource", "Message"], lines[:2]
    # Every finding is printed (up to the print limit), with its message.
    body = " ".join(" ".join(p) for p in pages[start : end + 1])
    assert body.count("FAIL") >= sum(1 for f in report["findings"] if f["status"] == "FAIL")
