"""Key references named by application settings in IaC, and signers found from IaC grants.

The fixtures under tests/fixtures/app_settings follow the deployment guides: the Yutha bootstrap
signer (vault URL, key name and optional version as YUTHA_SIGNER_AZURE_KV_* variables of a
Container App), an Ethereum signer on App Service and Functions (app settings, access policies)
and an artifact-signing pipeline (Azure RBAC and Managed HSM local RBAC in Terraform). Each test
states every KV-VER-001 and KV-ACC-004 result exactly.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kvaudit.rules.engine import evaluate
from kvaudit.rules.registry import get
from kvaudit.scanner import snapshot
from kvaudit.scanner.iac.arm import load_arm
from kvaudit.scanner.iac.bicep import load_bicep
from kvaudit.scanner.iac.terraform import load_terraform
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.policy import parse
from tests.rules.builders import HSM_USER, NOW, hsm_role, key, vault

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "app_settings"
RULES = ("KV-VER-001", "KV-ACC-004")
CI = "5e0f7a11-2222-4b6c-8d9e-0000000000e1"


def results(inv: Inventory, policy: str | None = None) -> list[tuple[str, str, str]]:
    pol = parse(policy, "policy.toml") if policy else None
    evaluation = evaluate(inv, pol, now=NOW, rules=[get(r) for r in RULES])
    return sorted(
        (outcome.rule.id, str(name), str(status))
        for outcome in evaluation.outcomes
        for name, status in zip(outcome.results["resource_name"], outcome.results["status"], strict=True)
    )


def references(inv: Inventory) -> list[tuple]:
    refs = inv.tables["key_references"]
    columns = ["consumer_type", "consumer_name", "key_name", "key_version", "pinned", "purpose", "unresolved"]
    rows = [[_plain(v) for v in r] for r in refs[columns].itertuples(index=False)]
    return sorted((*r[:-1], tuple(r[-1] or ())) for r in rows)


def _plain(value: object) -> object:
    if isinstance(value, list):
        return value
    return None if pd.isna(value) else value


def test_bicep_container_apps() -> None:
    root = FIXTURES / "bicep"
    inv, errors = load_bicep([root / "main.bicep"], root)
    assert errors == []
    app = "Microsoft.App/containerApps"
    assert references(inv) == [
        # hsm.properties.hsmUri names the declared HSM; bootstrap.name is the key.
        (app, "yutha-control-plane", "bootstrap", None, False, "sign", ("key_uri", "vault_host")),
        (app, "yutha-from-parameter", "bootstrap", None, None, "sign", ("key_uri", "key_version", "pinned")),
        (app, "yutha-from-secret", "bootstrap", None, None, "sign", ("key_uri", "key_version", "pinned")),
        (app, "yutha-pinned", "bootstrap", "a1b2c3d4e5f60718293a4b5c6d7e8f90", True, "sign", ()),
    ]
    refs = inv.tables["key_references"]
    assert set(refs["key_id"]) == set(inv.tables["keys"].loc[inv.tables["keys"]["name"].eq("bootstrap"), "id"])
    kv = "/subscriptions/iac~main.bicep/resourcegroups/iac/providers/microsoft.keyvault/vaults/kv-codesign"
    assert results(inv) == [
        # The builder signs (Crypto User on codesign); its other role is a parameter: unknown.
        ("KV-ACC-004", f"?@{kv}", "UNKNOWN"),
        # The app's identity is only known after deployment, but the assignment itself signs with
        # the artifact-signing key, and at the vault it also reaches dek, which unwraps.
        ("KV-ACC-004", f"Key Vault Crypto User@{kv}", "FAIL"),
        ("KV-ACC-004", f"Key Vault Crypto User@{kv}/keys/codesign", "PASS"),
        # The guide's most important mistake: the signer does not pin its key version.
        ("KV-VER-001", "yutha-control-plane", "FAIL"),
        ("KV-VER-001", "yutha-from-parameter", "UNKNOWN"),
        ("KV-VER-001", "yutha-from-secret", "UNKNOWN"),
        ("KV-VER-001", "yutha-pinned", "PASS"),
    ]


def test_arm_app_service_and_function_app_settings() -> None:
    root = FIXTURES / "arm"
    inv, errors = load_arm([root / "azuredeploy.json"], root)
    assert errors == []
    sites = "Microsoft.Web/sites"
    # sites/config 'web' is not app settings: only 'appsettings' is read.
    assert references(inv) == [
        (sites, "eth-signer-api", "eth-signer", None, False, "sign", ()),
        (sites, "eth-signer-func", "eth-signer", None, None, "sign", ("key_uri", "key_version", "pinned")),
    ]
    assert results(inv) == [
        # get/list/sign/verify plus decrypt, in a vault whose legacy key decrypts.
        ("KV-ACC-004", "kv-eth-signer:access-policy:5e0f7a11-2222-4b6c-8d9e-0000000000c1", "FAIL"),
        ("KV-ACC-004", "kv-eth-signer:access-policy:5e0f7a11-2222-4b6c-8d9e-0000000000c2", "PASS"),
        # A principal from a parameter without a default may be one of the signers.
        ("KV-ACC-004", "kv-eth-signer:access-policy:?", "UNKNOWN"),
        ("KV-VER-001", "eth-signer-api", "FAIL"),
        ("KV-VER-001", "eth-signer-func", "UNKNOWN"),
    ]


def test_terraform_container_app_web_app_and_ci_identities() -> None:
    root = FIXTURES / "terraform"
    inv, errors = load_terraform([root], root)
    assert errors == []
    assert references(inv) == [
        ("Microsoft.App/containerApps", "signer", "codesign", None, False, "sign", ()),
        ("Microsoft.Web/sites", "verifier", "codesign", None, None, "sign", ("key_uri", "key_version", "pinned")),
    ]
    kv = "/subscriptions/iac~./resourcegroups/rg-signing/providers/microsoft.keyvault/vaults/kv-codesign"
    common = [
        ("KV-ACC-004", f"Key Vault Crypto User@{kv}", "FAIL"),
        ("KV-ACC-004", f"Key Vault Crypto User@{kv}/keys/codesign", "PASS"),
        ("KV-VER-001", "signer", "FAIL"),
        ("KV-VER-001", "verifier", "UNKNOWN"),
    ]
    assert results(inv) == common
    # The CI identity the policy lists holds Crypto User at /keys: it can unwrap with release-kek.
    policy = f'[rules.KV-ACC-009]\nci_principal_ids = ["{CI}"]\n'
    assert results(inv, policy) == sorted(
        [*common, ("KV-ACC-004", "hsm-release:/keys:3e243909-064c-6ac3-84e9-1c8bf8d6ad30", "FAIL")]
    )


def test_settings_without_a_vault_or_with_unknown_names_make_no_reference(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "name" {\n  type = string\n}\n'
        'resource "azurerm_linux_function_app" "f" {\n'
        '  name = "f"\n  resource_group_name = "rg"\n  location = "westeurope"\n'
        '  service_plan_id = "p"\n  storage_account_name = "s"\n  site_config {}\n'
        "  app_settings = {\n"
        '    SIGNER_VAULT_URL = "https://example.com/"\n    SIGNER_KEY_NAME = "k"\n'
        '    (var.name) = "https://kv.vault.azure.net/"\n'
        "  }\n}\n"
    )
    inv, errors = load_terraform([tmp_path], tmp_path)
    assert errors == []
    assert inv.tables["key_references"].empty


def test_the_same_findings_from_a_snapshot_of_each_iac_inventory(tmp_path: Path) -> None:
    """A snapshot keeps what the verdicts rest on: unresolved columns stay unknown after a save."""
    loaded = [
        load_bicep([FIXTURES / "bicep" / "main.bicep"], FIXTURES / "bicep")[0],
        load_arm([FIXTURES / "arm" / "azuredeploy.json"], FIXTURES / "arm")[0],
        load_terraform([FIXTURES / "terraform"], FIXTURES / "terraform")[0],
    ]
    for index, inv in enumerate(loaded):
        path = tmp_path / f"{index}.json"
        snapshot.save(inv, path)
        assert results(snapshot.load(path)) == results(inv)


def test_snapshot_of_an_artifact_signing_hsm_without_consumers(tmp_path: Path) -> None:
    """Safeguard 003: 'build agents ... Crypto User on the specific signing key, with permission for
    sign but not decrypt or unwrapKey'. Nothing in this snapshot uses a key: the grants alone show
    who signs."""
    hsm = vault("myorg-mhsm", hsm=True)
    records = {
        "vaults": [hsm],
        "keys": [
            key(hsm, "codesign-prod-2026", kty="EC-HSM", curve="P-384", key_ops=["sign", "verify"]),
            key(hsm, "dek-wrap", kty="oct-HSM", key_size=256, key_ops=["wrapKey", "unwrapKey"]),
        ],
        "role_assignments": [
            hsm_role(hsm, "build-on-key", "/keys/codesign-prod-2026", HSM_USER, "build-agent"),
            hsm_role(hsm, "release-at-root", "/", HSM_USER, "release-agent"),
            hsm_role(hsm, "nightly-custom", "/keys", "ffffffff-0000-0000-0000-000000000000", "build-agent"),
        ],
    }
    path = tmp_path / "003.json"
    snapshot.save(Inventory.from_records(records), path)
    policy = '[[profiles.assign]]\nkey = "codesign-*"\nprofile = "artifact-signing"\n'
    assert results(snapshot.load(path), policy) == [
        ("KV-ACC-004", "myorg-mhsm:/:release-at-root", "FAIL"),
        ("KV-ACC-004", "myorg-mhsm:/keys/codesign-prod-2026:build-on-key", "PASS"),
        ("KV-ACC-004", "myorg-mhsm:/keys:nightly-custom", "UNKNOWN"),
    ]
