"""Key type: algorithms and sizes that are too weak, or that do not match what the key is for."""

from __future__ import annotations

import pandas as pd

from rules.context import RuleContext
from rules.model import Param, Remediation
from rules.registry import rule


@rule(
    id="KV-KEY-001",
    title="RSA key is smaller than the minimum size",
    severity="medium",
    domain="key_type",
    resource_type="key",
    needs=("keys",),
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
