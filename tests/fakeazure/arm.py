"""Azure Resource Manager reads: subscriptions, vaults, managed HSMs (and their ARM key view),
private endpoint connections, Azure RBAC, diagnostic settings and any estate resource by id.

Paths and bodies follow the api-versions the installed SDKs send (see the examples README);
ids are matched case-insensitively and returned in the case the estate stores.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fakeazure import queries
from tests.fakeazure.wire import Call, FakeError, json_response, page

ARM_PAGE = 1000
_AUTHZ_RE = re.compile(
    r"^(?P<scope>.*?)/providers/Microsoft\.Authorization/"
    r"(?P<kind>roleAssignments|roleDefinitions)(?:/(?P<name>[^/]+))?/?$",
    re.I,
)
_DIAG_RE = re.compile(r"^(?P<rid>/.+?)/providers/Microsoft\.Insights/diagnosticSettings(?:/(?P<name>[^/]+))?/?$", re.I)
_PROVIDER_LIST_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/(?P<rg>[^/]+))?/providers/"
    r"Microsoft\.KeyVault/(?P<type>vaults|managedHSMs)/?$",
    re.I,
)
#: ContainerApps_ListBySubscription: apps with their template (env values; secrets only as secretRef).
_APPS_LIST_RE = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.App/containerApps/?$", re.I)
_PEC_RE = re.compile(
    r"^(?P<owner>/subscriptions/.+/providers/Microsoft\.KeyVault/(?:vaults|managedHSMs)/[^/]+)"
    r"/privateEndpointConnections(?:/(?P<name>[^/]+))?/?$",
    re.I,
)
_HSM_KEYS_RE = re.compile(
    r"^(?P<owner>/subscriptions/.+/providers/Microsoft\.KeyVault/managedHSMs/[^/]+)"
    r"/keys(?:/(?P<key>[^/]+)(?:/versions(?:/(?P<version>[^/]+))?)?)?/?$",
    re.I,
)


def not_found(rid: str) -> FakeError:
    parts = rid.strip("/").split("/")
    rg = parts[3] if len(parts) > 3 else ""
    kind = "/".join(parts[5:7]) + ("/" + parts[-1] if len(parts) > 7 else "")
    return FakeError(
        404,
        "ResourceNotFound",
        f"The Resource '{kind}' under resource group '{rg}' was not found. For more details please "
        "go to https://aka.ms/ARMResourceNotFoundFix",
    )


def _check_subscription(call: Call, sub: str) -> None:
    if sub.lower() not in call.index.subscription_ids():
        raise FakeError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def _get_resource(call: Call, rid: str) -> dict[str, Any]:
    """An estate resource by id, honouring ``vanish`` (listed, then gone)."""
    body = call.index.by_id.get(rid.lower().rstrip("/"))
    if body is None or call.state.is_vanished_arm(rid):
        raise not_found(rid)
    return body


def handle(call: Call) -> web.Response:
    """Dispatch one ARM (or ARM-hosted query) request."""
    method, path = call.request.method, unquote(call.path)
    if method == "POST":
        if re.fullmatch(r"/providers/Microsoft\.ResourceGraph/resources/?", path, re.I):
            return queries.resource_graph(call)
        if path.lower().startswith("/v1/"):
            return queries.log_analytics(call, path[3:])
        raise FakeError(400, "NotSupportedByFake", f"POST {path} is not a read the fake serves")
    if method != "GET":
        raise FakeError(400, "NotSupportedByFake", f"{method} {path} is not a read operation")
    if re.fullmatch(r"/subscriptions/?", path, re.I):
        return json_response(
            page(
                call,
                [_subscription(call, s) for s in call.index.subscriptions()],
                default_size=ARM_PAGE,
                token_param="$skipToken",
            )
        )
    m = re.fullmatch(r"/subscriptions/([^/]+)/?", path, re.I)
    if m:
        _check_subscription(call, m.group(1))
        sub = next(s for s in call.index.subscriptions() if s["subscriptionId"].lower() == m.group(1).lower())
        return json_response(_subscription(call, sub))
    if (m := _AUTHZ_RE.match(path)) is not None:
        return _authorization(call, m.group("scope") or "/", m.group("kind").lower(), m.group("name"))
    if (m := _DIAG_RE.match(path)) is not None:
        return _diagnostic_settings(call, m.group("rid"), m.group("name"))
    if (m := _PROVIDER_LIST_RE.match(path)) is not None:
        return _list_owners(call, m.group("sub"), m.group("rg"), m.group("type"))
    if (m := _APPS_LIST_RE.match(path)) is not None:
        return _list_container_apps(call, m.group("sub"))
    if (m := _PEC_RE.match(path)) is not None:
        return _private_endpoints(call, m.group("owner"), m.group("name"))
    if (m := _HSM_KEYS_RE.match(path)) is not None:
        return _hsm_keys(call, m.group("owner"), m.group("key"), m.group("version"))
    m = re.fullmatch(r"/subscriptions/([^/]+)/resources/?", path, re.I)
    if m:
        return _generic_list(call, m.group(1))
    if path.lower().startswith("/subscriptions/"):
        parts = path.strip("/").split("/")
        _check_subscription(call, parts[1])
        return json_response(_get_resource(call, path))
    raise FakeError(404, "InvalidResourceType", f"The resource type could not be found for path '{path}'.")


def _subscription(call: Call, sub: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub['subscriptionId']}",
        "subscriptionId": sub["subscriptionId"],
        "tenantId": call.index.tenant,
        "displayName": sub.get("displayName", sub["subscriptionId"]),
        "state": sub.get("state", "Enabled"),
        "authorizationSource": "RoleBased",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def _owners(call: Call, sub: str, rg: str | None, rtype: str) -> list[dict[str, Any]]:
    prefix = f"/subscriptions/{sub}/" + (f"resourcegroups/{rg}/" if rg else "")
    wanted = f"microsoft.keyvault/{rtype.lower()}"
    return [
        r for r in call.index.resources if r["type"].lower() == wanted and r["id"].lower().startswith(prefix.lower())
    ]


def _list_owners(call: Call, sub: str, rg: str | None, rtype: str) -> web.Response:
    _check_subscription(call, sub)
    size_param = "$top" if call.query.get("$top") else None
    return json_response(
        page(
            call,
            _owners(call, sub, rg, rtype),
            default_size=ARM_PAGE,
            token_param="$skipToken",
            size_param=size_param,
            max_size=1000,
        )
    )


def _list_container_apps(call: Call, sub: str) -> web.Response:
    _check_subscription(call, sub)
    prefix = f"/subscriptions/{sub.lower()}/"
    apps = [
        r
        for r in call.index.resources
        if r["type"].lower() == "microsoft.app/containerapps" and r["id"].lower().startswith(prefix)
    ]
    return json_response(page(call, apps, default_size=ARM_PAGE, token_param="$skipToken"))


def _generic_list(call: Call, sub: str) -> web.Response:
    """``/subscriptions/{id}/resources`` (Vaults_List): only id, name, type, location and tags."""
    _check_subscription(call, sub)
    flt = call.query.get("$filter", "")
    m = re.search(r"resourceType\s+eq\s+'([^']+)'", flt, re.I)
    wanted = m.group(1).lower() if m else None
    rows = [
        {k: r.get(k) for k in ("id", "name", "type", "location", "tags")}
        for r in call.index.resources
        if r["id"].lower().startswith(f"/subscriptions/{sub.lower()}/")
        and (wanted is None or r["type"].lower() == wanted)
    ]
    return json_response(page(call, rows, default_size=ARM_PAGE, token_param="$skiptoken"))


def _private_endpoints(call: Call, owner_id: str, name: str | None) -> web.Response:
    owner = _get_resource(call, owner_id)
    connections = []
    for conn in owner["properties"].get("privateEndpointConnections", []):
        full = copy.deepcopy(conn)
        full["name"] = conn["id"].rsplit("/", 1)[-1]
        full["type"] = f"{owner['type']}/privateEndpointConnections"
        connections.append(full)
    if name:
        for conn in connections:
            if conn["name"].lower() == name.lower():
                return json_response(conn)
        raise not_found(f"{owner_id}/privateEndpointConnections/{name}")
    return json_response(page(call, connections, default_size=ARM_PAGE, token_param="$skipToken"))


def _hsm_keys(call: Call, owner_id: str, key: str | None, version: str | None) -> web.Response:
    """The ARM view of managed HSM keys (managed_hsm_keys), the only place oct-HSM sizes appear."""
    owner_body = _get_resource(call, owner_id)
    owner = call.index.owners_by_name[owner_body["name"].lower()]
    entries = call.index.keys_of(owner)

    def body(entry: dict[str, Any], v: dict[str, Any] | None) -> dict[str, Any]:
        current = v or max(entry["versions"], key=lambda x: x["attributes"].get("created", 0))
        kid = f"{owner.uri}keys/{entry['name']}"
        rid = f"{owner_body['id']}/keys/{entry['name']}" + (f"/versions/{v['version']}" if v else "")
        props: dict[str, Any] = {
            "attributes": current["attributes"],
            "kty": current["kty"],
            "keyOps": current["key_ops"],
            "keyUri": kid,
            "keyUriWithVersion": f"{kid}/{current['version']}",
        }
        if current.get("key_size"):
            props["keySize"] = current["key_size"]
        if current.get("crv"):
            props["curveName"] = current["crv"]
        if current.get("release_policy"):
            props["release_policy"] = current["release_policy"]
        return {
            "id": rid,
            "name": entry["name"] if not v else v["version"],
            "type": "Microsoft.KeyVault/managedHSMs/keys" + ("/versions" if v else ""),
            "tags": entry.get("tags", {}),
            "properties": props,
        }

    if key is None:
        return json_response(
            page(call, [body(e, None) for e in entries], default_size=ARM_PAGE, token_param="$skipToken")
        )
    entry = next((e for e in entries if e["name"].lower() == key.lower()), None)
    if entry is None:
        raise not_found(f"{owner_id}/keys/{key}")
    if "/versions" not in call.path.lower():
        return json_response(body(entry, None))
    if version is None:
        return json_response(
            page(call, [body(entry, v) for v in entry["versions"]], default_size=ARM_PAGE, token_param="$skipToken")
        )
    for v in entry["versions"]:
        if v["version"].lower() == version.lower():
            return json_response(body(entry, v))
    raise not_found(f"{owner_id}/keys/{key}/versions/{version}")


def _diagnostic_settings(call: Call, rid: str, name: str | None) -> web.Response:
    _get_resource(call, rid)
    settings = call.index.estate.get("diagnosticSettings", {}).get(rid.lower().rstrip("/"), [])
    if name:
        for s in settings:
            if s["name"].lower() == name.lower():
                return json_response(s)
        raise FakeError(404, "ResourceNotFound", f"The diagnostic setting '{name}' doesn't exist.")
    return json_response({"value": settings})


def _authorization(call: Call, scope: str, kind: str, name: str | None) -> web.Response:
    if scope.lower().startswith("/subscriptions/"):
        _check_subscription(call, scope.split("/")[2])
        if "/providers/" in scope.lower():
            _get_resource(call, scope)
    if kind == "roledefinitions":
        return _role_definitions(call, scope, name)
    assignments = call.index.estate.get("roleAssignments", [])
    if name:
        for a in assignments:
            if a["name"].lower() == name.lower() and a["properties"]["scope"].lower() == scope.lower():
                return json_response(a)
        raise FakeError(404, "RoleAssignmentNotFound", "The role assignment does not exist.")
    flt = call.query.get("$filter", "")
    at_scope = "atscope()" in flt.lower()
    principal = re.search(r"(?:assignedTo\('|principalId\s+eq\s+')([^']+)'", flt, re.I)
    above = set(call.index.ancestors(scope))
    chosen = []
    for a in assignments:
        assigned = a["properties"]["scope"].rstrip("/").lower() or "/"
        related = assigned in above or (not at_scope and scope.rstrip("/").lower() in call.index.ancestors(assigned))
        if related and (principal is None or a["properties"]["principalId"].lower() == principal.group(1).lower()):
            chosen.append(a)
    return json_response(page(call, chosen, default_size=ARM_PAGE, token_param="$skipToken"))


def _role_definitions(call: Call, scope: str, name: str | None) -> web.Response:
    """Role definitions: by id (returned with the id qualified by the requested scope) or listed."""
    definitions = call.index.estate.get("roleDefinitions", [])
    prefix = "" if scope == "/" else scope.rstrip("/")

    def scoped(d: dict[str, Any]) -> dict[str, Any]:
        out = dict(d)
        if prefix.lower().startswith("/subscriptions/"):
            out["id"] = f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{d['name']}"
        return out

    if name:
        for d in definitions:
            if d["name"].lower() == name.lower():
                return json_response(scoped(d))
        raise FakeError(
            404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{name}' does not exist."
        )
    flt = call.query.get("$filter", "")
    m = re.search(r"roleName\s+eq\s+'([^']+)'", flt, re.I)
    rows = [scoped(d) for d in definitions if m is None or d["properties"]["roleName"].lower() == m.group(1).lower()]
    return json_response(page(call, rows, default_size=ARM_PAGE, token_param="$skipToken"))
