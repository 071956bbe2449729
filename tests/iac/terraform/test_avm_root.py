"""A root module calling a vault module shaped like Azure Verified Modules avm-res-keyvault-vault
(tests/fixtures/terraform/avm_root): ``keys = { ... }`` as a map of objects with ``optional()``
defaults, a key submodule per key through ``for_each`` over a local built from the map, role
assignments by map, a lock gated by ``count``, ``depends_on`` and a ``moved`` block. The findings
are exact, over the whole rule catalogue."""

from __future__ import annotations

import shutil

import pandas as pd

from kvaudit.rules.engine import evaluate
from kvaudit.scanner.iac.terraform import load_terraform

from .helpers import REPO, rows

ROOT = REPO / "tests" / "fixtures" / "terraform" / "avm_root"
NOW = pd.Timestamp("2026-06-01", tz="UTC")


def _load(path):
    inv, errors = load_terraform([path], path)
    assert [str(e) for e in errors] == []
    return inv


def _findings(inv):
    evaluation = evaluate(inv, now=NOW)
    return sorted(
        (outcome.rule.id, r["resource_name"], r["status"])
        for outcome in evaluation.outcomes
        for r in outcome.results.to_dict("records")
        if r["status"] in ("FAIL", "UNKNOWN", "ERROR")
    )


def test_keys_map_with_optional_defaults_expands_one_key_module_per_entry():
    inv = _load(ROOT)
    assert [
        (k["name"], k["kty"], k["key_size"], k["curve"], k["key_ops"], k["rotation_actions"], k["tags"], k["file"])
        for k in rows(inv, "keys")
    ] == [
        (
            "cmk-storage",
            "RSA",
            3072,
            None,
            ["wrapKey", "unwrapKey"],
            ["Rotate"],
            {"module": "key_vault"},
            "main.tf",
        ),
        # key_opts takes its optional() default; the rotation policy defaults to null: none
        (
            "signer",
            "EC",
            None,
            "P-256",
            ["sign", "verify"],
            [],
            {"module": "key_vault"},
            "main.tf",
        ),
    ]
    # Shown at the module call in the root, declared in the nested key module.
    assert [(k["line"], k["module"], k["declared_file"]) for k in rows(inv, "keys")] == [
        (6, 'module.key_vault.module.keys["cmk_for_storage"]', "modules/vault/modules/key/main.tf"),
        (6, 'module.key_vault.module.keys["signer"]', "modules/vault/modules/key/main.tf"),
    ]
    (vault,) = rows(inv, "vaults")
    # network_acls: bypass and ip_rules given, default_action from optional(string, "Deny")
    assert (vault["network_bypass"], vault["network_default_action"], vault["ip_rules"]) == (
        "AzureServices",
        "Deny",
        ["203.0.113.7/32"],
    )
    (grant,) = rows(inv, "role_assignments")
    assert (grant["role_name"], grant["principal_id"], grant["unresolved"]) == (
        "Key Vault Administrator",
        None,  # the deployer's object id is read at apply time
        ["principal_id"],
    )


def test_findings_are_exact():
    assert _findings(_load(ROOT)) == [
        ("KV-LIFE-001", "kv-avm-root/cmk-storage", "FAIL"),
        ("KV-LIFE-001", "kv-avm-root/signer", "FAIL"),
        ("KV-LIFE-004", "kv-avm-root/signer", "FAIL"),
        ("KV-LOG-001", "kv-avm-root", "FAIL"),
        ("KV-NET-001", "kv-avm-root", "FAIL"),
        ("KV-NET-003", "kv-avm-root", "FAIL"),
        # Neither key declares a purpose: the default profile wants HSM-backed keys (low).
        ("KV-TIER-002", "kv-avm-root/cmk-storage", "FAIL"),
        ("KV-TIER-002", "kv-avm-root/signer", "FAIL"),
    ]


def test_keys_from_a_root_variable_without_a_value_are_unknown_not_absent(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(ROOT, root)
    text = (root / "main.tf").read_text()
    start = text.index("  keys = {")
    end = text.index("  role_assignments = {")
    (root / "main.tf").write_text(
        text[:start] + "  keys = var.keys\n" + text[end:] + '\nvariable "keys" {\n  type = any\n}\n'
    )
    inv = _load(root)
    (key,) = rows(inv, "keys")  # one key of unknown name stands for the unknown map
    assert (key["name"], key["kty"], key["rotation_policy_present"]) == (None, None, None)
    assert _findings(inv) == [
        ("KV-KEY-001", "kv-avm-root/?", "UNKNOWN"),
        ("KV-KEY-005", "kv-avm-root/?", "UNKNOWN"),
        # the key module never sets an expiration date: whichever keys the map holds, none expires
        ("KV-LIFE-001", "kv-avm-root/?", "FAIL"),
        ("KV-LIFE-004", "kv-avm-root/?", "UNKNOWN"),
        ("KV-LOG-001", "kv-avm-root", "FAIL"),
        ("KV-NET-001", "kv-avm-root", "FAIL"),
        ("KV-NET-003", "kv-avm-root", "FAIL"),
        ("KV-TIER-002", "kv-avm-root/?", "UNKNOWN"),
    ]


def test_module_count_zero_two_and_unknown(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(ROOT / "modules", root / "modules")
    common = 'location = "westeurope"\n  resource_group_name = "rg-count"\n  tenant_id = "00000000-0000-0000-0000-0000000000aa"'
    (root / "main.tf").write_text(
        'variable "enabled" {\n  type = bool\n}\n'
        f'module "off" {{\n  source = "./modules/vault"\n  count = 0\n  name = "kv-off"\n  {common}\n}}\n'
        f'module "two" {{\n  source = "./modules/vault"\n  count = 2\n  name = "kv-two-${{count.index}}"\n  {common}\n'
        '  lock = { kind = "CanNotDelete" }\n}\n'
        # an unknown count is one instance that may exist, judged as declared, never dropped
        f'module "maybe" {{\n  source = "./modules/vault"\n  count = var.enabled ? 1 : 0\n  name = "kv-maybe"\n  {common}\n}}\n'
    )
    inv = _load(root)
    assert [v["name"] for v in rows(inv, "vaults")] == ["kv-two-0", "kv-two-1", "kv-maybe"]
