"""Network: a key vault reachable from the internet is one leaked credential away from use;
private endpoints and a deny-by-default firewall bound who can even try."""

from __future__ import annotations

import pandas as pd

from rules.context import RuleContext, verdict
from rules.model import Remediation
from rules.registry import rule

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
        applicable=public_access_enabled_mask(v).fillna(True),
        evidence=["network_default_action", "public_network_access", "ip_rules", "virtual_network_rules"],
        resource_type=ctx.vault_types,
    )
