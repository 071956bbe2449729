"""Rule messages written for people, from a rule's templates and a result's evidence.

A template names evidence fields and parameters in braces. Values render as a reader expects:
lists as comma lists, times as ``2026-11-23 00:00 UTC``, and a null (a value that was not
observed) as ``unknown (<field> not observed)``, so a message never reads as if "unknown" were
the value. Three format specs say what a null or empty value *means* where it is not unknown:

- ``{curve:omit}``: leave it out (an RSA key has no curve);
- ``{profile_key_sizes:any}``: the constraint is absent, so anything is allowed;
- ``{diagnostic_settings:none}``: there are none.

An UNKNOWN result names the evidence fields that were not observed.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")


#: Placeholder specs that give a null or empty value a meaning (see the module docstring).
_SPECS = {"omit": "", "any": "any", "none": "none"}


def human_time(value: Any, seconds: bool = False) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM UTC`` (no offsets, no microseconds; seconds on request,
    for a scan's start and finish)."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


class _Value:
    """One placeholder's value; ``__format__`` applies the null specs above."""

    def __init__(self, field: str, value: Any) -> None:
        self.field = field
        self.value = value

    def _text(self) -> str | None:
        value = self.value
        if is_null(value):
            return None
        if isinstance(value, pd.Timestamp | datetime):
            return human_time(value)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, list | tuple | set):
            return ", ".join(str(v) for v in value) if value else ""
        if isinstance(value, np.generic):
            value = value.item()
        return str(value)

    def __format__(self, spec: str) -> str:
        text = self._text()
        if spec in _SPECS:
            return _SPECS[spec] if not text else text
        if text is None:
            text = f"unknown ({self.field} not observed)"
        elif text == "":
            text = "none"
        return format(text, spec)


class _Fill(dict[str, Any]):
    def __missing__(self, key: str) -> _Value:
        return _Value(key, None)

    def __getitem__(self, key: str) -> _Value:
        if not dict.__contains__(self, key):
            return self.__missing__(key)
        return _Value(key, dict.__getitem__(self, key))


_SPACES = re.compile(r"\s{2,}")
_BEFORE_PUNCT = re.compile(r"\s+([,;:)])")
_AFTER_PAREN = re.compile(r"\(\s+")


def format_message(template: str, values: dict[str, Any]) -> str:
    """Fill ``template``; a malformed template is shown as written rather than failing the report."""
    try:
        text = template.format_map(_Fill(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return template
    text = _AFTER_PAREN.sub("(", _BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)))
    return text.strip()


def missing_fields(evidence: dict[str, Any]) -> list[str]:
    """Evidence fields whose value was not observed (null), in evidence order."""
    return [name for name, value in evidence.items() if name != "coverage_gap" and is_null(value)]


def not_observed(fields: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(fields) <= 1:
        return "".join(fields)
    return ", ".join(fields[:-1]) + " and " + fields[-1]


def unknown_message(resource_name: str, template: str | None, values: dict[str, Any], missing: list[str]) -> str:
    """An UNKNOWN result's message: the rule's own words if it has them, always naming what is missing."""
    if template:
        text = format_message(template, values)
        return f"{text} ({not_observed(missing)} not observed)" if missing else text
    if missing:
        verb = "was" if len(missing) == 1 else "were"
        return f"{resource_name}: could not be determined because {not_observed(missing)} {verb} not observed"
    return f"{resource_name}: could not be determined because a value it depends on is unknown"
