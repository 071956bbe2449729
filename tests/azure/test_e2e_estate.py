"""A clean scan of the default fake estate: the inventory equals the estate, read-only, paced."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pandas as pd

from kvaudit.scanner.azure.session import API_VERSIONS
from kvaudit.scanner.inventory import TABLES
from tests.azure.conftest import Scanned
from tests.fakeazure.build_estate import PRINCIPALS, SUB_DEV, SUB_PROD, WORKSPACE_CUSTOMER_ID

KV = "microsoft.keyvault"


def rows(scanned: Scanned, table: str) -> list[dict[str, Any]]:
    df = scanned.inventory.tables[table].astype(object)
    return df.where(pd.notna(df), None).to_dict(orient="records")


def by_name(scanned: Scanned, table: str, key: str = "name") -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in rows(scanned, table)}


def vault_bodies(estate: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in estate["resources"] if r["type"].lower() in (f"{KV}/vaults", f"{KV}/managedhsms")]


def test_no_collection_errors_and_provenance_everywhere(clean: Scanned) -> None:
    assert rows(clean, "collection_errors") == []
    for table in TABLES:
        df = clean.inventory.tables[table]
        assert (df["source"] == "azure").all(), table
        assert df["api_version"].notna().all(), table
    versions = {t: set(clean.inventory.tables[t]["api_version"]) for t in TABLES if len(clean.inventory.tables[t])}
    assert versions["vaults"] == {"2026-05-15"}
    assert versions["keys"] == versions["key_versions"] == {"2025-07-01"}
    assert versions["diagnostic_settings"] == {"2021-05-01-preview"}
    assert versions["role_assignments"] == {"2022-04-01", "2025-07-01"}
    assert versions["key_references"] == {"2021-03-01"}
    assert versions["key_usage"] == {"v1"}


def test_scope_metadata(clean: Scanned) -> None:
    scope = clean.inventory.scope
    assert scope["cloud"] == "custom"
    assert scope["discovery"] == "resource-graph"
    assert scope["subscriptions"] == sorted([SUB_PROD, SUB_DEV])
    assert scope["shard"] is None and scope["management_group"] is None
    assert scope["requests"] == len([r for r in clean.fake.requests if r.plane != "identity"])
    assert [s.kind for s in clean.inventory.sources] == ["azure"]


def test_vaults_equal_estate(clean: Scanned, estate: dict[str, Any]) -> None:
    got = by_name(clean, "vaults")
    bodies = vault_bodies(estate)
    assert sorted(got) == sorted(b["name"] for b in bodies)
    for body in bodies:
        props, row = body["properties"], got[body["name"]]
        hsm = body["type"].lower().endswith("managedhsms")
        assert row["id"] == body["id"].lower()
        assert row["display_id"] == body["id"]
        assert row["kind"] == ("managed_hsm" if hsm else "vault")
        assert row["subscription_id"] == body["id"].split("/")[2]
        assert row["resource_group"] == body["id"].split("/")[4]
        assert row["sku"] == (body["sku"]["name"] if hsm else props["sku"]["name"])
        assert row["uri"] == clean.fake.vault_uri(body["name"])
        assert row["soft_delete_enabled"] is True
        assert row["soft_delete_retention_days"] == props["softDeleteRetentionInDays"]
        assert row["purge_protection_enabled"] is bool(props.get("enablePurgeProtection"))
        assert row["public_network_access"] == props["publicNetworkAccess"]
        assert row["network_default_action"] == props["networkAcls"]["defaultAction"]
        assert row["network_bypass"] == props["networkAcls"]["bypass"]
        assert row["ip_rules"] == [] and row["virtual_network_rules"] == []
        assert row["tags"] == body["tags"]
        assert row["tenant_id"] == props["tenantId"]
        if hsm:
            assert row["rbac_authorization_enabled"] is None
            assert row["security_domain_activated"] is (
                props["securityDomainProperties"]["activationStatus"] == "Active"
            )
        else:
            assert row["rbac_authorization_enabled"] is props["enableRbacAuthorization"]
            assert row["security_domain_activated"] is None
        # Only kv-prod-apps omits a property (purge protection never enabled): a recorded default.
        assert row["defaults"] == (["purge_protection_enabled"] if "enablePurgeProtection" not in props else [])


def test_access_policies(clean: Scanned) -> None:
    got = {
        (r["object_id"], tuple(r["key_permissions"]), tuple(r["secret_permissions"]))
        for r in rows(clean, "access_policies")
    }
    assert got == {
        (PRINCIPALS["apps-sp"], ("all",), ("get", "list")),
        (PRINCIPALS["payments-app"], ("get", "list", "sign", "verify", "purge"), ()),
    }
    assert {r["vault_id"].rsplit("/", 1)[-1] for r in rows(clean, "access_policies")} == {"kv-prod-legacy"}


def test_private_endpoints(clean: Scanned) -> None:
    got = sorted(
        (r["target_id"].rsplit("/", 1)[-1], r["private_endpoint_id"].rsplit("/", 1)[-1], r["connection_state"])
        for r in rows(clean, "private_endpoints")
    )
    assert got == [
        ("kv-dev-02", "pe-kv-dev-02", "Approved"),
        ("kv-dev-02", "pe-kv-dev-02-old", "Rejected"),
        ("kv-prod-apps", "pe-kv-apps", "Pending"),
        ("kv-prod-payments", "pe-kv-payments", "Approved"),
        ("mhsm-prod-signing", "pe-mhsm-signing", "Approved"),
    ]


def test_keys_and_versions_equal_estate(clean: Scanned, estate: dict[str, Any]) -> None:
    keys = {r["id"]: r for r in rows(clean, "keys")}
    versions = defaultdict(list)
    for v in rows(clean, "key_versions"):
        versions[v["key_id"]].append(v)
    expected_ids = set()
    # Material is read for each key's current version and for the versions consumers pin.
    described = {(k["id"], k["current_version"].lower()) for k in keys.values()}
    described |= {(r["key_id"], r["key_version"].lower()) for r in rows(clean, "key_references") if r["pinned"]}
    for owner, entries in estate["keys"].items():
        for entry in entries:
            key_id = f"{owner}/keys/{entry['name'].lower()}"
            expected_ids.add(key_id)
            row = keys[key_id]
            latest = max(entry["versions"], key=lambda v: v["attributes"]["created"])
            assert row["current_version"] == latest["version"]
            assert row["kty"] == latest["kty"]
            assert row["curve"] == latest.get("crv")
            assert row["key_size"] == latest.get("key_size"), key_id
            assert row["key_ops"] == latest["key_ops"]
            assert row["enabled"] is latest["attributes"]["enabled"]
            assert row["exportable"] is latest["attributes"]["exportable"]
            assert row["tags"] == entry["tags"]
            assert row["rotation_policy_present"] is (entry["rotation_policy"] is not None)
            assert row["kid"] == clean.fake.vault_uri(row["vault_name"]) + "keys/" + entry["name"]
            got_versions = {v["version"]: v for v in versions[key_id]}
            assert sorted(got_versions) == sorted(v["version"] for v in entry["versions"])
            for v in entry["versions"]:
                got = got_versions[v["version"]]
                assert got["enabled"] is v["attributes"]["enabled"]
                assert got["created"].timestamp() == v["attributes"]["created"]
                if (key_id, v["version"].lower()) in described:
                    assert (got["kty"], got["curve"], got["key_ops"]) == (v["kty"], v.get("crv"), v["key_ops"])
                    if v["kty"].startswith("RSA"):
                        assert got["key_size"] == v["key_size"]
                else:  # an old, unpinned version: its material is not read
                    assert (got["kty"], got["key_size"], got["curve"], got["key_ops"]) == (None, None, None, None)
                expires = v["attributes"].get("exp")
                assert (got["expires"].timestamp() if got["expires"] is not None else None) == expires
    assert set(keys) == expected_ids
    assert len(rows(clean, "key_versions")) == sum(len(e["versions"]) for es in estate["keys"].values() for e in es)


def test_key_type_details(clean: Scanned) -> None:
    keys = by_name(clean, "keys")
    assert (keys["bootstrap-signer"]["kty"], keys["bootstrap-signer"]["curve"]) == ("OKP-HSM", "Ed25519")
    assert (keys["eth-signer"]["kty"], keys["eth-signer"]["curve"]) == ("EC-HSM", "P-256K")
    assert (keys["envelope-kek"]["kty"], keys["envelope-kek"]["key_size"]) == ("oct-HSM", 256)  # via ARM
    assert keys["envelope-kek"]["rotation_policy_present"] is False
    assert keys["envelope-kek"]["rotation_actions"] == ["Notify"]  # the service default policy
    assert (
        keys["payments-rsa"]["rotation_actions"],
        keys["payments-rsa"]["rotation_time_after_create"],
        keys["payments-rsa"]["rotation_expiry_time"],
    ) == (["Rotate", "Notify"], "P180D", "P1Y")
    skr = keys["skr-cvm"]
    assert skr["exportable"] is True and skr["release_policy_immutable"] is False
    assert skr["release_policy"]["anyOf"][0]["allOf"] == [
        {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"},
        {"claim": "x-ms-isolation-tee.x-ms-compliance-status", "equals": "azure-compliant-cvm"},
    ]
    assert keys["skr-weak"]["release_policy_immutable"] is True
    assert keys["payments-rsa"]["release_policy"] is None and keys["payments-rsa"]["release_policy_immutable"] is None


def test_role_assignments_on_both_planes(clean: Scanned) -> None:
    got = sorted(
        (r["plane"], r["name"][:2] + r["name"][-2:], r["scope"], r["role_name"], r["principal_type"])
        for r in rows(clean, "role_assignments")
    )
    mg = "/providers/microsoft.management/managementgroups/mg-contoso"
    prod = f"/subscriptions/{SUB_PROD}"
    dev2 = f"/subscriptions/{SUB_DEV}/resourcegroups/rg-dev/providers/{KV}/vaults/kv-dev-02"
    assert got == sorted(
        [
            ("azure", "b101", mg, "Key Vault Administrator", "Group"),
            ("azure", "b102", prod, "Owner", "User"),
            ("azure", "b103", prod, "Reader", "User"),
            ("azure", "b104", f"{prod}/resourcegroups/rg-apps", "Key Vault Crypto Officer", "ServicePrincipal"),
            (
                "azure",
                "b105",
                f"{prod}/resourcegroups/rg-security/providers/{KV}/vaults/kv-prod-payments",
                "Key Vault Crypto User",
                "ServicePrincipal",
            ),
            (
                "azure",
                "b106",
                f"{prod}/resourcegroups/rg-security/providers/{KV}/vaults/kv-prod-payments",
                "Key Vault Crypto Service Encryption User",
                "ServicePrincipal",
            ),
            (
                "azure",
                "b107",
                f"{prod}/resourcegroups/rg-apps/providers/{KV}/vaults/kv-prod-apps",
                "Key Vault Administrator",
                "Unknown",
            ),
            ("azure", "b108", dev2, "Key Vault Crypto Service Encryption User", "ServicePrincipal"),
            (
                "azure",
                "b109",
                f"{prod}/resourcegroups/rg-security/providers/{KV}/managedhsms/mhsm-prod-signing",
                "Managed HSM contributor",
                "Group",
            ),
            ("managed_hsm", "c101", "/", "Managed HSM Administrator", None),
            ("managed_hsm", "c102", "/", "Managed HSM Administrator", None),
            ("managed_hsm", "c103", "/", "Managed HSM Administrator", None),
            ("managed_hsm", "c104", "/", "Managed HSM Crypto Officer", None),
            ("managed_hsm", "c105", "/keys/bootstrap-signer", "Managed HSM Crypto User", None),
            ("managed_hsm", "c106", "/keys", "Managed HSM Crypto User", None),
            ("managed_hsm", "c107", "/keys", "Managed HSM Crypto Auditor", None),
            ("managed_hsm", "c201", "/", "Managed HSM Administrator", None),
            ("managed_hsm", "c202", "/keys/envelope-kek", "Managed HSM Crypto Service Encryption User", None),
            ("managed_hsm", "c203", "/keys", "Managed HSM Crypto Officer", None),
        ]
    )
    by = {r["name"]: r for r in rows(clean, "role_assignments")}
    inherited = by["b1000000-0000-4000-8000-000000000002"]
    assert inherited["vault_id"] is None and inherited["actions"] == ["*"]
    at_vault = by["b1000000-0000-4000-8000-000000000005"]
    assert at_vault["vault_id"] == at_vault["scope"]
    assert "Microsoft.KeyVault/vaults/keys/sign/action" in at_vault["data_actions"]
    local = by["c1000000-0000-4000-8000-000000000005"]
    assert local["id"].endswith("/managedhsms/mhsm-prod-signing/roleassignments/c1000000-0000-4000-8000-000000000005")
    assert local["principal_id"] == PRINCIPALS["signer-app"]
    assert "Microsoft.KeyVault/managedHsm/keys/sign/action" in local["data_actions"]


def test_diagnostic_settings(clean: Scanned) -> None:
    got = {r["target_id"].rsplit("/", 1)[-1]: r for r in rows(clean, "diagnostic_settings")}
    assert sorted(got) == [
        "kv-dev-01",
        "kv-dev-02",
        "kv-prod-empty",
        "kv-prod-legacy",
        "kv-prod-payments",
        "mhsm-prod-kek",
        "mhsm-prod-signing",
    ]
    assert got["kv-prod-payments"]["logs"] == [
        {"category": "AuditEvent", "category_group": None, "enabled": True, "retention_days": None}
    ]
    assert got["kv-prod-payments"]["workspace_id"].endswith("/workspaces/law-security")
    assert got["kv-dev-01"]["logs"] == [
        {"category": None, "category_group": "audit", "enabled": True, "retention_days": 30}
    ]
    assert got["kv-dev-01"]["workspace_id"] is None
    assert got["kv-dev-01"]["storage_account_id"].endswith("/storageaccounts/stauditlogs")
    assert got["kv-dev-02"]["logs"][0]["enabled"] is False
    assert got["kv-prod-legacy"]["logs"] == []


def test_key_references(clean: Scanned) -> None:
    got = sorted(
        (
            r["consumer_name"],
            r["key_name"],
            r["pinned"],
            r["vault_id"].rsplit("/", 1)[-1],
            r["key_id"].rsplit("/", 1)[-1],
        )
        for r in rows(clean, "key_references")
    )
    assert got == [
        ("aks-prod", "payments-rsa", True, "kv-prod-payments", "payments-rsa"),
        ("ca-bootstrap", "bootstrap-signer", True, "mhsm-prod-signing", "bootstrap-signer"),
        ("ca-verifier", "bootstrap-signer", False, "mhsm-prod-signing", "bootstrap-signer"),
        ("cosmos-prod", "cmk-storage", False, "kv-prod-payments", "cmk-storage"),
        ("current", "sql-tde", True, "kv-dev-02", "sql-tde"),
        ("des-prod-disks", "des-key", True, "kv-prod-apps", "des-key"),
        ("sql-dev-01", "sql-tde", True, "kv-dev-02", "sql-tde"),
        ("stprodpayments", "cmk-storage", False, "kv-prod-payments", "cmk-storage"),
    ]
    refs = by_name(clean, "key_references", "consumer_name")
    assert refs["ca-verifier"]["key_version"] is None
    assert refs["des-prod-disks"]["vault_host"] == clean.fake.vault_uri("kv-prod-apps").split("//")[1].rstrip("/")
    assert refs["sql-dev-01"]["principal_id"] == PRINCIPALS["sql-identity"]
    assert refs["des-prod-disks"]["purpose"] == "wrap" and refs["aks-prod"]["purpose"] == "encrypt"


def test_key_usage_from_log_analytics(clean: Scanned) -> None:
    got = {r["id"].split("/providers/microsoft.keyvault/")[1]: r for r in rows(clean, "key_usage")}
    assert got["vaults/kv-prod-payments/keys/payments-rsa"]["operations"] == ["KeyUnwrap", "KeyWrap"]
    assert got["vaults/kv-prod-payments/keys/payments-rsa"]["event_count"] == 6
    assert got["vaults/kv-prod-payments/keys/cmk-storage"]["event_count"] == 3
    assert got["managedhsms/mhsm-prod-signing/keys/bootstrap-signer"]["operations"] == ["KeyGet", "KeySign"]
    # kek's only events are 120 days old: covered by a workspace, nothing inside the 90-day window
    assert (got["managedhsms/mhsm-prod-kek"]["event_count"], got["managedhsms/mhsm-prod-kek"]["last_event"]) == (
        0,
        None,
    )
    assert got["managedhsms/mhsm-prod-kek"]["key_id"] is None
    assert "vaults/kv-prod-apps" not in got and "vaults/kv-dev-01" not in got  # no workspace destination
    assert {r["window_days"] for r in got.values()} == {90}
    queries = [r for r in clean.fake.requests if r.method == "POST" and r.path.startswith("/v1/")]
    assert [r.path for r in queries] == [f"/v1/workspaces/{WORKSPACE_CUSTOMER_ID}/query"]


def test_request_log_is_read_only(clean: Scanned) -> None:
    requests = [r for r in clean.fake.requests if r.plane != "identity"]
    methods = Counter(r.method for r in requests)
    assert set(methods) == {"GET", "POST"}
    for r in requests:
        path = r.path.lower()
        if r.method == "POST":
            assert path == "/providers/microsoft.resourcegraph/resources" or (
                path.startswith("/v1/workspaces/") and path.endswith("/query")
            ), r.path
        assert "/secrets" not in path
        assert not any(path.endswith(op) for op in ("/release", "/export", "/backup", "/restore"))
    assert all(r.status is not None and r.status < 400 or r.status == 401 for r in requests)


def test_request_budget(clean: Scanned) -> None:
    """Counts per operation: get_key for current and pinned versions only, one rotation policy
    per key, nothing twice."""
    data = [r for r in clean.fake.requests if r.plane == "vault" and r.status == 200]
    keys = sum(1 for r in data if r.path.rstrip("/").endswith("/rotationpolicy"))
    assert keys == 14
    versions_read = sorted(
        r.path.split("/", 2)[2]
        for r in data
        if r.path.startswith("/keys/")
        and "/providers/" not in r.path
        and r.path.rsplit("/", 1)[-1].lower() not in ("versions", "rotationpolicy")
    )
    current = sorted(k["name"] for k in rows(clean, "keys"))
    pinned = {
        f"{r['key_name']}/{r['key_version']}"
        for r in rows(clean, "key_references")
        if r["pinned"] and r["key_version"] != by_name(clean, "keys")[r["key_name"]]["current_version"]
    }
    assert versions_read == sorted(current + sorted(pinned))
    assert len(current) == 14 and sorted(pinned) == [
        "des-key/7b626f5365cb1a04aab1c1740770ceb1",  # the disabled version des-prod-disks pins
    ]
    definitions = [r for r in clean.fake.requests if "/roleDefinitions/" in r.path and r.plane == "arm"]
    assert len(definitions) == len({r.path.rsplit("/", 1)[-1] for r in definitions})
    assert API_VERSIONS["keyvault_data"] in {r.query.get("api-version") for r in data}
