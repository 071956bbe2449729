"""Helpers shared by the rule modules: profile lookups, list columns, DNS suffixes, what a role
or an access policy lets a principal do with keys, and which keys a grant reaches.

Everything here is vectorised or cached per distinct value, because the tables it serves can
hold a million key versions and hundreds of thousands of role assignments. Nothing here
registers a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from kvaudit.rules.context import RuleContext
from kvaudit.rules.profiles import all_profiles, profile_attribute
from kvaudit.scanner.lazy import lazy
from kvaudit.scanner.reference import BUILTIN_ROLES as _BUILTINS
from kvaudit.scanner.reference import DATA_PLANE_SUFFIXES, KEY_DATA_ACTIONS, canonical_role_id

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

#: Built-in roles of both planes by canonical role definition id.
BUILTIN_ROLES_BY_ID = {role.id: role for role in _BUILTINS.values()}
_HAS_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

#: Every key operation kvaudit reasons about; "read" stands for get and list.
KEY_OPERATIONS = frozenset(
    {
        "read",
        "encrypt",
        "decrypt",
        "wrapkey",
        "unwrapkey",
        "sign",
        "verify",
        "create",
        "import",
        "update",
        "delete",
        "purge",
        "recover",
        "backup",
        "restore",
        "release",
        "rotate",
        "export",
        "manage_roles",
    }
)
DECRYPTING = frozenset({"decrypt", "unwrapkey"})
SIGN_ONLY = frozenset({"read", "sign", "verify"})

_KEY_ALL = KEY_OPERATIONS - {"manage_roles"}

#: Access-policy key permissions (lower case) -> operations.
_PERMISSION_OPS = {
    "get": "read",
    "list": "read",
    "encrypt": "encrypt",
    "decrypt": "decrypt",
    "wrapkey": "wrapkey",
    "unwrapkey": "unwrapkey",
    "sign": "sign",
    "verify": "verify",
    "create": "create",
    "import": "import",
    "update": "update",
    "delete": "delete",
    "purge": "purge",
    "recover": "recover",
    "backup": "backup",
    "restore": "restore",
    "release": "release",
    "rotate": "rotate",
    "getrotationpolicy": "read",
    "setrotationpolicy": "update",
}

# --- small vectorised helpers --------------------------------------------------------------


def constant(value: Any, index: pd.Index) -> pd.Series:
    """A Series repeating ``value`` (for evidence that shows a parameter next to each result)."""
    return pd.Series([value] * len(index), index=index, dtype="object")


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``keys.map(table)`` that keeps ``table``'s dtype, even when either side is empty
    (Series.map then falls back to float and cannot hold timestamps). Numpy integer and bool
    tables become nullable first, since keys missing from the table must come back as NA."""
    if table.dtype.kind in "iu":
        table = table.astype("Int64")
    elif table.dtype.kind == "b":
        table = table.astype("boolean")
    return pd.Series(table.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=table.dtype)


def lower_set(cell: Any) -> frozenset[str] | None:
    """A list cell as a lower-case frozenset; None when the list itself is unknown."""
    if isinstance(cell, list | tuple | set | frozenset | np.ndarray):
        return frozenset(str(v).lower() for v in cell)
    return None


def lower_sets(series: pd.Series) -> pd.Series:
    return pd.Series([lower_set(c) for c in series], index=series.index, dtype="object")


def key_op_sets(ctx: RuleContext) -> pd.Series:
    """Each key's key_ops as a lower-case frozenset (None when unknown), shared across rules."""
    return ctx._shared("key_op_sets", lambda: lower_sets(ctx.keys["key_ops"]))


def version_key_codes(ctx: RuleContext) -> tuple[np.ndarray, pd.Index]:
    """key_versions.key_id factorised once per scan: integer codes and the distinct key ids, so
    that per-key aggregates over a million versions are numpy reductions, not string groupbys."""
    return ctx._shared("version_key_codes", lambda: pd.factorize(ctx.key_versions["key_id"], use_na_sentinel=True))


def nullable(values: Iterable[Any], index: pd.Index) -> pd.Series:
    """Python True/False/None values as a nullable boolean Series."""
    return pd.Series([pd.NA if v is None else bool(v) for v in values], index=index, dtype="boolean")


def profiles_of(ctx: RuleContext) -> dict[str, dict[str, Any]]:
    return all_profiles(ctx.policy)


def profile_field(ctx: RuleContext, names: pd.Series, field: str) -> pd.Series:
    """Vectorised profile lookup: the value of ``field`` for each row's profile name."""
    return profile_attribute(profiles_of(ctx), names, field)


