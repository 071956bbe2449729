"""Views of the canonical report shared by several renderers (so each is computed one way).

Everything here reads only the report dict. Aggregations go through per-rule counts first,
because every finding of a rule carries the rule's compliance mappings: a control matrix over
100,000 findings then costs one pass over the findings plus one over the catalogue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from rules.model import SEVERITY_RANK

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


def framework_summary(matrix: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per framework: controls in scope, failing, unknown, passing, and the share passing."""
    frameworks: dict[str, dict[str, Any]] = {}
    for row in matrix:
        entry = frameworks.setdefault(
            row["framework"], {"framework": row["framework"], "controls": 0, "FAIL": 0, "UNKNOWN": 0, "PASS": 0}
        )
        entry["controls"] += 1
        if row["verdict"] in ("FAIL", "UNKNOWN", "PASS"):
            entry[row["verdict"]] += 1
    for entry in frameworks.values():
        decided = entry["FAIL"] + entry["PASS"]
        entry["pass_rate"] = round(entry["PASS"] / decided, 4) if decided else None
    return list(frameworks.values())


def percent(rate: float | None) -> str:
    """0.8125 -> '81.3%'; unknown stays visibly unknown."""
    return "n/a" if rate is None else f"{rate * 100:.1f}%"
