"""Key references written as separate settings: a vault URL, a key name and a key version.

Applications often take their signing or wrapping key as three settings rather than one key URI:
``YUTHA_SIGNER_AZURE_KV_VAULT_URL``, ``..._KEY_NAME`` and an optional ``..._KEY_VERSION`` (or
``--signer-azure-kv-key-name`` flags, or ``signer.azureKv.keyName`` in Helm values). An unpinned
signer configured that way is invisible to a scanner that only recognises whole key URIs, so this
module groups such settings by their shared prefix, wherever they come from (Container Apps and
App Service settings, Kubernetes manifests, Helm values, the live Container Apps template), and
turns each complete group into a key reference. One recogniser serves every source, so the same
settings give the same reference everywhere.

Values may be unknown (an unresolved IaC expression is ``None`` here): a group whose version
setting exists but is unknown is a reference whose pinning is unknown, never "unpinned".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kvaudit.scanner.dns_suffixes import kind_for_host
from kvaudit.scanner.reference import SECRET_REFERENCE_PREFIX, Settings

#: The value of a setting that exists but whose value could not be resolved.
UNRESOLVED = object()
#: Turns a source's value into text, or UNRESOLVED when the source cannot evaluate it.
Text = Callable[[Any], Any]


def json_setting_text(value: Any) -> Any:
    """A setting's text where settings are JSON (ARM templates, live GETs): strings and numbers
    as written, null as empty; anything else (an object, a list, an unknown) is unresolved."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return UNRESOLVED

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
#: Setting-name endings (as lower-case words) and the part of the reference each names.
_ROLES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("vault", "url"), "vault"),
    (("vault", "uri"), "vault"),
    (("vault", "endpoint"), "vault"),
    (("hsm", "url"), "vault"),
    (("hsm", "uri"), "vault"),
    (("keyvault", "url"), "vault"),
    (("keyvault", "uri"), "vault"),
    (("key", "name"), "name"),
    (("key", "version"), "version"),
)
#: Words a prefix may end with that only repeat what the role says (AZURE_KEY_VAULT_URL, AZURE_KEY_NAME).
_FILLER = {"key", "keyvault", "kv", "azure", "hsm", "vault"}
#: Prefix words that say what the key is for.
_PURPOSES = {
    "sign": "sign",
    "signer": "sign",
    "signing": "sign",
    "signature": "sign",
    "cosign": "sign",
    "notation": "sign",
    "kek": "wrap",
    "wrap": "wrap",
    "wrapping": "wrap",
    "cmk": "wrap",
    "encryption": "encrypt",
    "encrypt": "encrypt",
}


def words(name: str) -> tuple[str, ...]:
    """``YUTHA_SIGNER_AZURE_KV_VAULT_URL``, ``signerAzureKvVaultUrl`` and
    ``--signer-azure-kv-vault-url`` all become ``('yutha'?,) 'signer', 'azure', 'kv', 'vault', 'url'``."""
    return tuple(w.lower() for w in _WORD.findall(name))


