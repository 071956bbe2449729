"""Key-purpose profiles: what each key is *for*, so it can be judged against that purpose.

A key's profile comes from, in order: a tag on the key, a matching ``[[profiles.assign]]`` in
the policy file, then inference from the key itself or its consumers. The source and the
reason travel into every finding's evidence so an auditor can see why a key was judged so.
"""

from __future__ import annotations

import fnmatch
import tomllib
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from scanner.inventory import Inventory
from scanner.policy import Policy

PROFILE_COLUMNS = ["key_id", "profile", "profile_source", "profile_reason"]


@cache
def builtin_profiles() -> dict[str, dict[str, Any]]:
    """The six profiles shipped with kvaudit (rules/data/profiles.toml)."""
    text = resources.files("rules").joinpath("data/profiles.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def all_profiles(policy: Policy | None) -> dict[str, dict[str, Any]]:
    """Built-in profiles plus the policy's own; a policy profile may replace a built-in one."""
    merged = dict(builtin_profiles())
    if policy is not None:
        merged.update(policy.custom_profiles)
    return merged


def _inference(keys: pd.DataFrame, purposes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised inference: (profile, reason) per key, null where nothing can be inferred."""
    kty = keys["kty"].fillna("").astype(str)
    curve = keys["curve"].fillna("").astype(str).str.upper()
    releasable = keys["exportable"].fillna(False).astype(bool) & keys["release_policy"].notna()
    signs = purposes.reindex(keys["id"]).fillna(False).to_numpy(dtype=bool)
    conditions = [
        kty.str.startswith("OKP").to_numpy(),
        kty.str.startswith("oct").to_numpy(),
        (curve == "P-256K").to_numpy(),
        releasable.to_numpy(),
        signs,
    ]
    profiles = ["ed25519-signer", "aes-kek", "ethereum-signer", "skr-release", "artifact-signing"]
    reasons = [
        "kty " + kty + " is only used for Ed25519 signing",
        "kty " + kty + " is a symmetric key-wrapping key",
        pd.Series("curve P-256K (secp256k1) is used for Ethereum signing", index=keys.index),
        pd.Series("exportable key with a release policy", index=keys.index),
        pd.Series("a consumer uses it to sign", index=keys.index),
    ]
    profile = np.select(conditions, profiles, default=None)
    reason = np.select(conditions, [r.to_numpy(dtype=object) for r in reasons], default=None)
    return pd.Series(profile, index=keys.index, dtype="object"), pd.Series(reason, index=keys.index, dtype="object")


def assign_profiles(inventory: Inventory, policy: Policy | None) -> pd.DataFrame:
    """One row per key that has a profile: key_id, profile, profile_source, profile_reason.

    Vectorised: this runs over every key of the estate before any rule does."""
    keys = inventory.tables["keys"]
    if keys.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    known = all_profiles(policy)
    tag_name = policy.profile_tag if policy else "kvaudit-profile"
    assignments = policy.assignments if policy else []

    profile = pd.Series([None] * len(keys), index=keys.index, dtype="object")
    source = profile.copy()
    reason = profile.copy()

    def take(mask: pd.Series, values: pd.Series | str, origin: str, why: pd.Series | str) -> None:
        mask = mask & profile.isna()
        profile[mask] = values[mask] if isinstance(values, pd.Series) else values
        source[mask] = origin
        reason[mask] = why[mask] if isinstance(why, pd.Series) else why

    tagged = keys["tags"].map(lambda t: t.get(tag_name) if isinstance(t, dict) else None)
    take(tagged.notna(), tagged.astype("object"), "tag", "tag " + tag_name + "=" + tagged.fillna("").astype(str))
    vault_names = keys["vault_name"].fillna("").astype(str).str.lower()
    key_names = keys["name"].fillna("").astype(str).str.lower()
    for rule in assignments:
        matches = vault_names.str.match(fnmatch.translate(rule.vault.lower())) & key_names.str.match(
            fnmatch.translate(rule.key.lower())
        )
        take(matches, rule.profile, "policy", f"policy assigns vault {rule.vault!r} key {rule.key!r}")
    refs = inventory.tables["key_references"]
    signing = refs.loc[refs["purpose"].eq("sign").fillna(False).to_numpy(dtype=bool), "key_id"].dropna()
    purposes = pd.Series(True, index=pd.Index(signing.unique()))
    inferred, why = _inference(keys, purposes)
    take(inferred.notna(), inferred, "inference", why)
    chosen = profile.notna() & profile.isin(list(known))
    out = pd.DataFrame({"key_id": keys["id"], "profile": profile, "profile_source": source, "profile_reason": reason})[
        chosen.to_numpy(dtype=bool)
    ]
    return out.reset_index(drop=True)
