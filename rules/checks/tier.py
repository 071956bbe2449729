"""Tier: keys whose purpose needs hardware protection must not live in software or in a tier
that cannot hold them (standard vault vs Managed HSM)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvaudit.rules.checks.common import profile_field, profile_severity, vault_kind_from_host, with_severity
from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")

REFS_TIERS = (
    "https://learn.microsoft.com/azure/key-vault/keys/about-keys",
    "https://learn.microsoft.com/azure/security/fundamentals/key-management-choose",
)
#: Key types only a Managed HSM can hold (Ed25519 and AES keys).
HSM_ONLY_KTY = ("OKP", "OKP-HSM", "OCT", "OCT-HSM")


def profile_tier(ctx: RuleContext, view: pd.DataFrame) -> pd.Series:
    return profile_field(ctx, view["profile"], "tier")


def hsm_required(ctx: RuleContext, view: pd.DataFrame) -> pd.Series:
    """Does the policy or the key's profile require an HSM-backed key?"""
    by_policy = bool(ctx.params.get("require_hsm", False))
    return profile_tier(ctx, view).isin(["hsm", "managed_hsm"]) | by_policy


def hsm_purpose(ctx: RuleContext, view: pd.DataFrame) -> pd.Series:
    """Does the key's purpose (its profile's tier) need an HSM? The policy's require_hsm is a
    requirement on every key, not a purpose, so it is not counted here."""
    return profile_tier(ctx, view).isin(["hsm", "managed_hsm"])


def vault_sku(ctx: RuleContext, vault_ids: pd.Series) -> pd.Series:
    vaults = ctx.vaults
    return vault_ids.map(pd.Series(vaults["sku"].to_numpy(), index=vaults["id"].to_numpy())).astype("string")


@rule(
    id="KV-TIER-001",
    title="Standard-SKU vault holds a key whose purpose needs an HSM",
    severity="high",
    domain="tier",
    resource_type="key",
    rationale="""A standard-SKU vault can only hold software-protected keys. A key whose profile needs HSM
    protection (a signing root, a KEK, a secp256k1 signer) in such a vault can never meet that need: it must
    move to a premium vault or a Managed HSM.""",
    remediation=Remediation(
        cli="az keyvault create --name <vault> --sku premium (or az keyvault create --hsm-name <hsm>), then recreate the key as -HSM",
        arm_bicep="properties: { sku: { family: 'A', name: 'premium' } }  // or a Microsoft.KeyVault/managedHSMs resource",
        terraform='sku_name = "premium"  # or azurerm_key_vault_managed_hardware_security_module',
    ),
    references=REFS_TIERS,
    messages={
        "FAIL": "{resource_name} ({profile}) needs an HSM but lives in a {vault_sku}-SKU vault",
        "PASS": "{resource_name} ({profile}) lives in a {vault_sku} {vault_kind}",
        "NOT_APPLICABLE": "{resource_name}: its profile does not need an HSM",
    },
)
def standard_vault_holds_hsm_key(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    sku = vault_sku(ctx, view["vault_id"])
    in_vault = view["vault_kind"].eq("vault")
    fail = sku.str.lower().eq("standard").astype("boolean").where(in_vault.fillna(True).to_numpy(), False)
    fail = fail.where(view["vault_kind"].notna().to_numpy(), pd.NA)
    return ctx.key_verdict(
        view,
        fail=fail,
        applicable=profile_tier(ctx, view).isin(["hsm", "managed_hsm"]),
        evidence=["vault_kind"],
        extra={"vault_sku": sku},
    )


@rule(
    id="KV-TIER-002",
    title="Software-protected key where an HSM is required",
    severity="high",
    domain="tier",
    resource_type="key",
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
        "FAIL": "{resource_name} is a software-protected {kty} key but {hsm_reason}",
        "PASS": "{resource_name} is HSM-backed ({kty})",
        "NOT_APPLICABLE": "{resource_name}: neither the policy nor its profile requires an HSM",
    },
)
def software_key_where_hsm_required(ctx: RuleContext) -> pd.DataFrame:
    """Keys whose profile or the policy requires an HSM fail at the rule's severity; keys whose
    profile only prefers one (the ``default`` profile: Azure Policy 587c79fe, "Keys should be
    backed by a hardware security module") fail at the severity that profile gives the rule."""
    view = ctx.key_view
    kty = view["kty"]
    fail = (~kty.str.upper().str.endswith("-HSM")).astype("boolean")
    required = hsm_required(ctx, view)
    preferred = profile_field(ctx, view["profile"], "hsm_preferred").eq(True)
    by_policy = bool(ctx.params.get("require_hsm", False))
    names = view["profile"].fillna("?").astype(str)
    is_required = required.to_numpy(dtype=bool)
    reason = ("its profile " + names + " requires an HSM").where(
        is_required, "keys should be HSM-backed (Azure Policy 587c79fe; profile " + names + ")"
    )
    if by_policy:
        reason[:] = "the policy requires every key to be HSM-backed (require_hsm)"
    severity = profile_severity(ctx, view["profile"], "KV-TIER-002").where(~is_required, None)
    out = ctx.key_verdict(
        view,
        fail=fail,
        applicable=required | preferred,
        evidence=["kty"],
        extra={"hsm_reason": reason},
    )
    return with_severity(out, severity)


