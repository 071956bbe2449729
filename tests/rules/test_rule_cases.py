"""Pass, fail and unknown fixtures for every rule, with the exact results expected per resource.

Each case runs one rule alone over a small inline inventory; the expected list names every
resource the rule reports on and its status, so a rule that starts reporting extra resources,
or flips a status, fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from kvaudit.rules.registry import all_rules
from kvaudit.scanner.reference import builtin_role
from tests.rules.builders import (
    HSM_ADMIN,
    HSM_OFFICER,
    HSM_USER,
    RG,
    SUB,
    access_policy,
    azure_role,
    diag,
    hsm_role,
    inventory,
    key,
    private_endpoint,
    ref,
    results,
    vault,
    version,
)

KV, KV2, KV3, KV4 = vault("kv1"), vault("kv2"), vault("kv3"), vault("kv4")
HSM = vault("hsm1", hsm=True)
SKR_CLAIMS = [
    {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"},
    {"claim": "x-ms-isolation-tee.x-ms-compliance-status", "equals": "azure-compliant-cvm"},
]


def _policy(claims: list[dict[str, str]]) -> dict[str, Any]:
    return {"version": "1.0.0", "anyOf": [{"authority": "https://maa", "allOf": claims}]}


def _builtin(row: dict[str, Any]) -> dict[str, Any]:
    """An Azure role assignment with the role definition id of its built-in role, as sources emit."""
    role = builtin_role(row["role_name"])
    assert role is not None
    return {**row, "role_definition_id": role.id}


def tag(profile: str) -> dict[str, str]:
    return {"kvaudit-profile": profile}


CASES: list[tuple[str, str, dict[str, list[dict[str, Any]]], str | None, list[tuple[str, str]]]] = [
    (
        "KV-REC-001",
        "soft delete",
        {"vaults": [KV, vault("kv2", soft_delete_enabled=False), vault("kv3", soft_delete_enabled=None)]},
        None,
        [("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "UNKNOWN")],
    ),
    (
        "KV-REC-002",
        "retention",
        {"vaults": [KV, vault("kv2", soft_delete_retention_days=7), vault("kv3", soft_delete_retention_days=None)]},
        None,
        [("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "UNKNOWN")],
    ),
    (
        "KV-REC-003",
        "purge protection",
        {"vaults": [KV, vault("kv2", purge_protection_enabled=False), vault("kv3", purge_protection_enabled=None)]},
        None,
        [("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "UNKNOWN")],
    ),
    (
        "KV-NET-001",
        "public access",
        {"vaults": [KV, vault("kv2", public_network_access="Enabled"), vault("kv3", public_network_access=None)]},
        None,
        [("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "UNKNOWN")],
    ),
    (
        "KV-NET-002",
        "firewall default action",
        {
            "vaults": [
                KV,
                vault("kv2", public_network_access="Enabled", network_default_action="Allow"),
                vault("kv3", public_network_access="Enabled", network_default_action=None),
                vault("kv4", public_network_access="Enabled"),
            ]
        },
        None,
        [("kv1", "NOT_APPLICABLE"), ("kv2", "FAIL"), ("kv3", "UNKNOWN"), ("kv4", "PASS")],
    ),
    (
        "KV-NET-003",
        "approved private endpoint",
        {
            "vaults": [KV, KV2, KV3, KV4],
            "private_endpoints": [
                private_endpoint(KV, "pe1", "Approved"),
                private_endpoint(KV2, "pe2", "Pending"),
                private_endpoint(KV4, "pe4", None),
            ],
        },
        None,
        [("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "FAIL"), ("kv4", "UNKNOWN")],
    ),
    (
        "KV-NET-004",
        "trusted services forbidden",
        {"vaults": [KV, vault("kv2", network_bypass="AzureServices"), vault("kv3", network_bypass=None)]},
        "[rules.KV-NET-004]\nforbid_trusted_services_bypass = true\n",
        [("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "UNKNOWN")],
    ),
    (
        "KV-NET-004",
        "trusted services allowed by default",
        {"vaults": [vault("kv2", network_bypass="AzureServices")]},
        None,
        [("kv2", "NOT_APPLICABLE")],
    ),
    (
        "KV-LOG-001",
        "audit diagnostic setting",
        {
            "vaults": [KV, KV2, KV3],
            "diagnostic_settings": [diag(KV, "audit"), diag(KV2, "metrics", []), diag(KV3, "unread", None)],
        },
        None,
        [("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "UNKNOWN")],
    ),
    (
        "KV-LOG-002",
        "storage retention",
        {
            "vaults": [KV],
            "diagnostic_settings": [
                diag(
                    KV,
                    "short",
                    [{"category": "AuditEvent", "enabled": True, "retention_days": 30}],
                    storage_account_id="/sa",
                ),
                diag(
                    KV,
                    "long",
                    [{"category_group": "audit", "enabled": True, "retention_days": 400}],
                    storage_account_id="/sa",
                ),
                diag(
                    KV,
                    "forever",
                    [{"category_group": "allLogs", "enabled": True, "retention_days": 0}],
                    storage_account_id="/sa",
                ),
                diag(
                    KV,
                    "unset",
                    [{"category_group": "audit", "enabled": True, "retention_days": None}],
                    storage_account_id="/sa",
                ),
                diag(KV, "workspace-only"),
            ],
        },
        None,
        [
            ("kv1/forever", "PASS"),
            ("kv1/long", "PASS"),
            ("kv1/short", "FAIL"),
            ("kv1/unset", "UNKNOWN"),
            ("kv1/workspace-only", "NOT_APPLICABLE"),
        ],
    ),
    (
        "KV-LOG-003",
        "no recent audit events",
        {
            "vaults": [KV, KV2, KV3, KV4, vault("kv5"), vault("kv6", source="bicep")],
            "diagnostic_settings": [
                diag(KV, "a"),
                diag(KV2, "a"),
                diag(KV3, "a"),
                diag(vault("kv5"), "a"),
                diag(vault("kv6"), "a"),
            ],
            "key_usage": [
                {"id": KV["id"], "vault_id": KV["id"], "last_event": "2026-11-20T00:00:00Z", "window_days": 30},
                {"id": KV2["id"], "vault_id": KV2["id"], "last_event": "2026-10-01T00:00:00Z", "window_days": 90},
                {"id": vault("kv5")["id"], "vault_id": vault("kv5")["id"], "event_count": 0, "window_days": 30},
            ],
        },
        None,
        [
            ("kv1", "PASS"),
            ("kv2", "FAIL"),
            ("kv3", "UNKNOWN"),
            ("kv4", "NOT_APPLICABLE"),
            ("kv5", "FAIL"),
            ("kv6", "NOT_APPLICABLE"),
        ],
    ),
    (
        "KV-TIER-001",
        "standard SKU",
        {
            "vaults": [KV, vault("std", sku="standard"), vault("nosku", sku=None)],
            "keys": [
                key(KV, "a", kty="EC-HSM", tags=tag("artifact-signing")),
                key(vault("std", sku="standard"), "b", kty="EC", tags=tag("artifact-signing")),
                key(vault("nosku"), "c", kty="EC-HSM", tags=tag("artifact-signing")),
                key(KV, "plain"),
            ],
        },
        None,
        [("kv1/a", "PASS"), ("kv1/plain", "NOT_APPLICABLE"), ("nosku/c", "UNKNOWN"), ("std/b", "FAIL")],
    ),
    (
        "KV-TIER-002",
        "software key",
        {
            "vaults": [KV],
            "keys": [
                key(KV, "a", kty="RSA", tags=tag("artifact-signing")),
                key(KV, "b", kty="RSA-HSM", tags=tag("artifact-signing")),
                key(KV, "c", kty=None, tags=tag("artifact-signing")),
                key(KV, "d", kty="RSA"),
            ],
        },
        None,
        # kv1/d has no declared purpose: the default profile fails a software key (at low
        # severity, tests/rules/test_default_profile.py).
        [("kv1/a", "FAIL"), ("kv1/b", "PASS"), ("kv1/c", "UNKNOWN"), ("kv1/d", "FAIL")],
    ),
    (
        "KV-TIER-002",
        "no profile asks for an HSM",
        {"vaults": [HSM], "keys": [key(HSM, "kek", kty="oct-HSM", key_size=256, key_ops=["wrapKey"])]},
        '[profiles.custom.aes-kek]\ntier = "any"\n',
        [("hsm1/kek", "NOT_APPLICABLE")],
    ),
    (
        "KV-TIER-003",
        "managed HSM only",
        {
            "vaults": [KV, HSM],
            "keys": [
                key(HSM, "okp", kty="OKP-HSM", curve="Ed25519", key_ops=["sign", "verify"]),
                key(KV, "tagged", kty="RSA", tags=tag("ed25519-signer")),
                key(vault("gone"), "orphan", kty="oct-HSM", key_size=256),
                key(KV, "rsa"),
            ],
        },
        None,
        [("gone/orphan", "UNKNOWN"), ("hsm1/okp", "PASS"), ("kv1/rsa", "NOT_APPLICABLE"), ("kv1/tagged", "FAIL")],
    ),
    (
        "KV-TIER-006",
        "standard vault holds only software keys",
        {
            "vaults": [
                KV,
                vault("std", sku="standard"),
                vault("std-signer", sku="standard"),
                vault("nosku", sku=None),
                HSM,
            ],
            "keys": [
                key(vault("std", sku="standard"), "app", kty="RSA"),
                key(vault("std-signer", sku="standard"), "sig", kty="EC", tags=tag("artifact-signing")),
            ],
        },
        None,
        [
            ("hsm1", "NOT_APPLICABLE"),
            ("kv1", "PASS"),
            ("nosku", "UNKNOWN"),
            ("std", "FAIL"),
            ("std-signer", "NOT_APPLICABLE"),
        ],
    ),
    (
        "KV-TIER-005",
        "security domain",
        {
            "vaults": [
                HSM,
                vault("hsm2", hsm=True, security_domain_activated=False),
                vault("hsm3", hsm=True, security_domain_activated=None),
                KV,
            ]
        },
        None,
        [("hsm1", "PASS"), ("hsm2", "FAIL"), ("hsm3", "UNKNOWN"), ("kv1", "NOT_APPLICABLE")],
    ),
    (
        "KV-KEY-001",
        "RSA size",
        {
            "vaults": [KV],
            "keys": [
                key(KV, "a", key_size=2048),
                key(KV, "b"),
                key(KV, "c", key_size=None),
                key(KV, "d", kty="EC-HSM", key_size=None),
            ],
        },
        None,
        [("kv1/a", "FAIL"), ("kv1/b", "PASS"), ("kv1/c", "UNKNOWN"), ("kv1/d", "NOT_APPLICABLE")],
    ),
    (
        "KV-KEY-002",
        "type matches profile",
        {
            "vaults": [HSM],
            "keys": [
                key(HSM, "good", kty="OKP-HSM", curve="Ed25519", key_size=None, tags=tag("ed25519-signer")),
                key(HSM, "rsa", kty="RSA-HSM", tags=tag("ed25519-signer")),
                key(HSM, "curve", kty="OKP-HSM", curve=None, key_size=None, tags=tag("ed25519-signer")),
                key(HSM, "none", kty="RSA-HSM"),
            ],
        },
        None,
        [("hsm1/curve", "UNKNOWN"), ("hsm1/good", "PASS"), ("hsm1/none", "NOT_APPLICABLE"), ("hsm1/rsa", "FAIL")],
    ),
    (
        "KV-KEY-003",
        "allowed curves",
        {
            "vaults": [KV],
            "keys": [
                key(KV, "p256", kty="EC-HSM", curve="P-256", key_size=None),
                key(KV, "p384", kty="EC-HSM", curve="P-384", key_size=None),
                key(KV, "nocurve", kty="EC-HSM", curve=None, key_size=None),
                key(KV, "rsa"),
            ],
        },
        '[rules.KV-KEY-003]\nallowed_curves = ["P-384", "P-521"]\n',
        [("kv1/nocurve", "UNKNOWN"), ("kv1/p256", "FAIL"), ("kv1/p384", "PASS"), ("kv1/rsa", "NOT_APPLICABLE")],
    ),
    (
        "KV-KEY-004",
        "oct size",
        {
            "vaults": [HSM],
            "keys": [
                key(HSM, "aes128", kty="oct-HSM", key_size=128),
                key(HSM, "aes256", kty="oct-HSM", key_size=256),
                key(HSM, "aes", kty="oct-HSM", key_size=None),
                key(HSM, "rsa"),
            ],
        },
        None,
        [("hsm1/aes", "UNKNOWN"), ("hsm1/aes128", "FAIL"), ("hsm1/aes256", "PASS"), ("hsm1/rsa", "NOT_APPLICABLE")],
    ),
    (
        "KV-KEY-005",
        "key ops within profile",
        {
            "vaults": [HSM],
            "keys": [
                key(HSM, "a", kty="EC-HSM", key_ops=["sign", "verify"], tags=tag("artifact-signing")),
                key(HSM, "b", kty="EC-HSM", key_ops=["sign", "decrypt"], tags=tag("artifact-signing")),
                key(HSM, "c", kty="EC-HSM", key_ops=None, tags=tag("artifact-signing")),
                key(HSM, "d", key_ops=["encrypt"]),
                key(HSM, "e", key_ops=["encrypt", "sign"]),
            ],
        },
        None,
        # d and e have the default profile: one purpose, so e's signing and encryption fail.
        [("hsm1/a", "PASS"), ("hsm1/b", "FAIL"), ("hsm1/c", "UNKNOWN"), ("hsm1/d", "PASS"), ("hsm1/e", "FAIL")],
    ),
    (
        "KV-KEY-005",
        "default profile tuned to allow mixing",
        {"vaults": [HSM], "keys": [key(HSM, "e", key_ops=["encrypt", "sign"])]},
        '[profiles.custom.default]\nextends = "default"\nsingle_purpose = false\n',
        [("hsm1/e", "NOT_APPLICABLE")],
    ),
    (
        "KV-KEY-006",
        "exportable without release policy",
        {
            "vaults": [HSM],
            "keys": [
                key(HSM, "bare", exportable=True),
                key(HSM, "gated", exportable=True, release_policy=_policy(SKR_CLAIMS)),
                key(HSM, "fixed", exportable=False),
                key(HSM, "unknown", exportable=None),
            ],
        },
        None,
        [("hsm1/bare", "FAIL"), ("hsm1/fixed", "PASS"), ("hsm1/gated", "PASS"), ("hsm1/unknown", "UNKNOWN")],
    ),
    (
        "KV-KEY-007",
        "release policy claims",
        {
            "vaults": [HSM],
            "keys": [
                key(HSM, "full", exportable=True, release_policy=_policy(SKR_CLAIMS)),
                key(HSM, "weak", exportable=True, release_policy=_policy(SKR_CLAIMS[:1])),
                key(
                    HSM,
                    "branchy",
                    exportable=True,
                    release_policy={"anyOf": [{"allOf": SKR_CLAIMS}, {"allOf": SKR_CLAIMS[:1]}]},
                ),
                key(HSM, "opaque", exportable=True, release_policy=["not", "a", "policy"], tags=tag("skr-release")),
                key(HSM, "none"),
            ],
        },
        None,
        [
            ("hsm1/branchy", "FAIL"),
            ("hsm1/full", "PASS"),
            ("hsm1/none", "NOT_APPLICABLE"),
            ("hsm1/opaque", "UNKNOWN"),
            ("hsm1/weak", "FAIL"),
        ],
    ),
    (
        "KV-KEY-008",
        "immutable release policy",
        {
            "vaults": [HSM],
            "keys": [
                key(HSM, "a", exportable=True, release_policy=_policy(SKR_CLAIMS), release_policy_immutable=True),
                key(HSM, "b", exportable=True, release_policy=_policy(SKR_CLAIMS), release_policy_immutable=False),
                key(HSM, "c", exportable=True, release_policy=_policy(SKR_CLAIMS), release_policy_immutable=None),
                key(HSM, "d"),
            ],
        },
        None,
        [("hsm1/a", "PASS"), ("hsm1/b", "FAIL"), ("hsm1/c", "UNKNOWN"), ("hsm1/d", "NOT_APPLICABLE")],
    ),
    (
        "KV-KEY-009",
        "unknown profile names",
        {
            "vaults": [KV],
            "keys": [
                key(KV, "a", tags=tag("byok-kek")),
                key(KV, "b", tags=tag("byok-kekk")),
                key(KV, "c"),
                key(KV, "d"),
            ],
        },
        '[[profiles.assign]]\nkey = "d"\nprofile = "nope"\n',
        [("kv1/a", "PASS"), ("kv1/b", "FAIL"), ("kv1/c", "NOT_APPLICABLE"), ("kv1/d", "FAIL")],
    ),
    (
        "KV-LIFE-001",
        "no expiry",
        {
            "vaults": [KV],
            "keys": [key(KV, "a"), key(KV, "b", expires=None), key(KV, "c", expires=None, kty=None, enabled=None)],
        },
        None,
        [("kv1/a", "PASS"), ("kv1/b", "FAIL"), ("kv1/c", "UNKNOWN")],
    ),
    (
        "KV-LIFE-002",
        "max validity",
        {
            "vaults": [KV],
            "keys": [
                key(KV, "a"),
                key(KV, "b", expires="2030-01-01T00:00:00Z"),
                key(KV, "c", expires=None, kty=None, enabled=None),
                key(KV, "d", expires=None),
            ],
        },
        None,
        [("kv1/a", "PASS"), ("kv1/b", "FAIL"), ("kv1/c", "UNKNOWN"), ("kv1/d", "NOT_APPLICABLE")],
    ),
    (
        "KV-LIFE-003",
        "expires soon",
        {
            "vaults": [KV],
            "keys": [
                key(KV, "a"),
                key(KV, "b", expires="2026-12-01T00:00:00Z"),
                key(KV, "c", expires=None, kty=None, enabled=None),
                key(KV, "d", expires="2026-12-01T00:00:00Z", enabled=False),
            ],
        },
        None,
        [("kv1/a", "PASS"), ("kv1/b", "FAIL"), ("kv1/c", "UNKNOWN"), ("kv1/d", "NOT_APPLICABLE")],
    ),
    (
        "KV-LIFE-004",
        "rotation policy",
        {
            "vaults": [KV],
            "keys": [
                key(KV, "a"),
                key(KV, "b", rotation_actions=["Notify"]),
                key(KV, "c", rotation_policy_present=False, rotation_actions=None),
                key(KV, "d", rotation_policy_present=None, rotation_actions=None),
            ],
        },
        None,
        [("kv1/a", "PASS"), ("kv1/b", "FAIL"), ("kv1/c", "FAIL"), ("kv1/d", "UNKNOWN")],
    ),
    (
        "KV-LIFE-005",
        "rotation age",
        {
            "vaults": [KV],
            "keys": [key(KV, "a"), key(KV, "b"), key(KV, "c", created=None)],
            "key_versions": [
                version(key(KV, "a"), "v1", created="2024-01-01T00:00:00Z"),
                version(key(KV, "a"), "v2", created="2026-06-01T00:00:00Z"),
                version(key(KV, "b"), "v1", created="2024-01-01T00:00:00Z"),
            ],
        },
        None,
        [("kv1/a", "PASS"), ("kv1/b", "FAIL"), ("kv1/c", "UNKNOWN")],
    ),
    (
        "KV-LIFE-006",
        "old enabled versions",
        {
            "vaults": [KV, vault("iac", source="bicep")],
            "keys": [key(KV, "a"), key(KV, "b"), key(KV, "c"), key(KV, "d"), key(vault("iac"), "e", source="bicep")],
            "key_versions": [
                *[version(key(KV, "a"), v) for v in ("v0", "v1", "v2")],
                *[version(key(KV, "b"), v) for v in ("v", "w", "x", "v2")],
                version(key(KV, "c"), "v0"),
                version(key(KV, "c"), "v1", enabled=None),
                version(key(KV, "c"), "v3", enabled=None),
                version(key(KV, "c"), "v2"),
            ],
        },
        None,
        [("iac/e", "NOT_APPLICABLE"), ("kv1/a", "PASS"), ("kv1/b", "FAIL"), ("kv1/c", "UNKNOWN"), ("kv1/d", "UNKNOWN")],
    ),
    (
        "KV-VER-001",
        "pinning",
        {
            "vaults": [KV],
            "keys": [key(KV, "k"), key(KV, "w")],
            "key_references": [
                ref("signer-pinned", key(KV, "k"), "v2", "sign"),
                ref("signer-floating", key(KV, "k"), None, "sign"),
                ref("wrapper", key(KV, "w"), None, "wrap"),
                ref("signer-unread", key(KV, "k"), None, "sign", pinned=None, key_uri=None),
                ref("wrapper-pinned-unread-key", key(KV, "unread"), "v7", "wrap"),
                ref("wrapper-floating-unread-key", key(KV, "unread"), None, "wrap"),
            ],
        },
        None,
        # The wrapper's key has no declared purpose: the default profile wants a pin from a
        # consumer that does not follow rotation itself (a Helm values file). A key that was not
        # read has an unknown profile: a pin meets whatever it requires, no pin may not.
        [
            ("signer-floating", "FAIL"),
            ("signer-pinned", "PASS"),
            ("signer-unread", "UNKNOWN"),
            ("wrapper", "FAIL"),
            ("wrapper-floating-unread-key", "UNKNOWN"),
            ("wrapper-pinned-unread-key", "PASS"),
        ],
    ),
    (
        "KV-VER-001",
        "key-wrapping profile needs no pin",
        {
            "vaults": [HSM],
            "keys": [key(HSM, "kek", kty="oct-HSM", key_size=256)],
            "key_references": [ref("wrapper", key(HSM, "kek", kty="oct-HSM"), None, "wrap")],
        },
        None,
        [("wrapper", "NOT_APPLICABLE")],
    ),
    (
        "KV-VER-002",
        "broken pins",
        {
            "vaults": [KV],
            "keys": [key(KV, "k"), key(KV, "unlisted")],
            "key_versions": [
                version(key(KV, "k"), "v2"),
                version(key(KV, "k"), "off", enabled=False),
                version(key(KV, "k"), "old", expires="2026-01-01T00:00:00Z"),
                version(key(KV, "k"), "unread", enabled=None),
            ],
            "key_references": [
                ref("good", key(KV, "k"), "v2", "wrap"),
                ref("disabled", key(KV, "k"), "off", "wrap"),
                ref("expired", key(KV, "k"), "old", "wrap"),
                ref("missing", key(KV, "k"), "nope", "wrap"),
                ref("deleted-key", key(KV, "gone"), "v1", "wrap"),
                ref("unread", key(KV, "k"), "unread", "wrap"),
                ref("not-listed", key(KV, "unlisted"), "v1", "wrap"),
                ref("floating", key(KV, "k"), None, "wrap"),
            ],
        },
        None,
        [
            ("deleted-key", "FAIL"),
            ("disabled", "FAIL"),
            ("expired", "FAIL"),
            ("floating", "NOT_APPLICABLE"),
            ("good", "PASS"),
            ("missing", "FAIL"),
            ("not-listed", "UNKNOWN"),
            ("unread", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-001",
        "HSM role scope",
        {
            "vaults": [HSM],
            "role_assignments": [
                hsm_role(HSM, "root", "/", HSM_USER, "p1"),
                hsm_role(HSM, "keys", "/Keys/", HSM_OFFICER, "p2"),
                hsm_role(HSM, "one", "/keys/k", HSM_USER, "p3"),
                hsm_role(HSM, "noscope", None, HSM_USER, "p4"),
                hsm_role(HSM, "admin", "/", HSM_ADMIN, "p5"),
            ],
        },
        None,
        [
            ("hsm1:/:admin", "NOT_APPLICABLE"),
            ("hsm1:/:root", "FAIL"),
            ("hsm1:/Keys/:keys", "FAIL"),
            ("hsm1:/keys/k:one", "PASS"),
            ("hsm1:?:noscope", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-001",
        "dedicated HSM",
        {"vaults": [HSM], "role_assignments": [hsm_role(HSM, "root", "/", HSM_USER, "p1")]},
        '[managed_hsm]\ndedicated = ["hsm1"]\n',
        [("hsm1:/:root", "PASS")],
    ),
    (
        "KV-ACC-002",
        "administrator count",
        {
            "vaults": [HSM, vault("hsm2", hsm=True), KV],
            "role_assignments": [
                *[hsm_role(HSM, f"a{i}", "/", HSM_ADMIN, f"admin-{i}") for i in range(4)],
                hsm_role(vault("hsm2", hsm=True), "a", "/", HSM_ADMIN, "admin-0"),
            ],
        },
        None,
        [("hsm1", "FAIL"), ("hsm2", "PASS"), ("kv1", "NOT_APPLICABLE")],
    ),
    (
        "KV-ACC-003",
        "administrator and officer",
        {
            "vaults": [HSM],
            "role_assignments": [
                hsm_role(HSM, "admin", "/", HSM_ADMIN, "alice"),
                hsm_role(HSM, "alice-officer", "/keys", HSM_OFFICER, "alice"),
                hsm_role(HSM, "bob-officer", "/keys", HSM_OFFICER, "bob"),
                hsm_role(HSM, "who-officer", "/keys", HSM_OFFICER, None),
            ],
        },
        None,
        [
            ("hsm1:/:admin", "NOT_APPLICABLE"),
            ("hsm1:/keys:alice-officer", "FAIL"),
            ("hsm1:/keys:bob-officer", "PASS"),
            ("hsm1:/keys:who-officer", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-003",
        "administrator list not read",
        {
            "vaults": [HSM],
            "role_assignments": [
                hsm_role(HSM, "admins-unread", "/", HSM_ADMIN, None),
                hsm_role(HSM, "alice-admin", "/", HSM_ADMIN, "alice"),
                hsm_role(HSM, "alice-officer", "/keys", HSM_OFFICER, "alice"),
                hsm_role(HSM, "bob-officer", "/keys", HSM_OFFICER, "bob"),
            ],
        },
        None,
        # Bob may be one of the administrators that could not be listed; Alice is one for certain.
        [
            ("hsm1:/:admins-unread", "NOT_APPLICABLE"),
            ("hsm1:/:alice-admin", "NOT_APPLICABLE"),
            ("hsm1:/keys:alice-officer", "FAIL"),
            ("hsm1:/keys:bob-officer", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-004",
        "signer can decrypt",
        {
            "vaults": [HSM, vault("legacy", rbac_authorization_enabled=False)],
            "keys": [
                key(HSM, "sign", kty="EC-HSM", key_ops=["sign", "verify"]),
                key(HSM, "kek", kty="oct-HSM", key_size=256, key_ops=["wrapKey", "unwrapKey"]),
                key(vault("legacy"), "old", kty="RSA", key_ops=["sign", "decrypt"]),
            ],
            "role_assignments": [
                hsm_role(HSM, "narrow", "/keys/sign", HSM_USER, "signer"),
                hsm_role(HSM, "broad", "/keys", HSM_USER, "signer"),
                hsm_role(HSM, "custom", "/keys", "ffffffff-0000-0000-0000-000000000000", "signer", role_name="Custom"),
                # Crypto User at "/" reaches the signing key too: its holder signs with it.
                hsm_role(HSM, "other", "/", HSM_USER, "wrapper"),
                hsm_role(HSM, "kek-only", "/keys/kek", HSM_USER, "kek-user"),
            ],
            "access_policies": [access_policy(vault("legacy"), "signer", ["get", "sign", "decrypt"])],
            "key_references": [ref("ci", key(HSM, "sign"), "v2", "sign", "signer")],
        },
        None,
        [
            ("hsm1:/:other", "FAIL"),
            ("hsm1:/keys/sign:narrow", "PASS"),
            ("hsm1:/keys:broad", "FAIL"),
            ("hsm1:/keys:custom", "UNKNOWN"),
            ("legacy:access-policy:signer", "FAIL"),
        ],
    ),
    (
        "KV-ACC-004",
        "signers from grants on a signing key, without key references",
        {
            "vaults": [HSM],
            "keys": [
                key(HSM, "codesign", kty="EC-HSM", curve="P-384", key_ops=["sign", "verify"], tags=tag("artifact-signing")),
                key(HSM, "kek", kty="oct-HSM", key_size=256, key_ops=["wrapKey", "unwrapKey"]),
            ],
            "role_assignments": [
                hsm_role(HSM, "build-sign", "/keys/codesign", HSM_USER, "build"),
                hsm_role(HSM, "build-kek", "/keys/kek", HSM_USER, "build"),
                hsm_role(HSM, "wide", "/", HSM_USER, "wide"),
                hsm_role(HSM, "wrapper", "/keys/kek", HSM_USER, "wrapper"),  # never signs: not judged
                hsm_role(HSM, "officer", "/keys/codesign", HSM_OFFICER, "officer"),  # manages, does not sign
                hsm_role(HSM, "officer-kek", "/keys/kek", HSM_USER, "officer"),
                # A custom role on the signing key: whether "maybe" signs is unknown.
                hsm_role(HSM, "maybe-sign", "/keys/codesign", "ffffffff-0000-0000-0000-000000000000", "maybe"),
                hsm_role(HSM, "maybe-kek", "/keys/kek", HSM_USER, "maybe"),
                # Unknown holders: one signs with the signing key, one may be any signer.
                hsm_role(HSM, "anon-sign", "/keys/codesign", HSM_USER, None),
                hsm_role(HSM, "anon-kek", "/keys/kek", HSM_USER, None),
            ],
        },
        None,
        [
            ("hsm1:/:wide", "FAIL"),
            ("hsm1:/keys/codesign:anon-sign", "PASS"),
            ("hsm1:/keys/codesign:build-sign", "PASS"),
            ("hsm1:/keys/kek:anon-kek", "UNKNOWN"),
            ("hsm1:/keys/kek:build-kek", "FAIL"),
            ("hsm1:/keys/kek:maybe-kek", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-004",
        "signers from Azure RBAC and access policies on signing keys",
        {
            "vaults": [KV, vault("legacy", rbac_authorization_enabled=False)],
            "keys": [
                key(KV, "release", kty="EC-HSM", curve="P-384", key_ops=["sign", "verify"], tags=tag("artifact-signing")),
                key(KV, "dek"),
                key(vault("legacy"), "eth", kty="EC-HSM", curve="P-256K", key_ops=["sign", "verify"]),
                key(vault("legacy"), "wrap"),
            ],
            "role_assignments": [
                _builtin(azure_role(KV["display_id"], "vault-user", "Key Vault Crypto User", "builder", KV["id"])),
                _builtin(
                    azure_role(f"{KV['display_id']}/keys/release", "key-user", "Key Vault Crypto User", "ci", KV["id"])
                ),
                _builtin(
                    azure_role(KV["display_id"], "wrapper", "Key Vault Crypto Service Encryption User", "disk", KV["id"])
                ),
                # Above the vault: an administrator's grant (KV-ACC-005), which makes no signer.
                _builtin(azure_role(RG, "rg-admin", "Key Vault Administrator", "admins")),
            ],
            "access_policies": [
                access_policy(vault("legacy"), "eth-signer", ["get", "list", "sign", "verify", "unwrapKey"]),
                access_policy(vault("legacy"), "eth-ok", ["get", "list", "sign", "verify"]),
                access_policy(vault("legacy"), "eth-unread", None),
            ],
        },
        None,
        [
            ("Key Vault Crypto User@" + KV["display_id"], "FAIL"),
            ("Key Vault Crypto User@" + KV["display_id"] + "/keys/release", "PASS"),
            ("legacy:access-policy:eth-ok", "PASS"),
            ("legacy:access-policy:eth-signer", "FAIL"),
            ("legacy:access-policy:eth-unread", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-004",
        "CI identities of the policy are signers",
        {
            "vaults": [HSM],
            "keys": [key(HSM, "kek", kty="oct-HSM", key_size=256, key_ops=["wrapKey", "unwrapKey"])],
            "role_assignments": [
                hsm_role(HSM, "ci-kek", "/keys/kek", HSM_USER, "ci-agent"),
                hsm_role(HSM, "ci-read", "/keys/kek", "ffffffff-0000-0000-0000-000000000000", "ci-agent"),
                hsm_role(HSM, "app-kek", "/keys/kek", HSM_USER, "app"),
            ],
        },
        '[rules.KV-ACC-009]\nci_principal_ids = ["CI-Agent"]\n',
        [("hsm1:/keys/kek:ci-kek", "FAIL"), ("hsm1:/keys/kek:ci-read", "UNKNOWN")],
    ),
    (
        "KV-ACC-005",
        "roles above the vault",
        {
            "vaults": [KV],
            "role_assignments": [
                azure_role(f"/subscriptions/{SUB}", "owner-sub", "Owner", "p1"),
                azure_role(RG, "kvadmin-rg", "Key Vault Administrator", "p2"),
                azure_role(KV["display_id"], "user-vault", "Key Vault Crypto User", "p3", KV["id"]),
                azure_role(f"/subscriptions/{SUB}", "reader-sub", "Reader", "p4"),
                azure_role("/subscriptions/empty", "owner-empty", "Owner", "p5"),
                azure_role("/providers/Microsoft.Management/managementGroups/mg", "contrib-mg", "Contributor", "p6"),
                {**azure_role(f"/subscriptions/{SUB}", "noscope", "Owner", "p7"), "scope": None},
            ],
        },
        None,
        [
            ("Contributor@/providers/Microsoft.Management/managementGroups/mg", "FAIL"),
            (f"Key Vault Administrator@{RG}", "FAIL"),
            (f"Key Vault Crypto User@{KV['display_id']}", "PASS"),
            ("Owner@/subscriptions/empty", "NOT_APPLICABLE"),
            (f"Owner@/subscriptions/{SUB}", "FAIL"),
            ("Owner@?", "UNKNOWN"),
            (f"Reader@/subscriptions/{SUB}", "NOT_APPLICABLE"),
        ],
    ),
    (
        "KV-ACC-006",
        "RBAC instead of access policies",
        {
            "vaults": [
                KV,
                vault("kv2", rbac_authorization_enabled=False),
                vault("kv3", rbac_authorization_enabled=None),
                HSM,
            ]
        },
        None,
        [("hsm1", "NOT_APPLICABLE"), ("kv1", "PASS"), ("kv2", "FAIL"), ("kv3", "UNKNOWN")],
    ),
    (
        "KV-ACC-007",
        "broad access policies",
        {
            "vaults": [KV],
            "access_policies": [
                access_policy(KV, "all", ["All"]),
                access_policy(KV, "purger", ["get", "purge"]),
                access_policy(KV, "signer", ["get", "sign"]),
                access_policy(KV, "unread", None),
            ],
        },
        None,
        [
            ("kv1:access-policy:all", "FAIL"),
            ("kv1:access-policy:purger", "FAIL"),
            ("kv1:access-policy:signer", "PASS"),
            ("kv1:access-policy:unread", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-008",
        "deleted principals",
        {
            "vaults": [HSM],
            "role_assignments": [
                hsm_role(HSM, "gone", "/keys/k", HSM_USER, "p1", principal_type="Unknown"),
                hsm_role(HSM, "here", "/keys/k", HSM_USER, "p2", principal_type="User"),
                hsm_role(HSM, "unread", "/keys/k", HSM_USER, "p3", principal_type=None),
            ],
        },
        None,
        [
            ("hsm1:/keys/k:gone", "FAIL"),
            ("hsm1:/keys/k:here", "PASS"),
            ("hsm1:/keys/k:unread", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-009",
        "CI crypto officer",
        {
            "vaults": [HSM, vault("hsm2", hsm=True)],
            "keys": [key(HSM, "codesign", kty="EC-HSM", key_ops=["sign", "verify"], tags=tag("artifact-signing"))],
            "role_assignments": [
                hsm_role(HSM, "ci", "/keys/codesign", HSM_OFFICER, "ci-agent"),
                hsm_role(HSM, "human", "/keys/codesign", HSM_OFFICER, "custodian"),
                hsm_role(HSM, "who", "/keys", HSM_OFFICER, None),
                hsm_role(vault("hsm2", hsm=True), "elsewhere", "/", HSM_OFFICER, "ci-agent"),
            ],
            "key_references": [ref("pipeline", key(HSM, "codesign"), "v2", "sign", "ci-agent")],
        },
        None,
        [
            ("hsm1:/keys/codesign:ci", "FAIL"),
            ("hsm1:/keys/codesign:human", "PASS"),
            ("hsm1:/keys:who", "UNKNOWN"),
        ],
    ),
    (
        "KV-ACC-010",
        "ethereum signer access",
        {
            "vaults": [vault("eth", rbac_authorization_enabled=False), KV],
            "keys": [key(vault("eth"), "tx", kty="EC-HSM", curve="P-256K", key_size=None, key_ops=["sign", "verify"])],
            "access_policies": [
                access_policy(vault("eth"), "kaleido", ["Get", "List", "Sign", "Verify"]),
                access_policy(vault("eth"), "ops", ["get", "list", "sign", "verify", "update"]),
                access_policy(vault("eth"), "unread", None),
                access_policy(KV, "other", ["all"]),
            ],
        },
        None,
        [
            ("eth:access-policy:kaleido", "PASS"),
            ("eth:access-policy:ops", "FAIL"),
            ("eth:access-policy:unread", "UNKNOWN"),
        ],
    ),
]

_TIER4_HSM_KEY = key(HSM, "okp", kty="OKP-HSM", curve="Ed25519", key_ops=["sign", "verify"])
CASES.append(
    (
        "KV-TIER-004",
        "consumer host for an Ed25519 key",
        {
            "vaults": [HSM],
            "keys": [_TIER4_HSM_KEY, key(HSM, "rsa")],
            "key_references": [
                ref("resolved", _TIER4_HSM_KEY, "v2", "sign"),
                ref(
                    "usgov-vault",
                    _TIER4_HSM_KEY,
                    "v2",
                    "sign",
                    vault_id=None,
                    vault_host="hsm1.vault.usgovcloudapi.net",
                ),
                ref("china-hsm", _TIER4_HSM_KEY, "v2", "sign", vault_id=None, vault_host="hsm1.managedhsm.azure.cn"),
                ref("odd-host", _TIER4_HSM_KEY, "v2", "sign", vault_id=None, vault_host="keys.example.com"),
                ref("rsa-user", key(HSM, "rsa"), None, "wrap"),
            ],
        },
        None,
        [
            ("china-hsm", "PASS"),
            ("odd-host", "UNKNOWN"),
            ("resolved", "PASS"),
            ("rsa-user", "NOT_APPLICABLE"),
            ("usgov-vault", "FAIL"),
        ],
    )
)


@pytest.mark.parametrize(
    ("rule_id", "label", "tables", "policy", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_rule_case(rule_id: str, label: str, tables: dict, policy: str | None, expected: list[tuple[str, str]]) -> None:
    assert results(rule_id, inventory(**tables), policy) == sorted(expected)


def test_every_rule_has_pass_fail_and_unknown_cases() -> None:
    seen: dict[str, set[str]] = {}
    for rule_id, _label, _tables, _policy, expected in CASES:
        seen.setdefault(rule_id, set()).update(status for _, status in expected)
    for r in all_rules():
        assert {"PASS", "FAIL"} <= seen.get(r.id, set()), r.id
        if r.id not in {"KV-ACC-002", "KV-KEY-009"}:  # counts and profile names have no unknown value
            assert "UNKNOWN" in seen[r.id], r.id


def test_iac_cannot_show_a_deleted_principal() -> None:
    """NOT_APPLICABLE comes from the field table, not from the rule asking for its source."""
    iac = hsm_role(HSM, "iac", "/keys/k", HSM_USER, "p4", principal_type=None, source="terraform")
    assert results("KV-ACC-008", inventory(vaults=[HSM], role_assignments=[iac])) == [
        ("hsm1:/keys/k:iac", "NOT_APPLICABLE")
    ]
