"""Tier: keys whose purpose needs hardware protection must not live in software or in a tier
that cannot hold them (standard vault vs Managed HSM)."""

from __future__ import annotations

import pandas as pd

from rules.context import RuleContext
from rules.model import Param, Remediation
from rules.registry import rule


def hsm_required(ctx: RuleContext, view: pd.DataFrame) -> pd.Series:
    """Does the policy or the key's profile require an HSM-backed key?"""
    by_policy = bool(ctx.params.get("require_hsm", False))
    tiers = view["profile"].map(lambda p: ctx.profile_spec(p).get("tier"))
    return tiers.isin(["hsm", "managed_hsm"]) | by_policy


@rule(
    id="KV-TIER-002",
    title="Software-protected key where an HSM is required",
    severity="high",
    domain="tier",
    resource_type="key",
    needs=("keys",),
    rationale="""Software-protected keys (RSA, EC) are processed outside an HSM boundary; keys whose purpose
    (signing roots, key-encryption keys) or policy demands FIPS 140 Level 3 protection must be -HSM keys.""",
    remediation=Remediation(
        cli="az keyvault key create --vault-name <premium-vault> --name <key> --kty RSA-HSM (or EC-HSM), then move consumers",
        arm_bicep="properties: { kty: 'RSA-HSM' }  // in a premium vault or a Managed HSM",
        terraform='key_type = "RSA-HSM"  # or "EC-HSM", in a premium vault or a Managed HSM',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/keys/about-keys",),
    params=(Param("require_hsm", False, "Require HSM-backed keys for every key, not only for profiles that need one"),),
    messages={
        "FAIL": "{resource_name} is a software-protected {kty} key but its profile or the policy requires an HSM",
        "PASS": "{resource_name} is HSM-backed ({kty})",
        "NOT_APPLICABLE": "{resource_name}: neither the policy nor its profile requires an HSM",
    },
)
def software_key_where_hsm_required(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    kty = view["kty"]
    fail = (~kty.str.upper().str.endswith("-HSM")).astype("boolean")
    return ctx.key_verdict(view, fail=fail, applicable=hsm_required(ctx, view), evidence=["kty"])
