"""One identity per IaC declaration: ids qualified by the unit that declares them.

IaC rarely fixes the subscription, the resource group or even the name a resource will get, so
the mappers synthesise ARM ids with placeholders (``/subscriptions/iac/resourcegroups/iac/...``,
or ``terraform:<address>``). Two environments that declare the same vault name would then share
one id: one row, one fingerprint, and a diagnostic setting in one environment would count for
the vault of the other.

So every source maps each *unit* on its own (a Terraform root module directory, a plan file, an
ARM template file, a Bicep entry file) and this post-pass qualifies every id that is not fully
literal with the unit's path relative to the scan root. Inside a unit every id goes through the
same function, so references still join (a diagnostic setting to its vault, a key to its vault,
a role assignment to its scope, a consumer to its key); across units only fully literal ids (a
real subscription and resource group, no unknown name) still meet, as they would in Azure.
A literal data-plane URI names its vault by DNS, so :mod:`scanner.iac.crossunit` joins it to the
one declared vault with that name after all units are merged.

The qualified id keeps the ARM shape that the rules parse: the first placeholder segment gets
``~<unit>`` appended (``/subscriptions/iac~envs%2fdev/resourcegroups/rg/...``), with the unit
percent-encoded so that it stays one segment (and lower-cased in the lower-case join columns). Units are relative posix paths, never absolute and
never with line numbers, so fingerprints are stable from run to run and from machine to machine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.common import UNKNOWN_SCOPE
from kvaudit.scanner.inventory import InlineSuppression, Inventory

#: Columns that hold resource ids, per table. Other id-looking columns (workspace, storage
#: account, role definition) name resources the rules never join on, so they stay as written.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "vaults": ("id", "display_id"),
    "keys": ("id", "vault_id"),
    "key_versions": ("id", "key_id", "vault_id"),
    "role_assignments": ("id", "vault_id", "scope"),
    "access_policies": ("id", "vault_id"),
    "diagnostic_settings": ("id", "target_id"),
    "private_endpoints": ("id", "target_id", "private_endpoint_id"),
    "key_references": ("id", "consumer_id", "vault_id", "key_id"),
    "key_usage": ("id", "key_id", "vault_id"),
    "collection_errors": ("id", "vault_id"),
}

#: Tables whose row *is* the declaration of a resource: the same literal id twice is a conflict.
DECLARATION_TABLES = ("vaults", "keys")

#: Prefix of the ids the Terraform mapping gives resources it cannot place in ARM.
TERRAFORM_PREFIX = "terraform:"


def unit_of(path: Path, root: Path) -> str:
    """A unit's path relative to the scan root, with ``/`` separators (``.`` for the root).

    A unit outside the root is written with ``..`` steps rather than as an absolute path, so the
    identity does not depend on where the checkout lives.
    """
    resolved, base = path.resolve(), root.resolve()
    try:
        text = resolved.relative_to(base).as_posix()
    except ValueError:
        text = Path(os.path.relpath(resolved, base)).as_posix()
    return text or "."


def _tag(unit: str) -> str:
    return quote(unit, safe="")


def _segments(value: str) -> list[str]:
    """Split an id on ``/`` outside ``{...}``: a rendered unknown may hold slashes itself."""
    if "{" not in value:
        return value.split("/")  # the common case, without a walk over every character
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        if char == "/" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


#: A Terraform address standing in for a name the configuration leaves to Azure (a role
#: assignment's GUID): ``azurerm_role_assignment.ra``, ``module.m.azurerm_x.y["k"]``.
_TERRAFORM_ADDRESS = re.compile(r"^(?:module\.[^.]+\.)*(?:data\.)?(?:azurerm|azapi)_[a-z0-9_]+\.[^.]+", re.IGNORECASE)


def _unknown_name(segment: str) -> bool:
    """A rendered unknown (``{parameters('x')}``) or a Terraform address used as the name."""
    return "{" in segment or _TERRAFORM_ADDRESS.match(segment) is not None


def _placeholder(segment: str) -> bool:
    return segment.lower() == UNKNOWN_SCOPE or _unknown_name(segment)


def _marker_index(parts: list[str]) -> int | None:
    """Where the unit goes in a split ``/`` id; None when the id is fully literal.

    The choice depends only on a segment and those before it, so an id and every id below it
    (a vault and its keys) are marked at the same place and still share their prefix.
    """
    lowered = [p.lower() for p in parts]
    if len(parts) >= 3 and lowered[1] == "subscriptions":
        if _placeholder(parts[2]):
            return 2
        if len(parts) >= 5 and lowered[3] == "resourcegroups" and _placeholder(parts[4]):
            return 4
        start = 3
    elif lowered[1:4] == ["providers", "microsoft.management", "managementgroups"]:
        start = 4
    elif all(p == "" for p in parts):
        return None  # "/": the tenant root
    else:
        return 1  # not rooted at a subscription or management group: never a real id
    for index in range(start, len(parts)):
        if _unknown_name(parts[index]):
            return index
    return None


def is_literal(value: str) -> bool:
    """A fully known ARM id: a real subscription (and resource group), no unknown piece."""
    return value.startswith("/") and _marker_index(_segments(value)) is None


def qualify_id(value: Any, unit: str) -> Any:
    """``value`` with ``unit`` in it unless it is fully literal; non-ids are returned as is.

    Relative scopes such as a Managed HSM's ``/keys/<name>`` are not ARM ids: the caller only
    passes columns that hold ARM ids (for role assignments, the plane decides).
    """
    if not isinstance(value, str) or not value:
        return value
    # Join columns are lower case and stay so; a display id keeps the unit as spelled.
    tag = _tag(unit).lower() if value == value.lower() else _tag(unit)
    if value.lower().startswith(TERRAFORM_PREFIX):
        return f"{value[: len(TERRAFORM_PREFIX)]}{tag}:{value[len(TERRAFORM_PREFIX) :]}"
    if not value.startswith("/"):
        return value
    parts = _segments(value)
    index = _marker_index(parts)
    if index is None:
        return value
    parts[index] = f"{parts[index]}~{tag}"
    return "/".join(parts)


def _qualify_row(table: str, row: dict[str, Any], unit: str) -> dict[str, Any]:
    out = dict(row)
    for column in ID_COLUMNS.get(table, ()):
        if column == "scope" and row.get("plane") == "managed_hsm":
            continue  # "/", "/keys", "/keys/<name>": inside the HSM, already tied to vault_id
        if column in out:
            out[column] = qualify_id(out[column], unit)
    return out


def qualify_records(
    records: dict[str, list[dict[str, Any]]], suppressions: Iterable[InlineSuppression], unit: str
) -> tuple[dict[str, list[dict[str, Any]]], list[InlineSuppression]]:
    """The rows and inline suppressions of one unit, with every non-literal id qualified."""
    rows = {table: [_qualify_row(table, row, unit) for row in table_rows] for table, table_rows in records.items()}
    marked = [
        InlineSuppression(s.rule_id, qualify_id(s.resource_id, unit), s.reason, s.file, s.line) for s in suppressions
    ]
    return rows, marked


class Units:
    """Collects the qualified rows of each unit a loader mapped, in the order they came."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.suppressions: list[InlineSuppression] = []

    def add(
        self, unit: str, records: dict[str, list[dict[str, Any]]], suppressions: Iterable[InlineSuppression] = ()
    ) -> None:
        rows, marked = qualify_records(records, suppressions, unit)
        for table, table_rows in rows.items():
            self.records.setdefault(table, []).extend(table_rows)
        self.suppressions.extend(marked)

    def inventory(self, sources: Iterable[Any]) -> Inventory:
        return Inventory.from_records(self.records, sources=list(sources), suppressions=self.suppressions)


