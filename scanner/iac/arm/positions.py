"""JSON with line numbers: ARM templates need the line of every resource for SARIF.

``json`` has no positions, so the document is decoded twice: once by :mod:`scanner.jsonio`
(size, encoding and depth limits with positioned one-line errors), and once more with an
``object_pairs_hook`` that numbers objects as they close. A single regex pass over the text
finds where every object opens and closes (outside strings); the n-th closing object of the
decoder is the n-th ``}`` of that pass, so each object learns the line of its ``{``.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.jsonio import MAX_BYTES, STRICT_NUMBERS, decode_text, load_json_text

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}]')


class LineDict(dict):
    """A JSON object that remembers the 1-based line where it opened."""

    __slots__ = ("line",)

    def __init__(self, pairs: Any = (), line: int | None = None):
        super().__init__(pairs)
        self.line = line


def line_of(value: Any) -> int | None:
    """The line of a decoded object, or None for values that carry no position."""
    return getattr(value, "line", None)


def _open_offsets_in_close_order(text: str) -> list[int]:
    stack: list[int] = []
    out: list[int] = []
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        if token == "{":
            stack.append(match.start())
        elif token == "}" and stack:
            out.append(stack.pop())
    return out


def load_positioned(data: bytes, origin: str, max_bytes: int = MAX_BYTES) -> Any:
    """Decode ``data`` as JSON whose objects are :class:`LineDict` with their opening line."""
    if len(data) > max_bytes:
        raise InputError(origin, f"file is {len(data)} bytes, larger than the {max_bytes}-byte limit")
    text = decode_text(data, origin)
    load_json_text(text, origin)  # limits and positioned errors
    opens = _open_offsets_in_close_order(text)
    newlines = [m.start() for m in re.finditer("\n", text)]
    counter = iter(range(len(opens)))

    def hook(pairs: list[tuple[str, Any]]) -> LineDict:
        index = next(counter, None)
        line = bisect.bisect_left(newlines, opens[index]) + 1 if index is not None else None
        return LineDict(pairs, line)

    return json.loads(text, object_pairs_hook=hook, **STRICT_NUMBERS)
