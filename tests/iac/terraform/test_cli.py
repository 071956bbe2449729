"""End to end: ``kvaudit scan <terraform> -o json:...`` gives exactly these findings.

Only the rules listed in ``RULES`` are compared, so a rule added later does not break these
tests, but for those rules the FAIL set must match exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import BAD, FIXTURES, REPO

NOW = "2026-11-23T00:00:00Z"
RULES = {
    "KV-ACC-001",
    "KV-KEY-001",
    "KV-LIFE-001",
    "KV-LIFE-004",
    "KV-LOG-001",
    "KV-NET-001",
    "KV-NET-002",
    "KV-NET-003",
    "KV-REC-001",
    "KV-REC-002",
    "KV-REC-003",
    "KV-TIER-002",
}


def scan(tmp_path: Path, *sources: Path) -> tuple[int, dict, str]:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "kvaudit.scanner", "scan", *map(str, sources), "-o", f"json:{out}", "--now", NOW],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, json.loads(out.read_text()), proc.stderr


def failing(report: dict) -> set[tuple[str, str, str | None]]:
    return {
        (f["rule_id"], f["resource"]["name"], (f["suppression"] or {}).get("kind"))
        for f in report["findings"]
        if f["status"] == "FAIL" and f["rule_id"] in RULES
    }


@pytest.mark.parametrize("fixture", ["vault_compliant", "hsm_compliant"])
def test_compliant_fixtures_have_no_failures(tmp_path, fixture):
    code, report, _ = scan(tmp_path, FIXTURES / fixture)
    assert failing(report) == set()
    assert code == 0
    assert not any(f["status"] == "UNKNOWN" and f["rule_id"] in RULES for f in report["findings"])


def test_misconfigured_vaults(tmp_path):
    code, report, _ = scan(tmp_path, FIXTURES / "vault_misconfigured")
    assert code == 1
    assert failing(report) == {
        ("KV-KEY-001", "kv-legacy-app/weak-rsa", None),
        ("KV-LIFE-001", "kv-legacy-app/weak-rsa", None),
        ("KV-LIFE-004", "kv-legacy-app/weak-rsa", None),
        ("KV-TIER-002", "kv-legacy-app/weak-rsa", None),  # default profile: a software key (low)
        ("KV-LOG-001", "kv-open-app", None),
        ("KV-NET-001", "kv-legacy-app", "inline"),
        ("KV-NET-001", "kv-open-app", None),
        ("KV-NET-002", "kv-legacy-app", None),
        ("KV-NET-002", "kv-open-app", None),
        ("KV-NET-003", "kv-legacy-app", None),
        ("KV-NET-003", "kv-open-app", None),
        ("KV-REC-002", "kv-legacy-app", None),
        ("KV-REC-003", "kv-legacy-app", None),
        ("KV-REC-003", "kv-open-app", None),
    }
    located = {(f["rule_id"], f["resource"]["name"]): f["location"] for f in report["findings"]}
    assert located[("KV-REC-002", "kv-legacy-app")] == {
        "file": "examples/iac/terraform/vault_misconfigured/main.tf",
        "line": 12,
        "module": None,  # declared in the root itself
        "declared": None,
    }


def test_misconfigured_hsm(tmp_path):
    code, report, _ = scan(tmp_path, FIXTURES / "hsm_misconfigured")
    assert code == 1
    assert failing(report) == {
        ("KV-ACC-001", "mhsm-shared:/:2e243909-064c-6ac3-84e9-1c8bf8d6ad20", None),
        ("KV-ACC-001", "mhsm-shared:/keys:2e243909-064c-6ac3-84e9-1c8bf8d6ad21", None),
        ("KV-KEY-001", "mhsm-shared/wide-open", None),
        ("KV-LIFE-001", "mhsm-shared/wide-open", None),
        ("KV-LIFE-004", "mhsm-shared/wide-open", None),
        ("KV-LOG-001", "mhsm-shared", None),
        ("KV-NET-001", "mhsm-shared", None),
        ("KV-NET-002", "mhsm-shared", None),
        ("KV-NET-003", "mhsm-shared", None),
        ("KV-REC-003", "mhsm-shared", None),
    }


def test_plan_and_hcl_give_the_same_findings(tmp_path):
    _, from_hcl, _ = scan(tmp_path, FIXTURES / "plan_equivalent" / "main.tf")
    _, from_plan, _ = scan(tmp_path, FIXTURES / "plan_equivalent" / "plan.json")

    def outcome(report: dict) -> set[tuple[str, str, str]]:
        # A role assignment's name shows its scope, which carries the unit.
        return {
            (f["rule_id"], f["resource"]["name"].replace("%2fplan.json/", "/"), f["status"]) for f in report["findings"]
        }

    def fingerprints(report: dict) -> set[str]:
        # A consumer with a fully literal ARM id (the SQL server's TDE reference) is the same
        # resource in both units, so only the Key Vault resources' ids carry the unit.
        return {f["fingerprint"] for f in report["findings"] if "/providers/microsoft.keyvault/" in f["resource"]["id"]}

    assert outcome(from_hcl) == outcome(from_plan)
    # The plan file is its own unit (one workspace of the root module), so its ids differ.
    assert fingerprints(from_hcl).isdisjoint(fingerprints(from_plan))
    assert failing(from_plan) == {
        ("KV-LIFE-001", "kv-fabrikam/tde", None),
        ("KV-NET-001", "kv-fabrikam", None),
        ("KV-NET-003", "kv-fabrikam", None),
    }


def test_broken_file_is_reported_and_the_rest_scanned(tmp_path):
    code, report, stderr = scan(tmp_path, BAD, FIXTURES / "vault_compliant")
    assert "tests/fixtures/terraform/bad/invalid.tf:3:14: invalid HCL: unexpected end of line, expected an expression" in stderr
    assert code == 2
    assert {f["resource"]["name"] for f in report["findings"]} >= {"kv-contoso-prod"}
