"""Lifecycle: keys that never expire and never rotate accumulate exposure indefinitely."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvaudit.rules.checks.common import lookup, version_key_codes
from kvaudit.rules.context import RuleContext
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.fields import unresolved_mask
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

REFS_ROTATION = ("https://learn.microsoft.com/azure/key-vault/keys/how-to-configure-key-rotation",)


def details_known(view: pd.DataFrame) -> pd.Series:
    """True where the key's attributes were read, so a null ``expires`` means *no expiry set*."""
    return view["enabled"].notna() | view["kty"].notna()


@rule(
    id="KV-LIFE-001",
    title="Key has no expiration date",
    severity="medium",
    domain="lifecycle",
    resource_type="key",
    rationale="""An expiration date bounds the cryptoperiod of a key (NIST SP 800-57) and forces a
    deliberate renewal; keys without one tend to live forever.""",
    remediation=Remediation(
        cli="az keyvault key set-attributes --vault-name <vault> --name <key> --expires <ISO-8601 date>",
        arm_bicep="properties: { attributes: { exp: <epoch seconds> } }",
        terraform='expiration_date = "2027-12-31T00:00:00Z"  # or rotation_policy { expire_after = "P1Y" }',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/keys/about-keys-details",),
    messages={"FAIL": "{resource_name} has no expiration date", "PASS": "{resource_name} expires {expires}"},
)
def key_without_expiry(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    known = details_known(view)
    fail = view["expires"].isna().astype("boolean").where(known, pd.NA)
    fail = fail.mask(unresolved_mask(view, "expires"), pd.NA)  # an expiry that could not be evaluated
    return ctx.key_verdict(
        view, fail=fail, applicable=view["enabled"].astype("boolean"), evidence=["expires", "enabled"]
    )


@rule(
    id="KV-LIFE-004",
    title="Key has no rotation policy with a Rotate action",
    severity="medium",
    domain="lifecycle",
    resource_type="key",
    rationale="""Automatic rotation replaces key material on a schedule; without a rotation policy that
    rotates, a key's exposure grows with every operation and every year.""",
    remediation=Remediation(
        cli=(
            "az keyvault key rotation-policy update --vault-name <vault> --name <key> --value "
            '\'{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P90D"},"action":{"type":"Rotate"}}],'
            '"attributes":{"expiryTime":"P1Y"}}\''
        ),
        arm_bicep=(
            "properties: { rotationPolicy: { lifetimeActions: [ { trigger: { timeAfterCreate: 'P90D' }, "
            "action: { type: 'rotate' } } ], attributes: { expiryTime: 'P1Y' } } }"
        ),
        terraform='rotation_policy { automatic { time_after_creation = "P90D" }\n  expire_after = "P1Y" }',
    ),
    references=REFS_ROTATION,
    messages={
        "FAIL": "{resource_name} has no rotation policy that rotates (actions: {rotation_actions:none})",
        "PASS": "{resource_name} rotates automatically",
    },
)
def key_without_rotation(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    rotates = view["rotation_actions"].map(
        lambda actions: any(str(a).lower() == "rotate" for a in actions) if isinstance(actions, list) else None
    )
    present = view["rotation_policy_present"]
    fail = pd.Series(pd.NA, index=view.index, dtype="boolean")
    fail[present == False] = True  # noqa: E712 - nullable boolean comparison
    has_policy = (present == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    fail[has_policy] = ~rotates[has_policy].astype("boolean")
    # A certificate-backed key is rotated by its certificate, not by a rotation policy.
    managed = view["managed"].astype("boolean")
    return ctx.key_verdict(
        view, fail=fail, applicable=~managed, evidence=["rotation_policy_present", "rotation_actions"]
    )


@rule(
    id="KV-LIFE-002",
    title="Key expiry is further away than the maximum validity",
    severity="low",
    domain="lifecycle",
    resource_type="key",
    params=(Param("max_validity_days", 730, "Longest a key may remain valid from today, in days"),),
    rationale="""An expiry ten years out is no cryptoperiod at all. NIST SP 800-57 suggests cryptoperiods of one
    to two years for most symmetric and private signing keys, and CIS asks for rotation at least every two
    years.""",
    remediation=Remediation(
        cli="az keyvault key set-attributes --vault-name <vault> --name <key> --expires <date within the maximum validity>",
        arm_bicep="properties: { attributes: { exp: dateTimeToEpoch(dateTimeAdd(utcNow(), 'P1Y')) } }",
        terraform='expiration_date = timeadd(timestamp(), "8760h")  # or rotation_policy { expire_after = "P1Y" }',
    ),
    references=("https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final", *REFS_ROTATION),
    messages={
        "FAIL": "{resource_name} expires {expires}, more than {max_validity_days} days from now",
        "PASS": "{resource_name} expires {expires}, within {max_validity_days} days",
        "NOT_APPLICABLE": "{resource_name} has no expiry or is disabled",
    },
)
def expiry_beyond_max_validity(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    days = int(ctx.params["max_validity_days"])
    fail = (view["expires"] > ctx.now + pd.Timedelta(days=days)).astype("boolean").where(view["expires"].notna(), pd.NA)
    applicable = view["enabled"].astype("boolean") & (view["expires"].notna() | ~details_known(view))
    return ctx.key_verdict(
        view,
        fail=fail,
        applicable=applicable,
        evidence=["expires"],
        extra={"max_validity_days": pd.Series(days, index=view.index)},
    )


@rule(
    id="KV-LIFE-003",
    title="Key expires soon",
    severity="high",
    domain="lifecycle",
    resource_type="key",
    params=(Param("expiry_warning_days", 30, "Flag enabled keys that expire within this many days (or already have)"),),
    rationale="""An expired key stops encrypting, wrapping and signing: disks fail to attach, storage refuses
    writes and signers stop. Keys close to expiry need a new version and consumers moved before the date.""",
    remediation=Remediation(
        cli="az keyvault key rotate --vault-name <vault> --name <key>  # then update pinned consumers",
        arm_bicep="Rotate the key (new version) and update keyVersion in consumers before the expiry date",
        terraform="Bump the key (taint or rotation_policy) and update versioned_id references before expiry",
    ),
    references=REFS_ROTATION,
    messages={
        "FAIL": "{resource_name} expires {expires}, within {expiry_warning_days} days",
        "PASS": "{resource_name} expires {expires}",
        "NOT_APPLICABLE": "{resource_name} has no expiry or is disabled",
    },
)
def expires_soon(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    days = int(ctx.params["expiry_warning_days"])
    fail = (
        (view["expires"] <= ctx.now + pd.Timedelta(days=days)).astype("boolean").where(view["expires"].notna(), pd.NA)
    )
    applicable = view["enabled"].astype("boolean") & (view["expires"].notna() | ~details_known(view))
    return ctx.key_verdict(
        view,
        fail=fail,
        applicable=applicable,
        evidence=["expires"],
        extra={"expiry_warning_days": pd.Series(days, index=view.index)},
    )


def newest_version_created(ctx: RuleContext, view: pd.DataFrame) -> pd.Series:
    """When each key last got new material: its newest version's creation, else the key's own."""
    codes, uniques = version_key_codes(ctx)
    created_ns = ctx.key_versions["created"].to_numpy(dtype="datetime64[ns]").astype("int64")
    valid = (codes >= 0) & ~np.isnat(ctx.key_versions["created"].to_numpy(dtype="datetime64[ns]"))
    newest_ns = np.full(len(uniques), np.iinfo("int64").min)
    np.maximum.at(newest_ns, codes[valid], created_ns[valid])
    newest = pd.Series(
        pd.to_datetime(
            np.where(newest_ns == np.iinfo("int64").min, np.datetime64("NaT"), newest_ns.astype("datetime64[ns]")),
            utc=True,
        ),
        index=uniques,
    )
    created = lookup(view["id"], newest)
    return created.where(created.notna(), view["created"])


@rule(
    id="KV-LIFE-005",
    title="Key has not been rotated for too long",
    severity="medium",
    domain="lifecycle",
    resource_type="key",
    params=(Param("max_rotation_age_days", 365, "Longest a key may go without a new version, in days"),),
    rationale="""A rotation policy on paper does not prove rotation happened. The age of the newest version
    shows how long the current material has been exposed to use, logging gaps and insider access.""",
    remediation=Remediation(
        cli="az keyvault key rotate --vault-name <vault> --name <key>",
        arm_bicep="rotationPolicy: { lifetimeActions: [ { trigger: { timeAfterCreate: 'P90D' }, action: { type: 'rotate' } } ] }",
        terraform='rotation_policy { automatic { time_after_creation = "P90D" } }',
    ),
    references=REFS_ROTATION,
    messages={
        "FAIL": "{resource_name} last got a new version {last_rotated}, more than {max_rotation_age_days} days ago",
        "PASS": "{resource_name} last got a new version {last_rotated}",
        "NOT_APPLICABLE": "{resource_name} is managed by another service, disabled, or declared in IaC",
    },
)
def rotation_too_old(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    days = int(ctx.params["max_rotation_age_days"])
    last = newest_version_created(ctx, view)
    fail = (last < ctx.now - pd.Timedelta(days=days)).astype("boolean").where(last.notna(), pd.NA)
    applicable = ~view["managed"].fillna(False).astype(bool) & view["enabled"].astype("boolean")
    return ctx.key_verdict(
        view,
        fail=fail,
        applicable=applicable,
        evidence=[],
        extra={"last_rotated": last, "max_rotation_age_days": pd.Series(days, index=view.index)},
    )


@rule(
    id="KV-LIFE-006",
    title="Too many old key versions are still enabled",
    severity="low",
    domain="lifecycle",
    resource_type="key",
    params=(Param("max_enabled_old_versions", 2, "Old (non-current) versions that may stay enabled"),),
    rationale="""Rotation limits exposure only if old versions stop being usable. Old versions stay enabled for
    in-flight decryption and signature checks, but a long tail of enabled versions keeps retired material
    usable indefinitely.""",
    remediation=Remediation(
        cli="az keyvault key set-attributes --vault-name <vault> --name <key> --version <old-version> --enabled false",
        arm_bicep="Disable old versions with the CLI: ARM cannot address key versions",
        terraform="Disable old versions with the CLI: azurerm manages only the current version",
    ),
    references=REFS_ROTATION,
    messages={
        "FAIL": "{resource_name} has {enabled_old_versions} old versions enabled, more than {max_enabled_old_versions}",
        "PASS": "{resource_name} has {enabled_old_versions} old versions enabled",
        "UNKNOWN": "{resource_name}: its versions, or whether they are enabled, were not observed",
        "NOT_APPLICABLE": "{resource_name}: IaC does not describe key versions",
    },
)
def too_many_enabled_versions(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    limit = int(ctx.params["max_enabled_old_versions"])
    versions = ctx.key_versions
    # Per-key counts over a million versions: factorised key ids and numpy bincounts, because
    # string groupbys and lower-casing at that size cost seconds.
    codes, uniques = version_key_codes(ctx)
    current_by_key = pd.Series(view["current_version"].to_numpy(), index=view["id"].to_numpy(), dtype="string")
    current_of_unique = lookup(pd.Series(uniques), current_by_key[~current_by_key.index.duplicated()]).to_numpy()
    current = pd.Series(np.where(codes >= 0, current_of_unique[np.maximum(codes, 0)], None), dtype="string")
    old = versions["version"].reset_index(drop=True).ne(current).fillna(True).to_numpy(dtype=bool) & (codes >= 0)
    enabled = versions["enabled"]
    on_counts = np.bincount(codes[old], weights=enabled.fillna(False).to_numpy(dtype=bool)[old], minlength=len(uniques))
    maybe_counts = np.bincount(codes[old], weights=enabled.isna().to_numpy()[old], minlength=len(uniques))
    ids = view["id"]
    on = lookup(ids, pd.Series(on_counts, index=uniques)).fillna(0).astype(int)
    maybe = lookup(ids, pd.Series(maybe_counts, index=uniques)).fillna(0).astype(int)
    listed = ids.isin(uniques)
    fail = pd.Series(pd.NA, index=view.index, dtype="boolean")
    fail[(on > limit).to_numpy()] = True
    fail[((on + maybe) <= limit).to_numpy() & listed.to_numpy()] = False
    return ctx.key_verdict(
        view,
        fail=fail,
        evidence=[],
        extra={
            "enabled_old_versions": on.astype("Int64").where(listed, pd.NA),
            "max_enabled_old_versions": pd.Series(limit, index=view.index),
        },
    )
