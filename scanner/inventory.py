"""The inventory: one set of typed tables that every source fills and every rule reads.

Rules never see raw API JSON or IaC syntax; they see these tables. That is what lets a rule
be written once for live Azure, snapshots, ARM, Bicep and Terraform alike.

Every column is nullable because **unknown is null, never False**: a source that could not
observe a value leaves it null, and the rules turn null into UNKNOWN rather than PASS.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")


# Logical column types. "object" columns hold lists or dicts (key_ops, tags, evidence).
STRING, BOOL, INT, TIME, OBJ = "string", "boolean", "Int64", "datetime", "object"

#: Provenance carried by every row of every table.
PROVENANCE: dict[str, str] = {
    "source": STRING,  # azure | snapshot | arm | bicep | terraform | terraform-plan | demo
    "file": STRING,  # IaC file (repo-relative) where the row was declared
    "line": INT,  # 1-based line in that file; for a resource declared in a module, the call
    # in the scanned root (the outermost ``module`` block), since that is what the root's author edits
    "module": STRING,  # module path of a resource declared in a module (module.kv.module.keys["cmk"])
    "declared_file": STRING,  # where a module's resource itself is declared (null outside modules)
    "declared_line": INT,
    "api_version": STRING,  # REST api-version (live) or resource apiVersion (ARM)
    "defaults": OBJ,  # names of columns an adapter filled from a documented platform default
    "unresolved": OBJ,  # names of columns declared with a value the source could not evaluate
}

#: The provenance columns that say where a row is written: results carry them to the reports.
LOCATION_COLUMNS: tuple[str, ...] = ("file", "line", "module", "declared_file", "declared_line")

#: The tables and their columns, in display order. ``id`` is the original ARM id or key URI;
#: ``*_id`` columns used for joins are normalised (lower case) by :func:`normalise_id`.
TABLES: dict[str, dict[str, str]] = {
    "vaults": {
        "id": STRING,  # ARM id, lower-cased
        "display_id": STRING,  # ARM id as the source spelled it
        "name": STRING,
        "kind": STRING,  # vault | managed_hsm
        "subscription_id": STRING,
        "resource_group": STRING,
        "location": STRING,
        "tenant_id": STRING,
        "sku": STRING,  # standard | premium | Standard_B1 | Custom_B32 ...
        "uri": STRING,  # vaultUri / hsmUri
        "soft_delete_enabled": BOOL,
        "soft_delete_retention_days": INT,
        "purge_protection_enabled": BOOL,
        "public_network_access": STRING,  # Enabled | Disabled | SecuredByPerimeter
        "network_default_action": STRING,  # Allow | Deny
        "network_bypass": STRING,  # AzureServices | None
        "ip_rules": OBJ,  # list of CIDR strings
        "virtual_network_rules": OBJ,  # list of subnet ids
        "rbac_authorization_enabled": BOOL,  # vaults only; managed HSMs always use local RBAC
        "security_domain_activated": BOOL,  # managed HSMs only
        "tags": OBJ,
    },
    "keys": {
        "id": STRING,  # <vault id>/keys/<name>, lower-cased
        "vault_id": STRING,
        "vault_name": STRING,
        "name": STRING,
        "kid": STRING,  # data-plane key URI without version, as observed
        "current_version": STRING,
        "kty": STRING,  # RSA | RSA-HSM | EC | EC-HSM | OKP | OKP-HSM | oct | oct-HSM
        "key_size": INT,
        "curve": STRING,  # P-256 | P-384 | P-521 | P-256K | Ed25519
        "key_ops": OBJ,  # list of operations
        "enabled": BOOL,
        "expires": TIME,
        "not_before": TIME,
        "created": TIME,
        "updated": TIME,
        "exportable": BOOL,
        "release_policy": OBJ,  # decoded policy document (dict) or null
        "release_policy_immutable": BOOL,
        "rotation_policy_present": BOOL,
        "rotation_actions": OBJ,  # list like ["Rotate", "Notify"]
        "rotation_time_after_create": STRING,  # ISO 8601 duration of the Rotate trigger
        "rotation_expiry_time": STRING,  # ISO 8601 duration set on new versions
        "tags": OBJ,
        "managed": BOOL,  # key managed by another service (certificate-backed)
    },
    "key_versions": {
        "id": STRING,  # <key id>/versions/<version>, lower-cased
        "key_id": STRING,
        "vault_id": STRING,
        "key_name": STRING,
        "version": STRING,
        "kid": STRING,  # full versioned key URI as observed
        "kty": STRING,
        "key_size": INT,
        "curve": STRING,
        "key_ops": OBJ,
        "enabled": BOOL,
        "expires": TIME,
        "not_before": TIME,
        "created": TIME,
        "exportable": BOOL,
    },
    "role_assignments": {
        "id": STRING,  # ARM id (azure plane) or <hsm id>/roleassignments/<name> (local)
        "plane": STRING,  # azure | managed_hsm
        "name": STRING,
        "vault_id": STRING,  # managed_hsm plane: the HSM; azure plane: null unless at vault scope
        "scope": STRING,  # ARM scope (azure) or "/", "/keys", "/keys/<name>" (managed_hsm)
        "principal_id": STRING,
        "principal_type": STRING,  # User | Group | ServicePrincipal | Unknown ...
        "principal_name": STRING,
        "role_definition_id": STRING,
        "role_name": STRING,
        "actions": OBJ,
        "data_actions": OBJ,
        "not_data_actions": OBJ,
    },
    "access_policies": {
        "id": STRING,  # <vault id>/accesspolicies/<object id>
        "vault_id": STRING,
        "tenant_id": STRING,
        "object_id": STRING,
        "application_id": STRING,
        "key_permissions": OBJ,
        "secret_permissions": OBJ,
        "certificate_permissions": OBJ,
    },
    "diagnostic_settings": {
        "id": STRING,
        "target_id": STRING,  # the vault or HSM the setting is attached to
        "name": STRING,
        "logs": OBJ,  # list of {category, category_group, enabled, retention_days}
        "workspace_id": STRING,
        "storage_account_id": STRING,
        "event_hub_authorization_rule_id": STRING,
        "marketplace_partner_id": STRING,
    },
    "private_endpoints": {
        "id": STRING,  # private endpoint connection id
        "target_id": STRING,  # the vault or HSM
        "name": STRING,
        "private_endpoint_id": STRING,
        "connection_state": STRING,  # Approved | Pending | Rejected | Disconnected
        "provisioning_state": STRING,
    },
    "key_references": {
        "id": STRING,  # the consumer resource id + the property path
        "consumer_id": STRING,
        "consumer_type": STRING,  # e.g. Microsoft.Compute/diskEncryptionSets, helm-values
        "consumer_name": STRING,
        "principal_id": STRING,  # identity the consumer uses to reach the key, when known
        "key_uri": STRING,  # as written by the consumer
        "vault_host": STRING,  # host part of key_uri, lower-cased
        "vault_id": STRING,  # resolved vault ARM id when known
        "key_id": STRING,  # resolved key id when known
        "key_name": STRING,
        "key_version": STRING,  # null when the consumer does not pin
        "pinned": BOOL,
        "purpose": STRING,  # what the consumer uses the key for: wrap | sign | release | encrypt
    },
    "key_usage": {
        "id": STRING,  # key id
        "key_id": STRING,
        "vault_id": STRING,
        "last_used": TIME,
        "operations": OBJ,  # list of operation names seen
        "event_count": INT,
        "window_days": INT,
        "last_event": TIME,  # newest audit event of any kind for the vault
    },
    # A failed read. Its scope is ``vault_id`` when set, else ``id`` as an ARM id: a resource
    # group, a subscription, a management group (taken to hold the whole estate), a Log
    # Analytics workspace (the vaults whose diagnostic settings send there) or "/" (the tenant).
    "collection_errors": {
        "id": STRING,  # the resource or scope whose read failed
        "vault_id": STRING,  # the vault or HSM concerned, when there is one
        "operation": STRING,  # e.g. keys.list, diagnostic_settings.list
        "affects": OBJ,  # tables whose rows under this scope may be missing or incomplete
        "status_code": INT,
        "error": STRING,
    },
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)

#: The fields of each entry of ``diagnostic_settings.logs`` and their types; every entry has all of them.
LOG_ENTRY_FIELDS: dict[str, str] = {
    "category": STRING,
    "category_group": STRING,
    "enabled": BOOL,
    "retention_days": INT,
}


def columns_of(table: str) -> dict[str, str]:
    """All columns of ``table``, its own followed by the provenance columns."""
    return {**TABLES[table], **PROVENANCE}


def _is_pandas_na(value: Any) -> bool:
    """``value is pd.NA``, without importing pandas: where it is not imported, nothing is NA."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and value is pandas.NA


