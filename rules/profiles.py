"""Key-purpose profiles: what each key is *for*, so it can be judged against that purpose.

A key's profile comes from, in order: a tag on the key, a matching ``[[profiles.assign]]`` in
the policy file, then inference from the key itself or its consumers. The source and the
reason travel into every finding's evidence so an auditor can see why a key was judged so.
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Any

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


def _infer(key: dict[str, Any], purposes: set[str]) -> tuple[str, str] | None:
    kty = str(key.get("kty") or "")
    curve = str(key.get("curve") or "")
    if kty.startswith("OKP"):
        return "ed25519-signer", f"kty {kty} is only used for Ed25519 signing"
    if kty.startswith("oct"):
        return "aes-kek", f"kty {kty} is a symmetric key-wrapping key"
    if curve.upper() == "P-256K":
        return "ethereum-signer", "curve P-256K (secp256k1) is used for Ethereum signing"
    if key.get("exportable") is True and key.get("release_policy") is not None:
        return "skr-release", "exportable key with a release policy"
    if "sign" in purposes:
        return "artifact-signing", "a consumer uses it to sign"
    return None


def assign_profiles(inventory: Inventory, policy: Policy | None) -> pd.DataFrame:
    """One row per key that has a profile: key_id, profile, profile_source, profile_reason."""
    keys = inventory.tables["keys"]
    if keys.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    known = all_profiles(policy)
    tag_name = policy.profile_tag if policy else "kvaudit-profile"
    assignments = policy.assignments if policy else []
    refs = inventory.tables["key_references"]
    purposes: dict[str, set[str]] = {}
    for key_id, purpose in zip(refs["key_id"], refs["purpose"], strict=True):
        if isinstance(key_id, str) and isinstance(purpose, str):
            purposes.setdefault(key_id, set()).add(purpose)
    rows = []
    columns = ["id", "vault_name", "name", "kty", "curve", "exportable", "release_policy", "tags"]
    for record in keys[columns].to_dict(orient="records"):
        key = {k: (None if v is pd.NA else v) for k, v in record.items()}
        tags = key.get("tags") if isinstance(key.get("tags"), dict) else {}
        chosen: tuple[str, str, str] | None = None
        tagged = tags.get(tag_name)
        if tagged:
            chosen = (str(tagged), "tag", f"tag {tag_name}={tagged}")
        if chosen is None:
            for rule in assignments:
                vault = str(key.get("vault_name") or "").lower()
                name = str(key.get("name") or "").lower()
                if fnmatchcase(vault, rule.vault.lower()) and fnmatchcase(name, rule.key.lower()):
                    chosen = (rule.profile, "policy", f"policy assigns vault {rule.vault!r} key {rule.key!r}")
                    break
        if chosen is None:
            inferred = _infer(key, purposes.get(key["id"], set()))
            if inferred:
                chosen = (inferred[0], "inference", inferred[1])
        if chosen is not None and chosen[0] in known:
            rows.append(
                {"key_id": key["id"], "profile": chosen[0], "profile_source": chosen[1], "profile_reason": chosen[2]}
            )
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)
