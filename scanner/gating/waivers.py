"""Waivers: time-boxed, approved exceptions kept in a TOML file next to the code.

A waiver is only worth having if an auditor can see who accepted which risk, why, and until
when. So justification, approver and expiry are mandatory, a typo in a key is an error rather
than a silently ignored field, and an expired waiver stops suppressing instead of living on.
The format is documented by ``examples/waivers.toml``::

    [[waivers]]
    id = "W-001"                                   # optional label (default: waiver <n>)
    rule = "KV-NET-001"                            # rule id, with resource ...
    resource = "*/vaults/kv-legacy"                # ... an id or a glob over lower-cased ids
    # fingerprint = "0123..."                      # ... or one finding's fingerprint
    justification = "Legacy app needs public access until migration (CHG-1234)"
    approver = "jane.doe@example.com"
    expires = 2027-03-31                           # TOML date; valid through that day
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from kvaudit.scanner.containment import read_bounded
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.gating.identity import normalise_resource
from kvaudit.scanner.jsonio import decode_text

_FIELDS = {"id", "rule", "resource", "fingerprint", "justification", "approver", "expires"}
_FINGERPRINT = re.compile(r"^[0-9a-f]{32}$")
_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*waivers[ \t]*\]\]", re.MULTILINE)
_MAX_BYTES = 16 * 1024 * 1024
_TEXT = {"type": "string"}

#: The file's structure, checked before each entry's meaning: unknown keys and wrong types
#: are errors with the entry's line, never silently ignored. (TOML dates arrive as ``date``
#: objects, so ``expires`` is typed by :func:`_expiry`.)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "waivers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "id": _TEXT,
                    "rule": _TEXT,
                    "resource": _TEXT,
                    "fingerprint": _TEXT,
                    "justification": _TEXT,
                    "approver": _TEXT,
                    "expires": {},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Waiver:
    """One parsed waiver; ``resource`` is a lower-cased glob, ``line`` its ``[[waivers]]`` line."""

    id: str
    file: str
    line: int | None
    rule_id: str | None
    resource: str | None
    fingerprint: str | None
    justification: str
    approver: str
    expires: date

    def expired(self, today: date) -> bool:
        """A waiver is valid through its expiry date and stops suppressing the day after."""
        return today > self.expires

    def matches(self, rule_id: str, resource_id: str, fingerprint: str) -> bool:
        if self.fingerprint is not None:
            return fingerprint == self.fingerprint and (self.rule_id is None or self.rule_id == rule_id)
        return (
            self.rule_id == rule_id
            and self.resource is not None
            and fnmatchcase(normalise_resource(resource_id), self.resource)
        )

    def describe(self, matched: int, today: date) -> dict[str, Any]:
        """The waiver as the report's exceptions register lists it."""
        return {
            "id": self.id,
            "file": self.file,
            "line": self.line,
            "rule_id": self.rule_id,
            "resource": self.resource,
            "fingerprint": self.fingerprint,
            "justification": self.justification,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
            "expired": self.expired(today),
            "matched": matched,
        }


def _text(entry: dict[str, Any], key: str, where: str, origin: str, line: int | None) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(origin, f"{where}: {key} must be a string, not {type(value).__name__}", line)
    return value.strip() or None


