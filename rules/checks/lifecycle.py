"""Lifecycle: keys that never expire and never rotate accumulate exposure indefinitely."""

from __future__ import annotations

import pandas as pd

from rules.context import RuleContext
from rules.model import Remediation
from rules.registry import rule

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
    needs=("keys",),
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
    return ctx.key_verdict(view, fail=fail, applicable=view["enabled"].fillna(True), evidence=["expires", "enabled"])


@rule(
    id="KV-LIFE-004",
    title="Key has no rotation policy with a Rotate action",
    severity="medium",
    domain="lifecycle",
    resource_type="key",
    needs=("keys",),
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
        "FAIL": "{resource_name} has no rotation policy that rotates (actions: {rotation_actions})",
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
    managed = view["managed"].fillna(False).astype(bool)
    return ctx.key_verdict(
        view, fail=fail, applicable=~managed, evidence=["rotation_policy_present", "rotation_actions"]
    )
