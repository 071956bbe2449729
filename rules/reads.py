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
from typing import Any

import pandas as pd

from kvaudit.scanner.inventory import PROVENANCE, TABLES


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


class TrackedFrame(pd.DataFrame):
    """An inventory table (or a frame derived from one) that records the columns read from it."""

    _metadata = ["_kv_table"]
    _kv_table: str | None = None

    @property
    def _constructor(self) -> type[TrackedFrame]:
        return TrackedFrame

    # pandas builds results of a subclass by wrapping a plain frame again; building them straight
    # from the block manager keeps derived frames as cheap as a plain DataFrame's.
    def _constructor_from_mgr(self, mgr: Any, axes: Any) -> TrackedFrame:
        return TrackedFrame._from_mgr(mgr, axes=axes)

    def _constructor_sliced_from_mgr(self, mgr: Any, axes: Any) -> pd.Series:
        series = pd.Series._from_mgr(mgr, axes)
        series._name = None  # pandas sets the real name afterwards
        return series

    def __getitem__(self, key: Any) -> Any:
        table = self._kv_table
        reads = _CURRENT.get()
        if table is not None and reads is not None:
            names = _column_names(key)
            if names:
                own = TABLES.get(table, {})
                reads.tables.add(table)
                reads.columns.update((table, name) for name in names if name in own or name in PROVENANCE)
        return super().__getitem__(key)


def tracked(table: str, frame: pd.DataFrame) -> TrackedFrame:
    """``frame`` as a :class:`TrackedFrame` named ``table`` (no copy of the data)."""
    out = TrackedFrame(frame)
    out._kv_table = table
    return out


class TrackedTables(dict[str, pd.DataFrame]):
    """``inventory.tables`` for rules: every lookup records the table it hands out."""

    def __getitem__(self, name: str) -> pd.DataFrame:
        note_table(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        if name in self:
            return self[name]
        return default
