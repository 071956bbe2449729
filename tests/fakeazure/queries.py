"""Resource Graph and Log Analytics: the two query APIs, answered by contract instead of KQL.

The fake cannot run KQL.  Resource Graph: it extracts the resource types the query names
(``type =~ 'x'``, ``type == 'x'``, ``type in~ ('x', 'y')``) and returns every estate resource of
those types in the requested scope.  Log Analytics: it returns the canned ``AzureDiagnostics`` and
``AZKVAuditLogs`` rows of the workspace (the tables the query names) within the timespan, either
raw or summarised per key when the query contains ``summarize``.  README.md documents both contracts for collector authors.
"""

from __future__ import annotations

import json
import re
import time
from calendar import timegm
from typing import Any

from aiohttp import web

from tests.fakeazure.wire import Call, FakeError, decode_token, encode_token, json_response

GRAPH_PAGE, GRAPH_MAX = 100, 1000
_TYPE_EQ = re.compile(r"\btype\s*(?:=~|==|=)\s*['\"]([^'\"]+)['\"]", re.I)
_TYPE_IN = re.compile(r"\btype\s+in~?\s*\(([^)]*)\)", re.I)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


def query_types(query: str) -> list[str]:
    """Resource types named in a KQL query, lower-cased, in order of appearance."""
    found = [m.lower() for m in _TYPE_EQ.findall(query)]
    for group in _TYPE_IN.findall(query):
        found += [m.lower() for m in _QUOTED.findall(group)]
    return list(dict.fromkeys(found))


def _graph_pool(call: Call, types: set[str], subs: set[str]) -> list[dict[str, Any]]:
    """Rows of the requested types in the requested subscriptions, Resource Graph shaped."""
    tenant = call.index.tenant
    rows: list[dict[str, Any]] = []

    def add(body: dict[str, Any], sub: str | None) -> None:
        rg = body["id"].split("/")[4].lower() if "/resourcegroups/" in body["id"].lower() else ""
        rows.append(
            {
                **{
                    "kind": "",
                    "managedBy": "",
                    "sku": None,
                    "plan": None,
                    "identity": None,
                    "zones": None,
                    "extendedLocation": None,
                    "tags": {},
                    "location": "",
                },
                **body,
                "type": body["type"].lower(),
                "tenantId": tenant,
                "subscriptionId": sub or "",
                "resourceGroup": rg,
            }
        )

    for body in call.index.resources:
        sub = body["id"].split("/")[2].lower()
        if body["type"].lower() in types and sub in subs:
            add(body, sub)
    if "microsoft.resources/subscriptions" in types:
        for s in call.index.subscriptions():
            if s["subscriptionId"].lower() in subs:
                add(
                    {
                        "id": f"/subscriptions/{s['subscriptionId']}",
                        "name": s.get("displayName", ""),
                        "type": "microsoft.resources/subscriptions",
                        "properties": {
                            "state": s.get("state", "Enabled"),
                            "managementGroupAncestorsChain": [
                                {"name": m.rsplit("/", 1)[-1]}
                                for m in call.index.ancestors(f"/subscriptions/{s['subscriptionId']}")[1:-1]
                            ],
                        },
                    },
                    s["subscriptionId"].lower(),
                )
    if "microsoft.authorization/roleassignments" in types:
        for a in call.index.estate.get("roleAssignments", []):
            scope = a["properties"]["scope"].lower()
            sub = scope.split("/")[2] if scope.startswith("/subscriptions/") else None
            if sub is None or sub in subs:
                add(a, sub)
    if "microsoft.authorization/roledefinitions" in types:
        for d in call.index.estate.get("roleDefinitions", []):
            add(d, None)
    return rows


