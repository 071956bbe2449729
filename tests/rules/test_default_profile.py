"""The built-in ``default`` profile (keys with no declared purpose), per-result severities that
come from the profile, HSM key types by where the key lives, profile-derived KV-KEY-002 fixes,
and CIS 8.3.1 / 8.3.2 scoped by the vault's permission model.

Each case states the exact findings: rule, resource, status, severity and message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kvaudit.reports.model import ReportOptions, build_report
from kvaudit.rules.engine import evaluate
from kvaudit.scanner import snapshot
from kvaudit.scanner.errors import PolicyError
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.policy import parse
from tests.fields.helpers import arm_template, load
from tests.rules.builders import NOW, inventory, key, ref, vault

KV = vault("kv1")
STD = vault("std", sku="standard")
HSM = vault("hsm1", hsm=True)
STARTED = datetime(2026, 11, 23, tzinfo=UTC)


def findings(inv: Inventory, rule_id: str, policy: str = "") -> list[tuple[str, str, str, str]]:
    """(resource, status, severity, message) of one rule's findings, PASS included."""
    evaluation = evaluate(inv, parse(policy, "policy.toml"), now=NOW)
    report = build_report(inv, evaluation, STARTED, options=ReportOptions(include_not_applicable=True))
    return sorted(
        (f["resource"]["name"], f["status"], f["severity"], f["message"])
        for f in report["findings"]
        if f["rule_id"] == rule_id
    )


# --- KV-TIER-002: software keys of the default profile -----------------------------------------

TIER_KEYS = [
    key(KV, "soft", kty="RSA"),
    key(KV, "hard", kty="RSA-HSM"),
    key(KV, "unread", kty=None),
    key(
        KV,
        "signer",
        kty="EC",
        curve="P-384",
        key_size=None,
        key_ops=["sign"],
        tags={"kvaudit-profile": "artifact-signing"},
    ),
]


def test_default_software_key_fails_low_and_a_profile_that_needs_an_hsm_fails_high() -> None:
    assert findings(inventory(vaults=[KV], keys=TIER_KEYS), "KV-TIER-002") == [
        ("kv1/hard", "PASS", "low", "kv1/hard is HSM-backed (RSA-HSM)"),
        (
            "kv1/signer",
            "FAIL",
            "high",
            "kv1/signer is a software-protected EC key but its profile artifact-signing requires an HSM",
        ),
        (
            "kv1/soft",
            "FAIL",
            "low",
            "kv1/soft is a software-protected RSA key but keys should be HSM-backed "
            "(Azure Policy 587c79fe; profile default)",
        ),
        ("kv1/unread", "UNKNOWN", "low", "kv1/unread: could not be determined because kty was not observed"),
    ]


def test_require_hsm_makes_every_software_key_fail_at_the_rules_severity() -> None:
    got = findings(
        inventory(vaults=[KV], keys=TIER_KEYS[:1]), "KV-TIER-002", "[rules.KV-TIER-002]\nrequire_hsm = true\n"
    )
    assert got == [
        (
            "kv1/soft",
            "FAIL",
            "high",
            "kv1/soft is a software-protected RSA key but the policy requires every key to be HSM-backed (require_hsm)",
        )
    ]


def test_the_policy_tunes_the_default_profile_one_severity_at_a_time() -> None:
    policy = '[profiles.custom.default]\nextends = "default"\nseverity = { "KV-TIER-002" = "medium" }\n'
    keys = [key(KV, "soft", kty="RSA"), key(KV, "mixed", key_ops=["sign", "decrypt"])]
    inv = inventory(vaults=[KV], keys=keys)
    assert [f[:3] for f in findings(inv, "KV-TIER-002", policy)] == [
        ("kv1/mixed", "PASS", "medium"),
        ("kv1/soft", "FAIL", "medium"),
    ]
    # KV-KEY-005 keeps the built-in default's low severity.
    assert [f[:3] for f in findings(inv, "KV-KEY-005", policy) if f[1] == "FAIL"] == [("kv1/mixed", "FAIL", "low")]


