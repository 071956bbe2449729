"""Coverage gaps: which results depend on data left unread, at any scope.

A failed read is a ``collection_errors`` row. Its scope is the vault or HSM in ``vault_id`` when
there is one, else the ARM id in ``id``: a resource group, a subscription, a management group, a
Log Analytics workspace, or the tenant ("/"). ``affects`` lists the tables whose rows under that
scope may be missing or incomplete.

A result depends on a gap when the rule read one of the gap's tables and the result's footprint
meets the gap's scope. The footprint is the resource the result is about, the vault or HSM it
belongs to, and, for grants, the scope the grant reaches (a resource-group grant reaches every
vault in the group). Two ids meet when one lies under the other: a gap at a vault meets a key of
that vault, and a grant at the vault's resource group. Management-group membership is not in the
inventory, so a management-group gap meets everything, as a management-group grant does.

A workspace holds no vault, but audit events come from it: a gap at a workspace (or on a table
read from workspaces) also meets every vault whose diagnostic settings send there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kvaudit.rules.model import Status
from kvaudit.scanner.inventory import Inventory, normalise_id
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

ROOT = "/"

#: Tables whose rows are read from Log Analytics workspaces rather than from the vaults.
WORKSPACE_TABLES = frozenset({"key_usage"})

#: ARM type of each scope kind, for the UNKNOWN result that stands for rows never listed.
SCOPE_TYPES = {
    "vault": "Microsoft.KeyVault/vaults",
    "managed_hsm": "Microsoft.KeyVault/managedHSMs",
    "resource_group": "Microsoft.Resources/resourceGroups",
    "subscription": "Microsoft.Resources/subscriptions",
    "management_group": "Microsoft.Management/managementGroups",
    "workspace": "Microsoft.OperationalInsights/workspaces",
    "tenant": "Microsoft.Resources/tenants",
    "resource": "resource",
}


def scope_kind(scope: str) -> str:
    """vault | managed_hsm | resource_group | subscription | management_group | workspace | tenant
    | resource, from the shape of a normalised ARM id."""
    parts = scope.strip("/").split("/")
    if scope == ROOT or not parts[0]:
        return "tenant"
    if "/providers/microsoft.management/managementgroups/" in scope:
        return "management_group"
    if "/providers/microsoft.keyvault/managedhsms/" in scope and len(parts) == 8:
        return "managed_hsm"
    if "/providers/microsoft.keyvault/vaults/" in scope and len(parts) == 8:
        return "vault"
    if "/providers/microsoft.operationalinsights/workspaces/" in scope and len(parts) == 8:
        return "workspace"
    if parts[0] == "subscriptions" and len(parts) == 2:
        return "subscription"
    if parts[0] == "subscriptions" and len(parts) == 4 and parts[2] == "resourcegroups":
        return "resource_group"
    return "resource"


@dataclass(frozen=True)
class Gap:
    """One failed read: the scope it covers (normalised; "/" for everything), the tables it
    leaves incomplete, why, and the scope as the row named it (a management group's id)."""

    scope: str
    tables: frozenset[str]
    reason: str
    named: str

    @property
    def kind(self) -> str:
        return scope_kind(self.scope)


def collection_gaps(inventory: Inventory) -> list[Gap]:
    """Every ``collection_errors`` row that names a scope and the tables it affects."""
    errors = inventory.tables["collection_errors"]
    gaps: list[Gap] = []
    for vault_id, resource_id, affects, error, op in zip(
        errors["vault_id"], errors["id"], errors["affects"], errors["error"], errors["operation"], strict=True
    ):
        named = normalise_id(vault_id) or normalise_id(resource_id)
        if not isinstance(affects, list | tuple | np.ndarray) or len(affects) == 0:
            continue
        named = named if isinstance(named, str) and named else ROOT
        # The membership of a management group is not in the inventory: it may hold anything.
        scope = ROOT if scope_kind(named) == "management_group" else named
        gaps.append(Gap(scope, frozenset(str(t) for t in affects), f"{op}: {error}", named))
    return gaps


def _is_under(child: str, parent: str) -> bool:
    return parent == ROOT or child == parent or child.startswith(parent + "/")


def gap_prefixes(gap: Gap, table: str, inventory: Inventory) -> list[str]:
    """The scopes a gap on ``table`` covers: its own, plus (for workspaces) the vaults that send
    their audit events to a workspace under it."""
    prefixes = [gap.scope]
    if gap.scope != ROOT and (table in WORKSPACE_TABLES or gap.kind == "workspace"):
        ds = inventory.tables["diagnostic_settings"]
        for target, workspace in zip(ds["target_id"], ds["workspace_id"], strict=True):
            ws, vault = normalise_id(workspace), normalise_id(target)
            if isinstance(ws, str) and isinstance(vault, str) and _is_under(ws, gap.scope):
                prefixes.append(vault)
    return prefixes


def _ancestors(scope: str) -> list[str]:
    parts = scope.split("/")
    return ["/".join(parts[:n]) for n in range(2, len(parts))]


def meets(footprint: pd.Series, prefixes: dict[str, str]) -> pd.Series:
    """For each normalised id in ``footprint``: the reason of the first gap scope it meets (the
    id lies under the scope, or the scope under the id), else null."""
    out = pd.Series(None, index=footprint.index, dtype="object")
    if not prefixes or footprint.empty:
        return out
    if ROOT in prefixes:
        return pd.Series(prefixes[ROOT], index=footprint.index, dtype="object")
    ids = footprint.astype("object").where(footprint.notna(), None)
    if ids.isna().all():
        return out
    if ids.eq(ROOT).fillna(False).any():
        out[ids.eq(ROOT).fillna(False).to_numpy(dtype=bool)] = next(iter(prefixes.values()))
    # The id under a gap scope: cut the id to each depth a gap scope has and look it up.
    text = ids.astype("string")
    parts = text.str.split("/")
    for depth in sorted({p.count("/") + 1 for p in prefixes}):
        cut = parts.str[:depth].str.join("/")
        found = cut.map(prefixes)
        out = out.where(out.notna(), found)
    # A gap scope under the id (the id is a vault, a resource group or a grant's reach above it).
    above: dict[str, str] = {}
    for prefix, reason in prefixes.items():
        for ancestor in _ancestors(prefix):
            above.setdefault(ancestor, reason)
    if above:
        out = out.where(out.notna(), text.map(above))
    return out.astype("object").where(out.notna(), None)


def normalised(ids: pd.Series) -> pd.Series:
    """ARM ids lower-cased without a trailing slash, keeping the root "/" (a nullable string)."""
    text = ids.astype("string").str.lower()
    return text.where(text.eq(ROOT).fillna(True), text.str.rstrip("/"))


def footprints(results: pd.DataFrame) -> list[pd.Series]:
    """The normalised ids a result is about: its resource, its vault, and what it reaches."""
    return [normalised(results[c]) for c in ("resource_id", "vault_id", "reach") if c in results]


def apply_gaps(
    results: pd.DataFrame,
    read: Iterable[str],
    gaps: list[Gap],
    inventory: Inventory,
    id_sets: dict[str, set[str]] | None = None,
) -> pd.DataFrame:
    """Turn every result that depends on a gap into UNKNOWN, naming the gap, and add one UNKNOWN
    result per gap scope that has none, for the rows that were never listed.

    A result about a row of the gap's own table that lies under the gap's scope was itself read:
    its FAIL stands (a missing sibling cannot undo it), while its PASS or NOT_APPLICABLE, which a
    missing row could contradict, becomes UNKNOWN. Every other dependent result becomes UNKNOWN
    whatever it was.
    """
    tables = set(read)
    relevant = [(gap, table) for gap in gaps for table in sorted(gap.tables & tables)]
    if not relevant:
        return results
    results = results.copy()
    feet = footprints(results)
    resource_ids = feet[0] if len(feet) else pd.Series(dtype="string")
    active = ~results["status"].eq(Status.ERROR.value).to_numpy(dtype=bool)
    demote_all = np.zeros(len(results), dtype=bool)
    demote_soft = np.zeros(len(results), dtype=bool)
    reason = pd.Series(None, index=results.index, dtype="object")
    by_table: dict[str, dict[str, str]] = {}
    for gap, table in relevant:
        for prefix in gap_prefixes(gap, table, inventory):
            by_table.setdefault(table, {}).setdefault(prefix, gap.reason)
    for table, prefixes in by_table.items():
        hit = pd.Series(None, index=results.index, dtype="object")
        for foot in feet:
            hit = hit.where(hit.notna(), meets(foot, prefixes))
        met = hit.notna().to_numpy(dtype=bool) & active
        if not met.any():
            continue
        own_ids = _ids_of(inventory, table, id_sets if id_sets is not None else {})
        under = _under_any(resource_ids, prefixes)
        own = resource_ids.isin(own_ids).fillna(False).to_numpy(dtype=bool) & under
        demote_all |= met & ~own
        demote_soft |= met & own
        reason = reason.where(reason.notna(), hit.where(met, None))
    status = results["status"].to_numpy(dtype=object)
    soft = demote_soft & np.isin(status, [Status.PASS.value, Status.NOT_APPLICABLE.value])
    changed = demote_all | soft
    status = np.where(changed, Status.UNKNOWN.value, status)
    results["status"] = status
    results["gap"] = reason.where(pd.Series(status == Status.UNKNOWN.value, index=results.index), None)
    return _add_unlisted(results, relevant, inventory)


def _ids_of(inventory: Inventory, table: str, cache: dict[str, set[str]]) -> set[str]:
    """The normalised row ids of ``table``, computed once per evaluation."""
    if table not in cache:
        cache[table] = set(normalised(inventory.tables[table]["id"]).dropna())
    return cache[table]


def _under_any(ids: pd.Series, prefixes: dict[str, str]) -> np.ndarray:
    """Which ids lie under (or are) one of ``prefixes``."""
    if ROOT in prefixes:
        return np.ones(len(ids), dtype=bool)
    parts = ids.str.split("/")
    under = np.zeros(len(ids), dtype=bool)
    for depth in sorted({p.count("/") + 1 for p in prefixes}):
        under |= parts.str[:depth].str.join("/").isin(prefixes).fillna(False).to_numpy(dtype=bool)
    return under


def _add_unlisted(results: pd.DataFrame, relevant: list[tuple[Gap, str]], inventory: Inventory) -> pd.DataFrame:
    """One UNKNOWN result per gap scope the results do not already name: rows of that scope may
    never have been listed, and silence would read as "nothing to report"."""
    present = set(results["resource_id"].astype("string").str.lower().dropna()) if len(results) else set()
    vaults = inventory.tables["vaults"]
    names = dict(zip(vaults["id"].astype("string").str.lower(), vaults["name"], strict=True))
    extra: list[dict[str, object]] = []
    for gap, _table in relevant:
        if gap.named in present:
            continue
        present.add(gap.named)
        kind = scope_kind(gap.named)
        name = names.get(gap.named) or (gap.named.rsplit("/", 1)[-1] if gap.named != ROOT else "tenant")
        extra.append(
            {
                "resource_id": gap.named,
                "resource_type": SCOPE_TYPES[kind],
                "resource_name": name,
                "vault_id": gap.named if kind in ("vault", "managed_hsm") else None,
                "status": Status.UNKNOWN.value,
                "file": None,
                "line": None,
                "profile": None,
                "gap": gap.reason,
            }
        )
    if not extra:
        return results
    return pd.concat([results, pd.DataFrame(extra)], ignore_index=True)
