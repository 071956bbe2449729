"""Defensive JSON reading shared by snapshots, ARM templates, plans and reports.

Input may be hostile: huge, deeply nested, not UTF-8. Each problem becomes an
:class:`InputError` naming the file and position instead of a traceback or a hang.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kvaudit.scanner.errors import InputError

#: Files larger than this are refused rather than parsed (IaC and snapshots are far smaller).
MAX_BYTES = 512 * 1024 * 1024
#: Nesting deeper than this is refused; real templates stay well under 100.
MAX_DEPTH = 200
#: Integers longer than this are refused: no IaC or inventory value needs them, and arithmetic
#: on them (a ``mul()`` chain) costs time that grows with their length.
MAX_INT_DIGITS = 64


def digest_bytes(data: bytes) -> str:
    """The digest recorded for every source in the report's scan metadata."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def decode_text(data: bytes, origin: str) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; anything else is a clear error."""
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(origin, f"invalid UTF-16 at byte {exc.start}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(origin, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _depth_exceeds(text: str, limit: int) -> int | None:
    """Offset where bracket nesting passes ``limit`` (ignoring strings), else None."""
    depth = 0
    in_string = False
    escape = False
    for offset, char in enumerate(text):
        if in_string:
            if escape:
                escape = False
            elif char == "\\":
                escape = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return offset
        elif char in "]}":
            depth -= 1
    return None


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer with {len(text.lstrip('-'))} digits is out of range")
    return int(text)


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are unique ignoring case, as Azure compares them; else an error
    naming the key (otherwise one spelling would silently win over the other)."""
    seen: dict[str, str] = {}
    for key, _ in pairs:
        folded = key.lower()
        if folded in seen:
            shown = key if key == seen[folded] else f"{seen[folded]}' and '{key}"
            raise ValueError(f"duplicate key '{shown}'"[:200])
        seen[folded] = key
    return dict(pairs)


#: Strict number parsing for documents that evaluators compute with (IaC).
STRICT_NUMBERS: dict[str, Any] = {
    "parse_constant": _reject_constant,
    "parse_float": _finite_float,
    "parse_int": _bounded_int,
}


def load_json_text(text: str, origin: str, max_depth: int | None = MAX_DEPTH) -> Any:
    """Parse JSON text with a positioned one-line error.

    ``max_depth`` bounds nesting for inputs that recursive walkers will descend (IaC); formats
    with a fixed shallow structure (snapshots) pass None and rely on the C decoder's own
    recursion guard, since the bracket scan costs seconds on a file of hundreds of megabytes."""
    if max_depth is not None and text.count("[") + text.count("{") > max_depth:
        offset = _depth_exceeds(text, max_depth)
        if offset is not None:
            line, col = _line_col(text, offset)
            raise InputError(origin, f"nesting deeper than {max_depth} levels", line, col)
    try:
        if max_depth is None:
            return json.loads(text, parse_constant=_reject_constant)
        return json.loads(text, object_pairs_hook=unique_keys, **STRICT_NUMBERS)
    except json.JSONDecodeError as exc:
        raise InputError(origin, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise InputError(origin, "nesting too deep to parse") from None
    except ValueError as exc:
        raise InputError(origin, f"invalid JSON: {exc}") from None


def load_json_bytes(data: bytes, origin: str, max_bytes: int = MAX_BYTES, max_depth: int | None = MAX_DEPTH) -> Any:
    if len(data) > max_bytes:
        raise InputError(origin, f"file is {len(data)} bytes, larger than the {max_bytes}-byte limit")
    if max_depth is None and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Large shallow documents: let the C decoder read the bytes directly instead of holding
        # a decoded copy of a file that may be hundreds of megabytes.
        try:
            return json.loads(data.removeprefix(b"\xef\xbb\xbf"), parse_constant=_reject_constant)
        except UnicodeDecodeError as exc:
            raise InputError(origin, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise InputError(origin, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except RecursionError:
            raise InputError(origin, "nesting too deep to parse") from None
        except ValueError as exc:
            raise InputError(origin, f"invalid JSON: {exc}") from None
    return load_json_text(decode_text(data, origin), origin, max_depth)