def test_a_profile_severity_must_be_a_severity_of_a_rule_id() -> None:
    inv = inventory(vaults=[KV], keys=TIER_KEYS[:1])
    bad = '[profiles.custom.default]\nextends = "default"\nseverity = { "KV-TIER-002" = "urgent" }\n'
    with pytest.raises(PolicyError, match="severity of KV-TIER-002 'urgent' is not one of info, low"):
        evaluate(inv, parse(bad, "p.toml"), now=NOW)
    with pytest.raises(PolicyError, match="severity names 'tier', which is not a rule id"):
        evaluate(inv, parse('[profiles.custom.x]\nseverity = { tier = "low" }\n', "p.toml"), now=NOW)


def test_failing_by_severity_counts_each_result_at_its_own_severity() -> None:
    inv = inventory(vaults=[KV], keys=TIER_KEYS)
    evaluation = evaluate(inv, parse("", "p.toml"), now=NOW)
    tier = next(o for o in evaluation.outcomes if o.rule.id == "KV-TIER-002")
    report = build_report(inv, evaluation.__class__(**{**evaluation.__dict__, "outcomes": [tier]}), STARTED)
    assert report["summary"]["failing_by_severity"] == {"info": 0, "low": 1, "medium": 0, "high": 1, "critical": 0}


# --- KV-KEY-005: one key, one purpose ---------------------------------------------------------


def test_default_key_mixing_signing_and_encryption_fails_low() -> None:
    keys = [
        key(KV, "mixed", key_ops=["sign", "verify", "wrapKey", "unwrapKey"]),
        key(KV, "wrap", key_ops=["wrapKey", "unwrapKey"]),
        key(KV, "unread", key_ops=None),
    ]
    assert findings(inventory(vaults=[KV], keys=keys), "KV-KEY-005") == [
        (
            "kv1/mixed",
            "FAIL",
            "low",
            "kv1/mixed mixes signing (sign, verify) with encryption (unwrapKey, wrapKey) operations: "
            "one key, one purpose (profile default)",
        ),
        ("kv1/unread", "UNKNOWN", "low", "kv1/unread: could not be determined because key_ops was not observed"),
        ("kv1/wrap", "PASS", "low", "kv1/wrap allows only wrapKey, unwrapKey, within its profile default"),
    ]


BICEP_KEYS = """
resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-app'
  location: 'westeurope'
  properties: { tenantId: subscription().tenantId, sku: { family: 'A', name: 'premium' }, enableRbacAuthorization: true }
}
resource rsa 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: kv
  name: 'app-rsa'
  properties: { kty: 'RSA-HSM', keySize: 3072 }
}
resource ec 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: kv
  name: 'app-ec'
  properties: { kty: 'EC-HSM', curveName: 'P-384' }
}
resource odd 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: kv
  name: 'app-odd'
  properties: { kty: any(json(loadTextContent('missing.json'))) }
}
"""


def test_absent_key_ops_in_bicep_are_every_operation_of_the_key_type(tmp_path: Path) -> None:
    inv = load(
        "bicep",
        tmp_path,
        "main.bicep",
        BICEP_KEYS.replace(
            "  properties: { kty: any(json(loadTextContent('missing.json'))) }\n", "  properties: { kty: kty }\n"
        ).replace("resource kv ", "param kty string\nresource kv "),
    )
    rows = {r["name"]: r for r in inv.tables["keys"].to_dict("records")}
    assert rows["app-rsa"]["key_ops"] == ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
    assert "key_ops" in rows["app-rsa"]["defaults"]
    assert rows["app-ec"]["key_ops"] == ["sign", "verify"]
    assert [f[:3] for f in findings(inv, "KV-KEY-005")] == [
        ("kv-app/app-ec", "PASS", "low"),
        ("kv-app/app-odd", "UNKNOWN", "low"),
        ("kv-app/app-rsa", "FAIL", "low"),
    ]


# --- KV-VER-001: pins, and consumers that follow rotation ---------------------------------------

