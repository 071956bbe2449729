"""The auditor's view in the canonical report: resources per control, vault summaries, the
fix-first list and the controls kvaudit does not assess."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvaudit.reports.posture import refresh
from kvaudit.rules.mappings import frameworks, not_assessed
from tests.reports.fixtures import demo_report

REPO = Path(__file__).resolve().parents[2]
LEGACY = "/subscriptions/4a1c9e0b-6f0e-4c2e-9d7a-1b2c3d4e5f60/resourcegroups/rg-legacy/providers/microsoft.keyvault/vaults/kv-nw-legacy"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return demo_report()


def _control(report: dict[str, Any], framework: str, control: str) -> dict[str, Any]:
    return next(c for c in report["compliance"]["controls"] if (c["framework"], c["control"]) == (framework, control))


def _counts(entry: dict[str, Any]) -> tuple[int, int, int, int, int, float | None]:
    return (
        entry["assessed"],
        entry["passing"],
        entry["failing"],
        entry["unknown"],
        entry["suppressed"],
        entry["pass_rate"],
    )


def test_one_failing_vault_lowers_a_control_by_one_resource(report: dict[str, Any]) -> None:
    # CIS 8.3.7 (KV-NET-001, KV-NET-002) over the seven demo vaults and HSMs: three accept public traffic.
    assert _counts(_control(report, "CIS-Azure-6.0.0", "8.3.7")) == (7, 4, 3, 0, 0, 0.5714)
    # CIS 8.3.6 (KV-ACC-006) applies to the four key vaults only (HSMs are NOT_APPLICABLE).
    assert _counts(_control(report, "CIS-Azure-6.0.0", "8.3.6")) == (4, 2, 2, 0, 0, 0.5)
    # MCSB LT-3 combines KV-LOG-001 and KV-LOG-003 per vault: three fail, and the usage of
    # kv-nw-eth-signer, hsm-nw-kek and kv-nw-tools was not collected, so they are unknown, not passing.
    assert _counts(_control(report, "MCSB", "LT-3")) == (7, 1, 3, 3, 0, 0.1429)


def test_every_mapped_control_is_reported(report: dict[str, Any]) -> None:
    expected = [(fw, control) for fw, spec in frameworks().items() for control in spec["controls"]]
    assert [(c["framework"], c["control"]) for c in report["compliance"]["controls"]] == expected


def test_counts_do_not_depend_on_omitting_passed_results() -> None:
    from kvaudit.reports.model import ReportOptions, build_report
    from kvaudit.rules.engine import evaluate
    from kvaudit.scanner.demo import demo_inventory, demo_policy_path
    from kvaudit.scanner.policy import load
    from tests.reports.fixtures import NOW

    evaluation = evaluate(demo_inventory(), load(demo_policy_path()), now=NOW)
    started = NOW.to_pydatetime()
    full = build_report(demo_inventory(), evaluation, started, started)
    lean = build_report(demo_inventory(), evaluation, started, started, ReportOptions(include_passed=False))
    assert not any(f["status"] == "PASS" for f in lean["findings"])
    assert lean["compliance"] == full["compliance"]
    assert lean["fix_first"] == full["fix_first"]


def test_a_suppressed_failure_moves_the_resource_to_suppressed(report: dict[str, Any]) -> None:
    changed = copy.deepcopy(report)
    # kv-nw-eth-signer fails CIS 8.3.7 only through KV-NET-001 (its firewall denies by default).
    finding = next(
        f for f in changed["findings"] if f["rule_id"] == "KV-NET-001" and f["resource"]["name"] == "kv-nw-eth-signer"
    )
    finding["suppression"] = {"kind": "waiver", "active": True, "expired": False}
    refresh(changed)
    assert _counts(_control(changed, "CIS-Azure-6.0.0", "8.3.7")) == (7, 4, 2, 0, 1, 0.5714)
    group = next(g for g in changed["fix_first"] if g["name"] == "kv-nw-eth-signer")
    before = next(g for g in report["fix_first"] if g["name"] == "kv-nw-eth-signer")
    assert group["failing"] == before["failing"] - 1
    assert "KV-NET-001" not in [a["rule_id"] for a in group["actions"]]


def test_refresh_states_from_findings() -> None:
    def finding(rule: str, resource: str, status: str, suppressed: bool = False) -> dict[str, Any]:
        return {
            "rule_id": rule,
            "title": rule,
            "severity": "high",
            "status": status,
            "suppression": {"kind": "waiver", "active": True} if suppressed else None,
            "resource": {"id": resource, "vault_id": None},
        }

    mini = {
        "rules": [
            {"id": "KV-A-001", "compliance": [{"framework": "F", "control": "1"}]},
            {"id": "KV-B-001", "compliance": [{"framework": "F", "control": "1"}]},
        ],
        "compliance": {
            "controls": [
                {
                    "framework": "F",
                    "control": "1",
                    "title": "t",
                    "rules": ["KV-A-001", "KV-B-001"],
                    "assessed": 5,
                    "passing": 0,
                    "failing": 0,
                    "unknown": 0,
                    "suppressed": 0,
                    "pass_rate": None,
                }
            ],
            "not_assessed": [],
        },
        "findings": [
            finding("KV-A-001", "r1", "FAIL"),  # failing, whatever else r1 shows
            finding("KV-B-001", "r1", "UNKNOWN"),
            finding("KV-A-001", "r2", "UNKNOWN"),  # unknown beats a suppressed failure
            finding("KV-B-001", "r2", "FAIL", suppressed=True),
            finding("KV-A-001", "r3", "FAIL", suppressed=True),  # suppressed only
            finding("KV-B-001", "r3", "PASS"),
            finding("KV-A-001", "r4", "PASS"),
            finding("KV-B-001", "r4", "NOT_APPLICABLE"),
            # r5 has only PASS results that --omit-passed left out: it counts as passing.
        ],
    }
    refresh(mini)
    assert _counts(mini["compliance"]["controls"][0]) == (5, 2, 1, 1, 1, 0.4)


def test_vault_summaries_count_keys_and_consumers(report: dict[str, Any]) -> None:
    vaults = {v["name"]: v for v in report["vaults"]}
    assert sorted(vaults) == [
        "hsm-nw-dr",
        "hsm-nw-kek",
        "hsm-nw-platform",
        "kv-nw-eth-signer",
        "kv-nw-legacy",
        "kv-nw-payments",
        "kv-nw-tools",
    ]
    legacy = vaults["kv-nw-legacy"]
    assert (legacy["id"], legacy["kind"], legacy["keys"], legacy["consumers"]) == (LEGACY, "vault", 3, 1)
    assert legacy["key_consumers"] == {f"{LEGACY}/keys/bootstrap-old": 1}
    assert legacy["properties"]["purge_protection_enabled"] is False
    assert legacy["properties"]["sku"] == "standard"
    assert "security_domain_activated" not in legacy["properties"]
    assert vaults["hsm-nw-dr"]["properties"]["security_domain_activated"] is False
    assert "rbac_authorization_enabled" not in vaults["hsm-nw-dr"]["properties"]
    # Two consumers (a disk encryption set and a SQL server) use kv-nw-payments' one key.
    assert (vaults["kv-nw-payments"]["keys"], vaults["kv-nw-payments"]["consumers"]) == (1, 2)


def test_fix_first_groups_by_vault_ranked_by_severity_then_dependents(report: dict[str, Any]) -> None:
    groups = report["fix_first"]
    assert [(g["name"], g["max_severity"], g["keys"] + g["consumers"]) for g in groups] == [
        ("hsm-nw-platform", "high", 7),
        ("kv-nw-legacy", "high", 4),
        ("hsm-nw-kek", "high", 3),
        ("kv-nw-payments", "high", 3),
        ("kv-nw-eth-signer", "high", 1),
        ("hsm-nw-dr", "high", 0),
        ("kv-nw-tools", "info", 0),
        (None, "medium", 0),
    ]
    failing = [f for f in report["findings"] if f["status"] == "FAIL" and not f["suppression"]]
    assert sum(g["failing"] for g in groups) == len(failing)
    legacy = groups[1]
    assert legacy["failing"] == sum(1 for f in failing if f["resource"]["vault_id"] == LEGACY)
    # Within a vault: most severe first, then the rules whose resources have consumers.
    ranks = [({"high": 0, "medium": 1, "low": 2}[a["severity"]], -a["consumers"]) for a in legacy["actions"]]
    assert ranks == sorted(ranks)
    # KV-TIER-002 fails high on the ed25519-signer key and low on the two keys of the default
    # profile (software RSA and EC keys with no declared purpose); the action takes the highest.
    assert legacy["actions"][0] == {
        "rule_id": "KV-TIER-002",
        "title": "Software-protected key where an HSM is required",
        "severity": "high",
        "resources": 3,
        "consumers": 1,
    }
    # The subscription-scope Key Vault Administrator assignment belongs to no single vault.
    assert [a["rule_id"] for a in groups[-1]["actions"]] == ["KV-ACC-005"]


def test_controls_not_assessed_are_listed_per_framework(report: dict[str, Any]) -> None:
    listed = [(c["framework"], c["control"]) for c in report["compliance"]["not_assessed"]]
    assert listed == [
        ("CIS-Azure-6.0.0", "8.3.3"),
        ("CIS-Azure-6.0.0", "8.3.4"),
        ("CIS-Azure-6.0.0", "8.3.11"),
        ("MCSB", "NS-1"),
        ("MCSB", "LT-1"),
        ("PCI-DSS-4.0", "3.7.6"),
        ("PCI-DSS-4.0", "3.7.8"),
        ("PCI-DSS-4.0", "3.7.9"),
    ]
    assert report["compliance"]["not_assessed"] == not_assessed()
    mapped = {(fw, control) for fw, spec in frameworks().items() for control in spec["controls"]}
    assert not mapped & set(listed), "a control cannot be both assessed and not assessed"
    assert all(c["title"] and c["reason"] for c in not_assessed())


WAIVE_LEGACY_RECOVERY = """\
[[waivers]]
id = "W-soft-delete"
rule = "KV-REC-001"
resource = "*/vaults/kv-nw-legacy"
justification = "Vault is decommissioned in Q3 (CHG-1234)"
approver = "ciso@northwind.example"
expires = 2027-03-31

