"""Meta-tests over the whole catalogue: complete metadata, stable ids, mappings that name real
rules, rule modules that do no I/O, nulls that never pass, isolation of a raising rule, and a
demo estate on which every rule both fails and passes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

import kvaudit.rules.checks
from kvaudit.rules.engine import evaluate
from kvaudit.rules.mappings import controls_by_rule, frameworks, unmapped_reasons
from kvaudit.rules.model import Rule, Severity
from kvaudit.rules.registry import RULESET_VERSION, all_rules
from kvaudit.scanner.demo import demo_inventory, demo_policy_path
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.policy import load
from tests.rules.builders import NOW

ID_PATTERN = re.compile(r"^KV-[A-Z]+-[0-9]{3}$")
DOMAIN_PREFIX = {
    "recovery": "REC",
    "network": "NET",
    "logging": "LOG",
    "tier": "TIER",
    "key_type": "KEY",
    "lifecycle": "LIFE",
    "versions": "VER",
    "access": "ACC",
}
CHECKS_DIR = Path(kvaudit.rules.checks.__file__).parent
FORBIDDEN_IMPORTS = (
    "azure",
    "requests",
    "aiohttp",
    "urllib",
    "http",
    "socket",
    "subprocess",
    "httpx",
    "os",
    "pathlib",
    "io",
)
FORBIDDEN_CALLS = {"open", "eval", "exec", "__import__", "input"}
CATALOGUE = all_rules()


def test_ids_are_unique_stable_and_match_their_domain() -> None:
    ids = [r.id for r in CATALOGUE]
    assert len(ids) == len(set(ids))
    for r in CATALOGUE:
        assert ID_PATTERN.match(r.id), r.id
        assert r.id.split("-")[1] == DOMAIN_PREFIX[r.domain], r.id
    assert set(DOMAIN_PREFIX) == {r.domain for r in CATALOGUE}
    assert re.match(r"^\d{4}\.\d{1,2}\.\d+$", RULESET_VERSION)


@pytest.mark.parametrize("rule", CATALOGUE, ids=[r.id for r in CATALOGUE])
def test_metadata_is_complete(rule: Rule) -> None:
    assert rule.title and rule.title[0].isupper() and not rule.title.endswith(".")
    assert isinstance(rule.severity, Severity)
    assert len(rule.rationale) >= 80
    for text in (rule.remediation.cli, rule.remediation.arm_bicep, rule.remediation.terraform):
        assert text.strip()
    assert rule.references and all(ref.startswith("https://") for ref in rule.references)
    assert {"FAIL", "PASS"} <= set(rule.messages)
    for param in rule.params:
        assert param.description and param.default is not None
    assert rule.check.__doc__ is None or rule.check.__doc__.strip()


def test_every_mapping_names_a_rule_and_every_rule_is_mapped_or_excused() -> None:
    ids = {r.id for r in CATALOGUE}
    for fw_id, fw in frameworks().items():
        assert fw["title"] and fw["version"], fw_id
        for control_id, control in fw["controls"].items():
            assert control["title"], control_id
            assert set(control["rules"]) <= ids, (fw_id, control_id, set(control["rules"]) - ids)
    mapped = set(controls_by_rule())
    excused = unmapped_reasons()
    assert set(excused) <= ids and all(len(reason) > 20 for reason in excused.values())
    assert not mapped & set(excused)
    assert ids == mapped | set(excused)


def test_required_frameworks_and_controls_are_present() -> None:
    fws = frameworks()
    assert {"8.3.1", "8.3.5", "8.3.6", "8.3.7", "8.3.8", "8.3.9", "6.1.1.4"} <= set(fws["CIS-Azure-6.0.0"]["controls"])
    assert {"DP-6", "DP-7", "DP-8", "NS-2", "PA-7", "LT-3"} <= set(fws["MCSB"]["controls"])
    assert {"SC-12", "SC-13", "AC-6", "AU-2", "AU-12"} <= set(fws["NIST-800-53-r5"]["controls"])
    assert {"3.6.1", "3.7.1"} <= set(fws["PCI-DSS-4.0"]["controls"])


@pytest.mark.parametrize("path", sorted(CHECKS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_rule_modules_do_no_io_and_import_no_sdk(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{path.name} imports {name}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            assert name not in FORBIDDEN_CALLS, f"{path.name} calls {name}"
            assert name not in {"now", "utcnow", "today", "time"}, f"{path.name} reads the clock ({name})"
            assert not name.startswith(("read_", "to_csv", "to_json")), f"{path.name} does I/O ({name})"


def _null_inventory() -> Inventory:
    """One row per table with only the identifiers that link rows; everything else is null."""
    vault = "/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv"
    hsm = "/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/managedhsms/hsm"
    key = f"{vault}/keys/k"
    return Inventory.from_records(
        {
            "vaults": [{"id": vault, "name": "kv"}, {"id": hsm, "name": "hsm", "kind": "managed_hsm"}],
            "keys": [{"id": key, "vault_id": vault, "name": "k", "tags": {"kvaudit-profile": "artifact-signing"}}],
            "key_versions": [
                {"id": f"{key}/versions/{v}", "key_id": key, "vault_id": vault, "version": v} for v in ("v", "w", "x")
            ],
            "role_assignments": [
                {
                    "id": f"{hsm}/roleassignments/r",
                    "vault_id": hsm,
                    "plane": "managed_hsm",
                    "role_name": "Managed HSM Crypto Officer",
                },
                {"id": f"{hsm}/roleassignments/u", "vault_id": hsm, "plane": "managed_hsm"},
                {"id": "/subscriptions/s/ra/x", "plane": "azure", "role_name": "Owner"},
            ],
            "access_policies": [{"id": f"{vault}/accesspolicies/o", "vault_id": vault}],
            "diagnostic_settings": [
                {"id": f"{vault}/ds/d", "target_id": vault, "name": "d", "storage_account_id": "/sa"}
            ],
            "private_endpoints": [{"id": f"{vault}/pe/p", "target_id": vault}],
            "key_references": [
                {
                    "id": "/c#k",
                    "consumer_id": "/c",
                    "key_id": key,
                    "vault_id": vault,
                    "purpose": "sign",
                    "key_version": "v",
                }
            ],
            "key_usage": [{"id": vault, "vault_id": vault}],
        }
    )


def test_null_values_never_pass() -> None:
    evaluation = evaluate(_null_inventory(), now=NOW)
    for outcome in evaluation.outcomes:
        statuses = set(outcome.results["status"])
        assert "ERROR" not in statuses, (outcome.rule.id, outcome.error)
        if outcome.rule.id != "KV-KEY-009":  # the key's one non-null value is a known profile tag
            assert "PASS" not in statuses, outcome.rule.id


def test_empty_inventory_evaluates_every_rule_without_error() -> None:
    evaluation = evaluate(Inventory(), now=NOW)
    assert [o.rule.id for o in evaluation.outcomes] == [r.id for r in CATALOGUE]
    assert all(o.error is None and o.results.empty for o in evaluation.outcomes)


def test_a_raising_rule_becomes_error_and_the_rest_still_run() -> None:
    def explode(ctx: object) -> pd.DataFrame:
        raise KeyError("missing column")

    broken = Rule(**{**CATALOGUE[0].__dict__, "id": "KV-REC-999", "check": explode})
    evaluation = evaluate(_null_inventory(), now=NOW, rules=[broken, *CATALOGUE])
    assert evaluation.outcomes[0].results["status"].tolist() == ["ERROR"]
    assert evaluation.outcomes[0].error == "KeyError: 'missing column'"
    assert all(o.error is None for o in evaluation.outcomes[1:])


def test_demo_estate_makes_every_rule_fail_and_pass() -> None:
    evaluation = evaluate(demo_inventory(), load(demo_policy_path()), now=NOW)
    for outcome in evaluation.outcomes:
        statuses = set(outcome.results["status"])
        assert {"FAIL", "PASS"} <= statuses, (outcome.rule.id, statuses)
        assert "ERROR" not in statuses