def normalise_id(value: Any) -> Any:
    """ARM ids are case-insensitive: lower-case and strip a trailing slash for matching."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or _is_pandas_na(value):
        return None
    text = str(value).strip()
    return text.rstrip("/").lower() if text != "/" else text


def _coerce(series: pd.Series, kind: str) -> pd.Series:
    if kind == STRING:
        return series.astype("string")
    if kind == BOOL:
        return series.astype("boolean")
    if kind == INT:
        return pd.to_numeric(series, errors="coerce").astype("Int64")
    if kind == TIME:
        return pd.to_datetime(series, utc=True, errors="coerce", format="mixed")
    return series.astype("object").where(series.notna(), None)


def frame(table: str, records: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """Build a correctly typed table from dict records; missing keys become null.

    Each column is typed once and the frame is assembled once: an IaC gate builds a few dozen
    small tables per scan, and assigning column by column into a frame cost more than the
    records did. An empty table is built once per process and copied."""
    spec = columns_of(table)
    rows = records if isinstance(records, list) else list(records)
    if not rows:
        empty = _EMPTY.get(table)
        if empty is None:
            empty = _EMPTY[table] = _typed_frame(spec, [])
        return empty.copy()
    unknown = {key for row in rows for key in row} - set(spec)
    if unknown:
        raise ValueError(f"unknown columns for table {table}: {sorted(unknown)}")
    return _typed_frame(spec, rows)


_EMPTY: dict[str, pd.DataFrame] = {}


def _typed_frame(spec: dict[str, str], rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    columns: dict[str, Any] = {}
    for col, kind in spec.items():
        values = [row.get(col) for row in rows]
        if any(value is not None for value in values):
            columns[col] = _coerce(pd.Series(values, dtype="object"), kind)
        else:
            columns[col] = _null_column(kind, len(values))
    return pd.DataFrame(columns, columns=list(spec))


_NULL: dict[str, Any] = {}


def _null_column(kind: str, length: int) -> Any:
    """A column of ``length`` nulls of ``kind``, taken from a one-row column typed once, so it
    has exactly the dtype :func:`_coerce` gives."""
    base = _NULL.get(kind)
    if base is None:
        base = _NULL[kind] = _coerce(pd.Series([None], dtype="object"), kind).array
    return base.take([0] * length) if length else base[:0]


def conform(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Give a DataFrame exactly the table's columns and dtypes (missing columns become null)."""
    spec = columns_of(table)
    out = pd.DataFrame(index=df.index)
    for col, kind in spec.items():
        source = df[col] if col in df.columns else pd.Series([None] * len(df), index=df.index, dtype="object")
        out[col] = _coerce(source, kind)
    return out.reset_index(drop=True)


