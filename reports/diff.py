"""Drift between two reports: which findings are new, resolved or still open.

Findings are matched by fingerprint (rule id + normalised resource identity), never by line or
message, so a moved resource or a reworded message is not drift. A finding is *open* when its
status is FAIL or UNKNOWN: an UNKNOWN is not compliance, and a vault that became unreadable must
not look "resolved". A finding open before and absent or closed now is *resolved*; the entry says
whether it now passes or simply is no longer reported (deleted, out of scope, or not collected).

The drift document is plain JSON (``kind: kvaudit-drift``) rendered by
:mod:`reports.renderers.drift`; the nightly history writes it as ``latest-diff.json``.
"""

from __future__ import annotations

from typing import Any

from kvaudit.reports.renderers.common import OPEN_STATUSES, SEVERITIES, is_suppressed
from kvaudit.rules.model import SEVERITY_RANK

DRIFT_VERSION = "1.0.0"


def _run_info(report: dict[str, Any], label: str | None) -> dict[str, Any]:
    scan = report.get("scan", {})
    return {
        "label": label,
        "evaluated_at": scan.get("evaluated_at"),
        "started": scan.get("started"),
        "finished": scan.get("finished"),
        "tool_version": (report.get("tool") or {}).get("version"),
        "ruleset_version": scan.get("ruleset_version"),
        "digest": (report.get("integrity") or {}).get("digest"),
        "coverage_complete": (report.get("coverage") or {}).get("complete"),
    }


def _entry(finding: dict[str, Any]) -> dict[str, Any]:
    resource = finding["resource"]
    return {
        "fingerprint": finding["fingerprint"],
        "rule_id": finding["rule_id"],
        "title": finding.get("title", ""),
        "severity": finding["severity"],
        "status": finding["status"],
        "suppressed": is_suppressed(finding),
        "resource": {"id": resource["id"], "name": resource.get("name"), "type": resource.get("type")},
        "location": finding.get("location"),
        "message": finding.get("message", ""),
    }


def _index(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["fingerprint"]: f for f in report["findings"]}


def _order(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (-SEVERITY_RANK.get(entry["severity"], 0), entry["rule_id"], entry["resource"]["id"])


def diff_reports(
    old: dict[str, Any], new: dict[str, Any], old_label: str | None = None, new_label: str | None = None
) -> dict[str, Any]:
    """The drift document from ``old`` to ``new``."""
    before, after = _index(old), _index(new)
    open_before = {fp for fp, f in before.items() if f["status"] in OPEN_STATUSES}
    open_after = {fp for fp, f in after.items() if f["status"] in OPEN_STATUSES}
    new_entries = sorted((_entry(after[fp]) for fp in open_after - open_before), key=_order)
    for entry in new_entries:
        previous = before.get(entry["fingerprint"])
        entry["previous_status"] = previous["status"] if previous else None
    resolved_entries = []
    for fp in open_before - open_after:
        entry = _entry(before[fp])
        entry["previous_status"] = entry.pop("status")
        entry["status"] = after[fp]["status"] if fp in after else None
        entry["resolution"] = "no longer reported" if fp not in after else f"now {after[fp]['status']}"
        resolved_entries.append(entry)
    resolved_entries.sort(key=_order)
    unchanged_entries = []
    for fp in open_before & open_after:
        entry = _entry(after[fp])
        entry["previous_status"] = before[fp]["status"]
        entry["previous_severity"] = before[fp]["severity"]
        unchanged_entries.append(entry)
    unchanged_entries.sort(key=_order)

    def by_severity(entries: list[dict[str, Any]]) -> dict[str, int]:
        counts = {s: 0 for s in SEVERITIES}
        for e in entries:
            counts[e["severity"]] = counts.get(e["severity"], 0) + 1
        return counts

    return {
        "kind": "kvaudit-drift",
        "drift_version": DRIFT_VERSION,
        "old_run": _run_info(old, old_label),
        "new_run": _run_info(new, new_label),
        "summary": {
            "new": len(new_entries),
            "resolved": len(resolved_entries),
            "unchanged": len(unchanged_entries),
            "new_by_severity": by_severity(new_entries),
            "resolved_by_severity": by_severity(resolved_entries),
            "open_by_severity": by_severity(new_entries + unchanged_entries),
        },
        "new": new_entries,
        "resolved": resolved_entries,
        "unchanged": unchanged_entries,
    }


def gate(drift: dict[str, Any], fail_on: str) -> list[dict[str, Any]]:
    """New, unsuppressed FAIL findings at or above ``fail_on`` (the ones that fail the diff).

    UNKNOWN is open (it is tracked) but not a verdict, so, as in ``scan``, it does not fail the
    gate; an incomplete scan is what ``scan``'s exit code 3 reports.
    """
    if fail_on == "none":
        return []
    threshold = SEVERITY_RANK[fail_on]
    return [
        e
        for e in drift["new"]
        if e["status"] == "FAIL" and not e["suppressed"] and SEVERITY_RANK.get(e["severity"], 0) >= threshold
    ]
