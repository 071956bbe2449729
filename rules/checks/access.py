"""Access: who can use which keys. Over-broad role scopes turn one compromised identity into
access to every key in an HSM."""

from __future__ import annotations

import pandas as pd

from rules.context import RuleContext, verdict
from rules.model import Remediation
from rules.registry import rule

#: Managed HSM local built-in role definition GUIDs.
HSM_CRYPTO_USER = "21dbd100-6940-42c2-9190-5d6cb909625b"
HSM_CRYPTO_OFFICER = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
HSM_ADMINISTRATOR = "a290e904-7015-4bba-90c8-60543313cdb4"


def normalise_hsm_scope(scope: pd.Series) -> pd.Series:
    """ "/Keys/" and "/keys" are the same scope; keep "/" as the root."""
    lowered = scope.str.strip().str.lower().str.rstrip("/")
    return lowered.where(lowered != "", "/")


def hsm_role_is(ra: pd.DataFrame, guid: str, name: str) -> pd.Series:
    """Match a local role by definition GUID or by name, since IaC often only has one."""
    by_id = ra["role_definition_id"].str.lower().str.endswith(guid).fillna(False)
    by_name = ra["role_name"].str.lower().eq(name.lower()).fillna(False)
    return (by_id | by_name).astype(bool)


@rule(
    id="KV-ACC-001",
    title="Managed HSM Crypto User or Crypto Officer assigned at / or /keys",
    severity="high",
    domain="access",
    resource_type="role_assignment",
    needs=("role_assignments",),
    rationale="""A Crypto User or Crypto Officer assignment at the HSM root or at /keys applies to every key in
    the HSM, present and future; least privilege scopes it to /keys/<name>. A dedicated single-workload HSM
    can be declared in the policy.""",
    remediation=Remediation(
        cli=(
            "az keyvault role assignment delete --hsm-name <hsm> --assignee <principal> --scope /keys && "
            "az keyvault role assignment create --hsm-name <hsm> --role 'Managed HSM Crypto User' "
            "--assignee <principal> --scope /keys/<key-name>"
        ),
        arm_bicep="Managed HSM local RBAC is data plane: assign with the CLI or Terraform, scope /keys/<key-name>",
        terraform='scope = "/keys/<key-name>"  # azurerm_key_vault_managed_hardware_security_module_role_assignment',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/managed-hsm/access-control",),
    messages={
        "FAIL": "{role_name} for {principal_id} is scoped to {scope}, covering every key in the HSM",
        "PASS": "{role_name} for {principal_id} is scoped to {scope}",
        "NOT_APPLICABLE": "{role_name} is not a key-use role",
    },
)
def hsm_role_over_broad(ctx: RuleContext) -> pd.DataFrame:
    ra = ctx.role_assignments
    ra = ra[ra["plane"] == "managed_hsm"].copy()
    scope = normalise_hsm_scope(ra["scope"])
    key_role = hsm_role_is(ra, HSM_CRYPTO_USER, "Managed HSM Crypto User") | hsm_role_is(
        ra, HSM_CRYPTO_OFFICER, "Managed HSM Crypto Officer"
    )
    hsm_names = ra["vault_id"].str.rsplit("/", n=1).str[-1].str.lower()
    dedicated = hsm_names.isin(ctx.policy.dedicated_hsms if ctx.policy else [])
    broad = scope.isin(["/", "/keys"]).astype("boolean")
    fail = (broad & ~dedicated).astype("boolean")
    return verdict(
        ra,
        fail=fail,
        applicable=key_role,
        evidence=["role_name", "scope", "principal_id", "principal_type"],
        extra={"hsm_dedicated": dedicated},
        resource_name=hsm_names.fillna("?") + ":" + ra["scope"].fillna("?") + ":" + ra["name"].fillna("?"),
        resource_type="Microsoft.KeyVault/managedHSMs/roleAssignments",
    )