@dataclass
class SourceInfo:
    """Where part of the inventory came from; the report lists these with their digests."""

    kind: str
    location: str
    digest: str | None = None


@dataclass(frozen=True)
class InlineSuppression:
    """A suppression written next to the resource in IaC (ARM metadata, Bicep or HCL comment).

    ``rule_id`` may be ``"*"``; a suppression without a reason is recorded but not honoured.
    """

    rule_id: str
    resource_id: str
    reason: str | None
    file: str | None = None
    line: int | None = None


@dataclass
class Inventory:
    """The tables plus the sources that filled them and any inline suppressions they carried."""

    tables: dict[str, pd.DataFrame] = field(default_factory=lambda: {t: frame(t) for t in TABLES})
    sources: list[SourceInfo] = field(default_factory=list)
    scope: dict[str, Any] = field(default_factory=dict)
    suppressions: list[InlineSuppression] = field(default_factory=list)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables")
        if tables is not None and name in tables:
            return tables[name]
        raise AttributeError(name)

    @classmethod
    def from_records(
        cls,
        records: Mapping[str, Iterable[Mapping[str, Any]]],
        sources: Iterable[SourceInfo] = (),
        scope: Mapping[str, Any] | None = None,
        suppressions: Iterable[InlineSuppression] = (),
    ) -> Inventory:
        """Build an inventory from ``{table: [row dicts]}``; absent tables are empty.

        Inside :func:`rows_only` the typed tables are not built: a :class:`PendingInventory`
        holding the rows is returned instead (see there)."""
        extra = set(records) - set(TABLES)
        if extra:
            raise ValueError(f"unknown inventory tables: {sorted(extra)}")
        if _ROWS_ONLY[0]:
            return PendingInventory(  # type: ignore[return-value]
                {t: list(rows) for t, rows in records.items()},
                list(sources),
                dict(scope or {}),
                list(suppressions),
            )
        tables = {t: frame(t, records.get(t, ())) for t in TABLES}
        return cls(tables=tables, sources=list(sources), scope=dict(scope or {}), suppressions=list(suppressions))

    def merge(self, other: Inventory) -> Inventory:
        """Combine two inventories; rows with the same id keep the first occurrence."""
        tables = {}
        for name in TABLES:
            parts = [df for df in (self.tables[name], other.tables[name]) if len(df)]
            if not parts:
                tables[name] = frame(name)
                continue
            merged = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            if name != "collection_errors":
                merged = merged.drop_duplicates(subset=["id"], keep="first")
            tables[name] = merged.reset_index(drop=True)
        scope = {**other.scope, **self.scope}
        return Inventory(
            tables=tables,
            sources=self.sources + other.sources,
            scope=scope,
            suppressions=self.suppressions + other.suppressions,
        )

    def counts(self) -> dict[str, int]:
        """Row count per table, for the report's scan metadata."""
        return {name: int(len(df)) for name, df in self.tables.items()}


@dataclass
class PendingInventory:
    """An inventory's rows before its typed tables are built.

    A loader process forked by :mod:`scanner.sources` parses and maps IaC, which needs no pandas;
    building typed tables would make it import pandas (a third of a second) and pickle frames
    back. So it sends its rows, and the main process, which imported pandas meanwhile, builds
    the tables with :meth:`build`: the import and the parsing run on two cores at once."""

    records: dict[str, list[dict[str, Any]]]
    sources: list[SourceInfo]
    scope: dict[str, Any]
    suppressions: list[InlineSuppression]

    def build(self) -> Inventory:
        return Inventory.from_records(self.records, self.sources, self.scope, self.suppressions)


_ROWS_ONLY = [False]


@contextmanager
def rows_only() -> Iterator[None]:
    """Within this block :meth:`Inventory.from_records` returns a :class:`PendingInventory`."""
    before = _ROWS_ONLY[0]
    _ROWS_ONLY[0] = True
    try:
        yield
    finally:
        _ROWS_ONLY[0] = before


def built(inventory: Inventory | PendingInventory) -> Inventory:
    """The inventory itself, or the one a pending inventory's rows make."""
    return inventory.build() if isinstance(inventory, PendingInventory) else inventory
