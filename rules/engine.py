"""Run every enabled rule over an inventory and collect the results.

The engine owns the cross-cutting guarantees so that no rule has to remember them:
- a rule that raises becomes one ERROR result and the other rules still run;
- what each rule read is recorded (:mod:`rules.reads`), never declared;
- a verdict that rests on a column the row's source cannot observe becomes NOT_APPLICABLE, from
  the field table, so rules never ask which source they run on;
- a PASS, FAIL or NOT_APPLICABLE that depends on data whose collection failed, at any scope,
  becomes UNKNOWN, and scopes whose rows could not be listed get an UNKNOWN result, never
  silence (:mod:`rules.gaps`);
- severities come from the policy, and ``now`` is passed in (rules never read the clock).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kvaudit.rules.context import RuleContext, empty_result
from kvaudit.rules.gaps import apply_gaps, collection_gaps
from kvaudit.rules.model import Rule, Severity, Status
from kvaudit.rules.profiles import assign_profiles
from kvaudit.rules.reads import Reads, TrackedTables, recording, tracked
from kvaudit.rules.registry import all_rules
from kvaudit.scanner.fields import EVERY_SOURCE, observable, observed_by
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.lazy import lazy
from kvaudit.scanner.policy import Policy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")


@dataclass
class RuleOutcome:
    """The results of one rule plus the effective severity and parameters it ran with."""

    rule: Rule
    severity: Severity
    params: dict[str, Any]
    results: pd.DataFrame
    error: str | None = None
    #: The tables and columns the rule read (what its results depend on).
    reads: Reads = field(default_factory=Reads)


@dataclass
class Evaluation:
    """Everything the report needs from an engine run."""

    outcomes: list[RuleOutcome]
    profiles: pd.DataFrame
    now: pd.Timestamp
    policy: Policy
    skipped: list[str] = field(default_factory=list)


def _blind_sources(reads: Reads, sources: pd.Series) -> set[str]:
    """Sources (among ``sources``) that cannot observe some column the rule read.

    Only the sources the field table knows are judged; a row whose source is not one of them
    (a hand-built fixture, the demo) is taken to be observable, so that its nulls stay UNKNOWN.
    """
    partial = [(t, c) for t, c in reads.columns if observed_by(t, c) != EVERY_SOURCE]
    if not partial:
        return set()
    blind: set[str] = set()
    for source in sources.dropna().unique():
        if not isinstance(source, str) or source.lower() not in EVERY_SOURCE:
            continue
        if any(observable(table, column, source) is False for table, column in partial):
            blind.add(source)
    return blind


def _unobservable(results: pd.DataFrame, reads: Reads) -> pd.DataFrame:
    """NOT_APPLICABLE where the verdict rests on a column the row's source cannot observe:
    the question cannot be asked of that source, which is different from an unknown answer."""
    if "source" not in results or not len(results) or not reads.columns:
        return results
    blind = _blind_sources(reads, results["source"])
    if not blind:
        return results
    hit = results["source"].isin(blind).fillna(False).to_numpy(dtype=bool) & ~results["status"].eq(
        Status.ERROR.value
    ).to_numpy(dtype=bool)
    results = results.copy()
    results.loc[hit, "status"] = Status.NOT_APPLICABLE.value
    return results


def _error_result(rule: Rule, message: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "resource_id": f"rule:{rule.id}",
                "resource_type": "kvaudit/rule",
                "resource_name": rule.id,
                "vault_id": None,
                "status": Status.ERROR.value,
                "file": None,
                "line": None,
                "profile": None,
                "error": message,
            }
        ]
    )


def evaluate(
    inventory: Inventory,
    policy: Policy | None = None,
    now: pd.Timestamp | None = None,
    rules: list[Rule] | None = None,
) -> Evaluation:
    """Evaluate ``rules`` (default: the whole catalogue) over ``inventory``."""
    policy = policy or Policy()
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    catalogue = rules if rules is not None else all_rules()
    seen = _tracked(inventory)
    with recording() as profile_reads:
        profiles = assign_profiles(seen, policy)
    gaps = collection_gaps(inventory)
    id_sets: dict[str, set[str]] = {}
    outcomes: list[RuleOutcome] = []
    skipped: list[str] = []
    shared: dict[str, Any] = {}
    for rule in catalogue:
        if rule.id in policy.disabled:
            skipped.append(rule.id)
            continue
        severity, params = rule.settings(policy)
        ctx = RuleContext(
            inventory=seen,
            params=params,
            now=now,
            policy=policy,
            profiles=profiles,
            shared=shared,
            profile_reads=profile_reads,
        )
        reads = Reads()
        try:
            with recording() as reads:
                results = rule.check(ctx)
            if results is None or not isinstance(results, pd.DataFrame):
                raise TypeError(f"rule returned {type(results).__name__}, expected a DataFrame")
            results = pd.DataFrame(results) if len(results) else empty_result()
            results = _unobservable(results, reads)
            results = apply_gaps(results, reads.tables, gaps, inventory, id_sets)
            outcomes.append(RuleOutcome(rule, severity, params, results, reads=reads))
        except Exception as exc:  # a broken rule must not hide the others' results
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            outcomes.append(RuleOutcome(rule, severity, params, _error_result(rule, detail), error=detail, reads=reads))
    return Evaluation(outcomes=outcomes, profiles=profiles, now=now, policy=policy, skipped=skipped)


def _tracked(inventory: Inventory) -> Inventory:
    """The inventory as rules see it: the same data, in tables that record what is read."""
    tables = TrackedTables({name: tracked(name, df) for name, df in inventory.tables.items()})
    return Inventory(
        tables=tables, sources=inventory.sources, scope=inventory.scope, suppressions=inventory.suppressions
    )


def status_counts(evaluation: Evaluation) -> dict[str, int]:
    """Count of results per status across all rules (cheap: no finding is materialised)."""
    counts = {s.value: 0 for s in Status}
    for outcome in evaluation.outcomes:
        if len(outcome.results):
            values, freq = np.unique(outcome.results["status"].to_numpy(dtype=str), return_counts=True)
            for value, n in zip(values, freq, strict=True):
                counts[str(value)] += int(n)
    return counts
