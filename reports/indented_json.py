"""``json.dumps(value, indent=1, ensure_ascii=False)``, byte for byte, at C-encoder speed per leaf.

The JSON and SARIF reports are indented so that two runs diff line by line. The standard
library's C encoder cannot indent, so ``json.dumps(indent=...)`` falls back to its pure-Python
generator chain, which cost a tenth of a whole IaC-gate scan. This writer walks the containers
itself with one list of parts and hands every scalar to the C encoder, and gives exactly the
text ``json.dumps`` gives (tests/reports/test_indented_json.py holds it to that).
"""

from __future__ import annotations

import json
from typing import Any

_SCALAR = json.JSONEncoder(ensure_ascii=False, check_circular=False, allow_nan=True).encode
_STRING = json.encoder.encode_basestring  # the C function json.dumps uses for str


def dumps(value: Any) -> str:
    """``value`` as ``json.dumps(value, indent=1, ensure_ascii=False)`` writes it."""
    parts: list[str] = []
    _write(value, parts, "\n")
    return "".join(parts)


def _write(value: Any, parts: list[str], newline: str) -> None:
    if isinstance(value, str):
        parts.append(_STRING(value))
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + " "
        separator = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                key = _key(key)
            parts.append(separator)
            parts.append(_STRING(key))
            parts.append(": ")
            _write(item, parts, inner)
            separator = "," + inner
        parts.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        inner = newline + " "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _write(item, parts, inner)
            separator = "," + inner
        parts.append(newline + "]")
    else:
        parts.append(_SCALAR(value))  # numbers, booleans, null; other types raise TypeError


def _key(key: Any) -> str:
    """A non-string key as json.dumps converts it (numbers, booleans, None)."""
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return _SCALAR(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
