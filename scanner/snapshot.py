"""Snapshots: the inventory saved as versioned JSON, so that one collection can be evaluated
many times (new policy, new rule set, shard merge) without touching Azure again.

The format is plain JSON validated by ``scanner/schema/snapshot.schema.json``; the schema is
generated from :data:`scanner.inventory.TABLES` so the two cannot drift apart.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.inventory import (
    BOOL,
    INT,
    OBJ,
    STRING,
    TABLES,
    TIME,
    InlineSuppression,
    Inventory,
    SourceInfo,
    columns_of,
    conform,
)
from kvaudit.scanner.jsonio import digest_bytes, load_json_bytes
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:  # sniffing a JSON file's kind needs neither; loader processes fork before pandas is imported
    np = lazy("numpy")
    pd = lazy("pandas")

FORMAT = "kvaudit-snapshot"
VERSION = 1
#: Snapshots below this many rows are indented so that they read and diff well.
SMALL_ROWS = 20_000
#: Snapshots may be far larger than IaC files (a million key versions is ~400 MB).
MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024 * 1024


def _column_values(series: pd.Series, kind: str) -> list[Any] | dict[str, list[Any]]:
    """One column as JSON values, vectorised: a million-row table must not go row by row."""
    if kind == TIME:
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
        text = np.datetime_as_string(naive, unit="s")
        out = np.char.add(text.astype(str), "Z").astype(object)
        out[pd.isna(series).to_numpy()] = None
        return out.tolist()
    if kind == STRING and len(series) >= SMALL_ROWS:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) <= len(series) // 2:
            # Dictionary encoding: a vault id repeated on a million key versions is stored once,
            # which keeps both the file and the parsed document (peak memory) small.
            return {"dictionary": [str(u) for u in uniques], "codes": codes.tolist()}
    if kind in (STRING, BOOL, INT):
        return series.astype(object).where(series.notna(), None).tolist()
    return [None if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in series.tolist()]


def to_document(inventory: Inventory, created: datetime | None = None) -> dict[str, Any]:
    """The JSON document for an inventory (pure; :func:`save` writes it).

    Tables are stored column by column (``{"rows": n, "columns": {name: [values]}}``): compact
    and fast for estates with a million key versions; all-null columns are left out."""
    tables: dict[str, dict[str, Any]] = {}
    for name in TABLES:
        df = inventory.tables[name]
        columns: dict[str, list[Any]] = {}
        for col, kind in columns_of(name).items():
            if col in df.columns and df[col].notna().any():
                columns[col] = _column_values(df[col], kind)
        tables[name] = {"rows": int(len(df)), "columns": columns}
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": (created.isoformat() if created else None),
        "sources": [vars(s) for s in inventory.sources],
        "scope": inventory.scope,
        "suppressions": [vars(s) for s in inventory.suppressions],
        "tables": tables,
    }


def save(inventory: Inventory, path: Path, created: datetime | None = None) -> None:
    """Write a snapshot with stable key order so that diffs between snapshots stay readable.

    Small snapshots are indented. Large ones are streamed one column at a time, so that saving
    a collection of a whole estate never holds a second copy of it as JSON text in memory."""
    if sum(int(len(df)) for df in inventory.tables.values()) < SMALL_ROWS:
        text = json.dumps(to_document(inventory, created), indent=1, sort_keys=True, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
        return
    head = to_document(
        Inventory(sources=inventory.sources, scope=inventory.scope, suppressions=inventory.suppressions), created
    )
    del head["tables"]
    dump = functools.partial(json.dumps, sort_keys=True, ensure_ascii=False)
    with path.open("w", encoding="utf-8") as out:
        for key in sorted([*head, "tables"]):
            out.write(("{" if key == min([*head, "tables"]) else ",") + dump(key) + ":")
            if key != "tables":
                out.write(dump(head[key]))
                continue
            for t_index, name in enumerate(sorted(TABLES)):
                df = inventory.tables[name]
                out.write(("{" if t_index == 0 else ",") + dump(name) + ':{"columns":{')
                written = 0
                for col, kind in sorted(columns_of(name).items()):
                    if col in df.columns and df[col].notna().any():
                        out.write(("," if written else "") + dump(col) + ":" + dump(_column_values(df[col], kind)))
                        written += 1
                out.write('},"rows":' + str(int(len(df))) + "}")
            out.write("}")
        out.write("}\n")


def _column_schema(value_type: dict[str, Any], kind: str) -> dict[str, Any]:
    plain = {"type": "array", "items": {"anyOf": [value_type, {"type": "null"}]}}
    if kind != STRING:
        return plain
    encoded = {
        "type": "object",
        "required": ["dictionary", "codes"],
        "properties": {
            "dictionary": {"type": "array", "items": {"type": "string"}},
            "codes": {"type": "array", "items": {"type": "integer", "minimum": -1}},
        },
        "additionalProperties": False,
    }
    return {"anyOf": [plain, encoded]}


def schema() -> dict[str, Any]:
    """The JSON Schema of the snapshot format, generated from the inventory's table spec."""
    type_of = {
        STRING: {"type": "string"},
        BOOL: {"type": "boolean"},
        INT: {"type": "integer"},
        TIME: {"type": "string", "format": "date-time"},
        OBJ: {"type": ["array", "object", "string", "number", "boolean"]},
    }
    table_schemas = {}
    for name in TABLES:
        props = {col: _column_schema(type_of[kind], kind) for col, kind in columns_of(name).items()}
        table_schemas[name] = {
            "type": "object",
            "required": ["rows", "columns"],
            "properties": {
                "rows": {"type": "integer", "minimum": 0},
                "columns": {"type": "object", "properties": props, "additionalProperties": False},
            },
            "additionalProperties": False,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://kvaudit.dev/schema/snapshot-v1.json",
        "title": "kvaudit inventory snapshot",
        "type": "object",
        "required": ["format", "version", "tables"],
        "properties": {
            "format": {"const": FORMAT},
            "version": {"const": VERSION},
            "created": {"type": ["string", "null"]},
            "sources": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "location"],
                    "properties": {
                        "kind": {"type": "string"},
                        "location": {"type": "string"},
                        "digest": {"type": ["string", "null"]},
                    },
                },
            },
            "scope": {"type": "object"},
            "suppressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["rule_id", "resource_id", "reason"],
                    "properties": {
                        "rule_id": {"type": "string"},
                        "resource_id": {"type": "string"},
                        "reason": {"type": ["string", "null"]},
                        "file": {"type": ["string", "null"]},
                        "line": {"type": ["integer", "null"]},
                    },
                    "additionalProperties": False,
                },
            },
            "tables": {
                "type": "object",
                "properties": table_schemas,
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }


