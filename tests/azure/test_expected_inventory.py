"""The collector that reads only what rules need observes what the get_key-per-version one did.

``default_estate_inventory.json`` was written by the collector that read every version with
``get_key`` (see :mod:`tests.azure.expected_inventory`). Today's collector reads material only
for current and pinned versions; every other column of every table must be equal, and the one
difference (old versions' kty, key_size, curve and key_ops are null) must change no verdict.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from kvaudit.rules.engine import evaluate
from kvaudit.scanner.azure.keys import MATERIAL
from kvaudit.scanner.inventory import TABLES, Inventory
from tests.azure.conftest import Scanned, scan
from tests.azure.expected_inventory import EXPECTED, canonical, vault_ports
from tests.fakeazure import FakeAzure, Faults, build_estate


@pytest.fixture(scope="module")
def now() -> int:
    return int(time.time())


@pytest.fixture(scope="module")
def scanned(now: int) -> Iterator[tuple[Scanned, dict[str, Any]]]:
    estate = build_estate.default(now)
    with FakeAzure(estate, faults=Faults()) as fake, pytest.MonkeyPatch.context() as mp:
        yield scan(fake, mp), estate


def _described(inventory: Inventory) -> set[str]:
    """Version row ids whose material is read: each key's current version and pinned versions."""
    keys = inventory.tables["keys"]
    refs = inventory.tables["key_references"]
    ids = {f"{k}/versions/{str(v).lower()}" for k, v in zip(keys["id"], keys["current_version"], strict=True)}
    pinned = refs[refs["pinned"].fillna(False).astype(bool)]
    return ids | {
        f"{k}/versions/{str(v).lower()}" for k, v in zip(pinned["key_id"], pinned["key_version"], strict=True)
    }


def test_every_table_equals_the_expected_inventory(scanned: tuple[Scanned, dict[str, Any]], now: int) -> None:
    result, estate = scanned
    got = canonical(result.inventory, now, vault_ports(result.fake, estate))
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    described = _described(result.inventory)
    for row in expected["key_versions"]:
        if row["id"] not in described:
            row.update(dict.fromkeys(MATERIAL))
    expected["key_versions"].sort(key=lambda r: json.dumps(r, sort_keys=True, default=str))
    for table in TABLES:
        assert len(got[table]) == len(expected[table]), table
        known = {c for r in expected[table] for c in r}
        for column in sorted(known | {c for r in got[table] for c in r}):
            if column not in known and expected[table]:
                # A column the inventory gained after the expected file was written (such as
                # ``unresolved``): a live scan has nothing to put in it.
                assert all(r.get(column) in (None, []) for r in got[table]), (table, column)
                continue
            assert [r.get(column) for r in got[table]] == [r.get(column) for r in expected[table]], (table, column)


def test_old_versions_material_changes_no_verdict(scanned: tuple[Scanned, dict[str, Any]], now: int) -> None:
    """No rule reads old versions' material: filling it in as the old collector did (from the
    estate) leaves every result of the catalogue unchanged."""
    result, estate = scanned
    inventory = result.inventory
    material: dict[str, dict[str, Any]] = {}
    for owner, entries in estate["keys"].items():
        for entry in entries:
            for v in entry["versions"]:
                key = f"{owner}/keys/{entry['name'].lower()}/versions/{v['version'].lower()}"
                material[key] = {
                    "kty": v["kty"],
                    "key_size": v.get("key_size") if v["kty"].startswith("RSA") else None,
                    "curve": v.get("crv"),
                    "key_ops": list(v["key_ops"]),
                }
    versions = inventory.tables["key_versions"].copy()
    old = ~versions["id"].isin(_described(inventory))
    assert int(old.sum()) == 5 and versions.loc[old, "kty"].isna().all()
    for i in versions.index[old]:
        for column, value in material[versions.at[i, "id"]].items():
            versions.at[i, column] = value
    filled = Inventory(
        tables={**inventory.tables, "key_versions": versions}, sources=inventory.sources, scope=inventory.scope
    )
    at = pd.Timestamp(now, unit="s", tz="UTC")

    def results(inv: Inventory) -> list[tuple[str, list[dict[str, Any]]]]:
        return [
            (o.rule.id, o.results.astype(str).sort_values(list(o.results.columns)).to_dict("records"))
            for o in evaluate(inv, now=at).outcomes
        ]

    assert results(filled) == results(inventory)
