"""Key Vault and Managed HSM data plane: keys, versions, rotation policies, HSM local RBAC.

Read operations only, in the 2025-07-01 shapes (GetKeys, GetKeyVersions, GetKey,
GetKeyRotationPolicy, RoleAssignments_ListForScope, ListRoleDefinitions).  Anything that would
change state or use a key is refused with 400 ``NotSupportedByFake`` so that a collector that
strays from read-only calls fails loudly in tests (and the request log shows the call).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from tests.fakeazure.keymaterial import public_jwk
from tests.fakeazure.wire import Call, FakeError, json_response, page

KEYS_PAGE = 25  # the service's maxresults ceiling and default

_RBAC_RE = re.compile(
    r"^/*(?P<scope>.*?)/*providers/Microsoft\.Authorization/"
    r"(?P<kind>roleAssignments|roleDefinitions)(?:/(?P<name>[^/]+))?/?$",
    re.I,
)
_KEY_RE = re.compile(r"^/keys/(?P<name>[^/]+)(?:/(?P<rest>[^/]*))?/?$", re.I)


def _key_not_found(call: Call, name: str, version: str | None = None) -> FakeError:
    what = f"{name}/{version}" if version else name
    return FakeError(
        404,
        "KeyNotFound",
        f"A key with (name/id) {what} was not found in this key vault. If you recently deleted "
        "this key you may be able to recover it using the correct recovery command. For help "
        "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
    )


def _latest(entry: dict[str, Any]) -> dict[str, Any]:
    return max(entry["versions"], key=lambda v: v["attributes"].get("created", 0))


def _find_key(call: Call, name: str) -> dict[str, Any]:
    assert call.owner is not None
    vanished = f"{call.owner.name}/keys/{name}".lower()
    if vanished in call.state.vanished:
        raise _key_not_found(call, name)
    for entry in call.index.keys_of(call.owner):
        if entry["name"].lower() == name.lower():
            return entry
    raise _key_not_found(call, name)


def _kid(call: Call, entry: dict[str, Any], version: str | None = None) -> str:
    assert call.owner is not None
    return f"{call.owner.uri}keys/{entry['name']}" + (f"/{version}" if version else "")


def _item(call: Call, entry: dict[str, Any], version: dict[str, Any] | None) -> dict[str, Any]:
    """A KeyItem: list results carry kid, attributes, tags and managed; never key material."""
    current = version or _latest(entry)
    item: dict[str, Any] = {
        "kid": _kid(call, entry, version["version"] if version else None),
        "attributes": dict(current["attributes"]),
    }
    if entry.get("tags"):
        item["tags"] = entry["tags"]
    if entry.get("managed"):
        item["managed"] = True
    return item


def key_bundle(call: Call, entry: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    """A KeyBundle as GetKey returns it (public material only; none for symmetric keys)."""
    assert call.owner is not None
    jwk: dict[str, Any] = {
        "kid": _kid(call, entry, version["version"]),
        "kty": version["kty"],
        "key_ops": list(version["key_ops"]),
    }
    jwk.update(
        public_jwk(
            version["kty"],
            f"{call.owner.name}/{entry['name']}/{version['version']}",
            version.get("key_size"),
            version.get("crv"),
        )
    )
    bundle: dict[str, Any] = {"key": jwk, "attributes": dict(version["attributes"])}
    if entry.get("tags"):
        bundle["tags"] = entry["tags"]
    if version.get("release_policy"):
        bundle["release_policy"] = version["release_policy"]
    if entry.get("managed"):
        bundle["managed"] = True
    return bundle


def handle(call: Call) -> web.Response:
    """Dispatch one data-plane request of a vault or HSM."""
    assert call.owner is not None
    method, path = call.request.method, call.path
    if method != "GET":
        raise FakeError(
            400, "NotSupportedByFake", f"{method} {path} is not a read operation; the fake serves reads only"
        )
    rbac = _RBAC_RE.match(path)
    if rbac:
        if not call.owner.is_hsm:
            raise FakeError(404, "NotFound", "Local role-based access control is served by Managed HSM only.")
        return _rbac(call, rbac.group("scope"), rbac.group("kind").lower(), rbac.group("name"))
    if re.fullmatch(r"/keys/?", path):
        items = [_item(call, e, None) for e in call.index.keys_of(call.owner)]
        return json_response(page(call, items, default_size=KEYS_PAGE, size_param="maxresults", max_size=KEYS_PAGE))
    match = _KEY_RE.match(path)
    if not match:
        raise FakeError(404, "NotFound", f"The requested resource {path} was not found.")
    name, rest = match.group("name"), match.group("rest") or ""
    entry = _find_key(call, name)
    if rest.lower() == "versions":
        items = [_item(call, entry, v) for v in entry["versions"]]
        return json_response(page(call, items, default_size=KEYS_PAGE, size_param="maxresults", max_size=KEYS_PAGE))
    if rest.lower() == "rotationpolicy":
        return json_response(_rotation_policy(call, entry))
    if not rest:
        return json_response(key_bundle(call, entry, _latest(entry)))
    for version in entry["versions"]:
        if version["version"].lower() == rest.lower():
            return json_response(key_bundle(call, entry, version))
    raise _key_not_found(call, name, rest)


def _rotation_policy(call: Call, entry: dict[str, Any]) -> dict[str, Any]:
    """An explicit policy, or the service's default one (no id, Notify 30 days before expiry)."""
    policy = entry.get("rotation_policy")
    if policy is None:
        return {
            "id": None,
            "lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}],
            "attributes": {},
        }
    return {"id": f"{_kid(call, entry)}/rotationpolicy", **policy}


def _rbac(call: Call, scope: str, kind: str, name: str | None) -> web.Response:
    """HSM local RBAC: assignments at, above and below the scope (``atScope()`` limits to at and above)."""
    assert call.owner is not None
    scope = "/" + scope.strip("/")
    if kind == "roledefinitions":
        definitions = call.index.estate.get("hsmRoleDefinitions", [])
        if name:
            for d in definitions:
                if d["name"].lower() == name.lower():
                    return json_response(d)
            raise FakeError(404, "RoleDefinitionNotFound", f"Role definition {name} was not found.")
        return json_response(page(call, definitions, default_size=100))
    assignments = call.index.estate.get("hsmRoleAssignments", {}).get(call.owner.arm_id.lower(), [])
    if name:
        for a in assignments:
            if a["name"].lower() == name.lower():
                return json_response(a)
        raise FakeError(404, "RoleAssignmentNotFound", f"Role assignment {name} was not found.")
    at_scope_only = "atscope()" in call.query.get("$filter", "").lower()

    def related(assigned: str) -> bool:
        above = scope == assigned or scope.lower().startswith(assigned.rstrip("/").lower() + "/") or assigned == "/"
        below = assigned.lower().startswith(scope.rstrip("/").lower() + "/") or scope == "/"
        return above or (below and not at_scope_only)

    chosen = [a for a in assignments if related(a["properties"]["scope"])]
    return json_response(page(call, chosen, default_size=100))
