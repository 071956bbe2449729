"""Every class of hostile input, scanned beside a good misconfigured file, keeps the contract.

The whole corpus is scanned once (two scans at a time, each a real ``python -m kvaudit.scanner``
subprocess); each case is then one test, failing with every problem found for it. The same run
is what ``python -m tests.hostile.report`` tabulates.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.hostile.corpus import cases
from tests.hostile.report import baselines
from tests.hostile.runner import Outcome, problems, run

CASES = cases()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Outcome, set[tuple[str, str]]]]:
    base: Path = tmp_path_factory.mktemp("hostile")
    expected = baselines(base)
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda case: run(case, base), CASES))
    return {f"{o.case.klass}-{o.case.name}": (o, expected[o.case.good]) for o in done}


def test_the_good_files_have_failing_findings(outcomes: dict[str, tuple[Outcome, set[tuple[str, str]]]]) -> None:
    """The isolation checks mean something only if the good file fails rules of its own."""
    for _, baseline in outcomes.values():
        assert ("KV-REC-002", "FAIL") in baseline


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.klass}-{c.name}")
def test_case_keeps_the_contract(case, outcomes: dict[str, tuple[Outcome, set[tuple[str, str]]]]) -> None:
    outcome, baseline = outcomes[f"{case.klass}-{case.name}"]
    assert problems(outcome, baseline) == [], outcome.stderr[-2000:]