def resource_graph(call: Call) -> web.Response:
    """POST /providers/Microsoft.ResourceGraph/resources (2021-03-01 QueryRequest/QueryResponse)."""
    body = call.json_body()
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise FakeError(400, "BadRequest", "Please provide a query.")
    types = query_types(query)
    if not types:
        raise FakeError(
            400,
            "BadRequest",
            "The fake Resource Graph answers only queries that name their "
            "resource types (type =~ '...', type in~ (...)); see "
            "tests/fakeazure/README.md.",
            inner="InvalidQuery",
        )
    known = call.index.subscription_ids()
    if body.get("managementGroups"):
        subs = set().union(*(call.index.subs_under_mg(m) for m in body["managementGroups"]))
    elif body.get("subscriptions"):
        subs = {s.lower() for s in body["subscriptions"]} & known
    else:
        subs = known
    rows = _graph_pool(call, set(types), subs)
    rows.sort(key=lambda r: r["id"].lower())
    options = body.get("options") or {}
    top = min(int(options.get("$top") or call.page_size or GRAPH_PAGE), GRAPH_MAX)
    offset = decode_token(options.get("$skipToken")) if options.get("$skipToken") else int(options.get("$skip") or 0)
    chunk = rows[offset : offset + top]
    out: dict[str, Any] = {"totalRecords": len(rows), "count": len(chunk), "resultTruncated": "false", "facets": []}
    if offset + top < len(rows):
        out["$skipToken"] = encode_token(offset + top)
    if options.get("resultFormat") == "table":
        columns = list(dict.fromkeys(k for r in chunk for k in r))
        out["data"] = {
            "columns": [
                {"name": c, "type": "object" if c in ("properties", "tags", "sku", "identity") else "string"}
                for c in columns
            ],
            "rows": [[r.get(c) for c in columns] for r in chunk],
        }
    else:
        out["data"] = chunk
    return json_response(out)


# --------------------------------------------------------------------------------------------
# Log Analytics
# --------------------------------------------------------------------------------------------

#: The AzureDiagnostics columns the fake returns, in the service's type names.
DIAG_COLUMNS: list[tuple[str, str]] = [
    ("TenantId", "string"),
    ("TimeGenerated", "datetime"),
    ("ResourceId", "string"),
    ("Category", "string"),
    ("ResourceGroup", "string"),
    ("SubscriptionId", "string"),
    ("ResourceProvider", "string"),
    ("Resource", "string"),
    ("ResourceType", "string"),
    ("OperationName", "string"),
    ("ResultType", "string"),
    ("ResultSignature", "string"),
    ("httpStatusCode_d", "real"),
    ("CallerIPAddress", "string"),
    ("id_s", "string"),
    ("requestUri_s", "string"),
    ("identity_claim_oid_g", "guid"),
    ("DurationMs", "long"),
    ("clientInfo_s", "string"),
    ("Type", "string"),
]
SUMMARY_COLUMNS: list[tuple[str, str]] = [
    ("ResourceId", "string"),
    ("KeyName", "string"),
    ("LastUsed", "datetime"),
    ("Operations", "dynamic"),
    ("Count", "long"),
]
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def _seconds(duration: str) -> float:
    m = _DURATION.match(duration.strip())
    if not m or duration.strip() in ("P", "PT"):
        raise FakeError(400, "BadArgumentError", f"Invalid timespan: {duration!r}")
    w, d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return (w * 7 + d) * 86400 + h * 3600 + mi * 60 + s


def _instant(text: str) -> float:
    clean = text.strip().replace("Z", "").split(".")[0].split("+")[0]
    try:
        return float(timegm(time.strptime(clean, "%Y-%m-%dT%H:%M:%S")))
    except ValueError as exc:
        raise FakeError(400, "BadArgumentError", f"Invalid timespan: {text!r}") from exc


def timespan_window(timespan: str | None, now: float) -> tuple[float, float]:
    """``P90D`` (ending now), ``start/end`` or ``start/duration`` as (start, end) epoch seconds."""
    if not timespan:
        return float("-inf"), float("inf")
    if "/" not in timespan:
        return now - _seconds(timespan), now
    first, second = timespan.split("/", 1)
    start = _instant(first)
    end = start + _seconds(second) if second.startswith("P") else _instant(second)
    return start, end


