"""A Markdown summary sized for a pull-request comment or a CI step summary.

Only what a reviewer acts on: counts, the top failing findings, coverage and suppressions.
Resource names come from templates and live estates that an attacker may control, and GitHub
renders both Markdown and inline HTML in comments, so every value goes through :func:`cell`.
"""

from __future__ import annotations

from typing import Any

from kvaudit.reports.renderers.common import SEVERITIES, STATUSES, failing, percent, suppressed_counts, where
from kvaudit.scanner.textsafe import markdown_text

#: How many failing findings the table lists; the rest are counted, not listed (comments have limits).
TOP_FINDINGS = 20


def cell(value: Any, limit: int = 200) -> str:
    """Plain text safe inside a Markdown table cell (see :func:`scanner.textsafe.markdown_text`)."""
    return markdown_text(value, limit)


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A GitHub-flavoured table whose cells are escaped; headers are trusted literals."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _headline(report: dict[str, Any], open_failures: list[dict[str, Any]]) -> str:
    if not open_failures:
        verdict = "no unsuppressed failing findings"
    else:
        by_sev = {s: 0 for s in SEVERITIES}
        for finding in open_failures:
            by_sev[finding["severity"]] += 1
        verdict = f"{len(open_failures)} failing finding" + ("s" if len(open_failures) != 1 else "")
        verdict += " (" + ", ".join(f"{n} {s}" for s, n in by_sev.items() if n) + ")"
    coverage = "" if report["coverage"]["complete"] else " — **scan incomplete**"
    return f"## kvaudit: {verdict}{coverage}"


def render(report: dict[str, Any]) -> str:
    findings = report["findings"]
    open_failures = failing(findings)
    summary = report["summary"]
    scan = report["scan"]
    lines = [_headline(report, open_failures), ""]
    lines.append(
        f"Tool {cell(report['tool']['version'])}, rule set {cell(scan['ruleset_version'])}, "
        f"evaluated at {cell(scan['evaluated_at'])}; pass rate {percent(summary['pass_rate'])}."
    )
    lines.append("")
    lines += table(list(STATUSES), [[summary["by_status"].get(s, 0) for s in STATUSES]])
    lines.append("")
    lines += table(
        ["Severity", "Failing (all)", "Failing (unsuppressed)"],
        [
            [s, summary["failing_by_severity"].get(s, 0), sum(1 for f in open_failures if f["severity"] == s)]
            for s in SEVERITIES
        ],
    )
    lines.append("")
    if open_failures:
        lines.append(f"### Top failing findings ({min(TOP_FINDINGS, len(open_failures))} of {len(open_failures)})")
        lines.append("")
        rows = [
            [
                f["severity"],
                f["rule_id"],
                f["resource"].get("name") or f["resource"]["id"],
                where(f) or "",
                f["message"],
            ]
            for f in open_failures[:TOP_FINDINGS]
        ]
        lines += table(["Severity", "Rule", "Resource", "Location", "Message"], rows)
        lines.append("")
    lines += _coverage(report)
    counts = suppressed_counts(report)
    active = counts["baseline"] + counts["waiver"] + counts["inline"]
    lines.append(
        f"**Suppressed:** {active} (baseline {counts['baseline']}, waiver {counts['waiver']}, "
        f"inline {counts['inline']}); expired waivers: {counts['expired']}."
    )
    if report.get("integrity"):
        lines += ["", f"Report digest (sha256): `{cell(report['integrity'].get('digest'))}`"]
    return "\n".join(lines) + "\n"


def _coverage(report: dict[str, Any]) -> list[str]:
    coverage = report["coverage"]
    if coverage["complete"]:
        return ["**Coverage:** complete.", ""]
    gaps = coverage["collection_errors"]
    lines = [
        f"**Coverage:** incomplete — {len(gaps)} collection error(s), {len(coverage['rule_errors'])} rule error(s).",
        "",
    ]
    if gaps:
        lines += ["<details><summary>Coverage gaps</summary>", ""]
        lines += table(
            ["Resource", "Operation", "Error"],
            [[g.get("resource_id"), g.get("operation"), g.get("error")] for g in gaps[:50]],
        )
        lines += ["", "</details>", ""]
    return lines
