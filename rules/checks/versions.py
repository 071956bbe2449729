"""Versions: which key version a consumer uses. Signing keys must be pinned, because
auto-rotation otherwise invalidates the public keys verifiers have cached; and a pin is only
useful while the pinned version exists, is enabled and has not expired."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvaudit.rules.checks.common import key_profiles, profile_field, profile_severity, version_key_codes, with_severity
from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.lazy import lazy
from kvaudit.scanner.reference import auto_rotating_consumer_types

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

REFS_VERSIONS = (
    "https://learn.microsoft.com/azure/key-vault/keys/how-to-configure-key-rotation",
    "https://learn.microsoft.com/azure/key-vault/keys/about-keys-details",
)


def _profile_evidence(ctx: RuleContext, refs: pd.DataFrame) -> dict[str, pd.Series]:
    profiles = key_profiles(ctx)
    key_ids = refs["key_id"].str.lower()
    return {col: key_ids.map(profiles[col]) for col in ("profile", "profile_source", "profile_reason")}


def _reference_verdict(ctx: RuleContext, refs: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    extra = {**_profile_evidence(ctx, refs), **dict(kwargs.pop("extra", {}) or {})}  # type: ignore[arg-type]
    return verdict(
        refs,
        resource_name=refs["consumer_name"].fillna(refs["consumer_id"]),
        resource_type=refs["consumer_type"].fillna("key_reference"),
        extra=extra,
        **kwargs,  # type: ignore[arg-type]
    )


@rule(
    id="KV-VER-001",
    title="Consumer does not pin the key version where pinning is required",
    severity="high",
    domain="versions",
    resource_type="key_reference",
    params=(
        Param("require_pinning", False, "Require every consumer to pin a key version"),
        Param(
            "pin_purposes", ["sign"], "Consumer purposes that must always pin (signers: verifiers cache public keys)"
        ),
    ),
    rationale="""A consumer that follows the latest version switches keys the moment the key rotates. For a
    signer that silently invalidates every signature verifiers check against the cached public key; for keys
    whose profile requires it, rotation must be a deliberate, coordinated change. Services that follow a
    versionless key's rotation themselves (storage, disk encryption sets, SQL TDE) are configured correctly
    without a version wherever the key's profile allows it (the default profile does).""",
    remediation=Remediation(
        cli="az keyvault key show --hsm-name <hsm> --name <key> --query key.kid  # configure the consumer with the versioned kid",
        arm_bicep="keyUrl: key.properties.keyUriWithVersion",
        terraform="key_vault_key_id = azurerm_key_vault_key.k.versioned_id",
    ),
    references=REFS_VERSIONS,
    messages={
        "FAIL": "{resource_name} uses {key_uri} without a version, but {pin_reason} requires pinning",
        "PASS": "{resource_name} {pin_state}",
        "NOT_APPLICABLE": "{resource_name}: neither its key's profile, its purpose nor the policy requires pinning",
    },
)
def unpinned_consumer(ctx: RuleContext) -> pd.DataFrame:
    refs = ctx.key_references
    profile = _profile_evidence(ctx, refs)["profile"]
    # A key that was not read has no known profile, so whether its profile requires pinning is
    # unknown too (the purpose or the policy may still require it).
    key_read = refs["key_id"].str.lower().isin(set(ctx.keys["id"].str.lower().dropna())).fillna(False)
    by_profile = profile_field(ctx, profile, "pin_required").eq(True)
    by_profile_known = by_profile.astype("boolean").where(key_read.to_numpy(dtype=bool) | by_profile, pd.NA)
    purposes = {str(p).lower() for p in ctx.params["pin_purposes"]}
    by_purpose = refs["purpose"].str.lower().isin(purposes).fillna(False).astype(bool)
    by_policy = bool(ctx.params["require_pinning"])
    reason = pd.Series("the policy", index=refs.index, dtype="object")
    reason[by_purpose.to_numpy()] = "purpose " + refs["purpose"].astype("object")[by_purpose.to_numpy()].astype(str)
    reason[by_profile.to_numpy()] = "profile " + profile[by_profile.to_numpy()].astype(str)
    pinned = refs["pinned"].astype("boolean")
    pinned = pinned.where(
        pinned.notna().to_numpy(), refs["key_version"].notna().astype("boolean").where(refs["key_uri"].notna(), pd.NA)
    )
    # A consumer that re-wraps with each new version itself needs no pin, where the key's profile
    # allows it; a signer's purpose or the policy's require_pinning still demand one.
    follows = refs["consumer_type"].str.lower().isin(auto_rotating_consumer_types()).fillna(False).astype(bool)
    allows = profile_field(ctx, profile, "auto_rotation_ok").eq(True)
    exempt = (follows & allows & ~by_purpose & (not by_policy)).to_numpy(dtype=bool)
    fail = (~pinned).mask(exempt, False)
    pin_state = ("pins version " + refs["key_version"].astype("object").fillna("?").astype(str)).where(
        ~exempt | pinned.fillna(False).to_numpy(dtype=bool),
        "references the key without a version and follows its rotation itself ("
        + refs["consumer_type"].astype("object").fillna("?").astype(str)
        + ")",
    )
    # A pinned reference meets any requirement its key's profile could make, so a profile that
    # could not be read leaves nothing unknown about it.
    requirement = by_profile_known.mask((by_profile_known.isna() & pinned.eq(True).fillna(False)).to_numpy(), True)
    only_profile = (by_profile & ~by_purpose & (not by_policy)).to_numpy(dtype=bool)
    severity = profile_severity(ctx, profile, "KV-VER-001").where(only_profile, None)
    out = _reference_verdict(
        ctx,
        refs,
        fail=fail,
        applicable=requirement | by_purpose | by_policy,
        evidence=["key_uri", "key_version", "purpose", "consumer_type"],
        extra={"pin_reason": reason, "pin_state": pin_state},
    )
    return with_severity(out, severity)


