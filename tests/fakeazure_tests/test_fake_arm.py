"""The real management-plane and query SDK clients against the fake's ARM endpoint."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.fakeazure import FakeAzure, Faults, build_estate
from tests.fakeazure.build_estate import SUB_DEV, SUB_PROD
from tests.fakeazure_tests.helpers import StaticCredential

ARM = "https://management.azure.com"


def mgmt(fake: FakeAzure, client_class, credential, *args):
    return client_class(credential, *args, base_url=fake.arm_endpoint, connection_verify=fake.ca_bundle)


def test_vaults_and_hsms_listed_by_subscription_carry_local_uris(fake: FakeAzure, credential) -> None:
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = mgmt(fake, KeyVaultManagementClient, credential, SUB_PROD)
    vaults = {v.name: v for v in client.vaults.list_by_subscription()}
    assert sorted(vaults) == ["kv-prod-apps", "kv-prod-empty", "kv-prod-legacy", "kv-prod-payments"]
    apps = vaults["kv-prod-apps"].properties
    assert apps.vault_uri == fake.vault_uri("kv-prod-apps")
    assert apps.enable_purge_protection is None and apps.soft_delete_retention_in_days == 7
    assert apps.network_acls.default_action == "Allow"
    assert [c.private_link_service_connection_state.status for c in apps.private_endpoint_connections] == ["Pending"]
    assert vaults["kv-prod-payments"].properties.sku.name == "premium"
    hsms = {h.name: h for h in client.managed_hsms.list_by_subscription()}
    assert hsms["mhsm-prod-signing"].properties.hsm_uri == fake.vault_uri("mhsm-prod-signing")
    assert hsms["mhsm-prod-signing"].properties.security_domain_properties.activation_status == "Active"
    got = client.vaults.get("rg-apps", "kv-prod-legacy")
    assert got.properties.enable_rbac_authorization is False
    assert got.properties.access_policies[0].permissions["keys"] == ["all"]  # models are mappings
    dev = mgmt(fake, KeyVaultManagementClient, credential, SUB_DEV)
    pecs = list(dev.private_endpoint_connections.list_by_resource("rg-dev", "kv-dev-02"))
    assert sorted(p.private_link_service_connection_state.status for p in pecs) == ["Approved", "Rejected"]


def test_managed_hsm_keys_arm_view_gives_oct_size(fake: FakeAzure, credential) -> None:
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = mgmt(fake, KeyVaultManagementClient, credential, SUB_PROD)
    keys = {k.name: k for k in client.managed_hsm_keys.list("rg-data", "mhsm-prod-kek")}
    assert keys["envelope-kek"].kty == "oct-HSM" and keys["envelope-kek"].key_size == 256


def test_role_assignments_inherit_and_filter(fake: FakeAzure, credential) -> None:
    from azure.mgmt.authorization import AuthorizationManagementClient

    client = mgmt(fake, AuthorizationManagementClient, credential, SUB_PROD)
    vault_id = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-apps/providers/Microsoft.KeyVault/vaults/kv-prod-apps"
    at_scope = {a.scope.lower() for a in client.role_assignments.list_for_scope(vault_id, filter="atScope()")}
    assert at_scope == {
        "/providers/microsoft.management/managementgroups/mg-contoso",
        f"/subscriptions/{SUB_PROD}",
        f"/subscriptions/{SUB_PROD}/resourcegroups/rg-apps",
        vault_id.lower(),
    }
    unknown = [a for a in client.role_assignments.list_for_scope(vault_id) if a.principal_type == "Unknown"]
    assert len(unknown) == 1
    whole_sub = list(client.role_assignments.list_for_scope(f"/subscriptions/{SUB_PROD}"))
    assert len(whole_sub) == 9 - 1  # everything but the kv-dev-02 assignment in the other subscription
    mine = list(
        client.role_assignments.list_for_scope(
            f"/subscriptions/{SUB_PROD}", filter=f"assignedTo('{build_estate.PRINCIPALS['payments-app']}')"
        )
    )
    assert [a.role_definition_id.rsplit("/", 1)[-1] for a in mine] == [
        build_estate.P.ARM_ROLES["Key Vault Crypto User"]
    ]
    definition = client.role_definitions.get_by_id(mine[0].role_definition_id)
    assert definition.role_name == "Key Vault Crypto User"
    assert "Microsoft.KeyVault/vaults/keys/sign/action" in definition.permissions[0].data_actions


def test_diagnostic_settings_with_monitor_client(fake: FakeAzure, credential) -> None:
    from azure.mgmt.monitor import MonitorManagementClient

    client = mgmt(fake, MonitorManagementClient, credential, SUB_PROD)
    payments = (
        f"/subscriptions/{SUB_PROD}/resourceGroups/rg-security/providers/Microsoft.KeyVault/vaults/kv-prod-payments"
    )
    settings = list(client.diagnostic_settings.list(payments))
    assert [(s.name, s.logs[0].category, s.logs[0].enabled) for s in settings] == [("to-law", "AuditEvent", True)]
    assert settings[0].workspace_id.endswith("/workspaces/law-security")
    apps = payments.replace("rg-security", "rg-apps").replace("kv-prod-payments", "kv-prod-apps")
    assert list(client.diagnostic_settings.list(apps)) == []


def test_resource_graph_extracts_types_scopes_and_pages(fake: FakeAzure, credential) -> None:
    from azure.mgmt.resourcegraph import ResourceGraphClient
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    client = mgmt(fake, ResourceGraphClient, credential)
    query = (
        "resources | where type in~ ('microsoft.keyvault/vaults', 'Microsoft.KeyVault/managedHSMs') "
        "| project id, name, type, properties"
    )
    first = client.resources(
        QueryRequest(management_groups=["mg-contoso"], query=query, options=QueryRequestOptions(top=5))
    )
    assert (first.total_records, first.count, first.result_truncated) == (8, 5, "false")
    second = client.resources(
        QueryRequest(
            management_groups=["mg-contoso"], query=query, options=QueryRequestOptions(skip_token=first.skip_token)
        )
    )
    assert second.count == 3 and second.skip_token is None
    rows = first.data + second.data
    assert {r["type"] for r in rows} == {"microsoft.keyvault/vaults", "microsoft.keyvault/managedhsms"}
    assert all(r["tenantId"] == build_estate.TENANT and r["subscriptionId"] and r["resourceGroup"] for r in rows)
    dev_only = client.resources(QueryRequest(subscriptions=[SUB_DEV], query=query))
    assert sorted(r["name"] for r in dev_only.data) == ["kv-dev-01", "kv-dev-02"]
    des = client.resources(
        QueryRequest(subscriptions=[SUB_PROD], query="resources | where type =~ 'microsoft.compute/diskencryptionsets'")
    )
    assert des.data[0]["properties"]["activeKey"]["keyUrl"].startswith(fake.vault_uri("kv-prod-apps") + "keys/")
    with pytest.raises(HttpResponseError) as info:
        client.resources(QueryRequest(subscriptions=[SUB_PROD], query="resources | take 5"))
    assert info.value.status_code == 400


def test_log_analytics_query_raw_and_summarised(estate: dict) -> None:
    from azure.monitor.query import LogsQueryClient

    live = build_estate.default()  # usage rows relative to the real clock, for the timespan filter
    with FakeAzure(live) as fake:
        client = LogsQueryClient(
            StaticCredential(fake, "https://api.loganalytics.io"),
            endpoint=fake.arm_endpoint,
            connection_verify=fake.ca_bundle,
        )
        raw = client.query_workspace(
            build_estate.WORKSPACE_CUSTOMER_ID, "AzureDiagnostics | take 100", timespan=timedelta(days=30)
        )
        table = raw.tables[0]
        assert table.columns[:3] == ["TenantId", "TimeGenerated", "ResourceId"]
        assert len(table.rows) == 14  # the 120-day-old envelope-kek rows fall outside 30 days
        summary = client.query_workspace(
            build_estate.WORKSPACE_CUSTOMER_ID,
            "AzureDiagnostics | summarize LastUsed=max(TimeGenerated) by ResourceId",
            timespan=timedelta(days=365),
        ).tables[0]
        assert summary.columns == ["ResourceId", "KeyName", "LastUsed", "Operations", "Count"]
        by_key = {row[1]: row for row in summary.rows}
        assert by_key["bootstrap-signer"][4] == 5 and by_key["envelope-kek"][4] == 2
        assert time.time() - by_key["envelope-kek"][2].timestamp() > 119 * 86400


def test_vanished_vault_is_listed_then_404(estate: dict) -> None:
    from azure.mgmt.keyvault import KeyVaultManagementClient

    legacy = f"/subscriptions/{SUB_PROD}/resourceGroups/rg-apps/providers/Microsoft.KeyVault/vaults/kv-prod-legacy"
    with FakeAzure(estate, faults=Faults(vanish=[legacy])) as fake:
        client = mgmt(fake, KeyVaultManagementClient, StaticCredential(fake, ARM), SUB_PROD)
        assert "kv-prod-legacy" in [v.name for v in client.vaults.list_by_subscription()]
        with pytest.raises(ResourceNotFoundError) as info:
            client.vaults.get("rg-apps", "kv-prod-legacy")
        assert info.value.error.code == "ResourceNotFound"


def test_arm_rejects_unknown_tokens(fake: FakeAzure) -> None:
    from azure.core.credentials import AccessToken
    from azure.core.exceptions import ClientAuthenticationError
    from azure.mgmt.keyvault import KeyVaultManagementClient

    class Forged:
        def get_token(self, *scopes, **kwargs):
            return AccessToken("forged", 2**31)

    with pytest.raises(ClientAuthenticationError):
        list(mgmt(fake, KeyVaultManagementClient, Forged(), SUB_PROD).vaults.list_by_subscription())
    assert fake.requests[-1].status == 401
