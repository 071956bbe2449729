"""Key usage from Log Analytics: last use and operations per key, newest event per vault.

Workspaces come from ``--workspace`` (which covers every vault in scope) and from diagnostic
settings that send logs to a workspace (which cover their own vault). A setting names the
workspace by ARM id, while the query API wants its customer id, so each workspace is resolved
once with an ARM GET. The KQL summarises in the workspace, so a busy vault's millions of
events never cross the network. Each setting's destination type decides which table its
vault's events are read from (:func:`log_table`); ``--workspace`` covers both.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from azure.core.rest import HttpRequest

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.faults import READ_FAILURES, ErrorLog
from kvaudit.scanner.azure.records import arm_parts, as_utc, provenance
from kvaudit.scanner.azure.session import AzureSession
from kvaudit.scanner.inventory import normalise_id

API = API_VERSIONS["loganalytics"]
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

#: Key Vault audit events land in one of two tables, by each diagnostic setting's
#: ``logAnalyticsDestinationType``: ``AzureDiagnostics`` (the default, shared with other
#: services) or, for ``Dedicated``, the resource-specific ``AZKVAuditLogs`` (which Managed HSMs
#: use too). Per table: the query leg that gives (resource id, time, operation, request URI).
LOG_TABLES: dict[str, str] = {
    "AzureDiagnostics": """(AzureDiagnostics
    | where ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent"
    | project Table = "AzureDiagnostics", ResourceId, TimeGenerated, OperationName, Uri = tostring(requestUri_s))""",
    "AZKVAuditLogs": """(AZKVAuditLogs
    | project Table = "AZKVAuditLogs", ResourceId = _ResourceId, TimeGenerated, OperationName, Uri = tostring(RequestUri))""",
}
LEGACY_TABLE = "AzureDiagnostics"
DEDICATED_TABLE = "AZKVAuditLogs"


def query(tables: set[str]) -> str:
    """One summarising query over the audit tables a workspace's vaults send to.

    ``isfuzzy=true`` lets a leg whose table does not exist yet (no event ever arrived, or the
    workspace never received that destination type) contribute nothing instead of failing.
    """
    legs = ",\n  ".join(LOG_TABLES[t] for t in LOG_TABLES if t in tables)
    return f"""union isfuzzy=true
  {legs}
| extend KeyName = extract(@"/keys/([^/?]+)", 1, Uri)
| summarize LastUsed = max(TimeGenerated), Operations = make_set(OperationName), Count = count()
    by Table, ResourceId, KeyName"""


def log_table(setting: dict[str, Any]) -> str:
    """The table a diagnostic setting's Key Vault events land in."""
    kind = str((setting.get("properties") or {}).get("logAnalyticsDestinationType") or "")
    return DEDICATED_TABLE if kind.lower() == "dedicated" else LEGACY_TABLE


async def resolve_workspace(session: AzureSession, workspace: str) -> str:
    """Customer id (GUID) of a workspace given as GUID or ARM id."""
    if _GUID.match(workspace):
        return workspace.lower()
    sub, _ = arm_parts(workspace)
    client = session.keyvault_mgmt(sub or "00000000-0000-0000-0000-000000000000")
    url = f"{session.cloud.arm_endpoint}{workspace}?api-version={API_VERSIONS['loganalytics_workspace']}"
    response = await client.send_request(HttpRequest("GET", url))
    response.raise_for_status()
    customer = (response.json().get("properties") or {}).get("customerId")
    if not customer:
        raise ValueError(f"workspace {workspace} has no customerId")
    return str(customer).lower()


def _value(row: Any, column: str) -> Any:
    try:
        return row[column]
    except (KeyError, IndexError, TypeError):
        return None