def _expiry(value: Any, where: str, origin: str, line: int | None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(origin, f"{where}: expires must be a date like 2027-03-31, not {value!r}", line)


def _waiver(entry: Any, index: int, origin: str, line: int | None, rule_ids: set[str] | None) -> Waiver:
    if not isinstance(entry, dict):
        raise InputError(origin, f"waiver {index}: must be a table ([[waivers]])", line)
    label = _text(entry, "id", f"waiver {index}", origin, line)
    where = f"waiver {index}" + (f" ({label})" if label else "")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise InputError(origin, f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(_FIELDS))})", line)
    for required in ("justification", "approver"):
        if _text(entry, required, where, origin, line) is None:
            raise InputError(origin, f"{where}: missing {required}", line)
    if entry.get("expires") is None:
        raise InputError(origin, f"{where}: missing expires", line)
    rule_id = _text(entry, "rule", where, origin, line)
    resource = _text(entry, "resource", where, origin, line)
    fingerprint = _text(entry, "fingerprint", where, origin, line)
    if fingerprint is not None:
        fingerprint = fingerprint.lower()
        if not _FINGERPRINT.match(fingerprint):
            raise InputError(origin, f"{where}: fingerprint must be 32 hexadecimal characters", line)
        if resource is not None:
            raise InputError(origin, f"{where}: give either fingerprint or resource, not both", line)
    elif rule_id is None or resource is None:
        raise InputError(origin, f"{where}: needs rule and resource, or fingerprint", line)
    if rule_id is not None and rule_ids is not None and rule_id not in rule_ids:
        raise InputError(origin, f"{where}: unknown rule id {rule_id!r}", line)
    return Waiver(
        id=label or f"waiver {index}",
        file=origin,
        line=line,
        rule_id=rule_id,
        resource=normalise_resource(resource) if resource is not None else None,
        fingerprint=fingerprint,
        justification=str(_text(entry, "justification", where, origin, line)),
        approver=str(_text(entry, "approver", where, origin, line)),
        expires=_expiry(entry["expires"], where, origin, line),
    )


def parse_waivers(text: str, origin: str, rule_ids: set[str] | None = None) -> list[Waiver]:
    """Parse a waivers file; any problem is one :class:`InputError` naming the file and entry.

    ``rule_ids`` is the rule catalogue: a waiver for a rule that does not exist is refused,
    because a mistyped id would otherwise waive nothing while looking approved.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(origin, f"invalid TOML: {exc}") from None
    extra = sorted(set(doc) - {"version", "waivers"})
    if extra:
        raise InputError(origin, f"unknown top-level key {extra[0]!r} (expected [[waivers]] entries)")
    entries = doc.get("waivers", [])
    if not isinstance(entries, list):
        raise InputError(origin, "waivers must be an array of tables ([[waivers]])")
    lines = [text.count("\n", 0, m.start()) + 1 for m in _HEADER.finditer(text)]
    _schema_check(doc, origin, lines if len(lines) == len(entries) else [])
    same_count = len(lines) == len(entries)
    waivers = [
        _waiver(entry, i, origin, lines[i - 1] if same_count else None, rule_ids)
        for i, entry in enumerate(entries, start=1)
    ]
    seen: set[str] = set()
    for waiver in waivers:
        if waiver.id in seen:
            raise InputError(origin, f"duplicate waiver id {waiver.id!r}", waiver.line)
        seen.add(waiver.id)
    return waivers


def _schema_check(doc: dict[str, Any], origin: str, lines: list[int]) -> None:
    """Validate against :data:`SCHEMA`; an error names the entry, the key and its line."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc))
    if error is None:
        return
    path = list(error.absolute_path)
    index = path[1] if len(path) > 1 and path[0] == "waivers" and isinstance(path[1], int) else None
    line = lines[index] if index is not None and index < len(lines) else None
    where = "/".join(str(p) for p in path) or "(top level)"
    if index is not None:
        label = doc["waivers"][index].get("id") if isinstance(doc["waivers"][index], dict) else None
        where = f"waiver {index + 1}" + (f" ({label})" if isinstance(label, str) and label.strip() else "")
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        message = f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(_FIELDS))})"
    elif error.validator == "type" and len(path) > 2:
        message = f"{where}: {path[-1]} must be a string, not {type(error.instance).__name__}"
    else:
        message = f"{where}: {error.message[:160]}"
    raise InputError(origin, message, line)


def load_waivers(path: Path, rule_ids: set[str] | None = None) -> list[Waiver]:
    try:
        data = read_bounded(path, str(path), _MAX_BYTES, contained=False)
    except InputError as exc:
        raise InputError(str(path), exc.problem.replace("cannot read:", "cannot read waivers file:", 1)) from None
    return parse_waivers(decode_text(data, str(path)), str(path), rule_ids)