[[waivers]]
id = "W-purge"
rule = "KV-REC-003"
resource = "*/vaults/kv-nw-legacy"
justification = "Vault is decommissioned in Q3 (CHG-1234)"
approver = "ciso@northwind.example"
expires = 2027-03-31
"""


def test_waivers_in_a_scan_move_resources_from_failing_to_suppressed(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(WAIVE_LEGACY_RECOVERY, encoding="utf-8")
    out = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "kvaudit.scanner", "demo", "--now", "2026-11-23T00:00:00Z", "-o", f"json:{out}"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    plain = json.loads(out.read_text(encoding="utf-8"))
    subprocess.run([*command, "--waivers", str(waivers)], env=env, check=True, capture_output=True)
    waived = json.loads(out.read_text(encoding="utf-8"))
    # CIS 8.3.5 (soft delete and purge protection): kv-nw-legacy's failures are both waived.
    assert _counts(_control(plain, "CIS-Azure-6.0.0", "8.3.5"))[:5] == (7, 5, 2, 0, 0)
    assert _counts(_control(waived, "CIS-Azure-6.0.0", "8.3.5"))[:5] == (7, 5, 1, 0, 1)
    legacy = [next(g for g in r["fix_first"] if g["name"] == "kv-nw-legacy") for r in (plain, waived)]
    assert legacy[1]["failing"] == legacy[0]["failing"] - 2
    assert {"KV-REC-001", "KV-REC-003"} & {a["rule_id"] for a in legacy[1]["actions"]} == set()
