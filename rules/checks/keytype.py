"""Key type: algorithms and sizes that are too weak, or that do not match what the key is for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kvaudit.rules.checks.common import (
    constant,
    key_op_sets,
    nullable,
    profile_field,
    profile_severity,
    with_severity,
)
from kvaudit.rules.context import RuleContext
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.fields import unresolved_mask
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")


@rule(
    id="KV-KEY-001",
    title="RSA key is smaller than the minimum size",
    severity="medium",
    domain="key_type",
    resource_type="key",
    rationale="""NIST SP 800-57 and SP 800-131A retire 112-bit security (RSA 2048) after 2030; keys created now
    with multi-year lifetimes should be at least 3072 bits.""",
    remediation=Remediation(
        cli="az keyvault key create --vault-name <vault> --name <key> --kty RSA-HSM --size 3072",
        arm_bicep="properties: { kty: 'RSA-HSM', keySize: 3072 }",
        terraform="key_size = 3072",
    ),
    references=("https://csrc.nist.gov/pubs/sp/800/131/a/r2/final",),
    params=(Param("min_rsa_key_size", 3072, "Minimum RSA modulus size in bits"),),
    messages={
        "FAIL": "{resource_name} is RSA {key_size} bits, below {min_rsa_key_size}",
        "PASS": "{resource_name} is RSA {key_size} bits",
    },
)
def rsa_key_too_small(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    minimum = int(ctx.params["min_rsa_key_size"])
    is_rsa = view["kty"].str.upper().str.startswith("RSA").fillna(True)
    return ctx.key_verdict(
        view,
        fail=view["key_size"] < minimum,
        applicable=is_rsa,
        evidence=["kty", "key_size"],
        extra={"min_rsa_key_size": pd.Series(minimum, index=view.index)},
    )


#: The two families of key operations one key must not mix (lower case, as key_op_sets gives).
SIGNING_FAMILY = frozenset({"sign", "verify"})
ENCRYPTION_FAMILY = frozenset({"encrypt", "decrypt", "wrapkey", "unwrapkey"})


_OP_NAMES = {"wrapkey": "wrapKey", "unwrapkey": "unwrapKey"}


def _op_names(ops: list[str]) -> list[str]:
    """Lower-case operation names as Azure spells them (wrapKey, unwrapKey)."""
    return [_OP_NAMES.get(op, op) for op in ops]


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else None


def profile_fix(profile: Any, kty: Any, curve: Any, size: Any, source: Any, in_hsm: bool) -> str | None:
    """How to declare a key as its profile requires, in the format the finding's source is
    written in: Terraform attributes, Bicep/ARM properties, or the az CLI for live Azure and
    snapshots (in a Managed HSM when the key lives in one or its profile needs one). Only the
    fields the profile constrains are named; None when it constrains none."""
    if kty is None and curve is None and size is None:
        return None
    fmt = str(source or "").lower()
    if fmt in ("terraform", "terraform-plan"):
        parts = [f'key_type = "{kty}"'] if kty else []
        parts += [f'curve = "{curve}"'] if curve else []
        parts += [f"key_size = {size}"] if size is not None else []
        text = ", ".join(parts)
        if str(kty or "").upper().startswith("OKP"):
            text += " (azurerm has no OKP key type: declare it with azapi_resource or create it with the az CLI)"
        return f"{text} (profile {profile})"
    if fmt in ("arm", "bicep"):
        parts = [f"kty: '{kty}'"] if kty else []
        parts += [f"curveName: '{curve}'"] if curve else []
        parts += [f"keySize: {size}"] if size is not None else []
        return f"properties: {{ {', '.join(parts)} }} (profile {profile})"
    where = "--hsm-name <hsm>" if in_hsm else "--vault-name <vault>"
    parts = [f"--kty {kty}"] if kty else []
    parts += [f"--curve {curve}"] if curve else []
    parts += [f"--size {size}"] if size is not None else []
    return f"az keyvault key create {where} --name <key> {' '.join(parts)} (profile {profile})"


def _outside(values: pd.Series, allowed: pd.Series) -> pd.Series:
    """Nullable: is each value (case-insensitive) outside its row's allowed list? False where the
    row has no list, unknown where the value is unknown. Grouped by distinct list, not per row."""
    out = pd.Series(False, index=values.index, dtype="boolean")
    lists = allowed.map(lambda a: tuple(str(x).lower() for x in a) if isinstance(a, list) and a else None)
    text = values.astype("string").str.lower()
    codes, distinct = pd.factorize(lists)
    for i, options in enumerate(distinct):
        rows = codes == i
        out[rows] = (~text[rows].isin(options)).where(text[rows].notna(), pd.NA).to_numpy()
    return out


@rule(
    id="KV-KEY-002",
    title="Key type, curve or size does not match the key's profile",
    severity="high",
    domain="key_type",
    resource_type="key",
    rationale="""A key's purpose fixes its algorithm: the bootstrap signer verifies Ed25519 signatures, the KEK
    is AES-256-GCM, an Ethereum signer needs secp256k1 in an HSM. Any other type breaks the consumer at start-up
    or, worse, is accepted by a lenient one with weaker guarantees.""",
    remediation=Remediation(
        cli="az keyvault key create --hsm-name <hsm> --name <key> --kty <profile kty> --curve <profile curve> (or --size <profile size>), then move consumers  # each finding names its profile's values",
        arm_bicep="properties: { kty: '<profile kty>', curveName: '<profile curve>' }  // or keySize; each finding names its profile's values",
        terraform='key_type = "<profile kty>"\ncurve = "<profile curve>"  # or key_size; each finding names its profile\'s values',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/keys/about-keys-details",),
    messages={
        "FAIL": "{resource_name} is {kty} {curve:omit} {key_size:omit}, but its profile {profile} allows key types {profile_kty:any}; curves {profile_curves:any}; sizes {profile_key_sizes:any}. Fix: {profile_fix}",
        "PASS": "{resource_name} matches its profile {profile} ({kty} {curve:omit} {key_size:omit})",
        "NOT_APPLICABLE": "{resource_name}: no profile constrains its type",
    },
)
def key_type_mismatch(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    kty_allowed = profile_field(ctx, view["profile"], "kty")
    curves = profile_field(ctx, view["profile"], "curves")
    sizes = profile_field(ctx, view["profile"], "key_sizes")
    wrong_kty = _outside(view["kty"], kty_allowed)
    wrong_curve = _outside(view["curve"], curves)
    wrong_size = _outside(view["key_size"], sizes)
    # Any definite mismatch fails; otherwise an unknown attribute leaves the answer unknown.
    fail = wrong_kty | wrong_curve | wrong_size
    constrained = pd.Series(
        [any(isinstance(x, list) and x for x in row) for row in zip(kty_allowed, curves, sizes, strict=True)],
        index=view.index,
    )
    sources = view["source"] if "source" in view.columns else pd.Series(None, index=view.index, dtype="object")
    in_hsm = view["vault_kind"].eq("managed_hsm").fillna(False) | profile_field(ctx, view["profile"], "tier").eq(
        "managed_hsm"
    )
    fixes = [
        profile_fix(p, _first(k), _first(c), _first(z), src, bool(hsm)) if ok else None
        for p, k, c, z, src, hsm, ok in zip(
            view["profile"], kty_allowed, curves, sizes, sources, in_hsm, constrained, strict=True
        )
    ]
    return ctx.key_verdict(
        view,
        fail=fail,
        applicable=constrained,
        evidence=["kty", "curve", "key_size"],
        extra={
            "profile_kty": kty_allowed,
            "profile_curves": curves,
            "profile_key_sizes": sizes,
            "profile_fix": pd.Series(fixes, index=view.index, dtype="object"),
        },
    )


@rule(
    id="KV-KEY-003",
    title="Elliptic-curve key uses a curve the policy does not allow",
    severity="medium",
    domain="key_type",
    resource_type="key",
    params=(
        Param("allowed_curves", ["P-256", "P-384", "P-521", "P-256K", "Ed25519"], "Curves EC and OKP keys may use"),
    ),
    rationale="""Organisations restrict curves to those their verifiers, auditors and crypto policy accept (for
    example P-384 and above for CNSA 2.0 style policies); a key on another curve is a policy exception that
    must be visible.""",
    remediation=Remediation(
        cli="az keyvault key create --vault-name <vault> --name <key> --kty EC-HSM --curve P-384",
        arm_bicep="properties: { kty: 'EC-HSM', curveName: 'P-384' }",
        terraform='key_type = "EC-HSM"\ncurve = "P-384"',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/keys/about-keys-details#curve-types",),
    messages={
        "FAIL": "{resource_name} uses curve {curve}, not one of {allowed_curves}",
        "PASS": "{resource_name} uses allowed curve {curve}",
        "NOT_APPLICABLE": "{resource_name} is not an elliptic-curve key",
    },
)
def disallowed_curve(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    allowed = [str(c) for c in ctx.params["allowed_curves"]]
    kty = view["kty"].str.upper()
    curved = kty.str.startswith("EC") | kty.str.startswith("OKP")
    fail = _outside(view["curve"], constant(allowed, view.index))
    return ctx.key_verdict(
        view,
        fail=fail,
        applicable=curved.fillna(view["curve"].notna()),
        evidence=["kty", "curve"],
        extra={"allowed_curves": constant(allowed, view.index)},
    )


@rule(
    id="KV-KEY-004",
    title="Symmetric key is shorter than 256 bits",
    severity="high",
    domain="key_type",
    resource_type="key",
    params=(Param("min_oct_key_size", 256, "Minimum size in bits of symmetric (oct) keys"),),
    rationale="""AES-128 keys wrap data-encryption keys with half the margin of AES-256 against future (including
    quantum) attacks; KEKs protect long-lived data and should be 256 bits.""",
    remediation=Remediation(
        cli="az keyvault key create --hsm-name <hsm> --name <key> --kty oct-HSM --size 256",
        arm_bicep="properties: { kty: 'oct-HSM', keySize: 256 }",
        terraform='key_type = "oct-HSM"\nkey_size = 256',
    ),
    references=("https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final",),
    messages={
        "FAIL": "{resource_name} is a {key_size}-bit symmetric key, below {min_oct_key_size}",
        "PASS": "{resource_name} is a {key_size}-bit symmetric key",
        "NOT_APPLICABLE": "{resource_name} is not a symmetric key",
    },
)
def oct_key_too_small(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    minimum = int(ctx.params["min_oct_key_size"])
    is_oct = view["kty"].str.upper().str.startswith("OCT").fillna(False)
    return ctx.key_verdict(
        view,
        fail=view["key_size"] < minimum,
        applicable=is_oct,
        evidence=["kty", "key_size"],
        extra={"min_oct_key_size": pd.Series(minimum, index=view.index)},
    )


@rule(
    id="KV-KEY-005",
    title="Key operations are broader than the key's profile allows",
    severity="high",
    domain="key_type",
    resource_type="key",
    rationale="""key_ops is the last line of defence: a signing key that also permits decrypt or unwrapKey
    turns every identity allowed to use it into a decryption oracle, and a BYOK KEK that can do more than
    import is no longer only a transport key. A key with no declared purpose (the default profile) must still
    keep to one purpose: signing (sign, verify) or encryption (encrypt, decrypt, wrapKey, unwrapKey), never
    both (NIST SP 800-57 Part 1 section 5.2). Declaring no keyOps in ARM or Bicep allows every operation of the
    key's type.""",
    remediation=Remediation(
        cli="az keyvault key set-attributes --hsm-name <hsm> --name <key> --ops sign verify  # the profile's operations",
        arm_bicep="properties: { keyOps: [ 'sign', 'verify' ] }  // or [ 'wrapKey', 'unwrapKey' ]: one purpose",
        terraform='key_opts = ["sign", "verify"]  # or ["wrapKey", "unwrapKey"]: one purpose',
    ),
    references=(
        "https://learn.microsoft.com/azure/key-vault/keys/about-keys-details#key-operations",
        "https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final",
    ),
    messages={
        "FAIL": "{resource_name} {ops_problem}",
        "PASS": "{resource_name} allows only {key_ops}, within its profile {profile}",
        "NOT_APPLICABLE": "{resource_name}: no profile limits its operations",
    },
)
def key_ops_broader_than_profile(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    allowed = profile_field(ctx, view["profile"], "key_ops")
    single = profile_field(ctx, view["profile"], "single_purpose").eq(True)
    ops = key_op_sets(ctx)
    extra_ops: list[list[str] | None] = []
    problems: list[str | None] = []
    fails: list[bool | None] = []
    for o, a, one_purpose, name in zip(ops, allowed, single, view["profile"], strict=True):
        if o is None:  # unknown operations: extras are unknown only where a list constrains them
            extra_ops.append(None if isinstance(a, list) else [])
            problems.append("")
            fails.append(None)
            continue
        extra = sorted(o - {str(x).lower() for x in a}) if isinstance(a, list) else []
        signing, encrypting = sorted(o & SIGNING_FAMILY), sorted(o & ENCRYPTION_FAMILY)
        mixed = bool(one_purpose and signing and encrypting)
        extra_ops.append(extra if isinstance(a, list) else None)
        if extra:
            problems.append(f"allows {', '.join(extra)} beyond its profile {name} ({', '.join(map(str, a))})")
        elif mixed:
            problems.append(
                f"mixes signing ({', '.join(_op_names(signing))}) with encryption "
                f"({', '.join(_op_names(encrypting))}) operations: one key, one purpose (profile {name})"
            )
        else:
            problems.append("")
        fails.append(bool(extra) or mixed)
    out = ctx.key_verdict(
        view,
        fail=nullable(fails, view.index),
        applicable=allowed.map(lambda a: isinstance(a, list)) | single,
        evidence=["key_ops"],
        extra={
            # "any" where the profile lists no operations (single_purpose alone constrains them).
            "profile_key_ops": allowed.where(allowed.map(lambda a: isinstance(a, list)), "any"),
            "extra_key_ops": pd.Series(extra_ops, index=view.index, dtype="object"),
            "ops_problem": pd.Series(problems, index=view.index, dtype="object"),
        },
    )
    return with_severity(out, profile_severity(ctx, view["profile"], "KV-KEY-005"))


REFS_SKR = (
    "https://learn.microsoft.com/azure/confidential-computing/concept-skr-attestation",
    "https://learn.microsoft.com/azure/key-vault/keys/policy-grammar",
)


@rule(
    id="KV-KEY-006",
    title="Exportable key has no release policy",
    severity="high",
    domain="key_type",
    resource_type="key",
    rationale="""An exportable key is released only to callers that satisfy its release policy; without one
    the key's export is gated by nothing but role assignments, defeating the point of keeping it in an HSM.""",
    remediation=Remediation(
        cli="az keyvault key create --hsm-name <hsm> --name <key> --kty RSA-HSM --exportable true --policy @skr-policy.json",
        arm_bicep="properties: { attributes: { exportable: true }, release_policy: { contentType: 'application/json; charset=utf-8', data: base64(policyJson) } }",
        terraform="Create the key with az CLI or azapi: azurerm keys cannot carry a release policy",
    ),
    references=REFS_SKR,
    messages={
        "FAIL": "{resource_name} is exportable without a release policy",
        "PASS": "{resource_name} is not exportable, or its export is gated by a release policy",
    },
)
def exportable_without_policy(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    # A policy declared with a value the source could not evaluate exists, but is not known.
    policy_unknown = unresolved_mask(view, "release_policy")
    fail = (view["exportable"] & view["release_policy"].isna()).astype("boolean").mask(policy_unknown, pd.NA)
    return ctx.key_verdict(
        view,
        fail=fail,
        evidence=["exportable"],
        extra={"has_release_policy": view["release_policy"].notna()},
    )


def guaranteed_claims(node: Any) -> set[tuple[str, str]] | None:
    """Claims (name, value) every successful evaluation of a release-policy node requires.

    allOf requires the union of its children's claims; anyOf only those common to all branches
    (an attacker picks the weakest branch). Unknown structure returns None.
    """
    if not isinstance(node, dict):
        return None
    found: set[tuple[str, str]] = set()
    if "claim" in node:
        value = node.get("equals")
        found.add((str(node["claim"]).lower(), str(value).lower()))
    for child in node.get("allOf") or []:
        claims = guaranteed_claims(child)
        if claims is None:
            return None
        found |= claims
    branches = node.get("anyOf")
    if branches:
        per_branch = [guaranteed_claims(b) for b in branches]
        if any(c is None for c in per_branch):
            return None
        found |= set.intersection(*per_branch)  # type: ignore[arg-type]
    return found


@rule(
    id="KV-KEY-007",
    title="Release policy does not require the attestation claims",
    severity="high",
    domain="key_type",
    resource_type="key",
    params=(
        Param(
            "required_release_claims",
            {},
            "Claims (name = value) every release policy must require, on top of those of the key's profile",
        ),
    ),
    rationale="""Secure key release is only as strong as the claims its policy demands. Without
    x-ms-isolation-tee.x-ms-attestation-type = sevsnpvm and x-ms-isolation-tee.x-ms-compliance-status =
    azure-compliant-cvm in every branch, a token from a non-confidential or non-compliant host can obtain the
    key.""",
    remediation=Remediation(
        cli="az keyvault key set-attributes --hsm-name <hsm> --name <key> --policy @skr-policy.json  # allOf: attestation-type and compliance-status",
        arm_bicep='release_policy: { data: base64(\'{"version":"1.0.0","anyOf":[{"authority":"<maa>","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"},{"claim":"x-ms-isolation-tee.x-ms-compliance-status","equals":"azure-compliant-cvm"}]}]}\') }',
        terraform="Manage release policies with az CLI or azapi_resource; azurerm does not model them",
    ),
    references=REFS_SKR,
    messages={
        "FAIL": "{resource_name}'s release policy does not require {missing_claims}",
        "PASS": "{resource_name}'s release policy requires {required_claims} in every branch",
        "NOT_APPLICABLE": "{resource_name} has no release policy, or no claims are required of it",
    },
)
def release_policy_missing_claims(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    extra_required = {str(k).lower(): str(v).lower() for k, v in dict(ctx.params["required_release_claims"]).items()}
    by_profile = profile_field(ctx, view["profile"], "release_claims")
    required = [
        sorted({**{str(k).lower(): str(v).lower() for k, v in (p or {}).items()}, **extra_required}.items())
        for p in by_profile
    ]
    missing = []
    for policy, needed in zip(view["release_policy"], required, strict=True):
        claims = guaranteed_claims(policy) if isinstance(policy, dict) else None
        missing.append(None if claims is None else [f"{k}={v}" for k, v in needed if (k, v) not in claims])
    fail = nullable((None if m is None else bool(m) for m in missing), view.index)
    declared = view["release_policy"].notna() | unresolved_mask(view, "release_policy")
    applicable = declared & pd.Series([bool(r) for r in required], index=view.index)
    return ctx.key_verdict(
        view,
        fail=fail,
        applicable=applicable,
        evidence=[],
        extra={
            "required_claims": pd.Series([[f"{k}={v}" for k, v in r] for r in required], index=view.index),
            "missing_claims": pd.Series(missing, index=view.index, dtype="object"),
        },
    )


@rule(
    id="KV-KEY-008",
    title="Release policy is mutable",
    severity="medium",
    domain="key_type",
    resource_type="key",
    rationale="""A mutable release policy can be rewritten by anyone who can update the key, widening who may
    obtain it after the fact; an immutable policy fixes the attestation bar for the key's lifetime.""",
    remediation=Remediation(
        cli="az keyvault key create --hsm-name <hsm> --name <key> --exportable true --policy @skr-policy.json --immutable true",
        arm_bicep="release_policy: { immutable: true, data: ... }",
        terraform="Set the immutable flag with az CLI or azapi_resource; azurerm does not model release policies",
    ),
    references=REFS_SKR,
    messages={
        "FAIL": "{resource_name}'s release policy can still be changed",
        "PASS": "{resource_name}'s release policy is immutable",
        "NOT_APPLICABLE": "{resource_name} has no release policy",
    },
)
def release_policy_mutable(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    policy_unknown = unresolved_mask(view, "release_policy")
    return ctx.key_verdict(
        view,
        fail=(~view["release_policy_immutable"]).mask(policy_unknown, pd.NA),
        applicable=view["release_policy"].notna() | policy_unknown,
        evidence=["release_policy_immutable"],
    )


@rule(
    id="KV-KEY-009",
    title="Key names a profile that is not defined",
    severity="medium",
    domain="key_type",
    resource_type="key",
    rationale="""A profile tag or policy assignment with a typo would silently exempt a key from the checks its
    purpose demands; kvaudit reports the unknown name and falls back to the next source of profiles.""",
    remediation=Remediation(
        cli="az keyvault key set-attributes --hsm-name <hsm> --name <key> --tags kvaudit-profile=<profile>  # see kvaudit profiles",
        arm_bicep="tags: { 'kvaudit-profile': '<profile>' }  // one of kvaudit profiles",
        terraform='tags = { "kvaudit-profile" = "<profile>" }  # one of kvaudit profiles',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/keys/about-keys-details",),
    messages={
        "FAIL": "{resource_name}: {profile_unknown} names no known profile (judged by its fallback profile: {profile:none})",
        "PASS": "{resource_name} has the known profile {profile} from its {profile_source}",
        "NOT_APPLICABLE": "{resource_name} names no profile",
    },
)
def unknown_profile(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    declared = view["profile_source"].isin(["tag", "policy"]).fillna(False) | view["profile_unknown"].notna()
    return ctx.key_verdict(
        view,
        fail=view["profile_unknown"].notna().astype("boolean"),
        applicable=declared,
        evidence=["profile_unknown"],
    )
