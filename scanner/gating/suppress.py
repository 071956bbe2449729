"""Decide, for every failing finding, which suppression (if any) applies, and keep the register.

Several suppressions can cover one finding. The one shown is the strongest *active* one, in
order of how much accountability it carries: a waiver (approver and expiry), an inline comment
with a reason, a baseline entry, then "already failing at the diff base". Only when nothing
active applies is an inactive one shown (an expired waiver, an inline comment without a
reason), so that the reader sees why the finding is *not* suppressed. Findings stay in the
report either way; the exit code ignores only active suppressions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kvaudit.scanner.gating.baseline import Baseline
from kvaudit.scanner.gating.diffbase import BaseFailures
from kvaudit.scanner.gating.identity import normalise_resource
from kvaudit.scanner.gating.waivers import Waiver
from kvaudit.scanner.inventory import InlineSuppression

#: Preference among active suppressions (lower wins).
_RANK = {"waiver": 0, "inline": 1, "baseline": 2, "diff_base": 3}


@dataclass
class Sources:
    """Everything that can suppress findings in one run."""

    inline: list[InlineSuppression] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    baseline: Baseline | None = None
    diff_base: BaseFailures | None = None


def _suppression(kind: str, active: bool, **fields: Any) -> dict[str, Any]:
    base = {
        "kind": kind,
        "active": active,
        "justification": None,
        "approver": None,
        "expires": None,
        "expired": False,
        "file": None,
        "line": None,
    }
    base.update(fields)
    return base


def _waiver_suppression(waiver: Waiver, today: date) -> dict[str, Any]:
    expired = waiver.expired(today)
    return _suppression(
        "waiver",
        not expired,
        id=waiver.id,
        justification=waiver.justification,
        approver=waiver.approver,
        expires=waiver.expires.isoformat(),
        expired=expired,
        file=waiver.file,
        line=waiver.line,
    )


def _inline_suppression(item: InlineSuppression) -> dict[str, Any]:
    return _suppression("inline", item.reason is not None, justification=item.reason, file=item.file, line=item.line)


def _where(file: str | None, line: int | None) -> str:
    if file is None:
        return "unknown location"
    return f"{file}:{line}" if line is not None else file


class _Matcher:
    """Indexes the suppressions once so a 100,000-finding report is not scanned per waiver."""

    def __init__(self, sources: Sources, today: date):
        self.sources = sources
        self.today = today
        self.inline_by_resource: dict[str, list[int]] = {}
        for i, item in enumerate(sources.inline):
            self.inline_by_resource.setdefault(normalise_resource(item.resource_id), []).append(i)
        self.waivers_by_key: dict[str, list[int]] = {}
        for i, waiver in enumerate(sources.waivers):
            self.waivers_by_key.setdefault(waiver.fingerprint or str(waiver.rule_id), []).append(i)
        self.inline_hits: Counter[int] = Counter()
        self.waiver_hits: Counter[int] = Counter()
        self.baseline_hits = 0
        self.diff_base_hits = 0

    def candidates(self, finding: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        rule_id, fp = finding["rule_id"], finding["fingerprint"]
        resource_id = finding["resource"]["id"]
        found: list[tuple[str, dict[str, Any]]] = []
        for i in self.waivers_by_key.get(fp, []) + self.waivers_by_key.get(rule_id, []):
            waiver = self.sources.waivers[i]
            if waiver.matches(rule_id, resource_id, fp):
                self.waiver_hits[i] += 1
                found.append(("waiver", _waiver_suppression(waiver, self.today)))
        for i in self.inline_by_resource.get(normalise_resource(resource_id), []):
            item = self.sources.inline[i]
            if item.rule_id in ("*", rule_id):
                self.inline_hits[i] += 1
                found.append(("inline", _inline_suppression(item)))
        baseline = self.sources.baseline
        if baseline is not None and fp in baseline.entries:
            self.baseline_hits += 1
            since = baseline.entries[fp].first_seen
            reason = f"in baseline {baseline.file}" + (f" since {since}" if since else "")
            found.append(("baseline", _suppression("baseline", True, justification=reason, file=baseline.file)))
        base = self.sources.diff_base
        if base is not None and fp in base.fingerprints:
            self.diff_base_hits += 1
            found.append(("diff_base", _suppression("baseline", True, justification=f"present at {base.ref}")))
        return found


def _choose(candidates: list[tuple[str, dict[str, Any]]]) -> dict[str, Any] | None:
    if not candidates:
        return None
    active = [c for c in candidates if c[1]["active"]]
    pool = active or candidates
    return min(pool, key=lambda c: _RANK[c[0]])[1]


def _notices(matcher: _Matcher, sources: Sources, today: date) -> list[str]:
    notices = []
    for i, waiver in enumerate(sources.waivers):
        where = _where(waiver.file, waiver.line)
        hits = matcher.waiver_hits[i]
        if waiver.expired(today):
            notices.append(
                f"waiver {waiver.id} ({where}) expired on {waiver.expires.isoformat()} "
                f"and no longer suppresses its {hits} finding(s)"
            )
        elif hits == 0:
            notices.append(f"waiver {waiver.id} ({where}) matches no failing finding; remove it or correct it")
    for i, item in enumerate(sources.inline):
        where = _where(item.file, item.line)
        if item.reason is None:
            notices.append(
                f"inline suppression of {item.rule_id} on {item.resource_id} ({where}) has no reason and is not honoured"
            )
        elif matcher.inline_hits[i] == 0:
            notices.append(
                f"inline suppression of {item.rule_id} on {item.resource_id} ({where}) matches no failing finding"
            )
    if sources.baseline is not None:
        stale = len(sources.baseline.entries) - matcher.baseline_hits
        if stale > 0:
            notices.append(
                f"baseline {sources.baseline.file}: {stale} entr{'y' if stale == 1 else 'ies'} no longer fail; "
                "refresh it with kvaudit baseline create"
            )
    if sources.diff_base is not None:
        for problem in sources.diff_base.problems:
            notices.append(f"diff base {sources.diff_base.ref}: {problem} (its findings count as new)")
    return notices


def apply_suppressions(report: dict[str, Any], sources: Sources, today: date) -> dict[str, Any]:
    """Set ``suppression`` on every FAIL finding and add the ``exceptions`` register.

    ``today`` (the report's evaluation date) decides expiry, so ``--now`` reproduces a run.
    """
    matcher = _Matcher(sources, today)
    suppressed: Counter[str] = Counter({"baseline": 0, "waiver": 0, "inline": 0})
    for finding in report["findings"]:
        if finding["status"] != "FAIL":
            continue
        chosen = _choose(matcher.candidates(finding))
        finding["suppression"] = chosen
        if chosen is not None and chosen["active"]:
            suppressed[chosen["kind"]] += 1
    baseline = sources.baseline
    base = sources.diff_base
    report["exceptions"] = {
        "suppressed": dict(suppressed),
        "baseline": (
            {
                "file": baseline.file,
                "created": baseline.created,
                "entries": len(baseline.entries),
                "matched": matcher.baseline_hits,
            }
            if baseline is not None
            else None
        ),
        "diff_base": (
            {"ref": base.ref, "commit": base.commit, "pre_existing": matcher.diff_base_hits}
            if base is not None
            else None
        ),
        "waivers": [w.describe(matcher.waiver_hits[i], today) for i, w in enumerate(sources.waivers)],
        "inline": [
            {
                "rule_id": item.rule_id,
                "resource_id": item.resource_id,
                "reason": item.reason,
                "file": item.file,
                "line": item.line,
                "honoured": item.reason is not None,
                "matched": matcher.inline_hits[i],
            }
            for i, item in enumerate(sources.inline)
        ],
        "notices": _notices(matcher, sources, today),
    }
    from kvaudit.reports.posture import refresh

    return refresh(report)  # per-control states and the fix-first list count suppressions
