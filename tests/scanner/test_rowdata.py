"""Row files: a hand-written TOML estate builds exactly the inventory its rows describe, every
mistake is a one-line error at the row's line, and the demo estate is one such file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kvaudit.scanner import rowdata
from kvaudit.scanner.demo import DEMO_LOCATION, demo_estate_path, demo_inventory
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.inventory import TABLES, InlineSuppression, Inventory, SourceInfo
from kvaudit.scanner.jsonio import digest_bytes
from tests.conftest import FIXED_NOW, REPO

HEADER = 'format = "kvaudit-rows"\nversion = 1\n'

HAND_WRITTEN = (
    HEADER
    + """
[scope]
estate = "test"

[[sources]]
kind = "hand"
location = "written for a test"

[[suppressions]]
rule_id = "KV-NET-001"
resource_id = "/v/a"
reason = "private link only"

[[vaults]]
id = "/v/a"
name = "a"
purge_protection_enabled = false  # written false: a FAIL, not unknown
soft_delete_retention_days = 90
ip_rules = []
tags = { "kvaudit-profile" = "x" }

[[vaults]]
id = "/v/b"
name = "b"  # everything else left out: unknown

[[keys]]
id = "/v/a/keys/k"
vault_id = "/v/a"
expires = 2027-01-31T00:00:00Z
created = 2026-03-02T10:15:00+01:00
key_ops = ["sign", "verify"]

[keys.release_policy]
version = "1.0.0"