def profile_severity(ctx: RuleContext, names: pd.Series, rule_id: str) -> pd.Series:
    """The severity each row's profile gives ``rule_id``'s results (its ``severity`` table), or
    None where the profile sets none and the rule's own severity (from the policy) applies.

    This is how the ``default`` profile's checks fail at low severity without a second copy of
    the rule: the number lives once, in the profile (built-in or tuned in the policy)."""
    lookup = {
        name: str(spec["severity"][rule_id]).lower()
        for name, spec in profiles_of(ctx).items()
        if isinstance(spec.get("severity"), dict) and rule_id in spec["severity"]
    }
    mapped = names.astype("object").map(lookup)
    return mapped.astype("object").where(mapped.notna(), None)


def with_severity(results: pd.DataFrame, severity: pd.Series) -> pd.DataFrame:
    """``results`` (one row per row of the frame they were computed from, in order) with a
    per-result ``severity`` column: the report uses it instead of the rule's where it is set."""
    results["severity"] = pd.Series(severity.to_numpy(dtype=object), index=results.index, dtype="object")
    return results


def vault_kind_from_host(hosts: pd.Series) -> pd.Series:
    """vault | managed_hsm from a data-plane host name, by the clouds' DNS suffixes (else null)."""
    lowered = hosts.str.lower().str.rstrip(".")
    out = pd.Series(None, index=hosts.index, dtype="object")
    for suffix, kind in DATA_PLANE_SUFFIXES.items():
        hit = lowered.str.endswith("." + suffix).fillna(False).astype(bool)
        out[hit.to_numpy()] = kind
    return out


def key_profiles(ctx: RuleContext) -> pd.DataFrame:
    """key id -> profile columns, for rules whose resources point at keys (references, grants)."""
    view = ctx.key_view
    return view[["id", "profile", "profile_source", "profile_reason"]].drop_duplicates("id").set_index("id")


# --- what a grant allows ---------------------------------------------------------------------


@lru_cache(maxsize=4096)
def ops_from_actions(data_actions: tuple[str, ...], not_data_actions: tuple[str, ...]) -> frozenset[str]:
    """Key operations granted by role data actions (wildcards allowed) minus NotDataActions."""

    def matching(patterns: tuple[str, ...]) -> set[str]:
        found: set[str] = set()
        for pattern in patterns:
            p = pattern.lower()
            found |= {op for action, op in KEY_DATA_ACTIONS.items() if fnmatchcase(action, p)}
        return found

    return frozenset(matching(data_actions) - matching(not_data_actions))


@lru_cache(maxsize=1024)
def _builtin_operations(role_definition_id: str) -> frozenset[str] | None:
    """Key operations of a built-in role, from its role definition id only (never a name).

    Ids are canonicalised first, so a snapshot written with a subscription-scoped id of a
    built-in role still matches."""
    canonical = canonical_role_id(role_definition_id) if _HAS_GUID.search(role_definition_id) else None
    role = BUILTIN_ROLES_BY_ID.get(canonical or "")
    if role is None:
        return None
    return ops_from_actions(role.data_actions, role.not_data_actions)


def role_operations(ra: pd.DataFrame) -> pd.Series:
    """Key operations each role assignment grants (frozenset), or None when unknown.

    Collected data actions win; otherwise the built-in role named by the canonical role
    definition id (every source emits one) decides.
    """
    role = ra["role_definition_id"].fillna("").astype(str)
    by_role = {r: _builtin_operations(r) for r in role.unique()}
    out = role.map(by_role).astype("object")
    explicit = ra["data_actions"].notna().to_numpy(dtype=bool)
    for i in np.flatnonzero(explicit):
        actions, not_actions = ra["data_actions"].iat[i], ra["not_data_actions"].iat[i]
        if isinstance(actions, list | tuple):
            nots = tuple(not_actions) if isinstance(not_actions, list | tuple) else ()
            out.iat[i] = ops_from_actions(tuple(actions), nots)
    return out


def permission_operations(permissions: pd.Series) -> pd.Series:
    """Key operations granted by access-policy key permissions (``all`` grants every one)."""

    def convert(cell: Any) -> frozenset[str] | None:
        perms = lower_set(cell)
        if perms is None:
            return None
        if "all" in perms:
            return _KEY_ALL
        return frozenset(_PERMISSION_OPS.get(p, p) for p in perms)

    return pd.Series([convert(c) for c in permissions], index=permissions.index, dtype="object")


def has_any(sets: pd.Series, wanted: frozenset[str]) -> pd.Series:
    """Nullable: does each frozenset intersect ``wanted``?"""
    return nullable((None if s is None else bool(s & wanted) for s in sets), sets.index)


