"""Key consumers found through Resource Graph: every resource that holds a key URI.

Known consumers (disk encryption sets, storage, SQL, AKS KMS, Cosmos DB, ...) are queried by
type; in each of them *every* property is searched, so a key URI in a container app's
environment or any other place is found too. Two spellings exist in ARM: a full key URI
(``https://<vault>/keys/<name>[/<version>]``) and the storage-style triple
``keyvaulturi`` + ``keyname`` + ``keyversion`` (an empty version means "follow the latest").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.records import provenance
from kvaudit.scanner.inventory import normalise_id
from kvaudit.scanner.reference import CONSUMERS, consumer_purpose

API = API_VERSIONS["resource_graph"]

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


def _principal(resource: dict[str, Any]) -> str | None:
    identity = resource.get("identity") or {}
    if identity.get("principalId"):
        return identity["principalId"]
    assigned = [v for v in (identity.get("userAssignedIdentities") or {}).values() if isinstance(v, dict)]
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
                    **provenance(API),
                },
            )
    return list(rows.values())


def pins_by_host(resources: list[dict[str, Any]]) -> dict[str, dict[str, set[str]]]:
    """Vault host -> lower-cased key name -> the lower-cased versions consumers pin there.

    The key collector reads the material of these versions besides each key's current one.
    """
    pins: dict[str, dict[str, set[str]]] = {}
    for resource in resources:
        for _, uri in key_uris(resource):
            parsed = split_key_uri(uri)
            if parsed is not None and parsed[2]:
                host, name, version = parsed
                pins.setdefault(host, {}).setdefault(name.lower(), set()).add(str(version).lower())
    return pins
