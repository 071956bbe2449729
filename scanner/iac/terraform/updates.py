"""Writes onto a resource declared elsewhere: ``azapi_update_resource`` and ``azapi_resource_action``.

A configuration may declare a vault with azurerm (or azapi) and change it afterwards with azapi:
``azapi_update_resource`` reads the resource, merges its ``body`` onto it and writes it back, so
``properties.enablePurgeProtection = true`` turns purge protection on whatever the declaration
said. ``azapi_resource_action`` with no ``action`` and method ``PATCH`` does the same merge; with
``PUT`` it replaces the resource by its body. Each is applied to the row the declaration produced,
column by column, through the field table's ARM paths (the body is an ARM body whoever declared
the resource), so the row says what the resource will be once the whole configuration is applied.

What cannot be interpreted is not ignored, because ignoring it would report the declaration's
values for a resource that the configuration changes:

* a named action other than ``rotate`` on a key (Key Vault has no ARM action whose effect on the
  inventory's columns is known), ``DELETE``, or a method that cannot be evaluated: every column the
  write may change becomes unknown, and a notice names the file and line;
* a write whose target cannot be resolved may apply to any vault (or key) of its type in the
  scan: each column it sets becomes unknown on every such row whose value differs.

A one-off key ``rotate`` action makes a new key version; it is not a rotation policy, so no
column changes. ``when = "destroy"`` runs only on destroy and does not shape the deployed state.
Writes to other resource types (a storage account's encryption, say) are not read yet.
"""

from __future__ import annotations

from typing import Any

from kvaudit.scanner.fields import FIELDS, MISSING, REST, ROTATION_POLICY, Filled, fill, lookup, rotation_columns
from kvaudit.scanner.iac.terraform.azapi import _to_arm, body_of
from kvaudit.scanner.iac.terraform.azure import azapi_id
from kvaudit.scanner.iac.terraform.module import Instance
from kvaudit.scanner.iac.terraform.values import UNKNOWN, KeyRef
from kvaudit.scanner.inventory import normalise_id
from kvaudit.scanner.sources import notice

UPDATE = "azapi_update_resource"
ACTION = "azapi_resource_action"
WRITE_TYPES = frozenset({UPDATE, ACTION})

#: ARM type (lower case) -> (inventory table, vault kind of its rows or None for keys).
TARGETS: dict[str, tuple[str, str | None]] = {
    "microsoft.keyvault/vaults": ("vaults", "vault"),
    "microsoft.keyvault/managedhsms": ("vaults", "managed_hsm"),
    "microsoft.keyvault/vaults/keys": ("keys", None),
    "microsoft.keyvault/managedhsms/keys": ("keys", None),
}


def _target_id(values: dict[str, Any]) -> str | None:
    """The lower-case id the write applies to, from ``resource_id`` or ``parent_id`` + ``name``."""
    target = values.get("resource_id")
    if isinstance(target, KeyRef):
        target = target.key_id
    if not isinstance(target, str) and values.get("name") is not None:
        target = azapi_id(values)
    return normalise_id(target) if isinstance(target, str) and target else None


def _declared(table: str, body: Any, kind: str, reader: Any) -> list[str]:
    """The columns of ``table`` whose ARM path the body writes."""
    columns = []
    for column, spec in FIELDS[table].items():
        path = spec.path(REST, kind)
        if path is not None and lookup(body, path, reader) is not MISSING:
            columns.append(column)
    return columns


