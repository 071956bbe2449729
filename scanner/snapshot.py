"""Snapshots: the inventory saved as versioned JSON, so that one collection can be evaluated
many times (new policy, new rule set, shard merge) without touching Azure again.

The format is plain JSON validated by ``scanner/schema/snapshot.schema.json``; the schema is
generated from :data:`scanner.inventory.TABLES` so the two cannot drift apart.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from scanner.errors import InputError
from scanner.inventory import (
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
)
from scanner.jsonio import digest_bytes, load_json_bytes

FORMAT = "kvaudit-snapshot"
VERSION = 1


def _json_value(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if kind == TIME:
        return pd.Timestamp(value).isoformat()
    if kind == INT:
        return int(value)
    if kind == BOOL:
        return bool(value)
    if kind == STRING:
        return str(value)
    return value


def to_document(inventory: Inventory, created: datetime | None = None) -> dict[str, Any]:
    """The JSON document for an inventory (pure; :func:`save` writes it)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in TABLES:
        spec = columns_of(name)
        df = inventory.tables[name]
        rows = []
        for record in df.to_dict(orient="records"):
            row = {}
            for col, kind in spec.items():
                value = _json_value(record.get(col), kind)
                if value is not None:
                    row[col] = value
            rows.append(row)
        tables[name] = rows
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
    """Write a snapshot with stable key order so that diffs between snapshots stay readable."""
    doc = to_document(inventory, created)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


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
        props = {col: type_of[kind] for col, kind in columns_of(name).items()}
        table_schemas[name] = {
            "type": "array",
            "items": {"type": "object", "properties": props, "additionalProperties": False},
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
    text = resources.files("scanner").joinpath("schema/snapshot.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def is_snapshot(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def from_document(doc: Any, origin: str) -> Inventory:
    """Validate a parsed snapshot document and build the inventory it describes."""
    import jsonschema

    if not is_snapshot(doc):
        raise InputError(origin, 'not a kvaudit snapshot (missing "format": "kvaudit-snapshot")')
    if doc.get("version") != VERSION:
        raise InputError(origin, f"unsupported snapshot version {doc.get('version')!r} (expected {VERSION})")
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InputError(origin, f"invalid snapshot at {where}: {error.message[:200]}")
    sources = [SourceInfo(**s) for s in doc.get("sources", [])]
    suppressions = [InlineSuppression(**s) for s in doc.get("suppressions", [])]
    return Inventory.from_records(
        doc["tables"], sources=sources, scope=doc.get("scope") or {}, suppressions=suppressions
    )


def load(path: Path) -> Inventory:
    """Read a snapshot file; any problem becomes a one-line :class:`InputError`."""
    data = _read(path)
    doc = load_json_bytes(data, str(path))
    inventory = from_document(doc, str(path))
    inventory.sources = [SourceInfo("snapshot", str(path), digest_bytes(data))] + [
        s for s in inventory.sources if s.kind != "snapshot"
    ]
    return inventory


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), exc.strerror or str(exc)) from None
