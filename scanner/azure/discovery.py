"""Discovery: which vaults and managed HSMs are in scope.

Resource Graph answers for every subscription (or a management group) in a few paged queries;
when it fails, each subscription is listed through ARM instead (``list_by_subscription``, not
``vaults.list()``, which returns no properties). Shard selection happens here, on the
subscription of each discovered vault.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.core.rest import HttpRequest

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.faults import READ_FAILURES, ErrorLog, describe
from kvaudit.scanner.azure.options import AzureOptions
from kvaudit.scanner.azure.records import arm_parts, kind_of
from kvaudit.scanner.azure.session import AzureSession
from kvaudit.scanner.azure.shard import in_shard, select
from kvaudit.scanner.azure.util import collect_list, rest_dict

VAULT_TYPES = ("microsoft.keyvault/vaults", "microsoft.keyvault/managedhsms")
#: Tables that stay incomplete for a whole subscription whose vaults could not be listed.
ALL_VAULT_TABLES = (
    "vaults",
    "keys",
    "key_versions",
    "role_assignments",
    "access_policies",
    "diagnostic_settings",
    "private_endpoints",
    "key_usage",
)


def kql_types(types: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(f"'{t}'" for t in types) + ")"


@dataclass
class Discovered:
    """A vault or HSM to scan; ``body`` is set when the listing already returned its properties."""

    id: str
    kind: str
    subscription_id: str
    resource_group: str
    name: str
    body: dict[str, Any] | None = None


@dataclass
class Discovery:
    vaults: list[Discovered] = field(default_factory=list)
    method: str = "resource-graph"
    subscriptions: list[str] = field(default_factory=list)
    note: str | None = None

    def meta(self) -> dict[str, Any]:
        """The scan-scope facts about discovery."""
        return {"discovery": self.method, "discovery_note": self.note, "subscriptions": self.subscriptions}


async def graph_query(session: AzureSession, options: AzureOptions, kql: str) -> list[dict[str, Any]]:
    """All rows of a Resource Graph query, following skip tokens.

    A page that says its results were truncated without giving a skip token cannot be
    continued, so it raises rather than returning a silently partial answer.
    """
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    client = session.resource_graph()
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        request = QueryRequest(
            query=kql,
            subscriptions=options.subscriptions or None,
            management_groups=[options.management_group] if options.management_group else None,
            options=QueryRequestOptions(skip_token=token, result_format="objectArray", top=1000),
        )
        response = await client.resources(request)
        data = response.data or []
        if not isinstance(data, list):
            raise ValueError("Resource Graph returned a table, not an object array")
        rows.extend(d for d in data if isinstance(d, dict))
        token = response.skip_token
        if not token:
            if str(response.result_truncated).lower() == "true":
                raise ValueError(f"Resource Graph truncated the result after {len(rows)} rows and gave no skip token")
            return rows


def _from_row(row: dict[str, Any], body: dict[str, Any] | None = None) -> Discovered | None:
    rid = str(row.get("id") or "")
    kind = kind_of(row.get("type"))
    sub, rg = arm_parts(rid)
    if not rid or not kind or not sub or not rg:
        return None
    return Discovered(
        id=rid,
        kind=kind,
        subscription_id=sub,
        resource_group=rg,
        name=str(row.get("name") or rid.rsplit("/", 1)[-1]),
        body=body,
    )


async def discover(session: AzureSession, options: AzureOptions, errors: ErrorLog) -> Discovery:
    kql = (
        f"resources | where type in~ {kql_types(VAULT_TYPES)} "
        "| project id, name, type, subscriptionId, resourceGroup, location | order by id asc"
    )
    try:
        rows = await graph_query(session, options, kql)
    except READ_FAILURES as exc:
        return await _discover_by_arm(session, options, errors, f"Resource Graph failed: {describe(exc)}")
    found = [d for d in map(_from_row, rows) if d is not None and in_shard(d.subscription_id, options.shard)]
    subs = options.subscriptions or sorted({d.subscription_id for d in found})
    return Discovery(vaults=found, subscriptions=select(subs, options.shard))


async def _list_subscriptions(session: AzureSession, options: AzureOptions) -> list[str]:
    """Subscriptions the identity can see (ARM ``GET /subscriptions``), for the fallback."""
    if options.subscriptions:
        return list(options.subscriptions)
    client = session.keyvault_mgmt("00000000-0000-0000-0000-000000000000")
    url = f"{session.cloud.arm_endpoint}/subscriptions?api-version={API_VERSIONS['resources']}"
    subs: list[str] = []
    while url:
        response = await client.send_request(HttpRequest("GET", url))
        response.raise_for_status()
        body = response.json()
        subs += [str(s["subscriptionId"]).lower() for s in body.get("value", []) if s.get("subscriptionId")]
        url = body.get("nextLink")
    return subs


async def _discover_by_arm(session: AzureSession, options: AzureOptions, errors: ErrorLog, note: str) -> Discovery:
    result = Discovery(method="arm", note=note)
    try:
        subs = await _list_subscriptions(session, options)
    except READ_FAILURES as exc:
        errors.record(
            "/subscriptions", "subscriptions.list", ALL_VAULT_TABLES, exc, api_version=API_VERSIONS["resources"]
        )
        return result
    result.subscriptions = select(subs, options.shard)
    for sub in result.subscriptions:
        client = session.keyvault_mgmt(sub)
        for operation, pager in (
            ("vaults.list_by_subscription", client.vaults.list_by_subscription),
            ("managed_hsms.list_by_subscription", client.managed_hsms.list_by_subscription),
        ):
            ok, items = await errors.guard(
                lambda pager=pager: collect_list(pager()),
                f"/subscriptions/{sub}",
                operation,
                ALL_VAULT_TABLES,
                api_version=API_VERSIONS["keyvault_mgmt"],
            )
            for item in items or []:
                body = rest_dict(item)
                found = _from_row(body, body)
                if found is not None:
                    result.vaults.append(found)
    result.vaults.sort(key=lambda d: d.id.lower())
    return result