STORAGE = "Microsoft.Storage/storageAccounts"


def test_default_key_wants_a_pin_except_from_auto_rotating_consumers() -> None:
    k = key(KV, "cmk")
    refs = [
        ref("stg", k, None, "wrap", consumer_type=STORAGE),
        ref("des", k, None, "wrap", consumer_type="Microsoft.Compute/diskEncryptionSets"),
        ref("app", k, None, "encrypt"),
        ref("app-pinned", k, "v2", "encrypt"),
        ref("app-unread", k, None, "encrypt", pinned=None, key_uri=None),
    ]
    assert findings(inventory(vaults=[KV], keys=[k], key_references=refs), "KV-VER-001") == [
        (
            "app",
            "FAIL",
            "low",
            "app uses https://kv1.vault.azure.net/keys/cmk without a version, but profile default requires pinning",
        ),
        ("app-pinned", "PASS", "low", "app-pinned pins version v2"),
        (
            "app-unread",
            "UNKNOWN",
            "low",
            "app-unread: could not be determined because key_uri and key_version were not observed",
        ),
        (
            "des",
            "PASS",
            "low",
            "des references the key without a version and follows its rotation itself "
            "(Microsoft.Compute/diskEncryptionSets)",
        ),
        (
            "stg",
            "PASS",
            "low",
            "stg references the key without a version and follows its rotation itself (Microsoft.Storage/storageAccounts)",
        ),
    ]


def test_signers_and_require_pinning_still_need_a_pin_at_the_rules_severity() -> None:
    k = key(KV, "cmk")
    refs = [ref("stg", k, None, "wrap", consumer_type=STORAGE), ref("signer", k, None, "sign")]
    inv = inventory(vaults=[KV], keys=[k], key_references=refs)
    assert [f[:3] for f in findings(inv, "KV-VER-001", "[rules.KV-VER-001]\nrequire_pinning = true\n")] == [
        ("signer", "FAIL", "high"),
        ("stg", "FAIL", "high"),
    ]


# --- KV-TIER-006: a standard vault with no HSM-purpose key is information ----------------------


def test_standard_vault_without_hsm_purpose_keys_is_an_info_finding() -> None:
    inv = inventory(vaults=[STD, KV], keys=[key(STD, "app", kty="RSA")])
    assert findings(inv, "KV-TIER-006") == [
        ("kv1", "PASS", "info", "kv1 is a premium-SKU vault and can hold HSM-backed keys"),
        (
            "std",
            "FAIL",
            "info",
            "std is a standard-SKU vault: it can hold only software-protected keys (it holds 1, none whose profile "
            "needs an HSM)",
        ),
    ]


# --- B: HSM key types by where the key lives, in every source ----------------------------------

BICEP_HSM = """
resource hsm 'Microsoft.KeyVault/managedHSMs@2023-07-01' = {
  name: 'my-managed-hsm'
  location: 'eastus'
  sku: { family: 'B', name: 'Standard_B1' }
  properties: { tenantId: subscription().tenantId, initialAdminObjectIds: ['11111111-1111-1111-1111-111111111111'] }
}
resource kek 'Microsoft.KeyVault/managedHSMs/keys@2023-07-01' = {
  parent: hsm
  name: 'defakto-wrapping-key'
  properties: { kty: 'oct', keySize: 256, keyOps: ['encrypt', 'decrypt'] }
}
resource rsa 'Microsoft.KeyVault/managedHSMs/keys@2023-07-01' = {
  parent: hsm
  name: 'byok-kek'
  properties: { kty: 'RSA', keySize: 4096, keyOps: ['import'] }
}
"""

