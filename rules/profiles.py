"""Key-purpose profiles: what each key is *for*, so it can be judged against that purpose.

A key's profile comes from, in order: a tag on the key, a matching ``[[profiles.assign]]`` in
the policy file, then inference from the key itself or its consumers; a key none of them gives
a profile gets the built-in ``default`` one (source ``default``), so that a key with no declared
purpose is still judged against platform good practice rather than silently exempt. The source
and the reason travel into every finding's evidence so an auditor can see why a key was judged so.

A tag or a policy assignment that names a profile nobody defined is not dropped silently: the
name is kept in ``profile_unknown`` (rule KV-KEY-009 reports it) and assignment falls through to
the next source, so the key still gets the checks that inference can justify.

Assignment is vectorised: the estate may hold 100,000 keys, so only the tag lookup (a dict per
row) touches Python per key.
"""

from __future__ import annotations

import re
import tomllib
from fnmatch import translate
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from kvaudit.scanner.errors import PolicyError
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.lazy import lazy
from kvaudit.scanner.policy import Policy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")

PROFILE_COLUMNS = ["key_id", "profile", "profile_source", "profile_reason", "profile_unknown"]

#: The profile of keys that no tag, policy assignment or inference gives another one.
DEFAULT_PROFILE = "default"
DEFAULT_REASON = "no tag, policy assignment or inference names a profile"

#: Severities a profile may give a rule's results (rules.model.SEVERITY_RANK, weakest first).
SEVERITIES = ("info", "low", "medium", "high", "critical")
_RULE_ID = re.compile(r"^KV-[A-Z]+-[0-9]{3}$")

#: Tiers a profile may require, weakest first.
TIERS = ("any", "hsm", "managed_hsm")

#: Every field a profile may set, with its type, so that a typo in a custom profile is an error
#: rather than a requirement that silently never applies.
PROFILE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "description": str,
    "extends": str,
    "tier": str,
    "kty": list,
    "curves": list,
    "key_sizes": list,
    "key_ops": list,
    "pin_required": bool,
    "local_rbac_key_scope_only": bool,
    "signer": bool,
    "no_ci_crypto_officer": bool,
    "allowed_permissions": list,
    "exportable": bool,
    "release_claims": dict,
    "immutable_release_policy": bool,
    "hsm_preferred": bool,
    "single_purpose": bool,
    "auto_rotation_ok": bool,
    "severity": dict,
}


