"""What ``kvaudit scan`` prints on the console: the failing findings, then one summary line.

A pre-commit hook or a CI log is often the only place a developer sees the result, so the
listing answers "what failed, where, and how do I fix it" without opening a report: findings are
grouped by file (or, for live Azure and snapshots, by vault or HSM), and each shows severity,
rule, resource, ``file:line``, a one-line message and a one-line fix hint taken from the rule's
remediation for the toolchain of that file.

On a terminal the listing is coloured with rich; anywhere else (a pipe, a CI log) it is plain
text with the same content. Resource names and messages come from files anyone can write, so
every control character, C1 control and bidirectional override is shown as a visible escape
before it reaches the terminal (:func:`visible`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any, TextIO

from kvaudit.reports.renderers.common import SEVERITIES, STATUSES, failing, is_suppressed, where
from kvaudit.scanner.textsafe import terminal_text

#: Longest message and fix hint shown on one line; the report holds the full text.
MESSAGE_WIDTH = 200
FIX_WIDTH = 160
_VAULT = re.compile(r"^.*?/providers/microsoft\.keyvault/(?:vaults|managedhsms)/([^/]+)", re.IGNORECASE)
_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
#: Which remediation snippet fits a file, by suffix; anything else gets the az CLI command.
_FIX_FOR_SUFFIX = {".tf": "terraform", ".tfvars": "terraform", ".json": "arm_bicep", ".bicep": "arm_bicep"}


def visible(text: object) -> str:
    """``text`` with every unsafe character replaced by a visible escape (``\\x1b``, ``\\u202e``)."""
    return terminal_text(text)


def one_line(text: object, width: int) -> str:
    """Whitespace collapsed, escaped, and cut to ``width`` characters with an ellipsis."""
    flat = visible(" ".join(str(text).split()))
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def group_label(finding: dict[str, Any]) -> str:
    """The group a finding is listed under: its file, else the vault or HSM it belongs to."""
    location = finding.get("location") or {}
    if location.get("file"):
        return str(location["file"])
    match = _VAULT.match(finding["resource"]["id"])
    return f"{match.group(1)} (Azure)" if match else f"{finding['resource']['id']} (Azure)"


def fix_hint(finding: dict[str, Any], rules: dict[str, dict[str, Any]]) -> str:
    """The first line of the rule's remediation for the finding's toolchain (az CLI otherwise)."""
    remediation = rules.get(finding["rule_id"], {}).get("remediation", {})
    file = str((finding.get("location") or {}).get("file") or "")
    suffix = file[file.rfind(".") :].lower() if "." in file else ""
    snippet = remediation.get(_FIX_FOR_SUFFIX.get(suffix, "cli")) or remediation.get("cli") or ""
    lines = [line for line in str(snippet).splitlines() if line.strip()]
    return one_line(lines[0], FIX_WIDTH) if lines else ""


def grouped_failures(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Unsuppressed FAIL findings by group, groups sorted by name, most severe first within one."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in failing(report["findings"]):
        groups.setdefault(group_label(finding), []).append(finding)
    return [(label, groups[label]) for label in sorted(groups)]


def _rows(report: dict[str, Any]) -> Iterable[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """Each group with, per finding, the fields of its lines (all escaped)."""
    rules = {rule["id"]: rule for rule in report["rules"]}
    for label, findings in grouped_failures(report):
        yield (
            visible(label),
            [
                (
                    finding["severity"],
                    {
                        "rule": finding["rule_id"],
                        "resource": one_line(finding["resource"].get("name") or finding["resource"]["id"], 80),
                        "where": visible(where(finding) or finding["resource"]["id"]),
                        "message": one_line(finding["message"], MESSAGE_WIDTH),
                        "fix": fix_hint(finding, rules),
                    },
                )
                for finding in findings
            ],
        )


def write_plain(report: dict[str, Any], out: TextIO) -> None:
    """The listing as plain text (no colour, no escape sequences)."""
    for label, findings in _rows(report):
        out.write(f"{label}\n")
        for severity, row in findings:
            out.write(f"  {severity.upper():<8} {row['rule']:<12} {row['resource']}  {row['where']}\n")
            out.write(f"  {'':<8} {row['message']}\n")
            if row["fix"]:
                out.write(f"  {'':<8} fix: {row['fix']}\n")
        out.write("\n")


def write_rich(report: dict[str, Any], out: TextIO) -> None:
    """The listing coloured by rich; every value goes in as a Text, never as markup."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, force_terminal=True, highlight=False, soft_wrap=True, emoji=False)
    for label, findings in _rows(report):
        console.print(Text(label, style="bold underline"))
        for severity, row in findings:
            line = Text("  ")
            line.append(f"{severity.upper():<8}", style=_STYLES.get(severity, ""))
            line.append(f" {row['rule']:<12} ", style="bold")
            line.append(row["resource"])
            line.append(f"  {row['where']}", style="dim")
            console.print(line)
            console.print(Text(f"  {'':<8} {row['message']}"))
            if row["fix"]:
                fix = Text(f"  {'':<8} ")
                fix.append("fix: ", style="green")
                fix.append(row["fix"])
                console.print(fix)
        console.print()


def write_findings(report: dict[str, Any], out: TextIO, colour: bool) -> None:
    """The failing findings, coloured when ``colour`` (an interactive terminal)."""
    (write_rich if colour else write_plain)(report, out)


def summary_line(report: dict[str, Any]) -> str:
    """One line: failing findings by severity apart from suppressed ones, other statuses, coverage.

    Counted from the findings rather than the report summary, because the summary counts a
    FAIL whatever its suppression, and the console must say what gates.
    """
    fails = [f for f in report["findings"] if f["status"] == "FAIL"]
    open_by_severity = Counter(f["severity"] for f in fails if not is_suppressed(f))
    suppressed_by_kind = Counter(f["suppression"]["kind"] for f in fails if is_suppressed(f))
    failing_text = ", ".join(f"{open_by_severity[s]} {s}" for s in SEVERITIES if open_by_severity[s])
    parts = [f"{sum(open_by_severity.values())} failing" + (f" ({failing_text})" if failing_text else "")]
    suppressed = sum(suppressed_by_kind.values())
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(suppressed_by_kind.items()))
    parts.append(f"{suppressed} suppressed" + (f" ({kinds})" if kinds else ""))
    by_status = report["summary"]["by_status"]
    parts += [f"{by_status[s]} {s}" for s in STATUSES if s != "FAIL" and by_status.get(s)]
    gaps = len(report["coverage"]["collection_errors"])
    coverage = "complete" if report["coverage"]["complete"] else f"INCOMPLETE ({gaps} collection errors)"
    return f"kvaudit: {', '.join(parts)}; coverage: {coverage}"
