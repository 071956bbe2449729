"""Key consumers found through Resource Graph: every resource that holds a key URI.

Known consumers (disk encryption sets, storage, SQL, AKS KMS, Cosmos DB, ...) are queried by
type; in each of them *every* property is searched, so a key URI in a container app's
environment or any other place is found too. Two spellings exist in ARM: a full key URI
(``https://<vault>/keys/<name>[/<version>]``) and the storage-style triple
``keyvaulturi`` + ``keyname`` + ``keyversion`` (an empty version means "follow the latest").

Applications also name a key as separate settings (a vault URL, a key name, an optional
version; :mod:`scanner.keyrefs`). Container Apps keep theirs in the template, which the
read-only ``GET .../providers/Microsoft.App/containerApps`` returns (``ContainerApps_ListBySubscription``;
secret values are never in it, only ``secretRef`` names). App Service app settings are *not*
read live: the only call that returns them is ``POST .../config/appsettings/list``, which
returns every setting's value, secrets included, and needs write-level permission. So an App
Service signer is judged from IaC only; the reference table says which consumers may be read
(``settings_live``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.records import provenance
from kvaudit.scanner.azure.rest import list_items
from kvaudit.scanner.inventory import normalise_id
from kvaudit.scanner.keyrefs import (
    UNRESOLVED,
    find_in_settings,
    json_setting_text,
    locate,
    reference_path,
    reference_row,
    settings_at,
)
from kvaudit.scanner.reference import CLIENT_ID_SETTING, CONSUMERS, consumer_for_arm_type, consumer_purpose

API = API_VERSIONS["resource_graph"]
APPS_API = API_VERSIONS["container_apps"]
#: Consumer types whose settings the live scan reads with a read-only ARM list.
LIVE_SETTINGS_TYPES: tuple[str, ...] = tuple(c.arm_type for c in CONSUMERS if c.settings and c.settings_live)
#: Marks a resource body that came from the ARM list rather than Resource Graph (its api-version).
_READ_WITH = "kvaudit:api-version"
#: A consumer's ARM-listed body, beside the Resource Graph row of the same resource.
_LISTED = "kvaudit:listed"

#: Resource types queried for key URIs: every consumer type of the reference data.
CONSUMER_TYPES: tuple[str, ...] = tuple(c.arm_type.lower() for c in CONSUMERS)

_KEY_PATH = re.compile(r"^/keys/([^/?#]+)(?:/([^/?#]+))?/?$", re.I)
_URI_IN_TEXT = re.compile(r"https://[^\s\"'/]+/keys/[^\s\"'?#]+", re.I)


def kql() -> str:
    types = ", ".join(f"'{t}'" for t in CONSUMER_TYPES)
    return f"resources | where type in~ ({types}) | project id, name, type, identity, properties | order by id asc"


def host_of(uri: str) -> str:
    """``host[:port]`` lower-cased, without the default https port: what the vault URIs match on."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port and parts.port != 443 else host


def split_key_uri(uri: str) -> tuple[str, str, str | None] | None:
    """(vault host, key name, version or None) of a key URI; None for anything else."""
    try:
        parts = urlsplit(uri.strip())
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    match = _KEY_PATH.match(parts.path)
    if not match:
        return None
    return host_of(uri), match.group(1), match.group(2) or None


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}/{i}")
    else:
        yield path, value