@rule(
    id="KV-TIER-006",
    title="Standard-SKU vault can hold only software-protected keys",
    severity="info",
    domain="tier",
    resource_type="vault",
    rationale="""A standard-SKU vault cannot create or import HSM-backed keys, so every key it will ever hold is
    processed outside an HSM boundary. While none of its keys' purposes needs an HSM this is information, not a
    failure: it says where a key that later needs one (a signing root, a KEK) must not be created. A standard
    vault that holds such a key fails KV-TIER-001 instead, once per key.""",
    remediation=Remediation(
        cli="az keyvault update --name <vault> --sku premium  # or keep keys whose purpose needs an HSM elsewhere",
        arm_bicep="properties: { sku: { family: 'A', name: 'premium' } }",
        terraform='sku_name = "premium"',
    ),
    references=REFS_TIERS + ("https://learn.microsoft.com/azure/key-vault/general/overview",),
    messages={
        "FAIL": "{resource_name} is a standard-SKU vault: it can hold only software-protected keys (it holds {key_count}, none whose profile needs an HSM)",
        "PASS": "{resource_name} is a {sku}-SKU vault and can hold HSM-backed keys",
        "NOT_APPLICABLE": "{resource_name}: a Managed HSM, or a standard vault holding a key whose purpose needs an HSM (KV-TIER-001)",
    },
)
def standard_vault_software_only(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    view = ctx.key_view
    vault_ids = v["id"].str.lower()
    key_vaults = view["vault_id"].str.lower()
    purpose = hsm_purpose(ctx, view)
    with_hsm_key = set(key_vaults[purpose.fillna(False).to_numpy(dtype=bool)].dropna())
    counts = key_vaults.value_counts()
    in_vault = v["kind"].eq("vault")
    standard = v["sku"].str.lower().eq("standard")
    holds_hsm_key = vault_ids.isin(with_hsm_key).fillna(False).astype(bool)
    return verdict(
        v,
        fail=standard,
        applicable=in_vault & ~holds_hsm_key,
        evidence=["sku"],
        extra={"key_count": vault_ids.map(counts).fillna(0).astype(int)},
        resource_type=ctx.vault_types,
    )


@rule(
    id="KV-TIER-003",
    title="Key whose purpose needs a Managed HSM is outside a Managed HSM",
    severity="high",
    domain="tier",
    resource_type="key",
    rationale="""Ed25519 (OKP) and AES (oct) keys exist only in Managed HSM, and profiles such as the bootstrap
    signer, the envelope KEK, secure key release and the BYOK KEK rely on its single-tenant FIPS 140-3 Level 3
    boundary and local RBAC. The same key in a vault is the wrong type, or a multi-tenant substitute.""",
    remediation=Remediation(
        cli="az keyvault key create --hsm-name <hsm> --name <key> --kty OKP-HSM --curve Ed25519 (or --kty oct-HSM --size 256)",
        arm_bicep="resource key 'Microsoft.KeyVault/managedHSMs/keys@2023-07-01' = { parent: hsm, name: '<key>', properties: { kty: 'oct-HSM', keySize: 256 } }",
        terraform='resource "azurerm_key_vault_managed_hardware_security_module_key" "k" { managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id }',
    ),
    references=REFS_TIERS + ("https://learn.microsoft.com/azure/key-vault/managed-hsm/overview",),
    messages={
        "FAIL": "{resource_name} ({profile}, {kty}) must live in a Managed HSM but lives in a {vault_kind}",
        "PASS": "{resource_name} ({profile}) lives in a Managed HSM",
        "NOT_APPLICABLE": "{resource_name}: neither its type nor its profile needs a Managed HSM",
    },
)
def managed_hsm_key_outside_hsm(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    needs_mhsm = profile_tier(ctx, view).eq("managed_hsm") | view["kty"].str.upper().isin(HSM_ONLY_KTY).fillna(False)
    fail = view["vault_kind"].ne("managed_hsm").astype("boolean").where(view["vault_kind"].notna().to_numpy(), pd.NA)
    return ctx.key_verdict(view, fail=fail, applicable=needs_mhsm, evidence=["kty", "vault_kind"])


@rule(
    id="KV-TIER-004",
    title="Consumer expects an Ed25519 or AES key from a standard vault",
    severity="high",
    domain="tier",
    resource_type="key_reference",
    rationale="""A standard vault (*.vault.azure.net, *.vault.usgovcloudapi.net, *.vault.azure.cn) cannot hold
    OKP (Ed25519) or oct (AES) keys. A consumer configured with such a host for a key whose profile or type is
    Ed25519 or AES fails at start-up, or silently signs or wraps with a different, weaker key.""",
    remediation=Remediation(
        cli="Point the consumer at https://<hsm>.managedhsm.azure.net/keys/<key>/<version> (az keyvault key show --hsm-name <hsm> --name <key> --query key.kid)",
        arm_bicep="keyUrl: 'https://<hsm>.managedhsm.azure.net/keys/<key>/<version>'",
        terraform="key_vault_key_id = azurerm_key_vault_managed_hardware_security_module_key.k.versioned_id",
    ),
    references=("https://learn.microsoft.com/azure/key-vault/managed-hsm/overview", *REFS_TIERS),
    messages={
        "FAIL": "{resource_name} expects {expected_kty} ({profile}) but points at {vault_host}, a {target_kind}",
        "PASS": "{resource_name} points at {vault_host}, a Managed HSM",
        "NOT_APPLICABLE": "{resource_name}: the key it expects is not an Ed25519 or AES key",
    },
)
def consumer_expects_hsm_key_from_vault(ctx: RuleContext) -> pd.DataFrame:
    refs = ctx.key_references
    views = ctx.key_view.drop_duplicates("id").set_index("id")
    key_ids = refs["key_id"].str.lower()
    profile = key_ids.map(views["profile"])
    expected = profile_field(ctx, profile, "kty").map(lambda k: k[0] if isinstance(k, list) and k else None)
    expected = expected.where(expected.notna(), key_ids.map(views["kty"]))
    hsm_only = expected.astype("string").str.upper().isin(HSM_ONLY_KTY).fillna(False).astype(bool)
    # The vault kind when the reference resolved to a vault in the inventory; DNS suffixes otherwise.
    target_kind = refs["vault_id"].str.lower().map(ctx.vault_kind)
    target_kind = target_kind.where(target_kind.notna(), vault_kind_from_host(refs["vault_host"]))
    fail = target_kind.ne("managed_hsm").astype("boolean").where(target_kind.notna().to_numpy(), pd.NA)
    return verdict(
        refs,
        fail=fail,
        applicable=hsm_only,
        evidence=["vault_host", "key_uri", "consumer_type"],
        extra={
            "expected_kty": expected,
            "target_kind": target_kind,
            "profile": profile,
            "profile_source": key_ids.map(views["profile_source"]),
            "profile_reason": key_ids.map(views["profile_reason"]),
        },
        resource_name=refs["consumer_name"].fillna(refs["consumer_id"]),
        resource_type=refs["consumer_type"].fillna("key_reference"),
    )


@rule(
    id="KV-TIER-005",
    title="Managed HSM security domain is not activated",
    severity="high",
    domain="tier",
    resource_type="vault",
    rationale="""Until its security domain is downloaded with a quorum of RSA keys, a Managed HSM refuses every
    key operation; worse, an HSM that was never activated has no recoverable security domain, so nobody holds
    the shares needed for disaster recovery.""",
    remediation=Remediation(
        cli=(
            "az keyvault security-domain download --hsm-name <hsm> --sd-wrapping-keys cert_0.cer cert_1.cer cert_2.cer "
            "--sd-quorum 2 --security-domain-file <hsm>-SD.json"
        ),
        arm_bicep="Activation is a data-plane ceremony: run az keyvault security-domain download after deployment",
        terraform='resource "azurerm_key_vault_managed_hardware_security_module" "hsm" { security_domain_key_vault_certificate_ids = [...]\n  security_domain_quorum = 2 }',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/managed-hsm/security-domain",),
    messages={
        "FAIL": "{resource_name} has not activated its security domain",
        "PASS": "{resource_name} has an activated security domain",
        "NOT_APPLICABLE": "{resource_name} is not a Managed HSM",
    },
)
def security_domain_not_activated(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    return verdict(
        v,
        fail=~v["security_domain_activated"],
        applicable=v["kind"].eq("managed_hsm").fillna(False),
        evidence=["security_domain_activated"],
        resource_type=ctx.vault_types,
    )
