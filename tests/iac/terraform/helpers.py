"""Test helpers: fixture paths and rows of an inventory table as plain dicts (NA -> None)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from kvaudit.scanner.inventory import Inventory

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "examples" / "iac" / "terraform"
#: Deliberately broken input; kept out of examples/ so that scanning examples/ stays clean.
BAD = REPO / "tests" / "fixtures" / "terraform" / "bad"


def plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def rows(inv: Inventory, table: str) -> list[dict[str, Any]]:
    df = inv.tables[table]
    return [{k: plain(v) for k, v in rec.items()} for rec in df.to_dict("records")]


def row(inv: Inventory, table: str, **match: Any) -> dict[str, Any]:
    found = [r for r in rows(inv, table) if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"{table} {match}: {len(found)} rows"
    return found[0]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a configuration (relative path -> text) under ``root``; return ``root``."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def results(inv: Inventory, *rule_ids: str) -> list[tuple[str, str, str]]:
    """(rule, resource name, status) of every result of ``rule_ids`` over ``inv``, sorted."""
    from kvaudit.rules.engine import evaluate
    from kvaudit.rules.registry import all_rules

    evaluation = evaluate(inv, rules=[r for r in all_rules() if r.id in rule_ids])
    return sorted(
        (outcome.rule.id, str(r["resource_name"]), str(r["status"]))
        for outcome in evaluation.outcomes
        for r in outcome.results.to_dict("records")
    )
