"""Logging: without audit logs no one can tell who used, changed or deleted a key, and an
investigation after a breach has nothing to read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kvaudit.rules.checks.common import lookup
from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.fields import unresolved_mask
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")

AUDIT_CATEGORIES = {"auditevent"}
AUDIT_GROUPS = {"audit", "alllogs"}
DESTINATIONS = ("workspace_id", "storage_account_id", "event_hub_authorization_rule_id", "marketplace_partner_id")


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


def sends_audit_logs(ctx: RuleContext, vault_ids: pd.Series) -> pd.Series:
    """Nullable, per vault id: does a diagnostic setting send its audit logs somewhere? Unknown
    where no setting is seen to, but one of its settings' log categories or destinations was
    not observed (or could not be evaluated)."""
    ds = ctx.diagnostic_settings
    sending = set(audit_settings(ctx)["target_id"].str.lower().dropna())
    maybe = ds["logs"].isna().to_numpy(dtype=bool) | _destination_unknown(ds).to_numpy(dtype=bool)
    unread = set(ds.loc[maybe, "target_id"].str.lower().dropna())
    found = vault_ids.isin(sending).fillna(False).astype(bool)
    return found.astype("boolean").where(found | ~vault_ids.isin(unread).fillna(False), pd.NA)


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


def _destination_unknown(ds: pd.DataFrame) -> pd.Series:
    """Settings that send the audit category where no destination is known but one is unresolved."""
    known = pd.Series(False, index=ds.index, dtype=bool)
    unresolved = pd.Series(False, index=ds.index, dtype=bool)
    for column in DESTINATIONS:
        known |= ds[column].notna().to_numpy(dtype=bool)
        unresolved |= unresolved_mask(ds, column)
    audit = pd.Series([_sends_audit(x) for x in ds["logs"]], index=ds.index, dtype=bool)
    return audit & ~known & unresolved


@rule(
    id="KV-LOG-001",
    title="No diagnostic setting sends audit logs",
    severity="high",
    domain="logging",
    resource_type="vault",
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
        "FAIL": "{resource_name} has no diagnostic setting that sends the audit category to a destination (settings found: {diagnostic_settings:none})",
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
    # A setting whose log categories were not observed, or that sends audit logs to a
    # destination that could not be evaluated, might be the one that sends audit logs.
    fail = ~sends_audit_logs(ctx, ids)
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


def _audit_retention(logs: Any) -> Any:
    """Shortest retention (days) among enabled audit entries; 0 means kept forever; None unknown."""
    if not isinstance(logs, list):
        return None
    days: list[int] = []
    for entry in logs:
        if not isinstance(entry, dict) or entry.get("enabled") is False:
            continue
        category = str(entry.get("category") or "").lower()
        group = str(entry.get("category_group") or "").lower()
        if category not in AUDIT_CATEGORIES and group not in AUDIT_GROUPS:
            continue
        value = entry.get("retention_days")
        if value is None:
            return None
        days.append(int(value) if int(value) > 0 else 10**6)
    return min(days) if days else None


@rule(
    id="KV-LOG-002",
    title="Audit logs sent to storage are kept for less than the policy requires",
    severity="medium",
    domain="logging",
    resource_type="diagnostic_setting",
    params=(Param("min_log_retention_days", 365, "Minimum retention in days for audit logs archived to storage"),),
    rationale="""Investigations of key misuse often start months after the fact; audit logs archived to a storage
    account must outlive the detection window the organisation (and PCI DSS 10.5.1, one year) requires.""",
    remediation=Remediation(
        cli=(
            "az monitor diagnostic-settings update --name <setting> --resource <vault-id> "
            '--logs \'[{"categoryGroup":"audit","enabled":true,"retentionPolicy":{"enabled":true,"days":365}}]\' '
            "# or a storage lifecycle policy that keeps insights-logs-auditevent for 365 days"
        ),
        arm_bicep="logs: [ { categoryGroup: 'audit', enabled: true, retentionPolicy: { enabled: true, days: 365 } } ]",
        terraform=(
            'resource "azurerm_storage_management_policy" "audit" { rule { name = "keep-audit"\n'
            '  filters { blob_types = ["appendBlob"]\n    prefix_match = ["insights-logs-auditevent"] }\n'
            "  actions { base_blob { delete_after_days_since_modification_greater_than = 365 } } } }"
        ),
    ),
    references=(
        "https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings",
        "https://learn.microsoft.com/azure/key-vault/general/logging",
    ),
    messages={
        "FAIL": "{resource_name} keeps audit logs in storage {audit_retention_days} days, below {min_log_retention_days}",
        "PASS": "{resource_name} keeps audit logs in storage {audit_retention_days} days (1000000 stands for retention 0: kept forever)",
        "NOT_APPLICABLE": "{resource_name} does not archive audit logs to a storage account",
    },
)
def storage_retention_below_policy(ctx: RuleContext) -> pd.DataFrame:
    ds = ctx.diagnostic_settings
    minimum = int(ctx.params["min_log_retention_days"])
    retention = pd.Series([_audit_retention(x) for x in ds["logs"]], index=ds.index, dtype="Int64")
    sends_audit = pd.Series([_sends_audit(x) for x in ds["logs"]], index=ds.index, dtype=bool)
    applicable = ds["storage_account_id"].notna().to_numpy(dtype=bool) & sends_audit.to_numpy()
    targets = ds["target_id"].str.lower()
    names = targets.str.rsplit("/", n=1).str[-1].fillna("?") + "/" + ds["name"].fillna("?")
    return verdict(
        ds,
        fail=(retention < minimum).astype("boolean"),
        applicable=pd.Series(applicable, index=ds.index),
        evidence=["storage_account_id"],
        extra={"audit_retention_days": retention, "min_log_retention_days": pd.Series(minimum, index=ds.index)},
        resource_name=names,
        vault_id=targets,
        resource_type="Microsoft.Insights/diagnosticSettings",
    )


@rule(
    id="KV-LOG-003",
    title="Audit logs are configured but no event has arrived recently",
    severity="medium",
    domain="logging",
    resource_type="vault",
    params=(Param("max_days_without_events", 7, "Days without any audit event before a logged vault is flagged"),),
    rationale="""A diagnostic setting proves only that logs were meant to flow. A vault in use whose workspace has
    received no audit event for days has a broken pipeline (a deleted workspace, a changed category, a
    firewall) and is effectively unaudited. Live scans only: it reads the newest event per vault from Log
    Analytics.""",
    remediation=Remediation(
        cli=(
            "az monitor diagnostic-settings show --name <setting> --resource <vault-id> && "
            "az monitor log-analytics query -w <workspace-guid> --analytics-query "
            "\"AzureDiagnostics | where ResourceProvider == 'MICROSOFT.KEYVAULT' | summarize max(TimeGenerated)\""
        ),
        arm_bicep="Check the setting's workspaceId and logs[].enabled; redeploy the diagnostic setting if the workspace moved",
        terraform="Check azurerm_monitor_diagnostic_setting.log_analytics_workspace_id and enabled_log blocks; re-apply",
    ),
    references=("https://learn.microsoft.com/azure/key-vault/general/howto-logging",),
    messages={
        "FAIL": "{resource_name} sends audit logs but no event arrived in the last {max_days_without_events} days (newest: {last_event:none}; queried window {window_days} days)",
        "PASS": "{resource_name} last audit event {last_event}",
        "UNKNOWN": "{resource_name}: no usage data was collected for this vault",
        "NOT_APPLICABLE": "{resource_name}: no audit diagnostic setting, or a source that cannot read audit events",
    },
)
def no_recent_audit_events(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    days = int(ctx.params["max_days_without_events"])
    usage = ctx.key_usage
    vault_of_usage = usage["vault_id"].str.lower()
    last = usage["last_event"].groupby(vault_of_usage).max()
    window = usage["window_days"].groupby(vault_of_usage).max()
    ids = v["id"].str.lower()
    logged = sends_audit_logs(ctx, ids)
    last_event = lookup(ids, last)
    window_days = ids.map(window).astype("Int64")
    covered = ids.isin(set(vault_of_usage.dropna()))
    cutoff = ctx.now - pd.Timedelta(days=days)
    stale = pd.Series(pd.NA, index=v.index, dtype="boolean")
    seen = last_event.notna().to_numpy()
    stale[seen] = (last_event[seen] < cutoff).to_numpy()
    # Nothing at all in the queried window: a failure only if that window spans the N days.
    silent = covered.to_numpy() & ~seen
    stale[silent & (window_days >= days).fillna(False).to_numpy(dtype=bool)] = True
    return verdict(
        v,
        fail=stale,
        applicable=logged,
        evidence=[],
        extra={
            "last_event": last_event.astype("object").where(last_event.notna(), None),
            "window_days": window_days,
            "max_days_without_events": pd.Series(days, index=v.index),
        },
        resource_type=ctx.vault_types,
    )
