"""The field table: for every inventory column, which sources can observe it.

Each inventory column is defined once here, next to the facts every source needs about it, so
that the sources cannot drift apart and no rule has to ask which source it runs on. A rule that
reads a column the resource's source cannot observe (a key's versions from Terraform, audit
events from ARM) gets NOT_APPLICABLE from the engine, from this table; a column the source
*could* observe but did not is null, which the engine turns into UNKNOWN.

The column types live in :data:`scanner.inventory.TABLES`; this module adds the per-source facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.inventory import PROVENANCE, TABLES

#: Every source an inventory row can come from (the ``source`` provenance column).
LIVE = frozenset({"azure"})
IAC = frozenset({"arm", "bicep", "terraform", "terraform-plan"})
#: Snapshots and the demo keep the source of each row, so they need no entry of their own.
EVERY_SOURCE = LIVE | IAC
NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Field:
    """One inventory column and the sources that can observe it."""

    table: str
    column: str
    observed_by: frozenset[str] = EVERY_SOURCE

    @property
    def type(self) -> str:
        """The logical column type, from the inventory's table definitions."""
        return {**TABLES[self.table], **PROVENANCE}[self.column]


def _table(table: str, *, default: frozenset[str] = EVERY_SOURCE, **overrides: frozenset[str]) -> dict[str, Field]:
    """Fields of ``table``: every column observable by ``default`` unless overridden."""
    unknown = set(overrides) - set(TABLES[table])
    if unknown:
        raise ValueError(f"unknown columns for {table}: {sorted(unknown)}")
    return {column: Field(table, column, overrides.get(column, default)) for column in TABLES[table]}


#: table -> column -> Field.
FIELDS: dict[str, dict[str, Field]] = {
    "vaults": _table("vaults"),
    "keys": _table(
        "keys",
        # The data plane assigns versions and timestamps on creation; IaC cannot know them.
        kid=LIVE,
        current_version=LIVE,
        created=LIVE,
        updated=LIVE,
        # Keys managed by another service (certificates) exist only once deployed.
        managed=LIVE,
    ),
    # IaC declares a key, never its versions.
    "key_versions": _table("key_versions", default=LIVE),
    "role_assignments": _table(
        "role_assignments",
        # Display names need Microsoft Graph, which kvaudit does not read.
        principal_name=NONE,
    ),
    "access_policies": _table("access_policies"),
    "diagnostic_settings": _table("diagnostic_settings"),
    "private_endpoints": _table("private_endpoints"),
    "key_references": _table("key_references"),
    # Key usage comes from audit logs, which only a live scan reads.
    "key_usage": _table("key_usage", default=LIVE),
    "collection_errors": _table("collection_errors", default=LIVE),
}


def observed_by(table: str, column: str) -> frozenset[str]:
    """The sources that can observe ``table.column`` (provenance columns: every source)."""
    if column in PROVENANCE:
        return EVERY_SOURCE
    return FIELDS[table][column].observed_by


def observable(table: str, column: str, source: str | None) -> bool | None:
    """Can ``source`` observe ``table.column``? None when the row's source is not known."""
    if not isinstance(source, str):
        return None
    return source.lower() in observed_by(table, column)
