"""Acceptance cases from shared/deployment-guides: each deployment as described, then once
per documented mistake, asserting exactly which (rule, resource) results stop passing.

The described estates live in tests/fixtures/snapshots/ (written by tests/rules/guide_estates.py);
each mistake is applied to the same records, so the difference in findings is the mistake's.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kvaudit.rules.engine import evaluate
from kvaudit.scanner import snapshot
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.policy import parse
from tests.rules.builders import HSM_OFFICER, NOW, hsm_role, key, vault, version
from tests.rules.guide_estates import FIXTURES, GUIDES, Records, hardened, inventory_of, snapshot_document

NOT_PASSING = ("FAIL", "UNKNOWN", "ERROR")


def findings(inv: Inventory, policy_text: str) -> set[tuple[str, str, str]]:
    """(rule id, resource name, status) for every result that is not a PASS or NOT_APPLICABLE."""
    evaluation = evaluate(inv, parse(policy_text, "policy.toml"), now=NOW)
    out = set()
    for outcome in evaluation.outcomes:
        df = outcome.results
        for name, status in zip(df["resource_name"], df["status"], strict=True):
            if status in NOT_PASSING:
                out.add((outcome.rule.id, str(name), str(status)))
    return out


def edit(records: Records, table: str, name: str, **changes: Any) -> Records:
    """A copy of ``records`` with the row of ``table`` named ``name`` changed."""
    out = copy.deepcopy(records)
    rows = [
        r for r in out[table] if name in (r.get("name"), r.get("consumer_name"), r.get("object_id"), r.get("version"))
    ]
    assert len(rows) == 1, (table, name)
    rows[0].update(changes)
    return out


def add(records: Records, table: str, *rows: dict[str, Any]) -> Records:
    out = copy.deepcopy(records)
    out.setdefault(table, []).extend(rows)
    return out


BASELINE: dict[str, set[tuple[str, str, str]]] = {
    # Retention 28 days as in the guide's `az keyvault create --retention-days 28`.
    "000_bootstrap_signer": {("KV-REC-002", "yutha-hsm", "FAIL"), ("KV-LOG-003", "yutha-hsm", "UNKNOWN")},
    # The guide grants Crypto User at "/": over-broad unless the HSM is declared dedicated.
    "001_key_wrapping": {
        ("KV-ACC-001", "my-managed-hsm:/:trust-domain", "FAIL"),
        ("KV-LOG-003", "my-managed-hsm", "UNKNOWN"),
    },
    # The guide assigns Crypto User and Crypto Officer at /keys.
    "002_secure_key_release": {
        ("KV-ACC-001", "kv-mhsm-prod:/keys:app", "FAIL"),
        ("KV-ACC-001", "kv-mhsm-prod:/keys:import", "FAIL"),
        ("KV-LOG-003", "kv-mhsm-prod", "UNKNOWN"),
    },
    "003_artifact_signing": {("KV-LOG-003", "myorg-mhsm", "UNKNOWN")},
    # The guide configures vault access policies rather than Azure RBAC.
    "004_ethereum_signer": {("KV-ACC-006", "kaleido-signer", "FAIL"), ("KV-LOG-003", "kaleido-signer", "UNKNOWN")},
}


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_fixture_snapshot_matches_its_builder(guide: str) -> None:
    records, policy = GUIDES[guide]()
    stored = json.loads((FIXTURES / f"{guide}.json").read_text(encoding="utf-8"))
    stored.pop("created", None)
    assert stored == snapshot_document(records), "run python -m tests.rules.guide_estates"
    assert (FIXTURES / f"{guide}.policy.toml").read_text(encoding="utf-8") == policy


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_deployment_as_described(guide: str) -> None:
    policy = (FIXTURES / f"{guide}.policy.toml").read_text(encoding="utf-8")
    assert findings(snapshot.load(FIXTURES / f"{guide}.json"), policy) == BASELINE[guide]


def _std_vault_bootstrap(records: Records) -> Records:
    """The control plane pointed at a standard vault, where only a software EC key could be made."""
    kv = vault("yutha-kv", sku="standard")
    k = key(kv, "bootstrap", kty="EC", curve="P-256", key_size=None, key_ops=["sign", "verify"], current_version="e5f6")
    out = add(records, "vaults", kv)
    out = add(out, "keys", k)
    out = add(out, "key_versions", version(k, "e5f6"))
    out = add(out, "diagnostic_settings", *[r for r in hardened(kv)["diagnostic_settings"]])
    out = add(out, "private_endpoints", *hardened(kv)["private_endpoints"])
    return edit(
        out,
        "key_references",
        "yutha-control-plane",
        key_uri=f"{k['kid']}/e5f6",
        vault_host="yutha-kv.vault.azure.net",
        vault_id=kv["id"],
        key_id=k["id"],
        key_version="e5f6",
    )


def _rotated_and_disabled(records: Records) -> Records:
    out = edit(records, "key_versions", "a1b2c3d4", enabled=False)
    bootstrap = next(k for k in out["keys"] if k["name"] == "bootstrap")
    bootstrap["current_version"] = "f9e8d7c6"
    return add(out, "key_versions", version(bootstrap, "f9e8d7c6"))


MISTAKES: list[tuple[str, str, Callable[[Records], Records], str | None, set[tuple[str, str, str]]]] = [
    (
        "000_bootstrap_signer",
        "consumer pointed at a standard vault",
        _std_vault_bootstrap,
        None,
        {
            ("KV-TIER-001", "yutha-kv/bootstrap", "FAIL"),
            ("KV-TIER-002", "yutha-kv/bootstrap", "FAIL"),
            ("KV-TIER-003", "yutha-kv/bootstrap", "FAIL"),
            ("KV-TIER-004", "yutha-control-plane", "FAIL"),
            ("KV-KEY-002", "yutha-kv/bootstrap", "FAIL"),
            ("KV-LOG-003", "yutha-kv", "UNKNOWN"),
        },
    ),
    (
        "000_bootstrap_signer",
        "an RSA key instead of Ed25519",
        lambda r: edit(r, "keys", "bootstrap", kty="RSA-HSM", curve=None, key_size=3072),
        None,
        {("KV-KEY-002", "yutha-hsm/bootstrap", "FAIL")},
    ),
    (
        "000_bootstrap_signer",
        "the version is not pinned",
        lambda r: edit(r, "key_references", "yutha-control-plane", key_version=None, pinned=False),
        None,
        {("KV-VER-001", "yutha-control-plane", "FAIL")},
    ),
    (
        "000_bootstrap_signer",
        "the pinned version was disabled after rotation",
        _rotated_and_disabled,
        None,
        {("KV-VER-002", "yutha-control-plane", "FAIL")},
    ),
    (
        "000_bootstrap_signer",
        "Crypto User at / instead of /keys/bootstrap",
        lambda r: edit(r, "role_assignments", "yutha-sp", scope="/"),
        None,
        {("KV-ACC-001", "yutha-hsm:/:yutha-sp", "FAIL")},
    ),
    (
        "001_key_wrapping",
        "the HSM is declared dedicated to the trust domain server",
        lambda r: r,
        '[managed_hsm]\ndedicated = ["my-managed-hsm"]\n',
        set(),
    ),
    (
        "001_key_wrapping",
        "an AES-128 key",
        lambda r: edit(r, "keys", "defakto-wrapping-key", key_size=128),
        None,
        {
            ("KV-KEY-002", "my-managed-hsm/defakto-wrapping-key", "FAIL"),
            ("KV-KEY-004", "my-managed-hsm/defakto-wrapping-key", "FAIL"),
        },
    ),
    (
        "002_secure_key_release",
        "release policy without the SEV-SNP claims",
        lambda r: edit(
            r,
            "keys",
            "cvm-data-key",
            release_policy={"version": "1.0.0", "anyOf": [{"authority": "https://maa", "allOf": []}]},
        ),
        None,
        {("KV-KEY-007", "kv-mhsm-prod/cvm-data-key", "FAIL")},
    ),
    (
        "002_secure_key_release",
        "a mutable release policy",
        lambda r: edit(r, "keys", "cvm-data-key", release_policy_immutable=False),
        None,
        {("KV-KEY-008", "kv-mhsm-prod/cvm-data-key", "FAIL")},
    ),
    (
        "002_secure_key_release",
        "exportable without a release policy",
        lambda r: edit(r, "keys", "cvm-data-key", release_policy=None, release_policy_immutable=None),
        None,
        {("KV-KEY-006", "kv-mhsm-prod/cvm-data-key", "FAIL")},
    ),
    (
        "002_secure_key_release",
        "the administrator is also Crypto Officer",
        lambda r: add(
            r,
            "role_assignments",
            hsm_role(r["vaults"][0], "admin-officer", "/keys/cvm-data-key", HSM_OFFICER, "security-admin"),
        ),
        None,
        {("KV-ACC-003", "kv-mhsm-prod:/keys/cvm-data-key:admin-officer", "FAIL")},
    ),
    (
        "002_secure_key_release",
        "purge protection left off",
        lambda r: edit(r, "vaults", "kv-mhsm-prod", purge_protection_enabled=False),
        None,
        {("KV-REC-003", "kv-mhsm-prod", "FAIL")},
    ),
    (
        "003_artifact_signing",
        "the signing key can also decrypt",
        lambda r: edit(r, "keys", "codesign-prod-2026", key_ops=["sign", "verify", "decrypt", "unwrapKey"]),
        None,
        {
            ("KV-ACC-004", "myorg-mhsm:/keys/codesign-prod-2026:build", "FAIL"),
            ("KV-KEY-005", "myorg-mhsm/codesign-prod-2026", "FAIL"),
        },
    ),
    (
        "003_artifact_signing",
        "the build agent holds Crypto Officer",
        lambda r: add(
            r,
            "role_assignments",
            hsm_role(r["vaults"][0], "build-officer", "/keys/codesign-prod-2026", HSM_OFFICER, "build-agent"),
        ),
        None,
        {("KV-ACC-009", "myorg-mhsm:/keys/codesign-prod-2026:build-officer", "FAIL")},
    ),
    (
        "003_artifact_signing",
        "the signing key is software-protected",
        lambda r: edit(r, "keys", "codesign-prod-2026", kty="EC"),
        None,
        {("KV-TIER-002", "myorg-mhsm/codesign-prod-2026", "FAIL")},
    ),
    (
        "004_ethereum_signer",
        "the secp256k1 key is software-protected",
        lambda r: edit(r, "keys", "eth-account-1", kty="EC"),
        None,
        {
            ("KV-TIER-002", "kaleido-signer/eth-account-1", "FAIL"),
            ("KV-KEY-002", "kaleido-signer/eth-account-1", "FAIL"),
        },
    ),
    (
        "004_ethereum_signer",
        "the signer's access policy goes beyond get, list, sign and verify",
        lambda r: edit(
            r, "access_policies", "kaleido-app", key_permissions=["Get", "List", "Sign", "Verify", "Delete", "Backup"]
        ),
        None,
        {("KV-ACC-010", "kaleido-signer:access-policy:kaleido-app", "FAIL")},
    ),
]


@pytest.mark.parametrize(
    ("guide", "mistake", "apply", "policy_override", "expected"), MISTAKES, ids=[f"{m[0]}: {m[1]}" for m in MISTAKES]
)
def test_documented_mistake(
    guide: str, mistake: str, apply: Callable[[Records], Records], policy_override: str | None, expected: set
) -> None:
    records, policy = GUIDES[guide]()
    if policy_override is not None:
        policy = policy + policy_override
        described = findings(inventory_of(records), policy)
        assert described == {f for f in BASELINE[guide] if f[0] != "KV-ACC-001"}
        return
    changed = findings(inventory_of(apply(records)), policy)
    assert changed - BASELINE[guide] == expected
    assert BASELINE[guide] - changed == set()


def test_guides_cover_every_documented_profile() -> None:
    profiles = set()
    for name in GUIDES:
        records, policy = GUIDES[name]()
        evaluation = evaluate(inventory_of(records), parse(policy, "p.toml"), now=NOW)
        profiles |= set(evaluation.profiles["profile"].dropna())
    assert profiles == {"ed25519-signer", "aes-kek", "skr-release", "byok-kek", "artifact-signing", "ethereum-signer"}


def test_fixture_directory_holds_only_the_guides() -> None:
    names = {p.name for p in Path(FIXTURES).iterdir()}
    assert names == {f"{g}.json" for g in GUIDES} | {f"{g}.policy.toml" for g in GUIDES}
