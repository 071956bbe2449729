"""Row-oriented estate files: an inventory written by hand in TOML, one record per row.

A snapshot stores tables column by column, which is right for a million key versions and wrong
for a person: a vault's settings are scattered over twenty arrays. A row file lists each vault,
key, version, role assignment and so on as one ``[[table]]`` record, so that an estate (the demo,
a test case, a what-if) can be read, commented and edited in an editor::

    format = "kvaudit-rows"
    version = 1

    [[vaults]]
    id = "/subscriptions/.../providers/microsoft.keyvault/vaults/kv-app"
    name = "kv-app"
    purge_protection_enabled = false   # a planted misconfiguration

Columns are those of :data:`scanner.inventory.TABLES`. TOML has no null, so a column left out
of a row is null (unknown), never False; inside ``diagnostic_settings.logs`` entries a field
left out is null the same way. Times are TOML date-times with a UTC offset. Every mistake is a
one-line :class:`InputError` naming the file, the line of the row's ``[[table]]`` header and the
column, because a typo must not silently become an unknown value.

The loader needs only the standard library and the inventory model, so ``kvaudit demo`` starts
fast.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.inventory import (
    BOOL,
    INT,
    LOG_ENTRY_FIELDS,
    OBJ,
    STRING,
    TABLES,
    TIME,
    InlineSuppression,
    Inventory,
    SourceInfo,
    columns_of,
)
from kvaudit.scanner.jsonio import digest_bytes

FORMAT = "kvaudit-rows"
VERSION = 1
#: The kind recorded for a row file among the report's sources.
SOURCE_KIND = "rows"
#: Hand-written estates are small; anything near this size is not one.
MAX_BYTES = 64 * 1024 * 1024
_HEADER_KEYS = {"format", "version", "sources", "scope", "suppressions"}
_TYPE_NAMES = {
    STRING: "a string",
    BOOL: "true or false",
    INT: "an integer",
    TIME: "an unquoted date-time with a UTC offset (e.g. 2027-01-31T00:00:00Z)",
}
_SOURCE_FIELDS = {"kind": STRING, "location": STRING, "digest": STRING}
_SUPPRESSION_FIELDS = {"rule_id": STRING, "resource_id": STRING, "reason": STRING, "file": STRING, "line": INT}


def is_rowdata(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def _header_lines(text: str, doc: dict[str, Any]) -> dict[str, list[int]]:
    """1-based line of each ``[[table]]`` header, per table, so that errors point at the row.

    Kept only where the headers found match the rows parsed one for one (not, say, for rows
    written as an inline array): a wrong line number is worse than none."""
    lines: dict[str, list[int]] = {}
    pattern = re.compile(r"^\s*\[\[\s*([A-Za-z_]+)\s*\]\]")
    for number, line in enumerate(text.splitlines(), start=1):
        match = pattern.match(line)
        if match:
            lines.setdefault(match.group(1), []).append(number)
    return {name: found for name, found in lines.items() if len(found) == len(doc.get(name) or ())}


class _Rows:
    """Checks one parsed document, remembering where each row starts for its error messages."""

    def __init__(self, origin: str, header_lines: Mapping[str, list[int]]):
        self.origin = origin
        self.header_lines = header_lines

    def fail(self, problem: str, table: str | None = None, index: int | None = None) -> InputError:
        found = self.header_lines.get(table or "", [])
        line = found[index] if index is not None and index < len(found) else None
        return InputError(self.origin, problem, line)

    def records(self, doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        unknown = sorted(set(doc) - _HEADER_KEYS - set(TABLES))
        if unknown:
            raise self.fail(f"unknown table {unknown[0]!r} (expected one of: {', '.join(TABLES)})")
        return {table: self.table(table, doc[table]) for table in TABLES if table in doc}

    def table(self, table: str, rows: Any) -> list[dict[str, Any]]:
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise self.fail(f"{table} must be a list of [[{table}]] rows")
        spec = columns_of(table)
        seen: dict[str, int] = {}
        out = []
        for index, row in enumerate(rows):
            where = f"{table}[{index}]"
            unknown = sorted(set(row) - set(spec))
            if unknown:
                raise self.fail(f"{where}: unknown column {unknown[0]!r}", table, index)
            if not isinstance(row.get("id"), str):
                raise self.fail(f"{where}: every row needs an id string", table, index)
            if table != "collection_errors" and row["id"] in seen:
                raise self.fail(f"{where}: duplicate id (first at {table}[{seen[row['id']]}])", table, index)
            seen.setdefault(row["id"], index)
            for column, value in row.items():
                problem = _value_problem(spec[column], value)
                if problem:
                    raise self.fail(f"{where}.{column}: {problem}", table, index)
            if table == "diagnostic_settings" and "logs" in row:
                row = {**row, "logs": self.logs(row["logs"], where, index)}
            out.append(row)
        return out

    def logs(self, logs: Any, where: str, index: int) -> list[dict[str, Any]]:
        """Log entries with every field present, as every other source writes them."""
        at = ("diagnostic_settings", index)
        if not isinstance(logs, list) or not all(isinstance(entry, dict) for entry in logs):
            raise self.fail(f"{where}.logs: expected a list of {{ category = ..., enabled = ... }} entries", *at)
        completed = []
        for number, entry in enumerate(logs):
            unknown = sorted(set(entry) - set(LOG_ENTRY_FIELDS))
            if unknown:
                expected = ", ".join(LOG_ENTRY_FIELDS)
                raise self.fail(f"{where}.logs: unknown field {unknown[0]!r} (expected {expected})", *at)
            for field, value in entry.items():
                problem = _value_problem(LOG_ENTRY_FIELDS[field], value)
                if problem:
                    raise self.fail(f"{where}.logs[{number}].{field}: {problem}", *at)
            completed.append({field: entry.get(field) for field in LOG_ENTRY_FIELDS})
        return completed

    def entries(self, doc: dict[str, Any], key: str, fields: Mapping[str, str], required: int) -> list[dict[str, Any]]:
        """``[[sources]]`` or ``[[suppressions]]``: the first ``required`` of ``fields`` must be set."""
        entries = doc.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise self.fail(f"{key} must be a list of [[{key}]] entries")
        for index, entry in enumerate(entries):
            for name, value in entry.items():
                if name not in fields:
                    raise self.fail(f"{key}[{index}]: unknown field {name!r}", key, index)
                problem = _value_problem(fields[name], value)
                if problem:
                    raise self.fail(f"{key}[{index}].{name}: {problem}", key, index)
            missing = [name for name in list(fields)[:required] if name not in entry]
            if missing:
                raise self.fail(f"{key}[{index}]: missing {missing[0]!r}", key, index)
        return entries


def _value_problem(kind: str, value: Any) -> str | None:
    """Why ``value`` cannot fill a column of ``kind``, or None when it can."""
    if kind == OBJ:
        return _object_problem(value)
    if kind == TIME:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return None
        if isinstance(value, datetime | date | time):
            return "a date-time needs a UTC offset (e.g. 2027-01-31T00:00:00Z)"
    elif kind == BOOL and isinstance(value, bool):
        return None
    elif kind == INT and isinstance(value, int) and not isinstance(value, bool):
        return None if -(2**63) <= value < 2**63 else "integer out of the 64-bit range"
    elif kind == STRING and isinstance(value, str):
        return None
    return f"expected {_TYPE_NAMES[kind]}, not {_toml_type(value)}"


def _toml_type(value: Any) -> str:
    for kind, name in ((bool, "a boolean"), (datetime, "a date-time"), (date, "a date"), (time, "a time")):
        if isinstance(value, kind):
            return name
    names = {int: "an integer", float: "a float", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _object_problem(value: Any) -> str | None:
    """Lists and tables end up in JSON reports: they may not hold TOML dates or times."""
    if isinstance(value, datetime | date | time):
        return "a date or time inside a list or table cannot be reported; write it as a string"
    if isinstance(value, list):
        return next((p for p in map(_object_problem, value) if p), None)
    if isinstance(value, dict):
        return next((p for p in map(_object_problem, value.values()) if p), None)
    return None


def from_text(text: str, origin: str) -> Inventory:
    """Parse and check a row file's text and build the inventory it describes."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(origin, f"invalid TOML: {exc}") from None
    except RecursionError:
        raise InputError(origin, "nesting too deep to parse") from None
    if not is_rowdata(doc):
        raise InputError(origin, f'not a kvaudit row file (missing format = "{FORMAT}")')
    if doc.get("version") != VERSION:
        raise InputError(origin, f"unsupported row file version {doc.get('version')!r} (expected {VERSION})")
    checker = _Rows(origin, _header_lines(text, doc))
    records = checker.records(doc)
    scope = doc.get("scope", {})
    if not isinstance(scope, dict) or _object_problem(scope):
        raise InputError(origin, "scope must be a table, with any dates or times written as strings")
    sources = [SourceInfo(**entry) for entry in checker.entries(doc, "sources", _SOURCE_FIELDS, 2)]
    # A suppression without a reason is recorded but not honoured, as in IaC.
    suppressions = [
        InlineSuppression(**{"reason": None, **entry})
        for entry in checker.entries(doc, "suppressions", _SUPPRESSION_FIELDS, 2)
    ]
    try:
        return Inventory.from_records(records, sources=sources, scope=scope, suppressions=suppressions)
    except (ValueError, TypeError, OverflowError) as exc:  # a value pandas refuses despite the checks
        raise InputError(origin, f"cannot build the inventory: {exc}") from None


def load(path: Path) -> Inventory:
    """Read a row file; its own digest leads the sources, as a snapshot's does."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), exc.strerror or str(exc)) from None
    if len(data) > MAX_BYTES:
        raise InputError(str(path), f"file is {len(data)} bytes, larger than the {MAX_BYTES}-byte limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    inventory = from_text(text, str(path))
    inventory.sources.insert(0, SourceInfo(SOURCE_KIND, str(path), digest_bytes(data)))
    return inventory