def key_uris(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (property path, key URI) in a resource's properties, full or storage-style."""
    found: list[tuple[str, str]] = []
    for path, value in _walk(resource.get("properties") or {}, "/properties"):
        if isinstance(value, str):
            for match in _URI_IN_TEXT.finditer(value):
                if split_key_uri(match.group(0)):
                    found.append((path, match.group(0)))
        elif isinstance(value, dict):
            lowered = {str(k).lower(): v for k, v in value.items()}
            base, name = lowered.get("keyvaulturi"), lowered.get("keyname")
            if isinstance(base, str) and base and isinstance(name, str) and name:
                version = lowered.get("keyversion") or ""
                uri = f"{base.rstrip('/')}/keys/{name}" + (f"/{version}" if version else "")
                found.append((path, uri))
    return found


_NOT_SET: Any = object()


def _principal(resource: dict[str, Any], client_id: Any = _NOT_SET) -> str | None:
    """The principal a consumer reaches Key Vault as, when the resource shows it.

    ``client_id`` is the application's ``AZURE_CLIENT_ID`` setting when it has one: the Azure
    SDKs then use the user-assigned identity with that client id, or a service principal whose
    object id the resource does not show (None). Without it, the system-assigned identity."""
    identity = resource.get("identity") or {}
    if not isinstance(identity, dict):
        return None
    assigned = [v for v in (identity.get("userAssignedIdentities") or {}).values() if isinstance(v, dict)]
    if client_id is not _NOT_SET:
        if not isinstance(client_id, str) or not client_id.strip():
            return None if client_id is UNRESOLVED or client_id else _principal(resource)
        found = [a for a in assigned if str(a.get("clientId") or "").lower() == client_id.strip().lower()]
        return found[0].get("principalId") if len(found) == 1 else None
    if identity.get("principalId"):
        return identity["principalId"]
    return assigned[0].get("principalId") if len(assigned) == 1 else None


def reference_records(resources: list[dict[str, Any]], vault_uris: dict[str, str]) -> list[dict[str, Any]]:
    """``key_references`` rows; ``vault_uris`` maps a vault host (see :func:`host_of`) to its id."""
    rows: dict[str, dict[str, Any]] = {}
    for resource in resources:
        consumer = normalise_id(resource.get("id"))
        rtype = str(resource.get("type") or "")
        for path, uri in key_uris(resource):
            parsed = split_key_uri(uri)
            if parsed is None:
                continue
            host, name, version = parsed
            vault_id = vault_uris.get(host)
            row_id = f"{consumer}#{path}"
            rows.setdefault(
                row_id,
                {
                    "id": row_id,
                    "consumer_id": consumer,
                    "consumer_type": rtype,
                    "consumer_name": resource.get("name"),
                    "principal_id": _principal(resource),
                    "key_uri": uri,
                    "vault_host": host,
                    "vault_id": vault_id,
                    "key_id": f"{vault_id}/keys/{name.lower()}" if vault_id else None,
                    "key_name": name,
                    "key_version": version,
                    "pinned": version is not None,
                    "purpose": consumer_purpose(rtype),
                    **provenance(str(resource.get(_READ_WITH) or API)),
                },
            )
        rows.update((row["id"], row) for row in settings_records(resource, vault_uris) if row["id"] not in rows)
    return list(rows.values())


def settings_records(resource: dict[str, Any], vault_uris: dict[str, str]) -> list[dict[str, Any]]:
    """``key_references`` rows for the key settings groups of one live consumer.

    Only consumers whose settings a read-only call returns (``settings_live``) are read."""
    consumer = consumer_for_arm_type(str(resource.get("type") or ""))
    if consumer is None or not consumer.settings_live:
        return []
    consumer_id = normalise_id(resource.get("id"))
    rtype = str(resource.get("type") or "")
    listed = resource.get(_LISTED)
    body = listed if isinstance(listed, dict) else resource
    api_version = str(body.get(_READ_WITH) or API)
    out: list[dict[str, Any]] = []
    for where in consumer.settings:
        for path, values, _raw in settings_at(body, where, json_setting_text):
            client_id = values.get(CLIENT_ID_SETTING, _NOT_SET)
            for index, ref in enumerate(find_in_settings(values, known_hosts=vault_uris)):
                row = reference_row(
                    ref,
                    consumer_id=consumer_id or "",
                    consumer_type=rtype,
                    consumer_name=resource.get("name"),
                    path=reference_path(path, ref, index),
                )
                locate(row, vault_uris.get(ref.host) if ref.host else None)
                row["principal_id"] = _principal(body, client_id)
                row.update(provenance(api_version, unresolved=row["unresolved"]))
                out.append(row)
    return out


async def settings_consumers(session: Any, subscriptions: list[str], errors: Any) -> list[dict[str, Any]]:
    """Every consumer whose settings are read live (Container Apps), by subscription, with
    read-only ARM GETs; a failed list is one collection error for ``key_references`` there."""
    found: list[dict[str, Any]] = []
    for sub in subscriptions:
        client = session.keyvault_mgmt(sub)
        for rtype in LIVE_SETTINGS_TYPES:
            url = f"{session.cloud.arm_endpoint}/subscriptions/{sub}/providers/{rtype}?api-version={APPS_API}"
            _ok, items = await errors.guard(
                lambda url=url, client=client: list_items(client, url),
                f"/subscriptions/{sub}",
                f"{rtype.split('/')[-1].lower()}.list_by_subscription",
                ("key_references",),
                api_version=APPS_API,
            )
            found += [{**item, _READ_WITH: APPS_API} for item in items or [] if isinstance(item, dict)]
    return found


def settings_subscriptions(resources: list[dict[str, Any]], subscriptions: list[str]) -> list[str]:
    """Subscriptions to list live-settings consumers in: the scanned ones and any where Resource
    Graph saw such a consumer (an application need not live beside its vault)."""
    wanted = {t.lower() for t in LIVE_SETTINGS_TYPES}
    subs = {s.lower() for s in subscriptions}
    for resource in resources:
        rid = str(resource.get("id") or "").split("/")
        if str(resource.get("type") or "").lower() in wanted and len(rid) > 2 and rid[1].lower() == "subscriptions":
            subs.add(rid[2].lower())
    return sorted(subs)


class _AnyHost(dict):  # type: ignore[type-arg]
    """A host table that holds every host (and maps none to a vault)."""

    def __contains__(self, _host: object) -> bool:
        return True


_ANY_HOST = _AnyHost()


def merge_consumers(graph: list[dict[str, Any]], listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resource Graph consumers, each carrying its ARM-listed body for its settings, and the
    listed resources Resource Graph did not return (it may lag behind ARM)."""
    by_id = {str(r.get("id") or "").lower(): r for r in listed}
    out = []
    for resource in graph:
        body = by_id.pop(str(resource.get("id") or "").lower(), None)
        out.append({**resource, _LISTED: body} if body is not None else resource)
    return out + [{**body, _LISTED: body} for body in by_id.values()]


def pins_by_host(resources: list[dict[str, Any]]) -> dict[str, dict[str, set[str]]]:
    """Vault host -> lower-cased key name -> the lower-cased versions consumers pin there.

    The key collector reads the material of these versions besides each key's current one.
    """
    pins: dict[str, dict[str, set[str]]] = {}
    for resource in resources:
        uris = [uri for _, uri in key_uris(resource)]
        # Before the vaults are read their hosts are unknown: any https host may be one here,
        # since a pin on a host that is no vault's is simply never looked up.
        uris += [r["key_uri"] for r in settings_records(resource, _ANY_HOST) if r["key_uri"]]
        for uri in uris:
            parsed = split_key_uri(uri)
            if parsed is not None and parsed[2]:
                host, name, version = parsed
                pins.setdefault(host, {}).setdefault(name.lower(), set()).add(str(version).lower())
    return pins
