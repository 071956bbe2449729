"""Application settings of declared consumers -> key references, for ARM, Bicep, azapi and Terraform.

A signer in a Container App or an App Service app is often configured with the vault URL, the
key name and an optional key version as three settings, not as one key URI. Where each consumer
keeps its settings is a fact of the reference table (:data:`scanner.reference.CONSUMERS`); how
a group of settings becomes a reference is :mod:`scanner.keyrefs`, shared with Kubernetes
manifests and the live Container Apps template. This module only walks a resource body to the
settings, turns each value into a string or "unresolved", and asks the caller's mapping to place
the vault (a declared vault, by host or by a symbolic reference to it).

A value that cannot be evaluated (a parameter without a default, a ``secretRef``, an App Service
Key Vault reference, an attribute known only after apply) is an existing setting with an unknown
value: the reference it belongs to gets unknown columns, never a guess and never "absent".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kvaudit.scanner.iac.common import synth_key_id
from kvaudit.scanner.keyrefs import UNRESOLVED, SettingsReference, find_in_settings, reference_row
from kvaudit.scanner.reference import SECRET_REFERENCE_PREFIX, Settings

#: Turns a source's value into text, or UNRESOLVED when the source cannot evaluate it.
Text = Callable[[Any], Any]
#: Finds the declared vault of a reference: (the raw vault setting, its host or None) -> vault id.
VaultOf = Callable[[Any, str | None], str | None]


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


def references(
    body: Any,
    locations: tuple[Settings, ...],
    *,
    text: Text,
    vault_of: VaultOf,
    consumer_id: str,
    consumer_type: str,
    consumer_name: str | None,
) -> list[dict[str, Any]]:
    """``key_references`` rows (without provenance) for the settings groups of one consumer."""
    rows: list[dict[str, Any]] = []
    for where in locations:
        for path, values, raw in settings_at(body, where, text):
            for index, ref in enumerate(find_in_settings(values)):
                suffix = f"{path}/{'.'.join(ref.prefix) or 'key'}" + (f"/{index}" if index else "")
                row = reference_row(
                    ref, consumer_id=consumer_id, consumer_type=consumer_type, consumer_name=consumer_name, path=suffix
                )
                _place(row, ref, raw, vault_of)
                rows.append(row)
    return rows


def _place(row: dict[str, Any], ref: SettingsReference, raw: dict[str, Any], vault_of: VaultOf) -> None:
    """The declared vault and key a reference points at, where the mapping can tell."""
    vault_setting = raw.get(ref.settings[0])
    vault_id = vault_of(vault_setting, ref.host)
    if vault_id is None:
        return
    row["vault_id"] = vault_id
    name = ref.key_name
    if isinstance(name, str) and "/" in name:
        # A Bicep child key's ``.name`` is its ARM name, ``<vault>/<key>``: the key is the tail.
        parent, _, tail = name.rpartition("/")
        if parent.lower() == vault_id.rsplit("/", 1)[-1].lower() and tail:
            name = row["key_name"] = tail
    if isinstance(name, str) and name:
        row["key_id"] = synth_key_id(vault_id, name)
    row["unresolved"] = [c for c in row["unresolved"] if c != "vault_id"]
