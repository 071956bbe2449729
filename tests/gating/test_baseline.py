"""Baselines: accept today's failures, fail only on new ones."""

from __future__ import annotations

import json
from pathlib import Path

from kvaudit.reports.schema import validate_report
from tests.conftest import FIXED_NOW, run_kvaudit
from tests.gating.helpers import failing, fp, read, save_estate, suppressed, unsuppressed, vault, vault_id

LATER = "2026-12-24T00:00:00Z"


def _scan(snap: Path, out: Path, *args: str, now: str = FIXED_NOW):
    return run_kvaudit("scan", str(snap), "--fail-on", "low", "--now", now, "-o", f"json:{out}", *args)


def _legacy(tmp_path: Path) -> Path:
    return save_estate(
        tmp_path / "estate.json",
        [vault("kv-app"), vault("kv-legacy", purge_protection_enabled=False, public_network_access="Enabled")],
    )


def test_create_from_report_then_only_new_findings_fail(tmp_path: Path) -> None:
    snap = _legacy(tmp_path)
    first = tmp_path / "first.json"
    assert _scan(snap, first).returncode == 1
    baseline = tmp_path / "ci" / "baseline.json"
    created = run_kvaudit("baseline", "create", str(first), "-o", str(baseline))
    assert created.returncode == 0, created.stderr
    assert created.stderr.splitlines() == [f"kvaudit: wrote baseline {baseline} with 2 entries"]
    doc = json.loads(baseline.read_text())
    assert {k: doc[k] for k in ("format", "version", "created")} == {
        "format": "kvaudit-baseline",
        "version": 1,
        "created": "2026-11-23T00:00:00+00:00",
    }
    assert doc["tool"]["name"] == "kvaudit"
    assert doc["entries"] == [
        {
            "fingerprint": fp("KV-NET-001", "kv-legacy"),
            "rule_id": "KV-NET-001",
            "resource_id": vault_id("kv-legacy"),
            "first_seen": "2026-11-23T00:00:00+00:00",
        },
        {
            "fingerprint": fp("KV-REC-003", "kv-legacy"),
            "rule_id": "KV-REC-003",
            "resource_id": vault_id("kv-legacy"),
            "first_seen": "2026-11-23T00:00:00+00:00",
        },
    ]

    second = tmp_path / "second.json"
    assert _scan(snap, second, "--baseline", str(baseline)).returncode == 0
    report = read(second)
    validate_report(report)
    assert suppressed(report, "baseline") == set(failing(report)) == {e["fingerprint"] for e in doc["entries"]}
    shown = failing(report)[fp("KV-REC-003", "kv-legacy")]["suppression"]
    assert shown == {
        "kind": "baseline",
        "active": True,
        "justification": f"in baseline {baseline} since 2026-11-23T00:00:00+00:00",
        "approver": None,
        "expires": None,
        "expired": False,
        "file": str(baseline),
        "line": None,
    }
    assert report["exceptions"]["baseline"] == {
        "file": str(baseline),
        "created": "2026-11-23T00:00:00+00:00",
        "entries": 2,
        "matched": 2,
    }

    # A new misconfiguration fails; the baselined ones stay suppressed.
    save_estate(
        snap,
        [
            vault("kv-app", soft_delete_retention_days=7),
            vault("kv-legacy", purge_protection_enabled=False, public_network_access="Enabled"),
        ],
    )
    third = tmp_path / "third.json"
    assert _scan(snap, third, "--baseline", str(baseline)).returncode == 1
    report = read(third)
    assert unsuppressed(report) == {fp("KV-REC-002", "kv-app")}
    assert suppressed(report) == {e["fingerprint"] for e in doc["entries"]}


def test_scan_baseline_create_keeps_first_seen_and_reports_stale_entries(tmp_path: Path) -> None:
    snap = _legacy(tmp_path)
    baseline = tmp_path / "baseline.json"
    result = _scan(snap, tmp_path / "r1.json", "--baseline-create", str(baseline))
    assert result.returncode == 1
    assert f"kvaudit: wrote baseline {baseline} with 2 entries" in result.stderr.splitlines()

    # A month later kv-legacy got purge protection and kv-app a public endpoint.
    save_estate(
        snap, [vault("kv-app", public_network_access="Enabled"), vault("kv-legacy", public_network_access="Enabled")]
    )
    out = tmp_path / "r2.json"
    result = _scan(snap, out, "--baseline", str(baseline), "--baseline-create", str(baseline), now=LATER)
    assert result.returncode == 1
    report = read(out)
    assert unsuppressed(report) == {fp("KV-NET-001", "kv-app")}
    assert report["exceptions"]["notices"] == [
        f"baseline {baseline}: 1 entry no longer fail; refresh it with kvaudit baseline create"
    ]
    entries = {e["fingerprint"]: e["first_seen"] for e in json.loads(baseline.read_text())["entries"]}
    assert entries == {
        fp("KV-NET-001", "kv-legacy"): "2026-11-23T00:00:00+00:00",
        fp("KV-NET-001", "kv-app"): "2026-12-24T00:00:00+00:00",
    }


def test_bad_baseline_files_are_one_line_errors(tmp_path: Path) -> None:
    snap = _legacy(tmp_path)
    cases = {
        "{": ":1:2: invalid JSON",
        '{"format": "other"}': 'not a kvaudit baseline (expected "format": "kvaudit-baseline")',
        '{"format": "kvaudit-baseline", "version": 9, "entries": []}': "unsupported baseline version 9",
        '{"format": "kvaudit-baseline", "version": 1, "entries": [{"fingerprint": "x"}]}': (
            "entry 1: fingerprint must be 32 lower-case hexadecimal characters"
        ),
    }
    for text, problem in cases.items():
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        result = _scan(snap, tmp_path / "r.json", "--baseline", str(bad))
        assert result.returncode == 2, text
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"kvaudit: error: {bad}") and problem in lines[0], lines


def test_baseline_create_refuses_what_is_not_a_report(tmp_path: Path) -> None:
    not_report = tmp_path / "x.json"
    not_report.write_text('{"tool": {"name": "other"}}')
    result = run_kvaudit("baseline", "create", str(not_report), "-o", str(tmp_path / "b.json"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"kvaudit: error: {not_report}: not a kvaudit JSON report"]
    assert not (tmp_path / "b.json").exists()
    usage = run_kvaudit("baseline", "create", str(not_report))
    assert usage.returncode == 2
    assert len(usage.stderr.splitlines()) == 1
