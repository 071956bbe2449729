"""Collect once, evaluate many times; shard, merge; and a fault that leaves nothing unread
reported compliant. All through the CLI as a user runs it, against the local fake Azure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.azure.test_cli_azure import azure_args
from tests.conftest import FIXED_NOW, run_kvaudit
from tests.fakeazure import FakeAzure, Faults, build_estate


@pytest.fixture(scope="module")
def estate() -> dict[str, Any]:
    return build_estate.default()


def _collect_args(fake: FakeAzure, snapshot: Path, *extra: str) -> list[str]:
    scan_args = azure_args(fake, *extra)
    return ["collect", *scan_args[1:], "--snapshot", str(snapshot)]


def _fails(report_path: Path) -> set[tuple[str, str, str]]:
    report = json.loads(report_path.read_text())
    return {(f["rule_id"], f["resource"]["id"], f["status"]) for f in report["findings"]}


def test_collect_then_scan_equals_a_live_scan(estate: dict[str, Any], tmp_path: Path) -> None:
    snap, live, later = tmp_path / "estate.json", tmp_path / "live.json", tmp_path / "later.json"
    with FakeAzure(estate, faults=Faults()) as fake:
        collected = run_kvaudit(*_collect_args(fake, snap), env=fake.env())
        scanned = run_kvaudit(*azure_args(fake, "--now", FIXED_NOW, "-o", f"json:{live}"), env=fake.env())
        requests_during_collection = len(fake.requests)
    assert collected.returncode == 0, collected.stderr
    assert "0 collection errors" in collected.stderr
    assert scanned.returncode == 1, scanned.stderr
    offline = run_kvaudit("scan", str(snap), "--now", FIXED_NOW, "-o", f"json:{later}")
    assert offline.returncode == 1, offline.stderr
    assert _fails(later) == _fails(live)
    assert requests_during_collection > 0


def test_shards_merge_into_the_unsharded_result(estate: dict[str, Any], tmp_path: Path) -> None:
    whole, merged = tmp_path / "whole.json", tmp_path / "merged.json"
    shards = [tmp_path / "shard0.json", tmp_path / "shard1.json"]
    with FakeAzure(estate, faults=Faults()) as fake:
        assert run_kvaudit(*_collect_args(fake, tmp_path / "all.json"), env=fake.env()).returncode == 0
        for index, path in enumerate(shards):
            done = run_kvaudit(*_collect_args(fake, path, "--shard", f"{index}/2"), env=fake.env())
            assert done.returncode == 0, done.stderr
    counts = [json.loads(p.read_text())["tables"]["vaults"]["rows"] for p in shards]
    assert sum(counts) == json.loads((tmp_path / "all.json").read_text())["tables"]["vaults"]["rows"]
    run_kvaudit("scan", str(tmp_path / "all.json"), "--now", FIXED_NOW, "-o", f"json:{whole}")
    done = run_kvaudit(
        "merge", *map(str, shards), "--snapshot", str(tmp_path / "m.json"), "--now", FIXED_NOW, "-o", f"json:{merged}"
    )
    assert done.returncode == 1, done.stderr
    assert _fails(merged) == _fails(whole)
    assert (tmp_path / "m.json").exists()


def test_unreadable_vault_is_never_reported_compliant(estate: dict[str, Any], tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    with FakeAzure(estate, faults=Faults(forbidden=["kv-prod-payments"])) as fake:
        done = run_kvaudit(*azure_args(fake, "--fail-on", "none", "-o", f"json:{report_path}"), env=fake.env())
    assert done.returncode == 3, done.stderr
    report = json.loads(report_path.read_text())
    [gap] = report["coverage"]["collection_errors"]
    vault_id = gap["vault_id"]
    assert vault_id.endswith("/vaults/kv-prod-payments")
    key_rules = {r["id"] for r in report["rules"] if r["resource_type"] in {"key", "key_version"}}
    about_vault = [f for f in report["findings"] if f["resource"]["id"].startswith(vault_id)]
    # Nothing under the unread vault's data plane passes ...
    assert not [f for f in about_vault if f["status"] == "PASS" and f["rule_id"] in key_rules]
    # ... and every key rule says it could not look, on the vault itself.
    unknown = {f["rule_id"] for f in about_vault if f["status"] == "UNKNOWN" and f["resource"]["id"] == vault_id}
    assert key_rules <= unknown, sorted(key_rules - unknown)


def test_tokens_never_reach_output_reports_or_snapshots(estate: dict[str, Any], tmp_path: Path) -> None:
    """Even when reads fail and errors are reported, no bearer token is printed or saved."""
    snap, report = tmp_path / "estate.json", tmp_path / "report.json"
    with FakeAzure(estate, faults=Faults(forbidden=["kv-prod-payments"])) as fake:
        collected = run_kvaudit(*_collect_args(fake, snap), env=fake.env())
        scanned = run_kvaudit(*azure_args(fake, "--fail-on", "none", "-o", f"json:{report}"), env=fake.env())
        tokens = list(fake.tokens)
    assert collected.returncode == 3 and scanned.returncode == 3
    assert tokens, "the fake issued no token: the test would prove nothing"
    written = [collected.stdout, collected.stderr, scanned.stdout, scanned.stderr, snap.read_text(), report.read_text()]
    for token in tokens:
        assert not any(token in text for text in written)
    assert not any("Bearer " in text for text in written)