#: The Key Vault audit tables: the legacy shared one, and the resource-specific one that a
#: diagnostic setting with ``logAnalyticsDestinationType: Dedicated`` fills (for vaults and
#: Managed HSMs alike). Per table: the column holding the resource id and the request URI.
AUDIT_TABLES: dict[str, tuple[str, str]] = {
    "AzureDiagnostics": ("ResourceId", "requestUri_s"),
    "AZKVAuditLogs": ("_ResourceId", "RequestUri"),
}
#: The AZKVAuditLogs columns the fake returns for raw (unsummarised) queries.
AZKV_COLUMNS: list[tuple[str, str]] = [
    ("TenantId", "string"),
    ("TimeGenerated", "datetime"),
    ("_ResourceId", "string"),
    ("OperationName", "string"),
    ("OperationVersion", "string"),
    ("ResultType", "string"),
    ("ResultSignature", "string"),
    ("HttpStatusCode", "int"),
    ("CallerIpAddress", "string"),
    ("Id", "string"),
    ("RequestUri", "string"),
    ("Identity", "dynamic"),
    ("DurationMs", "int"),
    ("ClientInfo", "string"),
    ("Type", "string"),
]


def _key_name(row: dict[str, Any], table: str) -> str:
    """The key name from the request URI (``https://host/keys/<name>/...``), as the KQL contract derives it."""
    uri_column = AUDIT_TABLES[table][1]
    parts = str(row.get(uri_column) or row.get("id_s") or row.get("Id") or "").split("?")[0].split("/")
    return parts[4] if len(parts) > 4 and parts[3].lower() == "keys" else ""


def _tables_named(query: str) -> list[str]:
    """The audit tables a query mentions, in the order of :data:`AUDIT_TABLES`."""
    lowered = query.lower()
    return [t for t in AUDIT_TABLES if re.search(rf"\b{t.lower()}\b", lowered)]


def log_analytics(call: Call, target: str) -> web.Response:
    """POST /v1/workspaces/{id}/query or /v1/{resourceId}/query."""
    body = call.json_body()
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise FakeError(400, "BadArgumentError", "The request had some invalid properties: query is required")
    m = re.fullmatch(r"/workspaces/([^/]+)/query/?", target, re.I)
    tables = call.index.log_tables
    named = _tables_named(query)
    rows: list[tuple[str, dict[str, Any]]] = []
    if m:
        if m.group(1).lower() not in tables:
            raise FakeError(404, "WorkspaceNotFoundError", f"The workspace {m.group(1)} could not be found")
        rows = [(t, r) for t in named for r in tables[m.group(1).lower()].get(t, [])]
    else:
        rid = target.rsplit("/query", 1)[0].lower()
        rows = [
            (t, r)
            for workspace in tables.values()
            for t in named
            for r in workspace.get(t, [])
            if str(r.get(AUDIT_TABLES[t][0], "")).lower() == rid
        ]
    start, end = timespan_window(body.get("timespan"), time.time())
    rows = [(t, r) for t, r in rows if start <= _instant(r["TimeGenerated"]) <= end]
    by_table = re.search(r"\bby\s+Table\b", query, re.I) is not None
    if "summarize" in query.lower():
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for t, r in rows:
            key = (t if by_table else "", str(r[AUDIT_TABLES[t][0]]), _key_name(r, t))
            g = groups.setdefault(key, {"last": r["TimeGenerated"], "ops": [], "count": 0})
            g["last"] = max(g["last"], r["TimeGenerated"])
            if r["OperationName"] not in g["ops"]:
                g["ops"].append(r["OperationName"])
            g["count"] += 1
        columns = ([("Table", "string")] if by_table else []) + SUMMARY_COLUMNS
        out_rows = [
            ([table] if by_table else []) + [rid, key, g["last"], json.dumps(g["ops"]), g["count"]]
            for (table, rid, key), g in sorted(groups.items())
        ]
    else:
        columns = AZKV_COLUMNS if named == ["AZKVAuditLogs"] else DIAG_COLUMNS
        out_rows = [[r.get(c) for c, _ in columns] for _, r in rows]
    return json_response(
        {
            "tables": [
                {"name": "PrimaryResult", "columns": [{"name": n, "type": t} for n, t in columns], "rows": out_rows}
            ]
        }
    )
