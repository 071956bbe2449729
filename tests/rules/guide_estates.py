"""The deployments of shared/deployment-guides (beside the repository), modelled as estates exactly as each guide
describes them. ``python -m tests.rules.guide_estates`` writes them to
tests/fixtures/snapshots/ (a test keeps the files and this module in step); the acceptance
tests then apply each guide's documented mistakes to these records."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from kvaudit.scanner.inventory import Inventory, SourceInfo
from kvaudit.scanner.snapshot import to_document
from tests.rules.builders import (
    HSM_ADMIN,
    HSM_OFFICER,
    HSM_USER,
    access_policy,
    diag,
    hsm_role,
    key,
    private_endpoint,
    ref,
    vault,
    version,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"
Records = dict[str, list[dict[str, Any]]]


def hardened(v: dict[str, Any]) -> Records:
    """Audit logs and an approved private endpoint: the guides' perimeter, so that the
    acceptance cases isolate what each guide is about."""
    return {"diagnostic_settings": [diag(v, "audit")], "private_endpoints": [private_endpoint(v, "pe", "Approved")]}


def _merge(*parts: Records) -> Records:
    out: Records = {}
    for part in parts:
        for table, rows in part.items():
            out.setdefault(table, []).extend(rows)
    return out


def bootstrap_signer() -> tuple[Records, str]:
    """000: Yutha's bootstrap signer, Ed25519 on Managed HSM, Crypto User on the key, pinned."""
    hsm = vault("yutha-hsm", hsm=True, soft_delete_retention_days=28)
    k = key(
        hsm,
        "bootstrap",
        kty="OKP-HSM",
        curve="Ed25519",
        key_size=None,
        key_ops=["sign", "verify"],
        current_version="a1b2c3d4",
    )
    records = _merge(
        hardened(hsm),
        {
            "vaults": [hsm],
            "keys": [k],
            "key_versions": [version(k, "a1b2c3d4")],
            "role_assignments": [
                *[hsm_role(hsm, f"admin{i}", "/", HSM_ADMIN, f"admin-{i}", principal_type="User") for i in (1, 2, 3)],
                hsm_role(hsm, "yutha-sp", "/keys/bootstrap", HSM_USER, "yutha-sp"),
            ],
            "key_references": [ref("yutha-control-plane", k, "a1b2c3d4", "sign", "yutha-sp", consumer_type="env")],
        },
    )
    policy = '[[profiles.assign]]\nvault = "yutha-*"\nkey = "bootstrap"\nprofile = "ed25519-signer"\n'
    return records, policy


def key_wrapping() -> tuple[Records, str]:
    """001: Defakto's AES-256 KEK on Managed HSM; Crypto User granted at "/"."""
    hsm = vault("my-managed-hsm", hsm=True)
    k = key(hsm, "defakto-wrapping-key", kty="oct-HSM", key_size=256, key_ops=["encrypt", "decrypt"])
    records = _merge(
        hardened(hsm),
        {
            "vaults": [hsm],
            "keys": [k],
            "key_versions": [version(k, "v2")],
            "role_assignments": [
                hsm_role(hsm, "admin", "/", HSM_ADMIN, "operator", principal_type="User"),
                hsm_role(hsm, "trust-domain", "/", HSM_USER, "trust-domain-server"),
            ],
            "key_references": [
                ref("spirl-system", k, None, "wrap", "trust-domain-server", consumer_type="helm-values")
            ],
        },
    )
    return records, ""


