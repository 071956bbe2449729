"""Network: a key vault reachable from the internet is one leaked credential away from use;
private endpoints and a deny-by-default firewall bound who can even try."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")

REFS_NETWORK = ("https://learn.microsoft.com/azure/key-vault/general/network-security",)


def public_access_enabled_mask(vaults: pd.DataFrame) -> pd.Series:
    """Nullable boolean: is public network access anything other than Disabled?"""
    pna = vaults["public_network_access"].str.lower()
    return (pna != "disabled").astype("boolean")


@rule(
    id="KV-NET-001",
    title="Public network access is enabled",
    severity="high",
    domain="network",
    resource_type="vault",
    rationale="""A vault or HSM that accepts traffic from public networks exposes key operations to anyone
    holding a stolen token; disabling public access confines use to private endpoints.""",
    remediation=Remediation(
        cli="az keyvault update --name <vault> --public-network-access Disabled",
        arm_bicep="properties: { publicNetworkAccess: 'Disabled' }",
        terraform="public_network_access_enabled = false",
    ),
    references=REFS_NETWORK,
    messages={
        "FAIL": "{resource_name} accepts public network traffic (publicNetworkAccess={public_network_access})",
        "PASS": "{resource_name} has public network access disabled",
    },
)
def public_network_access(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    return verdict(
        v, fail=public_access_enabled_mask(v), evidence=["public_network_access"], resource_type=ctx.vault_types
    )


@rule(
    id="KV-NET-002",
    title="Firewall default action is Allow",
    severity="high",
    domain="network",
    resource_type="vault",
    rationale="""With public access enabled, a default action of Allow lets every IP address reach the vault;
    Deny with explicit IP and virtual-network rules limits exposure.""",
    remediation=Remediation(
        cli="az keyvault update --name <vault> --default-action Deny",
        arm_bicep="properties: { networkAcls: { defaultAction: 'Deny', bypass: 'None' } }",
        terraform='network_acls { default_action = "Deny"\n  bypass = "None" }',
    ),
    references=REFS_NETWORK,
    messages={
        "FAIL": "{resource_name} firewall allows all networks (defaultAction={network_default_action})",
        "PASS": "{resource_name} firewall denies by default",
        "NOT_APPLICABLE": "{resource_name} has public network access disabled",
    },
)
def firewall_default_allow(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    fail = (v["network_default_action"].str.lower() == "allow").astype("boolean")
    return verdict(
        v,
        fail=fail,
        applicable=public_access_enabled_mask(v),
        evidence=["network_default_action", "public_network_access", "ip_rules", "virtual_network_rules"],
        resource_type=ctx.vault_types,
    )


@rule(
    id="KV-NET-003",
    title="No approved private endpoint",
    severity="medium",
    domain="network",
    resource_type="vault",
    rationale="""A private endpoint keeps key operations on the private network; one that is only pending,
    rejected or disconnected carries no traffic, so only an Approved connection counts.""",
    remediation=Remediation(
        cli=(
            "az network private-endpoint create --name pe-<vault> --resource-group <rg> --vnet-name <vnet> "
            "--subnet <subnet> --private-connection-resource-id <vault-id> --group-id vault "
            "--connection-name <vault>-pe && az keyvault private-endpoint-connection approve --vault-name <vault> "
            "--name <connection>"
        ),
        arm_bicep=(
            "resource pe 'Microsoft.Network/privateEndpoints@2023-09-01' = { properties: { subnet: { id: subnetId }, "
            "privateLinkServiceConnections: [ { name: 'kv', properties: { privateLinkServiceId: vault.id, "
            "groupIds: [ 'vault' ] } } ] } }  // groupIds: [ 'managedhsm' ] for an HSM"
        ),
        terraform=(
            'resource "azurerm_private_endpoint" "kv" { subnet_id = azurerm_subnet.pe.id\n'
            '  private_service_connection { name = "kv"\n'
            "    private_connection_resource_id = azurerm_key_vault.kv.id\n"
            '    subresource_names = ["vault"]\n    is_manual_connection = false } }'
        ),
    ),
    references=(
        "https://learn.microsoft.com/azure/key-vault/general/private-link-service",
        "https://learn.microsoft.com/azure/key-vault/managed-hsm/private-link",
    ),
    messages={
        "FAIL": "{resource_name} has no approved private endpoint (connections: {private_endpoints})",
        "PASS": "{resource_name} is reachable through approved private endpoint(s) {approved_private_endpoints}",
    },
)
def no_approved_private_endpoint(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    pe = ctx.private_endpoints
    targets = pe["target_id"].str.lower()
    described = (
        (pe["name"].fillna("?") + " (" + pe["connection_state"].fillna("state unknown") + ")")
        .groupby(targets)
        .agg(list)
    )
    approved_rows = pe["connection_state"].str.lower().eq("approved").fillna(False).astype(bool)
    approved = pe.loc[approved_rows, "name"].fillna("?").groupby(targets[approved_rows]).agg(list)
    unknown_state = set(targets[pe["connection_state"].isna().to_numpy(dtype=bool)].dropna())
    ids = v["id"].str.lower()
    has_approved = ids.isin(approved.index)
    # No approved connection but one whose state was not observed: the answer is unknown.
    fail = (~has_approved).astype("boolean").where(~ids.isin(unknown_state) | has_approved, pd.NA)
    return verdict(
        v,
        fail=fail,
        evidence=[],
        extra={
            "approved_private_endpoints": ids.map(approved).where(has_approved, None),
            "private_endpoints": ids.map(described).apply(lambda x: x if isinstance(x, list) else []),
        },
        resource_type=ctx.vault_types,
    )


@rule(
    id="KV-NET-004",
    title="Trusted Azure services bypass the firewall where the policy forbids it",
    severity="medium",
    domain="network",
    resource_type="vault",
    params=(
        Param(
            "forbid_trusted_services_bypass",
            False,
            "Fail vaults whose firewall lets trusted Microsoft services bypass it (networkAcls.bypass = AzureServices)",
        ),
    ),
    rationale="""The AzureServices bypass lets any trusted Microsoft service reach the vault whatever the
    firewall says; estates that route every consumer through private endpoints forbid it so that the
    firewall is the whole story.""",
    remediation=Remediation(
        cli="az keyvault update --name <vault> --bypass None  # az keyvault update-hsm --hsm-name <hsm> --bypass None",
        arm_bicep="properties: { networkAcls: { bypass: 'None', defaultAction: 'Deny' } }",
        terraform='network_acls { bypass = "None"\n  default_action = "Deny" }',
    ),
    references=(
        "https://learn.microsoft.com/azure/key-vault/general/overview-vnet-service-endpoints#trusted-services",
    ),
    messages={
        "FAIL": "{resource_name} lets trusted Azure services bypass its firewall (bypass={network_bypass})",
        "PASS": "{resource_name} does not let trusted services bypass its firewall (bypass={network_bypass})",
        "NOT_APPLICABLE": "{resource_name}: the policy allows the trusted-services bypass",
    },
)
def trusted_services_bypass(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    forbidden = bool(ctx.params["forbid_trusted_services_bypass"])
    fail = v["network_bypass"].str.lower().str.contains("azureservices", regex=False).astype("boolean")
    return verdict(v, fail=fail, applicable=forbidden, evidence=["network_bypass"], resource_type=ctx.vault_types)
