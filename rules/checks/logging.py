"""Logging: without audit logs no one can tell who used, changed or deleted a key, and an
investigation after a breach has nothing to read."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rules.context import RuleContext, verdict
from rules.model import Remediation
from rules.registry import rule

AUDIT_CATEGORIES = {"auditevent"}
AUDIT_GROUPS = {"audit", "alllogs"}


def _sends_audit(logs: Any) -> bool:
    if not isinstance(logs, list):
        return False
    for entry in logs:
        if not isinstance(entry, dict) or entry.get("enabled") is False:
            continue
        if str(entry.get("category") or "").lower() in AUDIT_CATEGORIES:
            return True
        if str(entry.get("category_group") or "").lower() in AUDIT_GROUPS:
            return True
    return False


def audit_settings(ctx: RuleContext) -> pd.DataFrame:
    """Diagnostic settings that send the audit category to at least one destination."""
    ds = ctx.diagnostic_settings
    has_destination = (
        ds["workspace_id"].notna()
        | ds["storage_account_id"].notna()
        | ds["event_hub_authorization_rule_id"].notna()
        | ds["marketplace_partner_id"].notna()
    )
    audit = pd.Series([_sends_audit(x) for x in ds["logs"]], index=ds.index, dtype=bool)
    return ds[audit & has_destination.to_numpy(dtype=bool)]


@rule(
    id="KV-LOG-001",
    title="No diagnostic setting sends audit logs",
    severity="high",
    domain="logging",
    resource_type="vault",
    needs=("vaults", "diagnostic_settings"),
    rationale="""Key Vault records every key operation in the AuditEvent category only when a diagnostic
    setting sends it somewhere; without one, key use and misuse leave no trace.""",
    remediation=Remediation(
        cli=(
            "az monitor diagnostic-settings create --name audit --resource <vault-id> "
            '--workspace <workspace-id> --logs \'[{"categoryGroup":"audit","enabled":true}]\''
        ),
        arm_bicep=(
            "resource diag 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = { scope: vault, "
            "properties: { workspaceId: ws.id, logs: [ { categoryGroup: 'audit', enabled: true } ] } }"
        ),
        terraform=(
            'resource "azurerm_monitor_diagnostic_setting" "audit" { target_resource_id = azurerm_key_vault.kv.id\n'
            "  log_analytics_workspace_id = azurerm_log_analytics_workspace.ws.id\n"
            '  enabled_log { category_group = "audit" } }'
        ),
    ),
    references=("https://learn.microsoft.com/azure/key-vault/general/logging",),
    messages={
        "FAIL": "{resource_name} has no diagnostic setting that sends the audit category ({diagnostic_settings})",
        "PASS": "{resource_name} sends audit logs through {audit_settings}",
    },
)
def no_audit_logs(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    all_settings = ctx.diagnostic_settings.groupby(ctx.diagnostic_settings["target_id"].str.lower())["name"].agg(list)
    sending = audit_settings(ctx)
    audit_names = sending.groupby(sending["target_id"].str.lower())["name"].agg(list)
    ids = v["id"].str.lower()
    found = ids.map(audit_names)
    fail = found.isna().astype("boolean")
    return verdict(
        v,
        fail=fail,
        evidence=[],
        extra={
            "audit_settings": found.where(found.notna(), None),
            "diagnostic_settings": ids.map(all_settings).apply(lambda x: x if isinstance(x, list) else []),
        },
        resource_type=ctx.vault_types,
    )
