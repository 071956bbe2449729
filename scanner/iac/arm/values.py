"""Values of the ARM/Bicep template language, including the ones a static scan cannot know.

A template is evaluated without deploying it, so many values (``uniqueString()``, a parameter
without a default, ``reference(...).vaultUri``) are unknown. They must stay unknown, never be
guessed: :class:`Unknown` carries an optional *label* (a canonical rendering of the expression
that produced it) so that two spellings of the same unknown in ARM and Bicep still produce the
same synthesised ids, and an optional *ref* naming the runtime property of a resource declared in
the template (``reference(kv).vaultUri``) so a consumer can be joined to that vault even though
the URI itself is unknown. :class:`Partial` is a string with unknown pieces
(``'kv-${uniqueString(...)}'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unknown:
    """A value that only exists at deployment time (or that the scanner could not resolve)."""

    label: str | None = None
    ref: tuple[str, str] | None = None  # (runtime property, resource id) for reference()/symbols

    def __repr__(self) -> str:
        return f"Unknown({self.label or ''})"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Partial:
    """A string made of literal text and unknown pieces, kept in order."""

    parts: tuple[str | Unknown, ...]


@dataclass(frozen=True)
class RuntimeObject:
    """``reference(resource)`` or a Bicep resource's ``properties``: runtime state of a resource.

    Any property read from it is unknown, but remembers which resource and property it was,
    which is what lets ``reference(kv).vaultUri`` point a consumer at the vault ``kv``.
    """

    resource_id: str
    path: tuple[str, ...] = ()

    def get(self, name: str) -> Unknown | RuntimeObject:
        if name.lower() == "properties" and not self.path:
            return self
        path = (*self.path, name)
        return Unknown(label=None, ref=(".".join(path), self.resource_id))


def is_known(value: Any) -> bool:
    """True when the value, including everything inside it, is fully resolved."""
    if isinstance(value, Unknown | Partial | RuntimeObject):
        return False
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    return True


def is_stringish(value: Any) -> bool:
    return isinstance(value, str | Partial)


def join_strings(pieces: list[Any]) -> str | Partial | Unknown:
    """Concatenate strings, some of which may be unknown, into a str or a Partial.

    Non-string pieces that are unknown become unknown pieces; literal numbers and booleans are
    stringified the way ARM's ``concat``/``format`` do.
    """
    parts: list[str | Unknown] = []
    for piece in pieces:
        if isinstance(piece, Partial):
            parts.extend(piece.parts)
        elif isinstance(piece, Unknown):
            parts.append(piece)
        elif isinstance(piece, RuntimeObject):
            parts.append(Unknown(ref=(".".join(piece.path), piece.resource_id)))
        else:
            parts.append(to_text(piece))
    merged: list[str | Unknown] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if not merged:
        return ""
    if len(merged) == 1 and isinstance(merged[0], str):
        return merged[0]
    return Partial(tuple(merged))


def to_text(value: Any) -> str:
    """ARM's string() for known values: booleans lower-case, containers as compact JSON."""
    import json

    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render(value: Any) -> str | None:
    """A stable printable form for ids and names: unknown pieces become ``{label}``.

    Used where the inventory needs *some* identity for a resource whose name is only known at
    deploy time (a vault named ``kv-{uniqueString(...)}``); the name column itself stays null.
    Returns None when there is nothing stable to render.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, Unknown):
        return "{" + value.label + "}" if value.label else None
    if isinstance(value, Partial):
        out = []
        for part in value.parts:
            text = render(part)
            if text is None:
                return None
            out.append(text)
        return "".join(out)
    return None


def plain(value: Any) -> Any:
    """Strip unknowns to None (recursively) for inventory columns: unknown is null."""
    if isinstance(value, Unknown | Partial | RuntimeObject):
        return None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def label_of(value: Any) -> str:
    """Canonical text of a value inside another unknown's label (``uniqueString(<this>)``)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    text = render(value)
    if text is not None:
        return text if not isinstance(value, Partial) else "'" + text + "'"
    if isinstance(value, Unknown | RuntimeObject):
        return "?"
    if isinstance(value, bool):
        return "true" if value else "false"
    return to_text(plain(value))
