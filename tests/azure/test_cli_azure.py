"""``kvaudit scan --azure`` as a user runs it: a subprocess against the fake, exit codes and findings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_kvaudit
from tests.fakeazure import FakeAzure, Faults, build_estate

#: Planted misconfiguration -> the rule that must FAIL on that resource.
RULE_FOR: dict[str, str] = {
    "soft_delete_retention_below_minimum": "KV-REC-002",
    "purge_protection_off": "KV-REC-003",
    "firewall_default_allow": "KV-NET-002",
    "public_network_access_enabled": "KV-NET-001",
    "no_approved_private_endpoint": "KV-NET-003",
    "no_audit_diagnostic_setting": "KV-LOG-001",
    "diagnostic_storage_retention_below_policy": "KV-LOG-002",
    "no_recent_audit_events": "KV-LOG-003",
    "rsa_key_below_minimum_size": "KV-KEY-001",
    "key_ops_broader_than_profile": "KV-KEY-005",
    "release_policy_missing_required_claims": "KV-KEY-007",
    "release_policy_mutable": "KV-KEY-008",
    "key_without_expiry": "KV-LIFE-001",
    "expiry_beyond_maximum_validity": "KV-LIFE-002",
    "key_expires_soon": "KV-LIFE-003",
    "no_rotation_policy": "KV-LIFE-004",
    "rotation_policy_without_rotate": "KV-LIFE-004",
    "last_rotation_too_old": "KV-LIFE-005",
    "too_many_enabled_versions": "KV-LIFE-006",
    "signing_key_reference_unpinned": "KV-VER-001",
    "pinned_version_disabled": "KV-VER-002",
    "hsm_crypto_role_at_broad_scope": "KV-ACC-001",
    "signer_can_decrypt": "KV-ACC-004",
    "administrator_and_crypto_officer": "KV-ACC-003",
    "vault_role_at_broad_scope": "KV-ACC-005",
    "owner_or_contributor_over_vaults": "KV-ACC-005",
    "uses_access_policies": "KV-ACC-006",
    "access_policy_all_key_permissions": "KV-ACC-007",
    "access_policy_grants_purge": "KV-ACC-007",
    "principal_unknown": "KV-ACC-008",
    "ethereum_signer_access_too_broad": "KV-ACC-010",
    "software_key_without_declared_purpose": "KV-TIER-002",
    "key_ops_mix_signing_and_encryption": "KV-KEY-005",
    "standard_vault_software_keys_only": "KV-TIER-006",
}
_OWNED_BY = re.compile(r"(/accesspolicies/[^/]+|/providers/microsoft\.insights/diagnosticsettings/[^/]+|#.*)$")


def owner(resource_id: str) -> str:
    """A finding's resource reduced to the estate object it belongs to: an access policy to its
    vault, a diagnostic setting to its target, a key reference to its consumer."""
    return _OWNED_BY.sub("", resource_id.lower())


@pytest.fixture(scope="module")
def estate() -> dict[str, Any]:
    return build_estate.default()


def azure_args(fake: FakeAzure, *extra: str) -> list[str]:
    return [
        "scan",
        "--azure",
        "--arm-endpoint",
        fake.arm_endpoint,
        "--loganalytics-endpoint",
        fake.arm_endpoint,
        "--ca-bundle",
        fake.ca_bundle,
        "--retry-backoff",
        "0.05",
        *extra,
    ]


def identity(resource_id: str) -> str:
    """Planted ids spell HSM local assignments with their provider path; the inventory does not."""
    rid = resource_id.lower()
    return (
        rid.replace("/providers/microsoft.authorization/roleassignments/", "/roleassignments/")
        if "/managedhsms/" in rid
        else rid
    )


def test_scan_finds_the_planted_misconfigurations(estate: dict[str, Any], tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    with FakeAzure(estate, faults=Faults()) as fake:
        started = time.monotonic()
        done = run_kvaudit(*azure_args(fake, "-o", f"json:{report_path}"), env=fake.env())
        elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr  # high-severity FAILs, complete coverage
    assert "coverage: complete" in done.stderr
    assert elapsed < 60
    report = json.loads(report_path.read_text())
    assert report["coverage"]["complete"] is True and report["coverage"]["collection_errors"] == []
    fails = {(f["rule_id"], owner(f["resource"]["id"])) for f in report["findings"] if f["status"] == "FAIL"}
    planted = {(RULE_FOR[p["what"]], identity(p["resource_id"])) for p in estate["planted"]}
    assert fails == planted, {"not planted": sorted(fails - planted), "missed": sorted(planted - fails)}


def test_unreadable_vault_makes_the_scan_incomplete(estate: dict[str, Any], tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    with FakeAzure(estate, faults=Faults(forbidden=["kv-prod-payments"])) as fake:
        done = run_kvaudit(*azure_args(fake, "--fail-on", "none", "-o", f"json:{report_path}"), env=fake.env())
    assert done.returncode == 3, done.stderr
    assert "INCOMPLETE (1 collection errors)" in done.stderr
    [gap] = json.loads(report_path.read_text())["coverage"]["collection_errors"]
    assert gap["operation"] == "keys.list" and gap["status_code"] == 403


def test_usage_errors_exit_2_in_one_line(estate: dict[str, Any]) -> None:
    with FakeAzure(estate, faults=Faults()) as fake:
        done = run_kvaudit(*azure_args(fake, "--shard", "2/2"), env=fake.env())
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["kvaudit: error: --shard 2/2: need 0 <= I < N (shards count from 0)"]


def test_no_credential_is_a_usage_error(estate: dict[str, Any]) -> None:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_")) and k != "PATH"
    }
    keep["PATH"] = "/nonexistent"  # no az, azd or pwsh to fall back on
    keep["PYTHONPATH"] = str(REPO)
    with FakeAzure(estate, faults=Faults()) as fake:
        done = subprocess.run(
            [sys.executable, "-m", "kvaudit.scanner", *azure_args(fake)],
            env=keep,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        arm_requests = [r for r in fake.requests if r.plane == "arm"]
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("kvaudit: error: no usable Azure credential")
    assert arm_requests == []


def test_cli_start_up_does_not_import_the_azure_sdk() -> None:
    code = (
        "import sys, kvaudit.scanner.cli as cli; cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