def _operations(value: Any) -> list[str]:
    """``make_set`` gives a dynamic column: a list, or its JSON text depending on the client."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


async def key_usage(
    session: AzureSession,
    errors: ErrorLog,
    workspaces: dict[str, dict[str, set[str]]],
    days: int,
) -> list[dict[str, Any]]:
    """Rows for ``key_usage``: one per key with events, plus one per covered vault (key_id null).

    ``workspaces`` maps a workspace (GUID or ARM id) to the vaults it covers, each with the
    tables its events land in there. A vault row whose ``event_count`` is 0 means "logs are
    configured here and nothing arrived in the window"; a vault with no row at all was not
    covered (or its workspace could not be read). A vault that sends to both tables has each
    event twice, so per vault and key the tables are merged by maximum, not summed.
    """
    if not workspaces:
        return []
    client = session.logs()
    per_key: dict[str, dict[str, Any]] = {}
    per_vault: dict[str, dict[str, Any]] = {}
    for workspace, coverage in workspaces.items():
        vaults = set(coverage)
        wid = normalise_id(workspace) if workspace.startswith("/") else workspace
        try:
            customer = await resolve_workspace(session, workspace)
        except READ_FAILURES as exc:
            for vid in sorted(vaults):
                errors.record(
                    wid,
                    "workspaces.get",
                    ("key_usage",),
                    exc,
                    vault_id=vid,
                    api_version=API_VERSIONS["loganalytics_workspace"],
                )
            continue
        tables = set().union(*coverage.values())
        try:
            result = await client.query_workspace(customer, query(tables), timespan=timedelta(days=days))
        except READ_FAILURES as exc:
            for vid in sorted(vaults):
                errors.record(wid, "loganalytics.query", ("key_usage",), exc, vault_id=vid, api_version=API)
            continue
        answer = getattr(result, "tables", None) or getattr(result, "partial_data", None) or []
        if getattr(result, "partial_error", None) is not None:
            for vid in sorted(vaults):
                errors.record(
                    wid,
                    "loganalytics.query",
                    ("key_usage",),
                    vault_id=vid,
                    api_version=API,
                    error=f"partial result: {result.partial_error.message}",
                )
        for vid in vaults:
            per_vault.setdefault(vid, {"last_event": None, "tables": {}})
        for table in answer:
            for row in table.rows:
                vid = normalise_id(_value(row, "ResourceId"))
                source = str(_value(row, "Table") or LEGACY_TABLE)
                if source not in coverage.get(vid, ()):
                    continue  # not where this vault's settings send its events
                last = as_utc(_value(row, "LastUsed"))
                count = int(_value(row, "Count") or 0)
                ops = _operations(_value(row, "Operations"))
                vault = per_vault[vid]
                vault["tables"][source] = vault["tables"].get(source, 0) + count
                if last and (vault["last_event"] is None or last > vault["last_event"]):
                    vault["last_event"] = last
                name = _value(row, "KeyName")
                if not name:
                    continue
                key = per_key.setdefault(
                    f"{vid}/keys/{str(name).lower()}",
                    {"vault_id": vid, "last_used": None, "operations": [], "tables": {}},
                )
                key["tables"][source] = key["tables"].get(source, 0) + count
                key["operations"] = sorted(set(key["operations"]) | set(ops))
                if last and (key["last_used"] is None or last > key["last_used"]):
                    key["last_used"] = last
    rows = [
        {
            "id": vid,
            "key_id": None,
            "vault_id": vid,
            "last_used": None,
            "operations": None,
            "event_count": max(v["tables"].values(), default=0),
            "window_days": days,
            "last_event": v["last_event"],
            **provenance(API),
        }
        for vid, v in sorted(per_vault.items())
    ]
    rows += [
        {
            "id": kid,
            "key_id": kid,
            "vault_id": k["vault_id"],
            "last_used": k["last_used"],
            "operations": k["operations"],
            "event_count": max(k["tables"].values(), default=0),
            "window_days": days,
            "last_event": per_vault[k["vault_id"]]["last_event"],
            **provenance(API),
        }
        for kid, k in sorted(per_key.items())
    ]
    return rows