def beyond(sets: pd.Series, allowed: frozenset[str]) -> pd.Series:
    """Nullable: does each frozenset hold anything outside ``allowed``?"""
    return nullable((None if s is None else bool(s - allowed) for s in sets), sets.index)


# --- which keys a grant reaches --------------------------------------------------------------

_KEY_SCOPE = re.compile(
    r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.keyvault/(?:vaults|managedhsms)/[^/]+)/keys/([^/]+)$"
)
_VAULT_SCOPE = re.compile(
    r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.keyvault/(?:vaults|managedhsms)/[^/]+$"
)
_RG_SCOPE = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+$")
_SUB_SCOPE = re.compile(r"^/subscriptions/[^/]+$")


def azure_scope_level(scope: pd.Series) -> pd.Series:
    """key | vault | resource_group | subscription | management_group | other, per ARM scope."""
    s = scope.str.lower().str.rstrip("/").fillna("")
    level = np.select(
        [
            s.str.match(_KEY_SCOPE.pattern),
            s.str.match(_VAULT_SCOPE.pattern),
            s.str.match(_RG_SCOPE.pattern),
            s.str.match(_SUB_SCOPE.pattern),
            s.str.contains("/providers/microsoft.management/managementgroups/", regex=False) | s.eq(""),
        ],
        ["key", "vault", "resource_group", "subscription", "management_group"],
        default="other",
    )
    return pd.Series(level, index=scope.index, dtype="object").where(scope.notna(), None)


def grant_targets(ctx: RuleContext, grants: pd.DataFrame, kind: str) -> pd.DataFrame:
    """For role assignments (``kind`` "role") or access policies ("policy"): the level at which
    each grant applies and the id at that level (key id, vault id, RG or subscription prefix)."""
    if kind == "policy":
        return pd.DataFrame({"level": "vault", "target": grants["vault_id"].str.lower()}, index=grants.index)
    local = grants["plane"].eq("managed_hsm").fillna(False).astype(bool)
    level = pd.Series(None, index=grants.index, dtype="object")
    if (~local).any():
        level[~local] = azure_scope_level(grants["scope"][~local])
    target = grants["scope"].str.lower().str.rstrip("/")
    hsm_scope = grants["scope"].str.strip().str.lower().str.rstrip("/").fillna("")
    is_key = hsm_scope.str.startswith("/keys/").to_numpy(dtype=bool)
    hsm_level = np.where(is_key, "key", np.where(hsm_scope.isin(["", "/keys"]), "vault", "other"))
    hsm_vault = grants["vault_id"].str.lower()
    hsm_target = np.where(is_key, hsm_vault + "/keys/" + hsm_scope.str.slice(6), hsm_vault)
    level = level.where(~local, pd.Series(hsm_level, index=grants.index))
    # At resource-group and subscription level the scope itself is the target.
    target = target.where(~local, pd.Series(hsm_target, index=grants.index))
    return pd.DataFrame({"level": level, "target": target}, index=grants.index)


def grant_reach(targets: pd.DataFrame) -> pd.Series:
    """The ARM scope each grant reaches, from :func:`grant_targets`: its key, vault, resource
    group or subscription; "/" (everything) at a management group, whose membership is not in
    the inventory, or where the scope is unknown."""
    everything = targets["level"].eq("management_group").fillna(True) | targets["target"].isna()
    return targets["target"].astype("object").where(~everything.to_numpy(dtype=bool), "/")


