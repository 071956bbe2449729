"""Run every enabled rule over an inventory and collect the results.

The engine owns the cross-cutting guarantees so that no rule has to remember them:
- a rule that raises becomes one ERROR result and the other rules still run;
- a PASS that depends on data whose collection failed becomes UNKNOWN;
- resources whose children could not be listed get an UNKNOWN result, never silence;
- severities come from the policy, and ``now`` is passed in (rules never read the clock).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rules.context import RuleContext, empty_result
from rules.model import Rule, Severity, Status
from rules.profiles import assign_profiles
from rules.registry import all_rules
from scanner.inventory import Inventory
from scanner.policy import Policy

#: Tables whose rows are children of a vault: if a vault's read of them failed, rules over
#: that table cannot see every resource and must say so.
_CHILD_TABLES = {
    "keys",
    "key_versions",
    "role_assignments",
    "access_policies",
    "diagnostic_settings",
    "private_endpoints",
}


@dataclass
class RuleOutcome:
    """The results of one rule plus the effective severity and parameters it ran with."""

    rule: Rule
    severity: Severity
    params: dict[str, Any]
    results: pd.DataFrame
    error: str | None = None


@dataclass
class Evaluation:
    """Everything the report needs from an engine run."""

    outcomes: list[RuleOutcome]
    profiles: pd.DataFrame
    now: pd.Timestamp
    policy: Policy
    skipped: list[str] = field(default_factory=list)


def _collection_gaps(inventory: Inventory) -> dict[str, list[tuple[str, str]]]:
    """Table name -> [(vault id, error text)] for every failed read that affects it."""
    gaps: dict[str, list[tuple[str, str]]] = {}
    errors = inventory.tables["collection_errors"]
    for vault_id, resource_id, affects, error, op in zip(
        errors["vault_id"], errors["id"], errors["affects"], errors["error"], errors["operation"], strict=True
    ):
        scope = vault_id if isinstance(vault_id, str) else resource_id
        if not isinstance(scope, str) or not isinstance(affects, list | tuple):
            continue
        for table in affects:
            gaps.setdefault(str(table), []).append((scope.lower(), f"{op}: {error}"))
    return gaps


def _apply_gaps(
    rule: Rule, results: pd.DataFrame, gaps: dict[str, list[tuple[str, str]]], vaults: pd.DataFrame
) -> pd.DataFrame:
    """Demote PASS to UNKNOWN where needed data is missing, and add UNKNOWN rows for vaults
    whose children could not be listed at all."""
    needed = [gap for table in rule.needs for gap in gaps.get(table, [])]
    if not needed:
        return results
    # A vault-level verdict built from an incomplete child listing (e.g. "no diagnostic setting
    # found" after the listing failed) is unknown either way; a child's own FAIL stays a FAIL.
    aggregate = rule.resource_type == "vault" and any(t in _CHILD_TABLES and gaps.get(t) for t in rule.needs)
    demotable = [Status.PASS.value, Status.FAIL.value] if aggregate else [Status.PASS.value]
    reason_by_vault: dict[str, str] = {}
    for scope, reason in needed:
        reason_by_vault.setdefault(scope, reason)
    if len(results):
        vault_ids = results["vault_id"].astype("string").str.lower()
        missing = vault_ids.map(reason_by_vault)
        demote = results["status"].isin(demotable) & missing.notna()
        results = results.copy()
        results.loc[demote.to_numpy(dtype=bool), "status"] = Status.UNKNOWN.value
        results["gap"] = missing.where(missing.notna(), None)
    if any(table in _CHILD_TABLES for table in rule.needs) and rule.resource_type != "vault":
        vault_rows = vaults.set_index("id")
        extra = []
        for scope, reason in reason_by_vault.items():
            name = vault_rows["name"].get(scope) if scope in vault_rows.index else scope.rsplit("/", 1)[-1]
            extra.append(
                {
                    "resource_id": scope,
                    "resource_type": "Microsoft.KeyVault/vaults"
                    if "/vaults/" in scope
                    else "Microsoft.KeyVault/managedHSMs",
                    "resource_name": name,
                    "vault_id": scope,
                    "status": Status.UNKNOWN.value,
                    "file": None,
                    "line": None,
                    "profile": None,
                    "gap": reason,
                }
            )
        if extra:
            results = pd.concat([results, pd.DataFrame(extra)], ignore_index=True)
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
    profiles = assign_profiles(inventory, policy)
    gaps = _collection_gaps(inventory)
    outcomes: list[RuleOutcome] = []
    skipped: list[str] = []
    shared: dict[str, Any] = {}
    for rule in catalogue:
        if rule.id in policy.disabled:
            skipped.append(rule.id)
            continue
        params = policy.params_for(rule.id, rule.defaults())
        severity = Severity(policy.severity_overrides.get(rule.id, rule.severity.value))
        ctx = RuleContext(inventory=inventory, params=params, now=now, policy=policy, profiles=profiles, shared=shared)
        try:
            results = rule.check(ctx)
            if results is None or not isinstance(results, pd.DataFrame):
                raise TypeError(f"rule returned {type(results).__name__}, expected a DataFrame")
            results = results if len(results) else empty_result()
            results = _apply_gaps(rule, results, gaps, inventory.tables["vaults"])
            outcomes.append(RuleOutcome(rule, severity, params, results))
        except Exception as exc:  # a broken rule must not hide the others' results
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            outcomes.append(RuleOutcome(rule, severity, params, _error_result(rule, detail), error=detail))
    return Evaluation(outcomes=outcomes, profiles=profiles, now=now, policy=policy, skipped=skipped)


def status_counts(evaluation: Evaluation) -> dict[str, int]:
    """Count of results per status across all rules (cheap: no finding is materialised)."""
    counts = {s.value: 0 for s in Status}
    for outcome in evaluation.outcomes:
        if len(outcome.results):
            values, freq = np.unique(outcome.results["status"].to_numpy(dtype=str), return_counts=True)
            for value, n in zip(values, freq, strict=True):
                counts[str(value)] += int(n)
    return counts