[[diagnostic_settings]]
id = "/v/a/d"
target_id = "/v/a"
logs = [{ category_group = "audit", enabled = true }]
"""
)


def test_a_row_file_builds_exactly_the_inventory_its_rows_describe(tmp_path: Path) -> None:
    path = tmp_path / "estate.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    loaded = rowdata.load(path)
    expected = Inventory.from_records(
        {
            "vaults": [
                {
                    "id": "/v/a",
                    "name": "a",
                    "purge_protection_enabled": False,
                    "soft_delete_retention_days": 90,
                    "ip_rules": [],
                    "tags": {"kvaudit-profile": "x"},
                },
                {"id": "/v/b", "name": "b"},
            ],
            "keys": [
                {
                    "id": "/v/a/keys/k",
                    "vault_id": "/v/a",
                    "expires": "2027-01-31T00:00:00+00:00",
                    "created": "2026-03-02T09:15:00+00:00",
                    "key_ops": ["sign", "verify"],
                    "release_policy": {"version": "1.0.0"},
                }
            ],
            "diagnostic_settings": [
                {
                    "id": "/v/a/d",
                    "target_id": "/v/a",
                    "logs": [{"category": None, "category_group": "audit", "enabled": True, "retention_days": None}],
                }
            ],
        }
    )
    for table in TABLES:
        pd.testing.assert_frame_equal(loaded.tables[table], expected.tables[table], check_dtype=True)
    assert loaded.vaults["purge_protection_enabled"].tolist() == [False, pd.NA]
    assert loaded.scope == {"estate": "test"}
    assert loaded.sources == [
        SourceInfo("rows", str(path), digest_bytes(HAND_WRITTEN.encode())),
        SourceInfo("hand", "written for a test"),
    ]
    assert loaded.suppressions == [InlineSuppression("KV-NET-001", "/v/a", "private link only")]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", None),  # the header alone is an empty estate
        ("[[vault]]\nid = 'a'\n", "unknown table 'vault' (expected one of: vaults, keys,"),
        ("vaults = 1\n", "vaults must be a list of [[vaults]] rows"),
        ("[[vaults]]\nid = 'a'\nnmae = 'a'\n", ":3: vaults[0]: unknown column 'nmae'"),
        ("[[vaults]]\nname = 'a'\n", ":3: vaults[0]: every row needs an id string"),
        ("[[vaults]]\nid = 'a'\n\n[[vaults]]\nid = 'a'\n", ":6: vaults[1]: duplicate id (first at vaults[0])"),
        (
            "[[vaults]]\nid = 'a'\npurge_protection_enabled = 'false'\n",
            ":3: vaults[0].purge_protection_enabled: expected true or false, not a string",
        ),
        (
            "[[vaults]]\nid = 'a'\nsoft_delete_retention_days = true\n",
            ":3: vaults[0].soft_delete_retention_days: expected an integer, not a boolean",
        ),
        (
            "[[vaults]]\nid = 'a'\nsoft_delete_retention_days = 9223372036854775808\n",
            ":3: vaults[0].soft_delete_retention_days: integer out of the 64-bit range",
        ),
        ("[[vaults]]\nid = 'a'\nname = 5\n", ":3: vaults[0].name: expected a string, not an integer"),
        (
            "[[keys]]\nid = 'k'\nexpires = '2027-01-31'\n",
            ":3: keys[0].expires: expected an unquoted date-time with a UTC offset (e.g. 2027-01-31T00:00:00Z), "
            "not a string",
        ),
        (
            "[[keys]]\nid = 'k'\nexpires = 2027-01-31T00:00:00\n",
            ":3: keys[0].expires: a date-time needs a UTC offset (e.g. 2027-01-31T00:00:00Z)",
        ),
        ("[[keys]]\nid = 'k'\nexpires = 2027-01-31\n", ":3: keys[0].expires: a date-time needs a UTC offset"),
        (
            "[[keys]]\nid = 'k'\ntags = { since = 2026-01-01 }\n",
            ":3: keys[0].tags: a date or time inside a list or table cannot be reported; write it as a string",
        ),
        (
            "[[diagnostic_settings]]\nid = 'd'\nlogs = [{ categry = 'AuditEvent' }]\n",
            ":3: diagnostic_settings[0].logs: unknown field 'categry' "
            "(expected category, category_group, enabled, retention_days)",
        ),
        (
            "[[diagnostic_settings]]\nid = 'd'\nlogs = [{ category = 'AuditEvent', enabled = 'yes' }]\n",
            ":3: diagnostic_settings[0].logs[0].enabled: expected true or false, not a string",
        ),
        ("[[sources]]\nkind = 'x'\n", ":3: sources[0]: missing 'location'"),
        ("[[sources]]\nkind = 'x'\nlocation = 'y'\nwhere = 'z'\n", ":3: sources[0]: unknown field 'where'"),
        ("[[suppressions]]\nrule_id = 'KV-NET-001'\nline = 'x'\n", ":3: suppressions[0].line: expected an integer"),
        ("scope = 3\n", "scope must be a table, with any dates or times written as strings"),
        ("deep = " + "[" * 5000 + "]" * 5000 + "\n", "nesting too deep to parse"),
        ("[[vaults]]\nid = \n", "invalid TOML: Invalid value (at line 4, column 6)"),
    ],
)
def test_mistakes_are_one_line_errors_at_the_row(tmp_path: Path, body: str, problem: str | None) -> None:
    path = tmp_path / "estate.toml"
    path.write_text(HEADER + body, encoding="utf-8")
    if problem is None:
        assert rowdata.load(path).counts() == {table: 0 for table in TABLES}
        return
    with pytest.raises(InputError) as info:
        rowdata.load(path)
    message = str(info.value)
    assert message.startswith(str(path) + (":" if problem.startswith(":") else ": "))
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"version = 1\n", 'not a kvaudit row file (missing format = "kvaudit-rows")'),
        (b'format = "kvaudit-rows"\nversion = 2\n', "unsupported row file version 2 (expected 1)"),
        (b'format = "kvaudit-rows"\n\xff', "not valid UTF-8 (byte 0xff at offset 24)"),
    ],
)
def test_files_that_are_not_row_files_are_refused(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "estate.toml"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        rowdata.load(path)
    assert str(info.value) == f"{path}: {problem}"


def test_the_demo_estate_is_the_packaged_row_file() -> None:
    inventory = demo_inventory()
    assert demo_estate_path() == REPO / "scanner" / "demo" / "estate.toml"
    assert inventory.counts() == {
        "vaults": 7,
        "keys": 12,
        "key_versions": 16,
        "role_assignments": 16,
        "access_policies": 3,
        "diagnostic_settings": 7,
        "private_endpoints": 4,
        "key_references": 6,
        "key_usage": 2,
        "collection_errors": 0,
    }
    assert inventory.sources == [
        SourceInfo("rows", DEMO_LOCATION, digest_bytes(demo_estate_path().read_bytes())),
        SourceInfo("demo", "kvaudit embedded demo estate (Northwind Robotics)"),
    ]
    assert inventory.scope == {
        "estate": "Northwind Robotics demo",
        "subscriptions": ["4a1c9e0b-6f0e-4c2e-9d7a-1b2c3d4e5f60", "8d3e2f10-2a4b-4c6d-8e9f-0a1b2c3d4e5f"],
    }


def test_the_repository_holds_one_copy_of_the_demo_estate() -> None:
    copies = []
    for path in sorted(REPO.rglob("*")):
        parts = path.relative_to(REPO).parts
        if path.suffix not in {".json", ".toml"} or {".git", "__pycache__"} & set(parts) or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if "Northwind Robotics demo" in text and ("kvaudit-snapshot" in text or "kvaudit-rows" in text):
            copies.append("/".join(parts))
    assert copies == ["scanner/demo/estate.toml"]


def test_loading_the_demo_imports_nothing_heavy() -> None:
    """Beyond what building an Inventory needs (pandas, which the inventory imports on first
    use), the demo needs only tomllib."""
    probe = (
        "import sys, pandas, kvaudit.scanner.inventory\n"
        "before = set(sys.modules)\n"
        "from kvaudit.scanner.demo import demo_inventory\n"
        "demo_inventory()\n"
        "print(sorted({name.split('.')[0] for name in set(sys.modules) - before}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(result.stdout.replace("'", '"')) == ["importlib", "kvaudit", "tomllib"]


def test_scan_reads_a_named_row_file_like_the_demo(kvaudit, tmp_path: Path) -> None:
    demo, scanned = tmp_path / "demo.json", tmp_path / "scan.json"
    common = ("--now", FIXED_NOW, "--policy", str(REPO / "scanner" / "demo" / "policy.toml"))
    assert kvaudit("demo", "-o", f"json:{demo}", *common).returncode == 0
    result = kvaudit("scan", str(demo_estate_path()), "-o", f"json:{scanned}", *common)
    assert result.returncode == 1, result.stderr  # the demo has high-severity failures
    by_demo, by_scan = (json.loads(p.read_text()) for p in (demo, scanned))
    assert by_scan["findings"] == by_demo["findings"]
    assert by_scan["scan"]["sources"][0] == {
        "kind": "rows",
        "location": str(demo_estate_path()),
        "digest": digest_bytes(demo_estate_path().read_bytes()),
    }


def test_a_directory_scan_never_reads_toml(kvaudit, tmp_path: Path) -> None:
    (tmp_path / "estate.toml").write_bytes(demo_estate_path().read_bytes())
    out = tmp_path / "r.json"
    result = kvaudit("scan", str(tmp_path), "-o", f"json:{out}", "--now", FIXED_NOW)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["scan"]["inventory"] == {table: 0 for table in TABLES}


def test_a_named_toml_file_that_is_not_a_row_file_is_a_one_line_error(kvaudit) -> None:
    policy = REPO / "scanner" / "demo" / "policy.toml"
    result = kvaudit("scan", str(policy), "--now", FIXED_NOW)
    assert result.returncode == 2
    assert f'kvaudit: error: {policy}: not a kvaudit row file (missing format = "kvaudit-rows")' in result.stderr