@cache
def builtin_profiles() -> dict[str, dict[str, Any]]:
    """The profiles shipped with kvaudit (rules/data/profiles.toml), ``default`` among them."""
    text = resources.files("kvaudit.rules").joinpath("data/profiles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def validate_profile(name: str, spec: dict[str, Any], origin: str) -> None:
    """Refuse unknown fields, wrong types and unknown tiers in a profile definition."""
    for field, value in spec.items():
        expected = PROFILE_FIELDS.get(field)
        if expected is None:
            allowed = ", ".join(sorted(PROFILE_FIELDS))
            raise PolicyError(origin, f"profile {name!r} has no field {field!r} (fields: {allowed})")
        if not isinstance(value, expected):
            raise PolicyError(origin, f"profile {name!r} field {field!r} must be a {expected.__name__}")
    tier = spec.get("tier", "any")
    if tier not in TIERS:
        raise PolicyError(origin, f"profile {name!r} tier {tier!r} is not one of {', '.join(TIERS)}")
    for rule_id, severity in dict(spec.get("severity") or {}).items():
        if not _RULE_ID.match(str(rule_id)):
            raise PolicyError(origin, f"profile {name!r} severity names {rule_id!r}, which is not a rule id")
        if str(severity).lower() not in SEVERITIES:
            raise PolicyError(
                origin, f"profile {name!r} severity of {rule_id} {severity!r} is not one of {', '.join(SEVERITIES)}"
            )


def _resolve(name: str, custom: dict[str, dict[str, Any]], origin: str) -> dict[str, Any]:
    """A custom profile with ``extends`` inherits the named profile's fields and overrides them.

    A policy profile that extends the built-in of its own name (``[profiles.custom.default]`` with
    ``extends = "default"``) tunes that built-in: it keeps every field it does not name. A
    ``severity`` table is merged rule by rule, so tuning one rule's severity keeps the others."""
    spec = dict(custom[name])
    base_name = spec.pop("extends", None)
    if base_name is None:
        return spec
    builtin = builtin_profiles()
    tunes_builtin = base_name == name and name in builtin
    if not tunes_builtin and (base_name == name or base_name in custom and custom[base_name].get("extends")):
        raise PolicyError(origin, f"profile {name!r} extends {base_name!r}: only one level of extends is supported")
    base = builtin.get(base_name) if tunes_builtin else custom.get(base_name) or builtin.get(base_name)
    if base is None:
        raise PolicyError(origin, f"profile {name!r} extends unknown profile {base_name!r}")
    merged = {**base, **spec}
    if isinstance(base.get("severity"), dict) and isinstance(spec.get("severity"), dict):
        merged["severity"] = {**base["severity"], **spec["severity"]}
    return merged


def all_profiles(policy: Policy | None) -> dict[str, dict[str, Any]]:
    """Built-in profiles plus the policy's own; a policy profile may replace a built-in one."""
    if policy is None or not policy.custom_profiles:
        return dict(builtin_profiles())
    return dict(_policy_profiles(policy))


def _policy_profiles(policy: Policy) -> dict[str, dict[str, Any]]:
    merged = dict(builtin_profiles())
    for name, spec in policy.custom_profiles.items():
        validate_profile(name, spec, policy.origin)
        merged[name] = _resolve(name, policy.custom_profiles, policy.origin)
    return merged


def profile_sources(policy: Policy | None) -> dict[str, str]:
    """Profile name -> where it is defined: "built-in", "policy" or "policy (replaces built-in)"."""
    out = {name: "built-in" for name in builtin_profiles()}
    for name in policy.custom_profiles if policy else {}:
        out[name] = "policy (replaces built-in)" if name in out else "policy"
    return out


def profile_attribute(profiles: dict[str, dict[str, Any]], names: pd.Series, attribute: str) -> pd.Series:
    """For a Series of profile names, the value of ``attribute`` in each profile (None when unset)."""
    lookup = {name: spec.get(attribute) for name, spec in profiles.items() if spec.get(attribute) is not None}
    mapped = names.astype("object").map(lookup)
    return mapped.astype("object").where(mapped.notna(), None)


def _tag_values(tags: pd.Series, tag_name: str) -> pd.Series:
    """The value of tag ``tag_name`` on each key; Azure tag names are case-insensitive."""
    wanted = tag_name.lower()

    def pick(cell: Any) -> Any:
        if not isinstance(cell, dict):
            return None
        if tag_name in cell:
            return cell[tag_name]
        for k, v in cell.items():
            if str(k).lower() == wanted:
                return v
        return None

    return pd.Series([pick(c) for c in tags], index=tags.index, dtype="object")


def _infer(keys: pd.DataFrame, refs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Inferred profile and reason per key, from its type, curve, release policy and consumers."""
    kty = keys["kty"].str.upper().fillna("")
    curve = keys["curve"].str.upper().fillna("")
    import_only = pd.Series(
        [isinstance(v, list) and [str(o).lower() for o in v] == ["import"] for v in keys["key_ops"]], index=keys.index
    )
    releasable = keys["exportable"].fillna(False).astype(bool) & keys["release_policy"].notna()
    signers = set(refs.loc[refs["purpose"].str.lower().eq("sign").fillna(False), "key_id"].dropna())
    signed = keys["id"].isin(signers)
    choices = [
        (
            kty.str.startswith("OKP"),
            "ed25519-signer",
            "kty " + keys["kty"].fillna("") + " is only used for Ed25519 signing",
        ),
        (kty.str.startswith("OCT"), "aes-kek", "kty " + keys["kty"].fillna("") + " is a symmetric key-wrapping key"),
        (
            curve.eq("P-256K"),
            "ethereum-signer",
            pd.Series("curve P-256K (secp256k1) is used for Ethereum signing", index=keys.index),
        ),
        (releasable, "skr-release", pd.Series("exportable key with a release policy", index=keys.index)),
        (
            import_only,
            "byok-kek",
            pd.Series("key_ops is import only: a BYOK key-exchange key", index=keys.index),
        ),
        (signed, "artifact-signing", pd.Series("a consumer uses it to sign", index=keys.index)),
    ]
    profile = pd.Series(None, index=keys.index, dtype="object")
    reason = pd.Series(None, index=keys.index, dtype="object")
    for mask, name, why in reversed(choices):  # reversed so that the first matching choice wins
        hit = mask.fillna(False).astype(bool).to_numpy()
        profile[hit] = name
        reason[hit] = why[hit]
    return profile, reason


def assign_profiles(inventory: Inventory, policy: Policy | None) -> pd.DataFrame:
    """One row per key that has a profile or names an unknown one:
    key_id, profile, profile_source, profile_reason, profile_unknown."""
    keys = inventory.tables["keys"]
    if keys.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    known = set(all_profiles(policy))
    tag_name = policy.profile_tag if policy else "kvaudit-profile"
    assignments = policy.assignments if policy else []
    index = keys.index
    profile = pd.Series(None, index=index, dtype="object")
    source = pd.Series(None, index=index, dtype="object")
    reason = pd.Series(None, index=index, dtype="object")
    unknown = pd.Series(None, index=index, dtype="object")

    tagged = _tag_values(keys["tags"], tag_name)
    has_tag = tagged.notna() & tagged.astype(str).str.len().gt(0)
    tag_known = has_tag & tagged.isin(known)
    profile[tag_known] = tagged[tag_known]
    source[tag_known] = "tag"
    reason[tag_known] = f"tag {tag_name}=" + tagged[tag_known].astype(str)
    tag_unknown = has_tag & ~tagged.isin(known)
    unknown[tag_unknown] = "tag " + tag_name + "=" + tagged[tag_unknown].astype(str)

    vault_names = keys["vault_name"].str.lower().fillna("")
    key_names = keys["name"].str.lower().fillna("")
    for entry in assignments:
        open_rows = profile.isna()
        if not open_rows.any():
            break
        hit = (
            open_rows
            & vault_names.str.match(translate(entry.vault.lower()))
            & key_names.str.match(translate(entry.key.lower()))
        )
        if not hit.any():
            continue
        why = f"policy assigns vault {entry.vault!r} key {entry.key!r}"
        if entry.profile in known:
            profile[hit] = entry.profile
            source[hit] = "policy"
            reason[hit] = why
        else:
            first_unknown = hit & unknown.isna()
            unknown[first_unknown] = f"{why} to {entry.profile!r}"

    inferred, why = _infer(keys, inventory.tables["key_references"])
    take = profile.isna() & inferred.notna()
    profile[take] = inferred[take]
    source[take] = "inference"
    reason[take] = why[take]

    rest = profile.isna()
    profile[rest] = DEFAULT_PROFILE
    source[rest] = DEFAULT_PROFILE
    reason[rest] = DEFAULT_REASON

    out = pd.DataFrame(
        {
            "key_id": keys["id"],
            "profile": profile,
            "profile_source": source,
            "profile_reason": reason,
            "profile_unknown": unknown,
        }
    )
    keep = out["profile"].notna() | out["profile_unknown"].notna()
    out = out[keep.to_numpy(dtype=bool)].reset_index(drop=True).astype("object")
    return out.where(out.notna(), None)