def _role(parts: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
    for ending, role in _ROLES:
        if len(parts) >= len(ending) and parts[-len(ending) :] == ending:
            prefix = parts[: -len(ending)]
            while prefix and prefix[-1] in _FILLER:
                prefix = prefix[:-1]
            return role, prefix
    return None


@dataclass(frozen=True)
class SettingsReference:
    """One key named by settings: where each part came from and what it says."""

    prefix: tuple[str, ...]
    vault_url: Any  # str, or UNRESOLVED
    key_name: Any  # str, or UNRESOLVED
    key_version: Any  # str ("" when set empty), UNRESOLVED, or None when there is no version setting
    settings: tuple[str, ...]  # the setting names, for evidence

    @property
    def purpose(self) -> str | None:
        for word in self.prefix:
            if word in _PURPOSES:
                return _PURPOSES[word]
        return None

    @property
    def host(self) -> str | None:
        """``host[:port]`` of the vault URL, lower-cased, without the default https port."""
        return _host(self.vault_url) if isinstance(self.vault_url, str) else None

    @property
    def pinned(self) -> bool | None:
        if self.key_version is UNRESOLVED:
            return None
        return isinstance(self.key_version, str) and self.key_version.strip() != ""

    @property
    def key_uri(self) -> str | None:
        if self.host is None or not isinstance(self.key_name, str) or not self.key_name:
            return None
        if self.key_version is UNRESOLVED:
            return None  # with or without a version: which one is unknown
        version = self.key_version.strip() if isinstance(self.key_version, str) else ""
        return f"https://{self.host}/keys/{self.key_name}" + (f"/{version}" if version else "")


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    host = parts.hostname.lower()
    return f"{host}:{port}" if port and port != 443 else host


def find_in_settings(settings: Mapping[str, Any], known_hosts: Collection[str] = ()) -> list[SettingsReference]:
    """Key references among ``name -> value`` settings (env vars, app settings, Helm values).

    A vault setting must hold the https URL of a Key Vault or Managed HSM: a host under one of
    the clouds' DNS suffixes, or one of ``known_hosts`` (the hosts of vaults a live scan read,
    which may sit behind a custom name)."""
    groups: dict[tuple[str, ...], dict[str, tuple[str, Any]]] = {}
    for name, value in settings.items():
        found = _role(words(name))
        if found is None:
            continue
        role, prefix = found
        groups.setdefault(prefix, {})[role] = (name, value)
    refs = []
    for prefix, parts in sorted(groups.items()):
        if "vault" not in parts or "name" not in parts:
            continue
        vault, name = parts["vault"], parts["name"]
        version = parts.get("version")
        if not (_plausible_url(vault[1], known_hosts) and _plausible_text(name[1])):
            continue
        refs.append(
            SettingsReference(
                prefix=prefix,
                vault_url=_value(vault[1]),
                key_name=_value(name[1]),
                key_version=None if version is None else _value(version[1]),
                settings=tuple(p[0] for p in (vault, name, version) if p is not None),
            )
        )
    return refs


def find_in_arguments(arguments: Iterable[Any]) -> list[SettingsReference]:
    """Key references among command-line flags: ``--x-vault-url URL`` or ``--x-vault-url=URL``."""
    items = [a for a in arguments]
    settings: dict[str, Any] = {}
    index = 0
    while index < len(items):
        item = items[index]
        if isinstance(item, str) and item.startswith("--"):
            flag, eq, inline = item.partition("=")
            if eq:
                settings[flag] = inline
            elif index + 1 < len(items) and not (
                isinstance(items[index + 1], str) and items[index + 1].startswith("--")
            ):
                settings[flag] = items[index + 1]
                index += 1
        index += 1
    return find_in_settings(settings)


def _value(value: Any) -> Any:
    if value is None or value is UNRESOLVED:
        return UNRESOLVED
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else UNRESOLVED


def _plausible_url(value: Any, known_hosts: Collection[str] = ()) -> bool:
    """A vault setting holds an https URL of a Key Vault or Managed HSM, or an unknown value."""
    if value is None or value is UNRESOLVED:
        return True
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    if parts.scheme.lower() != "https" or not parts.hostname:
        return False
    return kind_for_host(parts.hostname) != "unknown" or _host(value) in known_hosts


def _plausible_text(value: Any) -> bool:
    return value is None or value is UNRESOLVED or (isinstance(value, str) and bool(value.strip()))


def reference_path(where: str, ref: SettingsReference, index: int) -> str:
    """The part of a reference row's id after the consumer: where the settings are, and their prefix."""
    return f"{where}/{'.'.join(ref.prefix) or 'key'}" + (f"/{index}" if index else "")


def locate(row: dict[str, Any], vault_id: str | None) -> None:
    """Point a reference row at the vault (and key) a source resolved its vault setting to.

    A Bicep child key's ``.name`` is its ARM name, ``<vault>/<key>``: the key is the tail."""
    if vault_id is None:
        return
    row["vault_id"] = vault_id
    row["unresolved"] = [c for c in row["unresolved"] if c != "vault_id"]
    name = row["key_name"]
    if isinstance(name, str) and "/" in name:
        parent, _, tail = name.rpartition("/")
        if parent.lower() == vault_id.rstrip("/").rsplit("/", 1)[-1].lower() and tail:
            name = row["key_name"] = tail
    if isinstance(name, str) and name:
        row["key_id"] = f"{vault_id.rstrip('/')}/keys/{name}".lower()


def reference_row(
    ref: SettingsReference, *, consumer_id: str, consumer_type: str, consumer_name: str | None, path: str
) -> dict[str, Any]:
    """A ``key_references`` row (without provenance) for one settings reference.

    Columns that depend on a setting whose value is unknown are null and named in
    ``unresolved``, so that they read as unknown rather than absent."""
    host = ref.host
    unresolved: set[str] = set()
    if ref.vault_url is UNRESOLVED:
        unresolved |= {"vault_host", "vault_id", "key_uri"}
    if ref.key_name is UNRESOLVED:
        unresolved |= {"key_name", "key_id", "key_uri"}
    if ref.key_version is UNRESOLVED:
        unresolved |= {"key_version", "pinned", "key_uri"}
    return {
        "unresolved": sorted(unresolved),
        "id": f"{consumer_id}#{path}",
        "consumer_id": consumer_id,
        "consumer_type": consumer_type,
        "consumer_name": consumer_name,
        "principal_id": None,
        "key_uri": ref.key_uri,
        "vault_host": host,
        "vault_id": None,
        "key_id": None,
        "key_name": ref.key_name if isinstance(ref.key_name, str) else None,
        "key_version": ref.key_version.strip() or None if isinstance(ref.key_version, str) else None,
        "pinned": ref.pinned,
        "purpose": ref.purpose,
    }


# --- settings in resource bodies (IaC and live ARM share the shapes) ---------------------------


def _field(obj: Any, name: str) -> Any:
    """A dict entry by case-insensitive name (ARM is case-insensitive; azurerm names are exact)."""
    if not isinstance(obj, dict):
        return _ABSENT
    if name in obj:
        return obj[name]
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return _ABSENT


_ABSENT: Any = object()


def _locations(body: Any, steps: list[str], path: str) -> Iterator[tuple[str, Any]]:
    """(concrete path, node) for every node at ``steps`` below ``body``; ``[]`` enters list items."""
    if not steps:
        yield path, body
        return
    step, rest = steps[0], steps[1:]
    each = step.endswith("[]")
    name = step[:-2] if each else step
    node = _field(body, name)
    if node is _ABSENT or node is None:
        return
    where = f"{path}.{name}" if path else name
    if not each:
        yield from _locations(node, rest, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _locations(item, rest, f"{where}[{index}]")


def settings_at(body: Any, where: Settings, text: Text) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(path, ``name -> value`` settings, the raw values by name) for each settings list."""
    for path, node in _locations(body, where.path.split("."), ""):
        values: dict[str, Any] = {}
        raw: dict[str, Any] = {}
        if where.name is None:
            items = node.items() if isinstance(node, dict) else ()
            for name, value in items:
                if isinstance(name, str):
                    values[name], raw[name] = _setting(value, text), value
        elif isinstance(node, list):
            for item in node:
                name = _field(item, where.name)
                if not isinstance(name, str):
                    continue  # a setting whose name is unknown cannot be told apart from any other
                value = _field(item, where.value) if where.value else _ABSENT
                if any(_field(item, other) not in (_ABSENT, None) for other in where.elsewhere):
                    values[name], raw[name] = UNRESOLVED, None
                else:
                    values[name] = "" if value is _ABSENT or value is None else _setting(value, text)
                    raw[name] = value
        if values:
            yield path, values, raw


def _setting(value: Any, text: Text) -> Any:
    converted = text(value)
    if isinstance(converted, str) and converted.strip().lower().startswith(SECRET_REFERENCE_PREFIX):
        return UNRESOLVED  # Azure puts a Key Vault secret's value here at run time
    return converted