def packaged_schema() -> dict[str, Any]:
    """The schema as shipped in the package (kept equal to :func:`schema` by a test)."""
    text = resources.files("kvaudit.scanner").joinpath("schema/snapshot.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def is_snapshot(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _skeleton_schema() -> dict[str, Any]:
    """The schema with column items left unchecked: values are checked per column, vectorised,
    because jsonschema walking a million-element array per column would dominate load time."""
    full = schema()
    for table in full["properties"]["tables"]["properties"].values():
        columns = table["properties"]["columns"]["properties"]
        for name in columns:
            columns[name] = {"type": ["array", "object"]}
    return full


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    STRING: (str,),
    BOOL: (bool,),
    INT: (int,),
    TIME: (str,),
    OBJ: (list, dict, str, int, float, bool),
}


def _decode_dictionary(origin: str, table: str, col: str, stored: dict[str, Any]) -> list[Any]:
    """Expand a dictionary-encoded string column (codes index the dictionary; -1 is null)."""
    where = f"invalid snapshot at tables/{table}/columns/{col}"
    dictionary, codes = stored.get("dictionary"), stored.get("codes")
    if not isinstance(dictionary, list) or not isinstance(codes, list) or set(stored) != {"dictionary", "codes"}:
        raise InputError(origin, f"{where}: expected an array or {{dictionary, codes}}")
    if not set(map(type, dictionary)) <= {str} or not set(map(type, codes)) <= {int}:
        raise InputError(origin, f"{where}: dictionary must hold strings and codes integers")
    try:
        index = np.asarray(codes, dtype=np.int64)
    except OverflowError:
        raise InputError(origin, f"{where}: code out of range") from None
    if len(index) and (index.min() < -1 or index.max() >= len(dictionary)):
        raise InputError(origin, f"{where}: code out of range")
    lookup = np.asarray([*dictionary, None], dtype=object)
    return lookup[index].tolist()


