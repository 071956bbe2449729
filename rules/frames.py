"""The pandas side of :mod:`kvaudit.rules.reads`: a DataFrame that records the columns read.

It lives apart from ``reads`` because subclassing ``pd.DataFrame`` needs pandas at import time,
and the rule modules (and so ``kvaudit rules``, which only lists their metadata) import
``reads``; only an evaluation, which builds tracked tables, imports this module.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kvaudit.rules.reads import _CURRENT, _column_names
from kvaudit.scanner.inventory import PROVENANCE, TABLES


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