class _Write:
    """One write: its target, the table it changes and what it does to a row."""

    def __init__(self, inst: Instance):
        from kvaudit.scanner.iac.arm.mapping import ARM_READER

        self.inst = inst
        self.reader = ARM_READER
        v = inst.values
        type_text = v.get("type")
        arm_type = type_text.partition("@")[0].lower() if isinstance(type_text, str) else None
        self.target = _target_id(v)
        self.table, self.kind = TARGETS.get(arm_type or "", (None, None))
        if self.table is None and arm_type is None and self.target:
            self.table, self.kind = _table_of_id(self.target)
        self.body = _to_arm(body_of(v))
        self.mode = self._mode(v)

    def _mode(self, v: dict[str, Any]) -> str:
        """merge | replace | none | opaque: how the write changes its target."""
        if v.get("when") == "destroy":
            return "none"
        if self.inst.type == UPDATE:
            return "merge"
        action, method = v.get("action"), v.get("method", "POST")
        if action is UNKNOWN or method is UNKNOWN:
            return "opaque"
        method = str(method or "POST").upper()
        if not action and method == "PATCH":
            return "merge"
        if not action and method == "PUT":
            return "replace"
        if isinstance(action, str) and action.lower() == "rotate" and self.table == "keys" and method == "POST":
            return "none"
        return "opaque"

    def filled(self, kind: str, row: dict[str, Any]) -> tuple[Filled, list[str]]:
        """The columns this write sets on a row of ``kind``, and which columns those are."""
        table = self.table or ""
        kind_key = kind if table == "vaults" else "key"
        if self.mode == "replace":
            columns = [c for c, spec in FIELDS[table].items() if spec.path(REST, kind_key) is not None]
        else:
            columns = _declared(table, self.body, kind_key, self.reader)
        out = fill(table, self.body, REST, kind_key, self.reader, columns=tuple(columns))
        declares_policy = lookup(self.body, ROTATION_POLICY[REST], self.reader) is not MISSING
        if table == "keys" and (self.mode == "replace" or declares_policy):
            rotation = rotation_columns(self.body, REST, self.reader)
            out.values.update(rotation.values)
            out.unresolved.extend(rotation.unresolved)
            columns = [*columns, *rotation.values]
        return out, columns


def _table_of_id(target: str) -> tuple[str | None, str | None]:
    if "/providers/microsoft.keyvault/" not in target:
        return None, None
    rest = target.split("/providers/microsoft.keyvault/", 1)[1].split("/")
    kind = {"vaults": "vault", "managedhsms": "managed_hsm"}.get(rest[0])
    if kind is None:
        return None, None
    return (
        ("vaults", kind) if len(rest) == 2 else ("keys", None) if len(rest) == 4 and rest[2] == "keys" else (None, None)
    )


def _set(row: dict[str, Any], column: str, value: Any, unresolved: bool, default: bool = False) -> None:
    row[column] = value
    row["defaults"] = [c for c in row.get("defaults") or [] if c != column] + ([column] if default else [])
    row["unresolved"] = [c for c in row.get("unresolved") or [] if c != column] + ([column] if unresolved else [])


def _row_kind(table: str, row: dict[str, Any]) -> str:
    if table == "vaults":
        return str(row.get("kind") or "vault")
    return "managed_hsm" if "/providers/microsoft.keyvault/managedhsms/" in str(row.get("id")) else "vault"


def apply_writes(instances: list[Instance], tables: dict[str, list[dict[str, Any]]]) -> None:
    """Apply every azapi write of the scan to the rows of the resources it changes."""
    for inst in instances:
        if inst.type not in WRITE_TYPES or inst.mode != "managed":
            continue
        write = _Write(inst)
        if write.table is None or write.mode == "none":
            continue
        rows = [
            row
            for row in tables.get(write.table, [])
            if write.kind is None or _row_kind(write.table, row) == write.kind
        ]
        targeted = [row for row in rows if write.target and normalise_id(row.get("id")) == write.target]
        if write.mode == "opaque":
            where = f"{inst.file}:{inst.line}" if inst.file else inst.address
            notice(f"{where}: {inst.address} is a write whose effect is not modelled; what it may change is unknown")
        placed = bool(targeted) or write.target is not None
        for row in targeted if placed else rows:
            _apply(write, row, placed)


def _apply(write: _Write, row: dict[str, Any], placed: bool) -> None:
    table = write.table or ""
    kind = _row_kind(table, row)
    if write.mode == "opaque":
        for column, spec in FIELDS[table].items():
            if spec.path(REST, kind if table == "vaults" else "key") is not None:
                _set(row, column, None, True)
        return
    filled, columns = write.filled(kind, row)
    for column in columns:
        value = filled.values.get(column)
        unresolved = column in filled.unresolved
        if not placed and (unresolved or row.get(column) != value or column in (row.get("unresolved") or [])):
            _set(row, column, None, True)  # it may or may not be this row the write changes
        elif placed:
            _set(row, column, value, unresolved, column in filled.defaults)