def _check_column(origin: str, table: str, col: str, kind: str, values: list[Any], rows: int) -> None:
    if len(values) != rows:
        raise InputError(
            origin, f"invalid snapshot at tables/{table}/columns/{col}: {len(values)} values for {rows} rows"
        )
    allowed = _PYTHON_TYPES[kind]
    seen = set(map(type, values))  # C speed; the slow loop below only runs to locate an error
    if seen <= {*allowed, type(None)} and not (kind == INT and bool in seen):
        return
    for index, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, allowed) or (kind == INT and isinstance(value, bool)):
            raise InputError(
                origin,
                f"invalid snapshot at tables/{table}/columns/{col}/{index}: {type(value).__name__} is not a {kind} value",
            )


def _column_series(origin: str, table: str, col: str, kind: str, values: list[Any]) -> pd.Series:
    if kind != TIME:
        return pd.Series(values, dtype="object")
    try:  # ISO 8601 parsing is several times faster than pandas' "mixed" inference
        return pd.to_datetime(pd.Series(values, dtype="object"), utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise InputError(origin, f"invalid snapshot at tables/{table}/columns/{col}: {exc}") from None


def from_document(doc: Any, origin: str) -> Inventory:
    """Validate a parsed snapshot document and build the inventory it describes."""
    import jsonschema

    if not is_snapshot(doc):
        raise InputError(origin, 'not a kvaudit snapshot (missing "format": "kvaudit-snapshot")')
    if doc.get("version") != VERSION:
        raise InputError(origin, f"unsupported snapshot version {doc.get('version')!r} (expected {VERSION})")
    validator = jsonschema.Draft202012Validator(_skeleton_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InputError(origin, f"invalid snapshot at {where}: {error.message[:200]}")
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        spec = columns_of(name)
        stored = doc["tables"].get(name, {"rows": 0, "columns": {}})
        rows = stored["rows"]
        if rows and not stored["columns"]:
            # A header that claims rows its columns do not hold would make every column that
            # long (a billion nulls); stored columns are each checked against ``rows`` below.
            raise InputError(origin, f"invalid snapshot at tables/{name}/rows: {rows} rows but no columns")
        for col, values in list(stored["columns"].items()):
            if isinstance(values, dict):
                values = stored["columns"][col] = _decode_dictionary(origin, name, col, values)
            _check_column(origin, name, col, spec[col], values, rows)
        raw = pd.DataFrame(
            {col: _column_series(origin, name, col, spec[col], values) for col, values in stored["columns"].items()},
            index=range(rows),
        )
        try:
            tables[name] = conform(name, raw)
        except (ValueError, TypeError) as exc:
            raise InputError(origin, f"invalid snapshot at tables/{name}: {exc}") from None
    sources = [_entry(origin, "sources", index, SourceInfo, s) for index, s in enumerate(doc.get("sources", []))]
    suppressions = [
        _entry(origin, "suppressions", index, InlineSuppression, s)
        for index, s in enumerate(doc.get("suppressions", []))
    ]
    return Inventory(tables=tables, sources=sources, scope=doc.get("scope") or {}, suppressions=suppressions)


def _entry(origin: str, section: str, index: int, kind: Any, entry: Any) -> Any:
    """One ``sources``/``suppressions`` entry, with exactly the fields its record has."""
    try:
        return kind(**entry)
    except TypeError:
        fields = ", ".join(kind.__dataclass_fields__)
        raise InputError(origin, f"invalid snapshot at {section}/{index}: expected the fields {fields}") from None


def load(path: Path) -> Inventory:
    """Read a snapshot file; any problem becomes a one-line :class:`InputError`."""
    data = _read(path)
    digest = digest_bytes(data)
    doc = load_json_bytes(data, str(path), MAX_SNAPSHOT_BYTES, max_depth=None)
    del data  # the parsed document is large enough on its own
    inventory = from_document(doc, str(path))
    del doc
    inventory.sources = [SourceInfo("snapshot", str(path), digest)] + [
        s for s in inventory.sources if s.kind != "snapshot"
    ]
    return inventory


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), exc.strerror or str(exc)) from None
