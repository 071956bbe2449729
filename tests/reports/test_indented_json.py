"""The fast indented writer gives exactly the text ``json.dumps(indent=1, ensure_ascii=False)`` does."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kvaudit.reports import indented_json
from tests.reports.fixtures import golden_report

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(_VALUES)
def test_any_json_value_is_written_as_json_dumps_writes_it(value: Any) -> None:
    assert indented_json.dumps(value) == json.dumps(value, indent=1, ensure_ascii=False)


def test_the_golden_report_is_written_as_json_dumps_writes_it() -> None:
    report = golden_report()
    assert indented_json.dumps(report) == json.dumps(report, indent=1, ensure_ascii=False)


def test_a_value_json_cannot_hold_is_refused_as_json_dumps_refuses_it() -> None:
    for bad in ({"a": object()}, {(1, 2): 1}):
        try:
            json.dumps(bad, indent=1)
        except TypeError:
            pass
        else:  # pragma: no cover - json.dumps refuses both
            raise AssertionError(bad)
        try:
            indented_json.dumps(bad)
        except TypeError:
            continue
        raise AssertionError(f"{bad!r} was written")