SKR_POLICY = {
    "version": "1.0.0",
    "anyOf": [
        {
            "authority": "https://sharedeus2.eus2.attest.azure.net",
            "allOf": [
                {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"},
                {"claim": "x-ms-isolation-tee.x-ms-compliance-status", "equals": "azure-compliant-cvm"},
            ],
        }
    ],
}


def secure_key_release() -> tuple[Records, str]:
    """002: SKR keys for SEV-SNP confidential VMs plus a BYOK KEK, behind a private endpoint."""
    hsm = vault("kv-mhsm-prod", hsm=True)
    byok = key(hsm, "byok-kek", kty="RSA-HSM", key_size=4096, key_ops=["import"])
    cvm = key(
        hsm,
        "cvm-data-key",
        kty="RSA-HSM",
        key_size=3072,
        key_ops=["wrapKey", "unwrapKey"],
        exportable=True,
        release_policy=SKR_POLICY,
        release_policy_immutable=True,
    )
    records = _merge(
        hardened(hsm),
        {
            "vaults": [hsm],
            "keys": [byok, cvm],
            "key_versions": [version(byok, "v2"), version(cvm, "v2")],
            "role_assignments": [
                hsm_role(hsm, "admin", "/", HSM_ADMIN, "security-admin", principal_type="User"),
                hsm_role(hsm, "app", "/keys", HSM_USER, "app-identity"),
                hsm_role(hsm, "import", "/keys", HSM_OFFICER, "key-import-pipeline"),
            ],
        },
    )
    policy = '[[profiles.assign]]\nvault = "kv-mhsm-prod"\nkey = "cvm-*"\nprofile = "skr-release"\n'
    return records, policy


def artifact_signing() -> tuple[Records, str]:
    """003: a CI signing key on Managed HSM; build agents sign, a human Crypto Officer manages."""
    hsm = vault("myorg-mhsm", hsm=True)
    k = key(hsm, "codesign-prod-2026", kty="EC-HSM", curve="P-384", key_size=None, key_ops=["sign", "verify"])
    records = _merge(
        hardened(hsm),
        {
            "vaults": [hsm],
            "keys": [k],
            "key_versions": [version(k, "v2")],
            "role_assignments": [
                hsm_role(hsm, "admin", "/", HSM_ADMIN, "hsm-admin", principal_type="User"),
                hsm_role(hsm, "build", "/keys/codesign-prod-2026", HSM_USER, "build-agent"),
                hsm_role(
                    hsm, "custodian", "/keys/codesign-prod-2026", HSM_OFFICER, "key-custodian", principal_type="User"
                ),
            ],
            "key_references": [ref("notation-pipeline", k, "v2", "sign", "build-agent", consumer_type="ci-pipeline")],
        },
    )
    policy = '[[profiles.assign]]\nvault = "myorg-mhsm"\nkey = "codesign-*"\nprofile = "artifact-signing"\n'
    return records, policy


def ethereum_signer() -> tuple[Records, str]:
    """004: Kaleido's secp256k1 signer in a premium vault with a get/list/sign/verify access policy."""
    kv = vault("kaleido-signer", rbac_authorization_enabled=False)
    k = key(kv, "eth-account-1", kty="EC-HSM", curve="P-256K", key_size=None, key_ops=["sign", "verify"])
    records = _merge(
        hardened(kv),
        {
            "vaults": [kv],
            "keys": [k],
            "key_versions": [version(k, "v2")],
            "access_policies": [access_policy(kv, "kaleido-app", ["Get", "List", "Sign", "Verify"])],
            "key_references": [ref("kaleido-cloudhsm", k, "v2", "sign", "kaleido-app", consumer_type="kaleido-config")],
        },
    )
    return records, ""


GUIDES = {
    "000_bootstrap_signer": bootstrap_signer,
    "001_key_wrapping": key_wrapping,
    "002_secure_key_release": secure_key_release,
    "003_artifact_signing": artifact_signing,
    "004_ethereum_signer": ethereum_signer,
}


def inventory_of(records: Records) -> Inventory:
    return Inventory.from_records(copy.deepcopy(records), sources=[SourceInfo("snapshot", "deployment guide", None)])


def snapshot_document(records: Records) -> dict[str, Any]:
    doc = json.loads(json.dumps(to_document(inventory_of(records)), sort_keys=True, default=str))
    doc.pop("created", None)
    return doc


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, build in GUIDES.items():
        records, policy = build()
        target = FIXTURES / f"{name}.json"
        target.write_text(json.dumps(snapshot_document(records), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        (FIXTURES / f"{name}.policy.toml").write_text(policy, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
