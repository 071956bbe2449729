"""The row file reproduces the columnar demo snapshot it replaces, table by table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scanner import snapshot
from scanner.demo import demo_inventory
from scanner.inventory import TABLES

OLD = Path(__file__).resolve().parents[2] / "scanner" / "demo" / "estate.json"


@pytest.mark.parametrize("table", TABLES)
def test_row_file_yields_the_old_snapshot_tables(table: str) -> None:
    old = snapshot.load(OLD).tables[table]
    new = demo_inventory().tables[table]
    pd.testing.assert_frame_equal(old, new, check_dtype=True, check_exact=True)  # same order too
    by_id = {"by": "id", "ignore_index": True, "kind": "stable"}
    pd.testing.assert_frame_equal(old.sort_values(**by_id), new.sort_values(**by_id), check_exact=True)
    as_values = [df.astype(object).where(df.notna(), None).to_dict("records") for df in (old, new)]
    assert as_values[0] == as_values[1]


def test_row_file_keeps_scope_sources_and_suppressions() -> None:
    old, new = snapshot.load(OLD), demo_inventory()
    assert new.scope == old.scope
    assert new.suppressions == old.suppressions == []
    assert [vars(s) for s in new.sources[1:]] == [vars(s) for s in old.sources[1:]]