def duplicate_declarations(first: Inventory, second: Inventory | None = None) -> list[InputError]:
    """One error per declaration that repeats the literal id of a vault or key declared earlier
    in another file (in ``first``, or in ``second`` read after it).

    Only literal ids can meet across units. Only one row per id can be evaluated, and which
    declaration Azure ends up with depends on deployment order, so the later one is named with
    the file that already declared it rather than dropped in silence. Rows without a file (live,
    snapshots of live) are not declarations.
    """
    errors: list[InputError] = []
    for table in DECLARATION_TABLES:
        seen: dict[str, tuple[str, Any]] = {}
        frames = [first.tables[table]] + ([second.tables[table]] if second is not None else [])
        for frame in frames:
            if not len(frame):
                continue
            # A declaration inside a module or nested deployment is named where it is written,
            # not at the call that brought it in: that is the text that repeats the id.
            files = frame["declared_file"].fillna(frame["file"])
            lines = frame["declared_line"].fillna(frame["line"])
            for row_id, file, line in zip(frame["id"], files, lines, strict=True):
                if not isinstance(row_id, str) or not isinstance(file, str) or not is_literal(row_id):
                    continue
                earlier = seen.setdefault(row_id.lower(), (file, line))
                if earlier[0] == file:
                    continue
                where = earlier[0] + (f":{int(earlier[1])}" if _known(earlier[1]) else "")
                errors.append(
                    InputError(
                        file,
                        f"declares {row_id}, already declared in {where}; only the first declaration is evaluated",
                        int(line) if _known(line) else None,
                    )
                )
    return errors


def _known(value: Any) -> bool:
    try:
        return value is not None and value == value and int(value) > 0
    except (TypeError, ValueError):
        return False
