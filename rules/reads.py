"""What a rule read: the inventory tables and columns it touched through its context.

The engine, not each rule, must know which data a verdict rests on, so that a verdict built on
data left unread becomes UNKNOWN and one built on a column the row's source cannot observe
becomes NOT_APPLICABLE. Declaring that per rule drifts from what the code really does, so the
engine records it instead:

- the context hands rules :class:`TrackedFrame` tables; reading a column of one, or of any frame
  derived from it (filters, merges, copies keep the table's name), notes ``(table, column)`` in
  the :class:`Reads` of the rule being evaluated;
- handing out a table at all notes the table, even if no column is read (``len(ctx.keys)``);
- a view shared between rules (``key_view``, per-key operation sets, profiles) records what its
  build read and replays that into every rule that uses it.

Recording costs one Python call per column access, never per row, so it is free at a million
key versions. Frames are shared, not copied: :class:`TrackedFrame` wraps the same data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd

    from kvaudit.rules.frames import TrackedFrame
else:
    pd = lazy("pandas")


@dataclass
class Reads:
    """Tables and ``(table, column)`` pairs one rule (or one shared view) read."""

    tables: set[str] = field(default_factory=set)
    columns: set[tuple[str, str]] = field(default_factory=set)

    def add(self, other: Reads) -> None:
        self.tables |= other.tables
        self.columns |= other.columns


_CURRENT: ContextVar[Reads | None] = ContextVar("kvaudit_reads", default=None)


def note_table(table: str) -> None:
    """Record that the current rule was handed ``table``."""
    reads = _CURRENT.get()
    if reads is not None:
        reads.tables.add(table)


def note(reads: Reads) -> None:
    """Replay ``reads`` (what a shared view's build read) into the current rule's record."""
    current = _CURRENT.get()
    if current is not None and current is not reads:
        current.add(reads)


@contextmanager
def recording() -> Iterator[Reads]:
    """Record every read made inside the block; nested blocks also feed the enclosing one."""
    outer = _CURRENT.get()
    reads = Reads()
    token = _CURRENT.set(reads)
    try:
        yield reads
    finally:
        _CURRENT.reset(token)
        if outer is not None:
            outer.add(reads)


def _column_names(key: Any) -> list[str]:
    if isinstance(key, str):
        return [key]
    if isinstance(key, list | tuple | pd.Index) and all(isinstance(k, str) for k in key):
        return list(key)
    return []


def tracked(table: str, frame: pd.DataFrame) -> TrackedFrame:
    """``frame`` as a :class:`TrackedFrame` named ``table`` (no copy of the data)."""
    from kvaudit.rules.frames import TrackedFrame

    out = TrackedFrame(frame)
    out._kv_table = table
    return out


class TrackedTables(dict[str, "pd.DataFrame"]):
    """``inventory.tables`` for rules: every lookup records the table it hands out."""

    def __getitem__(self, name: str) -> pd.DataFrame:
        note_table(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        if name in self:
            return self[name]
        return default
