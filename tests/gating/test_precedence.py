"""Which suppression a finding shows when several apply (apply_suppressions on a small report)."""

from __future__ import annotations

from datetime import date
from typing import Any

from kvaudit.reports.model import fingerprint
from kvaudit.scanner.gating.baseline import Baseline, BaselineEntry
from kvaudit.scanner.gating.diffbase import BaseFailures
from kvaudit.scanner.gating.identity import normalise_resource
from kvaudit.scanner.gating.suppress import Sources, apply_suppressions
from kvaudit.scanner.gating.waivers import Waiver
from kvaudit.scanner.inventory import InlineSuppression

RESOURCE = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/KV-One/"
TODAY = date(2026, 11, 23)


def _report(*statuses: str) -> dict[str, Any]:
    return {
        "findings": [
            {
                "rule_id": "KV-REC-003",
                "status": status,
                "suppression": None,
                "resource": {"id": RESOURCE},
                "fingerprint": fingerprint("KV-REC-003", RESOURCE),
            }
            for status in statuses
        ]
    }


FP = fingerprint("KV-REC-003", RESOURCE)


def _waiver(expires: date) -> Waiver:
    return Waiver("W", "w.toml", 1, "KV-REC-003", "*/vaults/kv-one", None, "j", "a", expires)


def _sources(**kwargs: Any) -> Sources:
    return Sources(**kwargs)


def _shown(sources: Sources, status: str = "FAIL") -> dict[str, Any] | None:
    return apply_suppressions(_report(status), sources, TODAY)["findings"][0]["suppression"]


INLINE = InlineSuppression("KV-REC-003", RESOURCE, "reason", "main.tf", 3)
BASELINE = Baseline("b.json", None, {FP: BaselineEntry(FP, "KV-REC-003", RESOURCE, None)})
DIFF = BaseFailures("origin/main", "c0ffee", {FP})


def test_normalisation_matches_the_fingerprint() -> None:
    assert fingerprint("R", RESOURCE) == fingerprint("R", normalise_resource(RESOURCE))


def test_active_waiver_wins_over_inline_baseline_and_diff_base() -> None:
    shown = _shown(_sources(inline=[INLINE], waivers=[_waiver(date(2027, 1, 1))], baseline=BASELINE, diff_base=DIFF))
    assert (shown["kind"], shown["active"], shown["id"]) == ("waiver", True, "W")


def test_inline_then_baseline_then_diff_base() -> None:
    assert _shown(_sources(inline=[INLINE], baseline=BASELINE, diff_base=DIFF))["kind"] == "inline"
    shown = _shown(_sources(baseline=BASELINE, diff_base=DIFF))
    assert (shown["kind"], shown["justification"]) == ("baseline", "in baseline b.json")
    shown = _shown(_sources(diff_base=DIFF))
    assert (shown["kind"], shown["active"], shown["justification"]) == ("baseline", True, "present at origin/main")


def test_expired_waiver_yields_to_an_active_suppression_but_shows_when_alone() -> None:
    expired = _waiver(date(2026, 11, 22))
    assert _shown(_sources(waivers=[expired], diff_base=DIFF))["kind"] == "baseline"
    shown = _shown(_sources(waivers=[expired], inline=[InlineSuppression("*", RESOURCE, None)]))
    assert (shown["kind"], shown["active"], shown["expired"]) == ("waiver", False, True)


def test_only_failures_are_suppressed_and_counted() -> None:
    report = apply_suppressions(_report("PASS", "UNKNOWN", "FAIL"), _sources(diff_base=DIFF), TODAY)
    assert [f["suppression"] is None for f in report["findings"]] == [True, True, False]
    assert report["exceptions"]["suppressed"] == {"baseline": 1, "waiver": 0, "inline": 0}
    assert report["exceptions"]["diff_base"] == {"ref": "origin/main", "commit": "c0ffee", "pre_existing": 1}


def test_nothing_configured_still_writes_an_empty_register() -> None:
    report = apply_suppressions(_report("FAIL"), _sources(), TODAY)
    assert report["findings"][0]["suppression"] is None
    assert report["exceptions"] == {
        "suppressed": {"baseline": 0, "waiver": 0, "inline": 0},
        "baseline": None,
        "diff_base": None,
        "waivers": [],
        "inline": [],
        "notices": [],
    }
