"""Key usage from Log Analytics: last use and operations per key, newest event per vault.

Workspaces come from ``--workspace`` (which covers every vault in scope) and from diagnostic
settings that send logs to a workspace (which cover their own vault). A setting names the
workspace by ARM id, while the query API wants its customer id, so each workspace is resolved
once with an ARM GET. The KQL summarises in the workspace, so a busy vault's millions of
events never cross the network.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from azure.core.rest import HttpRequest

from scanner.azure.apiversions import API_VERSIONS
from scanner.azure.faults import READ_FAILURES, ErrorLog
from scanner.azure.records import arm_parts, as_utc, provenance
from scanner.azure.session import AzureSession
from scanner.inventory import normalise_id

API = API_VERSIONS["loganalytics"]
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

QUERY = """AzureDiagnostics
| where ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent"
| extend KeyName = extract(@"/keys/([^/?]+)", 1, tostring(requestUri_s))
| summarize LastUsed = max(TimeGenerated), Operations = make_set(OperationName), Count = count()
    by ResourceId, KeyName"""


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
    workspaces: dict[str, set[str]],
    days: int,
) -> list[dict[str, Any]]:
    """Rows for ``key_usage``: one per key with events, plus one per covered vault (key_id null).

    ``workspaces`` maps a workspace (GUID or ARM id) to the vault ids it covers. A vault row
    whose ``event_count`` is 0 means "logs are configured here and nothing arrived in the
    window"; a vault with no row at all was not covered (or its workspace could not be read).
    """
    if not workspaces:
        return []
    client = session.logs()
    per_key: dict[str, dict[str, Any]] = {}
    per_vault: dict[str, dict[str, Any]] = {}
    for workspace, vaults in workspaces.items():
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
        try:
            result = await client.query_workspace(customer, QUERY, timespan=timedelta(days=days))
        except READ_FAILURES as exc:
            for vid in sorted(vaults):
                errors.record(wid, "loganalytics.query", ("key_usage",), exc, vault_id=vid, api_version=API)
            continue
        tables = getattr(result, "tables", None) or getattr(result, "partial_data", None) or []
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
            per_vault.setdefault(vid, {"last_event": None, "event_count": 0})
        for table in tables:
            for row in table.rows:
                vid = normalise_id(_value(row, "ResourceId"))
                if vid not in vaults and vid not in per_vault:
                    continue
                last = as_utc(_value(row, "LastUsed"))
                count = int(_value(row, "Count") or 0)
                ops = _operations(_value(row, "Operations"))
                vault = per_vault.setdefault(vid, {"last_event": None, "event_count": 0})
                vault["event_count"] += count
                if last and (vault["last_event"] is None or last > vault["last_event"]):
                    vault["last_event"] = last
                name = _value(row, "KeyName")
                if not name:
                    continue
                key = per_key.setdefault(
                    f"{vid}/keys/{str(name).lower()}",
                    {"vault_id": vid, "last_used": None, "operations": [], "event_count": 0},
                )
                key["event_count"] += count
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
            "event_count": v["event_count"],
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
            "event_count": k["event_count"],
            "window_days": days,
            "last_event": per_vault[k["vault_id"]]["last_event"],
            **provenance(API),
        }
        for kid, k in sorted(per_key.items())
    ]
    return rows
