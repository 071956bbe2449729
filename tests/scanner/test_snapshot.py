"""The snapshot format round-trips the inventory exactly and rejects bad files in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kvaudit.scanner import snapshot
from kvaudit.scanner.demo import demo_inventory
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.inventory import TABLES, InlineSuppression, Inventory, SourceInfo


def test_round_trip_is_exact(tmp_path: Path) -> None:
    original = demo_inventory()
    original.suppressions.append(InlineSuppression("KV-NET-001", "/x", "private link only", "main.tf", 3))
    path = tmp_path / "snap.json"
    snapshot.save(original, path)
    loaded = snapshot.load(path)
    for table in TABLES:
        pd.testing.assert_frame_equal(original.tables[table], loaded.tables[table], check_dtype=True)
    assert loaded.suppressions == original.suppressions
    assert loaded.scope == original.scope
    assert loaded.sources[0].kind == "snapshot"
    assert loaded.sources[0].digest.startswith("sha256:")


def test_nulls_stay_null_and_false_stays_false(tmp_path: Path) -> None:
    inv = Inventory.from_records(
        {"vaults": [{"id": "/v/a", "name": "a", "purge_protection_enabled": False}, {"id": "/v/b", "name": "b"}]},
        sources=[SourceInfo("test", "inline")],
    )
    path = tmp_path / "s.json"
    snapshot.save(inv, path)
    vaults = snapshot.load(path).vaults
    assert vaults["purge_protection_enabled"].iloc[0] is False or vaults["purge_protection_enabled"].iloc[0] == False  # noqa: E712
    assert pd.isna(vaults["purge_protection_enabled"].iloc[1])


def test_packaged_schema_matches_generated_schema() -> None:
    assert snapshot.packaged_schema() == snapshot.schema()


def test_demo_snapshot_validates_against_the_full_published_schema(tmp_path: Path) -> None:
    import jsonschema

    path = tmp_path / "demo.json"
    snapshot.save(demo_inventory(), path)
    jsonschema.Draft202012Validator(snapshot.packaged_schema()).validate(json.loads(path.read_text()))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b'{"format": "kvaudit-snapshot", "version": 1, "tables": {"vaults": {"rows": 1, "columns": {"id": [5]}}}}',
            "invalid snapshot at tables/vaults/columns/id/0: int is not a string value",
        ),
        (
            b'{"format": "kvaudit-snapshot", "version": 1, "tables": {"vaults": {"rows": 2, "columns": {"id": ["a"]}}}}',
            "invalid snapshot at tables/vaults/columns/id: 1 values for 2 rows",
        ),
        (
            b'{"format": "kvaudit-snapshot", "version": 1, "tables": {"vaults": {"rows": 1, "columns": {"nope": [1]}}}}',
            "invalid snapshot at tables/vaults/columns",
        ),
        (b'{"format": "kvaudit-snapshot", "version": 9, "tables": {}}', "unsupported snapshot version 9"),
        (b'{"format": "kvaudit-snapshot", "version": 1, "tables": {"nope": []}}', "invalid snapshot"),
        (b'{"format": "kvaudit-snapshot", "version": 1, "tables": {', "invalid JSON"),
        (b"\xff\xfe\x00", "invalid UTF-16"),
        (b'{"a": "\xe9t\xe9"}', "not valid UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nesting too deep to parse"),
        (b'{"just": "json"}', "not a kvaudit snapshot"),
    ],
)
def test_bad_snapshot_is_one_line_error(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        snapshot.load(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert problem in message
    assert "\n" not in message


def test_large_tables_are_dictionary_encoded_and_round_trip_exactly(tmp_path: Path) -> None:
    from bench.scale_inventory import Scale, generate

    original = generate(Scale(vaults=50, hsms=5, keys=2_000, versions=20_000, role_assignments=2_000))
    doc = snapshot.to_document(original)
    encoded = doc["tables"]["key_versions"]["columns"]["vault_id"]
    assert set(encoded) == {"dictionary", "codes"} and len(encoded["dictionary"]) <= 50
    path = tmp_path / "big.json"
    snapshot.save(original, path)
    assert json.loads(path.read_text()) == json.loads(json.dumps(doc))  # the streamed writer's document
    loaded = snapshot.load(path)
    for table in TABLES:
        pd.testing.assert_frame_equal(original.tables[table], loaded.tables[table], check_dtype=True)


def test_bad_dictionary_codes_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '{"format": "kvaudit-snapshot", "version": 1, "tables": {"vaults": {"rows": 1, '
        '"columns": {"id": {"dictionary": ["a"], "codes": [3]}}}}}'
    )
    with pytest.raises(InputError, match=r"invalid snapshot at tables/vaults/columns/id: code out of range"):
        snapshot.load(path)