ARM_HSM = arm_template(
    [
        {
            "type": "Microsoft.KeyVault/managedHSMs",
            "apiVersion": "2023-07-01",
            "name": "my-managed-hsm",
            "location": "eastus",
            "sku": {"family": "B", "name": "Standard_B1"},
            "properties": {"initialAdminObjectIds": ["11111111-1111-1111-1111-111111111111"]},
        },
        {
            "type": "Microsoft.KeyVault/managedHSMs/keys",
            "apiVersion": "2023-07-01",
            "name": "my-managed-hsm/defakto-wrapping-key",
            "dependsOn": ["[resourceId('Microsoft.KeyVault/managedHSMs', 'my-managed-hsm')]"],
            "properties": {"kty": "oct", "keySize": 256, "keyOps": ["encrypt", "decrypt"]},
        },
        {
            "type": "Microsoft.KeyVault/managedHSMs/keys",
            "apiVersion": "2023-07-01",
            "name": "my-managed-hsm/byok-kek",
            "properties": {"kty": "RSA", "keySize": 4096, "keyOps": ["import"]},
        },
    ]
)

TERRAFORM_HSM = """
resource "azurerm_key_vault_managed_hardware_security_module" "hsm" {
  name                = "my-managed-hsm"
  resource_group_name = "rg"
  location            = "eastus"
  sku_name            = "Standard_B1"
  tenant_id           = "22222222-2222-2222-2222-222222222222"
  admin_object_ids    = ["11111111-1111-1111-1111-111111111111"]
}
resource "azurerm_key_vault_managed_hardware_security_module_key" "kek" {
  name           = "defakto-wrapping-key"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  key_type       = "oct"
  key_size       = 256
  key_opts       = ["encrypt", "decrypt"]
}
resource "azurerm_key_vault_managed_hardware_security_module_key" "rsa" {
  name           = "byok-kek"
  managed_hsm_id = azurerm_key_vault_managed_hardware_security_module.hsm.id
  key_type       = "RSA"
  key_size       = 4096
  key_opts       = ["import"]
}
"""

HSM_SOURCES = {
    "bicep": ("main.bicep", BICEP_HSM),
    "arm": ("azuredeploy.json", ARM_HSM),
    "terraform": ("hsm/main.tf", TERRAFORM_HSM),
}


def _hsm_verdicts(inv: Inventory) -> dict[tuple[str, str], str]:
    out = {}
    for outcome in evaluate(inv, parse("", "p.toml"), now=NOW).outcomes:
        if outcome.rule.id in ("KV-TIER-002", "KV-TIER-003", "KV-KEY-002"):
            for name, status in zip(outcome.results["resource_name"], outcome.results["status"], strict=True):
                out[(outcome.rule.id, str(name))] = str(status)
    return out


HSM_EXPECTED = {
    ("KV-KEY-002", "my-managed-hsm/byok-kek"): "PASS",
    ("KV-KEY-002", "my-managed-hsm/defakto-wrapping-key"): "PASS",
    ("KV-TIER-002", "my-managed-hsm/byok-kek"): "PASS",
    ("KV-TIER-002", "my-managed-hsm/defakto-wrapping-key"): "PASS",
    ("KV-TIER-003", "my-managed-hsm/byok-kek"): "PASS",
    ("KV-TIER-003", "my-managed-hsm/defakto-wrapping-key"): "PASS",
}


@pytest.mark.parametrize("kind", sorted(HSM_SOURCES))
def test_keys_declared_in_a_managed_hsm_are_hsm_keys(kind: str, tmp_path: Path) -> None:
    name, text = HSM_SOURCES[kind]
    inv = load(kind, tmp_path, name, text)
    kty = dict(zip(inv.tables["keys"]["name"], inv.tables["keys"]["kty"], strict=True))
    assert kty == {"defakto-wrapping-key": "oct-HSM", "byok-kek": "RSA-HSM"}
    assert _hsm_verdicts(inv) == HSM_EXPECTED
    # A snapshot of the scan keeps the HSM types, and the same verdicts.
    path = tmp_path / "snapshot.json"
    snapshot.save(inv, path)
    assert _hsm_verdicts(snapshot.load(path)) == HSM_EXPECTED


