"""Views of the canonical report shared by several renderers (so each is computed one way).

Everything here reads only the report dict. Aggregations go through per-rule counts first,
because every finding of a rule carries the rule's compliance mappings: a control matrix over
100,000 findings then costs one pass over the findings plus one over the catalogue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from kvaudit.rules.model import SEVERITY_RANK

#: Most severe first, the order every renderer lists severities in.
SEVERITIES: tuple[str, ...] = tuple(sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__, reverse=True))
#: Statuses in the order a reader cares about them.
STATUSES: tuple[str, ...] = ("FAIL", "UNKNOWN", "ERROR", "PASS", "NOT_APPLICABLE")
#: Statuses that leave a finding open (what a diff tracks and a gate may fail on).
OPEN_STATUSES: frozenset[str] = frozenset({"FAIL", "UNKNOWN"})


def is_suppressed(finding: dict[str, Any]) -> bool:
    """An active suppression only: an expired waiver no longer hides its finding."""
    suppression = finding.get("suppression")
    return bool(suppression and suppression.get("active"))


def failing(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unsuppressed FAIL findings, most severe first (the report's order is kept within a severity)."""
    chosen = [f for f in findings if f["status"] == "FAIL" and not is_suppressed(f)]
    chosen.sort(key=lambda f: -SEVERITY_RANK[f["severity"]])
    return chosen


def suppressed_counts(report: dict[str, Any]) -> dict[str, int]:
    """Active suppressions by kind, plus the expired waivers that no longer suppress."""
    counts = {"baseline": 0, "waiver": 0, "inline": 0, "expired": 0}
    for finding in report["findings"]:
        suppression = finding.get("suppression")
        if not suppression:
            continue
        if suppression.get("active"):
            counts[suppression["kind"]] = counts.get(suppression["kind"], 0) + 1
        elif suppression.get("expired"):
            counts["expired"] += 1
    return counts


def counts_by_rule(report: dict[str, Any]) -> dict[str, Counter[str]]:
    """rule id -> Counter of statuses, with active suppressions counted as ``SUPPRESSED`` instead."""
    counts: dict[str, Counter[str]] = {}
    for finding in report["findings"]:
        key = "SUPPRESSED" if is_suppressed(finding) else finding["status"]
        counts.setdefault(finding["rule_id"], Counter())[key] += 1
    return counts


MATRIX_COLUMNS: tuple[str, ...] = ("FAIL", "UNKNOWN", "ERROR", "PASS", "SUPPRESSED")


def control_matrix(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (framework, control): the rules mapped to it and their result counts.

    Every mapped control of the catalogue appears, even with no results, so that an auditor
    sees controls the scan covered without finding anything as well as those it failed.
    """
    by_rule = counts_by_rule(report)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in report["rules"]:
        for mapping in rule.get("compliance", []):
            key = (mapping["framework"], mapping["control"])
            row = rows.setdefault(
                key,
                {
                    "framework": mapping["framework"],
                    "control": mapping["control"],
                    "title": mapping.get("title", ""),
                    "rules": [],
                    **{column: 0 for column in MATRIX_COLUMNS},
                },
            )
            row["rules"].append(rule["id"])
            for column in MATRIX_COLUMNS:
                row[column] += by_rule.get(rule["id"], Counter())[column]
    for row in rows.values():
        row["verdict"] = _verdict(row)
    return [rows[k] for k in sorted(rows, key=lambda k: (k[0], _natural(k[1])))]


def _verdict(row: dict[str, Any]) -> str:
    """A control fails on any open FAIL, is unknown if anything could not be decided, else passes."""
    if row["FAIL"] or row["ERROR"]:
        return "FAIL"
    if row["UNKNOWN"]:
        return "UNKNOWN"
    if row["PASS"] or row["SUPPRESSED"]:
        return "PASS"
    return "NO RESULTS"


def _natural(control: str) -> tuple[Any, ...]:
    """Sort 8.3.10 after 8.3.9 and AC-6 before AC-12."""
    parts: list[Any] = []
    for chunk in control.replace("-", ".").split("."):
        parts.append((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk))
    return tuple(parts)


def framework_summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per framework, from the report's per-control resource states: controls assessed and not
    assessed, controls with every assessed resource passing, controls with a failing resource,
    and the share of (control, resource) pairs that pass.

    The share is what Azure Policy calls "compliant resources": one failing vault lowers it by
    one resource, it does not fail the whole framework.
    """
    compliance = report.get("compliance") or {"controls": [], "not_assessed": []}
    frameworks: dict[str, dict[str, Any]] = {}

    def entry(framework: str) -> dict[str, Any]:
        return frameworks.setdefault(
            framework,
            {
                "framework": framework,
                "controls": 0,
                "not_assessed": 0,
                "compliant": 0,
                "failing": 0,
                "unknown": 0,
                "assessed": 0,
                "passing": 0,
            },
        )

    for control in compliance["controls"]:
        row = entry(control["framework"])
        row["controls"] += 1
        row["assessed"] += control["assessed"]
        row["passing"] += control["passing"]
        if control["failing"]:
            row["failing"] += 1
        elif control["unknown"]:
            row["unknown"] += 1
        elif control["assessed"]:
            row["compliant"] += 1
    for control in compliance["not_assessed"]:
        entry(control["framework"])["not_assessed"] += 1
    for row in frameworks.values():
        row["pass_rate"] = row["passing"] / row["assessed"] if row["assessed"] else None
    return list(frameworks.values())


def controls_by_framework(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    """(framework, assessed controls in natural order, controls not assessed) per framework."""
    compliance = report.get("compliance") or {"controls": [], "not_assessed": []}
    order: list[str] = []
    assessed: dict[str, list[dict[str, Any]]] = {}
    missing: dict[str, list[dict[str, Any]]] = {}
    for control in compliance["controls"]:
        if control["framework"] not in assessed:
            order.append(control["framework"])
        assessed.setdefault(control["framework"], []).append(control)
    for control in compliance["not_assessed"]:
        if control["framework"] not in assessed and control["framework"] not in missing:
            order.append(control["framework"])
        missing.setdefault(control["framework"], []).append(control)
    return [
        (
            fw,
            sorted(assessed.get(fw, []), key=lambda c: _natural(c["control"])),
            sorted(missing.get(fw, []), key=lambda c: _natural(c["control"])),
        )
        for fw in order
    ]


def percent(rate: float | None) -> str:
    """0.8125 -> '81.3%'; unknown stays visibly unknown."""
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def place(file: Any, line: Any) -> str:
    """``file:line``, or the file alone when the line is not known."""
    return f"{file}:{line}" if line else str(file)


def where(finding: dict[str, Any]) -> str | None:
    """Where to fix a finding, as text: ``main.tf:20``; for a resource declared in a module,
    ``main.tf:20 (module.kv, declared at modules/kv/main.tf:44)``. None without a file."""
    location = finding.get("location") or {}
    if not location.get("file"):
        return None
    text = place(location["file"], location.get("line"))
    declared = location.get("declared") or {}
    details = [str(location["module"])] if location.get("module") else []
    if declared.get("file"):
        details.append("declared at " + place(declared["file"], declared.get("line")))
    return f"{text} ({', '.join(details)})" if details else text
