"""Report rendering at scale: size and render time of every format at 100,000 findings, and the
HTML report's load and filter time in headless Chromium (median of several runs).

    python -m bench.report_scale [--findings 100000] [--runs 5] [--no-browser]

The report is the demo's, with its findings replicated onto distinct resources (and distinct
fingerprints) up to the requested count, so that renderers see realistic messages, evidence,
suppressions and rule mappings without the cost of a million-key inventory scan.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import header, median

MiB = 1024 * 1024


def scaled_report(count: int) -> dict[str, Any]:
    from kvaudit.reports.integrity import seal
    from kvaudit.reports.model import fingerprint
    from kvaudit.reports.posture import refresh
    from tests.reports.fixtures import build_golden_report

    base = build_golden_report()
    base.pop("integrity", None)
    template = [f for f in base["findings"] if f["status"] != "NOT_APPLICABLE"]
    findings = []
    for i in range(count):
        finding = copy.deepcopy(template[i % len(template)])
        resource_id = f"{finding['resource']['id']}-{i:06d}"
        finding["resource"] = {
            **finding["resource"],
            "id": resource_id,
            "name": f"{finding['resource']['name']}-{i:06d}",
        }
        finding["fingerprint"] = fingerprint(finding["rule_id"], resource_id)
        findings.append(finding)
    base["findings"] = findings
    return seal(refresh(base))


def time_renderers(report: dict[str, Any], runs: int, out: Path) -> dict[str, Path]:
    from kvaudit.reports.renderers import RENDERERS, get_renderer

    paths = {}
    print(f"{'format':<14}{'size':>12}{'render (median)':>18}")
    for name in RENDERERS:
        renderer = get_renderer(name)
        timings, text = [], ""
        for _ in range(max(1, runs // 2)):
            started = time.perf_counter()
            text = renderer(report)
            timings.append(time.perf_counter() - started)
        path = out / f"report.{name}"
        path.write_text(text, encoding="utf-8")
        paths[name] = path
        print(f"{name:<14}{path.stat().st_size / MiB:>10.1f} MiB{median(timings):>16.2f} s")
    return paths


async def browser_timings(html: Path, runs: int) -> None:
    from tests.reports.browser import Browser

    loads, filters, searches, vault_pages, control_lists = [], [], [], [], []
    for _ in range(runs):
        async with Browser() as browser:
            page = await browser.page()
            loads.append(await page.navigate(html.as_uri()))
            rows = await page.evaluate("document.querySelectorAll('#findings-body tr.finding').length")
            filters.append(
                await page.evaluate(
                    "(() => { const t = performance.now();"
                    " document.querySelector('input.sev-filter[value=high]').click();"
                    " return (performance.now() - t) / 1000; })()"
                )
            )
            searches.append(
                await page.evaluate(
                    "new Promise(done => { const s = document.getElementById('filter-search');"
                    " const c = document.getElementById('findings-count'); const before = c.textContent;"
                    " s.value = 'kv-nw-legacy-0500'; const t = performance.now();"
                    " s.dispatchEvent(new Event('input'));"
                    " const poll = () => c.textContent !== before ? done((performance.now() - t - 120) / 1000)"
                    " : setTimeout(poll, 2); poll(); })"
                )
            )
            for fragment, timings in (("vault=1", vault_pages), ("control=CIS-Azure-6.0.0/8.3.7", control_lists)):
                timings.append(
                    await page.evaluate(
                        "new Promise(done => { const t = performance.now();"
                        " window.addEventListener('hashchange', () => setTimeout(() =>"
                        " done((performance.now() - t) / 1000), 0), {once: true});"
                        f" location.hash = {fragment!r}; }})"
                    )
                )
            problems = page.problems()
            await page.close()
        if rows != 50 or problems:
            raise RuntimeError(f"report did not render cleanly: {rows} rows, problems {problems}")
    print(f"chromium load to 'load' event (first page of 50 rows drawn): median {median(loads):.2f} s over {runs} runs")
    print(f"severity filter over all findings:                           median {median(filters) * 1000:.0f} ms")
    print(
        f"first search (after the 120 ms debounce):                    median {max(median(searches), 0) * 1000:.0f} ms"
    )
    print(f"open a vault page (#vault=1):                                 median {median(vault_pages) * 1000:.0f} ms")
    print(f"open a control's resource list (#control=...):               median {median(control_lists) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    header("report rendering at scale", f"{args.findings} findings (demo findings replicated), {args.runs} runs")
    started = time.perf_counter()
    report = scaled_report(args.findings)
    print(f"built the report in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory(prefix="kvaudit-bench-") as tmp:
        paths = time_renderers(report, args.runs, Path(tmp))
        if not args.no_browser:
            from tests.reports.browser import chromium_path

            if chromium_path() is None:
                print("chromium not installed: browser timings skipped (apt-get install -y chromium)")
            else:
                asyncio.run(browser_timings(paths["html"], args.runs))


if __name__ == "__main__":
    main()