def test_a_vault_key_keeps_its_declared_software_type(tmp_path: Path) -> None:
    inv = load("bicep", tmp_path, "main.bicep", BICEP_KEYS.split("resource ec ")[0])
    assert list(inv.tables["keys"]["kty"]) == ["RSA-HSM"]
    inv = load("bicep", tmp_path / "b", "main.bicep", BICEP_KEYS.split("resource ec ")[0].replace("RSA-HSM", "RSA"))
    assert list(inv.tables["keys"]["kty"]) == ["RSA"]


# --- G: KV-KEY-002's fix follows the profile and the source format -----------------------------


def _fix(source: str, profile: str, vault_row: dict[str, Any]) -> str:
    k = key(vault_row, "k", kty="RSA", source=source, tags={"kvaudit-profile": profile})
    inv = inventory(vaults=[vault_row], keys=[k])
    [(_, status, _, message)] = findings(inv, "KV-KEY-002")
    assert status == "FAIL"
    return message.split(". Fix: ", 1)[1]


def test_key_type_fix_names_the_profiles_values_in_the_users_format() -> None:
    assert (
        _fix("bicep", "ed25519-signer", HSM)
        == "properties: { kty: 'OKP-HSM', curveName: 'Ed25519' } (profile ed25519-signer)"
    )
    assert _fix("terraform", "ethereum-signer", KV) == 'key_type = "EC-HSM", curve = "P-256K" (profile ethereum-signer)'
    assert _fix("arm", "aes-kek", HSM) == "properties: { kty: 'oct-HSM', keySize: 256 } (profile aes-kek)"
    assert _fix("terraform", "ed25519-signer", HSM) == (
        'key_type = "OKP-HSM", curve = "Ed25519" (azurerm has no OKP key type: declare it with azapi_resource or '
        "create it with the az CLI) (profile ed25519-signer)"
    )
    assert _fix("snapshot", "ethereum-signer", KV) == (
        "az keyvault key create --vault-name <vault> --name <key> --kty EC-HSM --curve P-256K (profile ethereum-signer)"
    )


# --- H: CIS 8.3.1 (RBAC vaults) and 8.3.2 (access-policy vaults) -------------------------------

RBAC = vault("kv-rbac")
LEGACY = vault("kv-policies", rbac_authorization_enabled=False)
UNSEEN = vault("kv-unseen", rbac_authorization_enabled=None)


def _cis(report: dict[str, Any], control: str) -> tuple[int, int, int, int]:
    [c] = [
        c for c in report["compliance"]["controls"] if (c["framework"], c["control"]) == ("CIS-Azure-6.0.0", control)
    ]
    return c["assessed"], c["passing"], c["failing"], c["unknown"]


def test_expiry_results_count_toward_the_cis_control_of_their_vaults_permission_model() -> None:
    keys = [
        key(RBAC, "no-exp", expires=None),
        key(RBAC, "exp"),
        key(LEGACY, "no-exp", expires=None),
        key(UNSEEN, "exp"),
        key(HSM, "no-exp", expires=None),
    ]
    inv = inventory(vaults=[RBAC, LEGACY, UNSEEN, HSM], keys=keys)
    report = build_report(inv, evaluate(inv, parse("", "p.toml"), now=NOW), STARTED)
    controls = {
        f["resource"]["name"]: [
            (m["control"], m.get("scope")) for m in f["compliance"] if m["framework"] == "CIS-Azure-6.0.0"
        ]
        for f in report["findings"]
        if f["rule_id"] == "KV-LIFE-001"
    }
    assert controls == {
        "kv-rbac/no-exp": [("8.3.1", None)],
        "kv-rbac/exp": [("8.3.1", None)],
        "kv-policies/no-exp": [("8.3.2", None)],
        "kv-unseen/exp": [("8.3.1", "unknown"), ("8.3.2", "unknown")],
        "hsm1/no-exp": [],
    }
    # assessed, passing, failing, unknown: the unseen vault's key is unknown for both controls.
    assert _cis(report, "8.3.1") == (3, 1, 1, 1)
    assert _cis(report, "8.3.2") == (2, 0, 1, 1)