def _tri_codes(true: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    return np.where(true, "T", np.where(unknown, "U", "F"))


def _tri_any(values: pd.Series, groups: pd.Series) -> dict[str, str]:
    """Group -> "T" if any value is True, "U" if none is True but one is unknown, else "F"."""
    codes, uniques = pd.factorize(groups)
    return _tri_by_codes(values, codes, uniques)


def _tri_by_codes(values: pd.Series, codes: np.ndarray, uniques: pd.Index) -> dict[str, str]:
    ok = codes >= 0
    t = np.bincount(codes[ok], weights=values.fillna(False).to_numpy(dtype=bool)[ok], minlength=len(uniques)) > 0
    u = np.bincount(codes[ok], weights=values.isna().to_numpy()[ok], minlength=len(uniques)) > 0
    return dict(zip(uniques, _tri_codes(t, u), strict=True))


def reach_any(ctx: RuleContext, targets: pd.DataFrame, key_values: pd.Series) -> pd.Series:
    """Nullable: does any key the grant reaches have ``key_values`` True?

    ``targets`` comes from :func:`grant_targets`; ``key_values`` is indexed like ``ctx.keys``.
    Keys a grant cannot reach are ignored; an unknown value makes the answer unknown unless
    another reachable key is True. A grant at management-group scope is taken to reach every key
    in the inventory (the group's membership is not in the inventory).
    """
    keys = ctx.keys
    values = key_values.astype("boolean")
    key_codes = _tri_codes(values.fillna(False).to_numpy(dtype=bool), values.isna().to_numpy())
    vault_codes, vault_uniques = ctx._shared("key_vault_codes", lambda: pd.factorize(keys["vault_id"]))
    by_vault = _tri_by_codes(values, vault_codes, vault_uniques)
    # Roll vaults up to resource groups and subscriptions on the (small) per-vault table.
    vault_index = pd.Series(list(by_vault.keys()), dtype="object")
    vault_values = pd.Series([{"T": True, "F": False}.get(c, pd.NA) for c in by_vault.values()], dtype="boolean")
    rgs = vault_index.str.extract(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+)")[0].fillna("")
    subs = vault_index.str.extract(r"^(/subscriptions/[^/]+)")[0].fillna("")
    lookups = {
        "key": dict(zip(keys["id"].fillna("").to_numpy(), key_codes, strict=True)),
        "vault": by_vault,
        "resource_group": _tri_any(vault_values, rgs),
        "subscription": _tri_any(vault_values, subs),
    }
    everything = _tri_any(vault_values, pd.Series("*", index=vault_index.index)).get("*", "F")
    codes = pd.Series("F", index=targets.index, dtype="object")
    for level, lookup in lookups.items():
        hit = targets["level"].eq(level).fillna(False).to_numpy(dtype=bool)
        codes[hit] = targets["target"][hit].map(lookup).astype("object").fillna("F")
    codes[targets["level"].eq("management_group").fillna(False).to_numpy(dtype=bool)] = everything
    return codes.map({"T": True, "F": False, "U": pd.NA}).astype("boolean")


def _scope_parts(ra: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    scope = ra["scope"].str.lower().str.rstrip("/")
    return scope, scope.str.split("/keys/", n=1, regex=False).str[0]


def near_vaults(ctx: RuleContext, vault_ids: set[str]) -> pd.Series:
    """Role assignments that could reach a key in one of ``vault_ids``: local roles of those
    HSMs, and Azure roles at their key, vault, resource group, subscription or a management group.
    A cheap pre-filter so that access rules do per-grant work only where it can matter."""
    ra = ctx.role_assignments
    local = ra["plane"].eq("managed_hsm").fillna(False).to_numpy(dtype=bool)
    prefixes = set(vault_ids)
    for vid in vault_ids:
        parts = vid.split("/")
        prefixes.update({"/".join(parts[:3]), "/".join(parts[:5])})
    scope, vault_part = ctx._shared("role_scope_parts", lambda: _scope_parts(ra))
    scope, vault_part = scope.loc[ra.index], vault_part.loc[ra.index]
    azure = (
        vault_part.isin(prefixes)
        | scope.str.contains("/providers/microsoft.management/managementgroups/", regex=False)
        | scope.isna()
        | scope.eq("")
    ).fillna(True)
    in_hsm = ra["vault_id"].isin(vault_ids).fillna(False).to_numpy(dtype=bool)
    return pd.Series(np.where(local, in_hsm, azure.to_numpy(dtype=bool)), index=ra.index)


def effective_for(ctx: RuleContext, key_values: pd.Series, kind: str) -> pd.Series:
    """Restrict per-key values to keys where a grant of ``kind`` takes effect.

    Azure RBAC data roles ("azure") act only in vaults with RBAC authorization; access policies
    ("policy") only in vaults without it; Managed HSM local roles ("managed_hsm") only in HSMs.
    An unknown permission model makes the value unknown rather than dropping it.
    """
    keys = ctx.keys
    vaults = ctx.vaults.set_index("id")
    rbac = (
        keys["vault_id"].map(vaults["rbac_authorization_enabled"])
        if len(vaults)
        else pd.Series(pd.NA, index=keys.index)
    )
    kinds = keys["vault_id"].map(ctx.vault_kind)
    values = key_values.astype("boolean")
    if kind == "managed_hsm":
        return values.where(kinds.eq("managed_hsm").fillna(False).to_numpy(), False)
    in_vault = kinds.eq("vault").fillna(False).to_numpy()
    model = rbac.astype("boolean")
    applies = model if kind == "azure" else ~model
    result = values.where(in_vault, False)
    result = result.where(applies.fillna(True).to_numpy(), False)
    unknown_model = model.isna().to_numpy() & in_vault & result.fillna(True).to_numpy(dtype=bool)
    result[unknown_model] = pd.NA
    return result