@rule(
    id="KV-VER-002",
    title="Pinned key version is missing, disabled or expired",
    severity="high",
    domain="versions",
    resource_type="key_reference",
    rationale="""A pin protects verifiers only while the pinned version works. A version that was deleted,
    disabled after rotation or has expired breaks the consumer at its next start (HTTP 404 or 403), usually
    during an incident or a deployment.""",
    remediation=Remediation(
        cli=(
            "az keyvault key list-versions --vault-name <vault> --name <key> && "
            "az keyvault key set-attributes --vault-name <vault> --name <key> --version <pinned> --enabled true  "
            "# or move the consumer to the current version"
        ),
        arm_bicep="Point keyUrl at an enabled, unexpired version (key.properties.keyUriWithVersion)",
        terraform="Reference azurerm_key_vault_key.k.versioned_id (the current version)",
    ),
    references=REFS_VERSIONS,
    messages={
        "FAIL": "{resource_name} pins version {key_version}, which is {pin_problem}",
        "PASS": "{resource_name} pins version {key_version}, which is enabled and unexpired",
        "UNKNOWN": "{resource_name}: the versions of its key were not observed",
        "NOT_APPLICABLE": "{resource_name} does not pin a version, or its source (IaC) cannot show versions",
    },
)
def broken_pin(ctx: RuleContext) -> pd.DataFrame:
    refs = ctx.key_references
    all_versions = ctx.key_versions
    referenced = set(refs.loc[refs["key_version"].notna().to_numpy(dtype=bool), "key_id"].str.lower().dropna())
    codes, uniques = version_key_codes(ctx)
    wanted_codes = uniques.get_indexer(list(referenced))
    versions = all_versions[np.isin(codes, wanted_codes[wanted_codes >= 0])]
    version_ids = versions["key_id"].str.lower() + "/versions/" + versions["version"].str.lower()
    table = pd.DataFrame(
        {"enabled": versions["enabled"].to_numpy(), "expires": versions["expires"].to_numpy()},
        index=version_ids.to_numpy(),
    )
    table = table[~table.index.duplicated()]
    key_ids = refs["key_id"].str.lower()
    wanted = key_ids + "/versions/" + refs["key_version"].str.lower()
    listed_keys = set(versions["key_id"].str.lower().dropna())
    known_keys = set(ctx.keys["id"].str.lower().dropna())
    known_vaults = set(ctx.vaults["id"].str.lower().dropna())
    found = wanted.isin(table.index)
    enabled = wanted.map(table["enabled"]).astype("boolean")
    expires = pd.to_datetime(wanted.map(table["expires"]), utc=True)
    expired = (expires < ctx.now).fillna(False).astype(bool)
    versions_listed = key_ids.isin(listed_keys)
    key_gone = ~key_ids.isin(known_keys) & refs["vault_id"].str.lower().isin(known_vaults)

    problem = pd.Series(None, index=refs.index, dtype="object")
    fail = pd.Series(pd.NA, index=refs.index, dtype="boolean")
    ok = found & enabled.fillna(False).astype(bool) & ~expired
    fail[ok.to_numpy()] = False
    for mask, text in (
        (found & enabled.isna(), None),
        (found & expired, "expired"),
        (found & enabled.eq(False).fillna(False).astype(bool), "disabled"),
        (~found & versions_listed, "missing from the key's versions"),
        (~found & key_gone, "missing: the key itself no longer exists"),
    ):
        hit = mask.fillna(False).astype(bool).to_numpy()
        if text is not None:
            fail[hit] = True
            problem[hit] = text
    pinned = refs["key_version"].notna()
    return _reference_verdict(
        ctx,
        refs,
        fail=fail,
        applicable=pinned,
        evidence=["key_uri", "key_version"],
        extra={"pin_problem": problem, "version_enabled": enabled, "version_expires": expires},
    )
