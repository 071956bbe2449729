"""The HTML report in a real headless Chromium: it runs cleanly offline, filters, and stays inert.

Skipped, with the reason, when Debian's ``chromium`` is not installed (.ci/run installs it).
A screenshot is written to tests/artifacts/report.png for a human to look at.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from reports.renderers import get_renderer
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
