"""Scan one corpus case the way ``kvaudit scan`` does and reduce the results to findings.

A finding is (rule id, resource name, status) for every result that is neither PASS nor
NOT_APPLICABLE: FAIL, UNKNOWN, ERROR and INFO all reach a user, so all are compared exactly.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kvaudit.rules.engine import evaluate
from kvaudit.scanner.policy import Policy
from kvaudit.scanner.sources import load_sources

#: The corpus is judged at a fixed instant so that expiry-relative findings do not drift.
NOW = pd.Timestamp("2026-06-01T00:00:00Z")
QUIET = ("PASS", "NOT_APPLICABLE")


def scan_case(case: Path) -> tuple[set[tuple[str, str, str]], list[str]]:
    """The findings for the unit in ``case`` and the input errors its loaders reported."""
    loaded = load_sources([str(case)], root=case)
    evaluation = evaluate(loaded.inventory, Policy(), now=NOW)
    found: set[tuple[str, str, str]] = set()
    for outcome in evaluation.outcomes:
        df = outcome.results
        for name, status in zip(df["resource_name"], df["status"], strict=True):
            if str(status) not in QUIET:
                found.add((outcome.rule.id, str(name), str(status)))
    return found, [str(e) for e in loaded.errors]
