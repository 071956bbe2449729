"""Recovery: a deleted or purged key is unrecoverable data loss, so soft delete and purge
protection are the first line of every key-management baseline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")

REFS_SOFT_DELETE = ("https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview",)


@rule(
    id="KV-REC-001",
    title="Soft delete is disabled",
    severity="high",
    domain="recovery",
    resource_type="vault",
    rationale="""Without soft delete a deleted vault or key is gone at once; an operator mistake or an
    attacker with delete rights destroys every key and everything encrypted with it.""",
    remediation=Remediation(
        cli="az keyvault update --name <vault> --enable-soft-delete true",
        arm_bicep="properties: { enableSoftDelete: true }",
        terraform="Soft delete cannot be disabled in azurerm 3.x+; remove any override and set soft_delete_retention_days",
    ),
    references=REFS_SOFT_DELETE,
    messages={"FAIL": "{resource_name} has soft delete disabled", "PASS": "{resource_name} has soft delete enabled"},
)
def soft_delete_disabled(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    return verdict(v, fail=~v["soft_delete_enabled"], evidence=["soft_delete_enabled"], resource_type=ctx.vault_types)


@rule(
    id="KV-REC-002",
    title="Soft-delete retention is below the minimum",
    severity="medium",
    domain="recovery",
    resource_type="vault",
    rationale="""A short retention window leaves little time to notice and recover a deleted key; a
    deletion over a long weekend or holiday can become permanent.""",
    remediation=Remediation(
        cli="Retention is fixed at creation: recreate the vault with --retention-days 90 and migrate keys",
        arm_bicep="properties: { softDeleteRetentionInDays: 90 }",
        terraform="soft_delete_retention_days = 90",
    ),
    references=REFS_SOFT_DELETE,
    params=(Param("min_retention_days", 90, "Minimum soft-delete retention in days (7-90)"),),
    messages={
        "FAIL": "{resource_name} keeps deleted objects {soft_delete_retention_days} days, below {min_retention_days}",
        "PASS": "{resource_name} keeps deleted objects {soft_delete_retention_days} days",
    },
)
def retention_below_minimum(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    minimum = int(ctx.params["min_retention_days"])
    fail = v["soft_delete_retention_days"] < minimum
    return verdict(
        v,
        fail=fail,
        applicable=v["soft_delete_enabled"],
        evidence=["soft_delete_retention_days"],
        extra={"min_retention_days": pd.Series(minimum, index=v.index)},
        resource_type=ctx.vault_types,
    )


@rule(
    id="KV-REC-003",
    title="Purge protection is disabled",
    severity="high",
    domain="recovery",
    resource_type="vault",
    rationale="""Without purge protection anyone with purge rights can permanently destroy soft-deleted
    keys before the retention period ends, defeating soft delete as a ransomware control.""",
    remediation=Remediation(
        cli="az keyvault update --name <vault> --enable-purge-protection true",
        arm_bicep="properties: { enablePurgeProtection: true }",
        terraform="purge_protection_enabled = true",
    ),
    references=("https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview#purge-protection",),
    messages={
        "FAIL": "{resource_name} has purge protection disabled",
        "PASS": "{resource_name} has purge protection enabled",
    },
)
def purge_protection_disabled(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    return verdict(
        v, fail=~v["purge_protection_enabled"], evidence=["purge_protection_enabled"], resource_type=ctx.vault_types
    )
