"""What Terraform computes at apply time, predicted from the configuration.

A vault's ``id``, a key's ``versionless_id`` and a role definition's ``resource_manager_id``
are unknown until apply, yet the scanner needs them to join keys, role assignments,
diagnostic settings and consumers to their vault. Azure derives them deterministically from
names, so they are synthesised here, with the same placeholders as every other IaC source
(:func:`scanner.iac.common.synth_vault_id`). Used by both the HCL and the plan front-ends.
"""

from __future__ import annotations

from typing import Any

from kvaudit.scanner.iac.common import UNKNOWN_SCOPE, synth_key_id, synth_vault_id
from kvaudit.scanner.iac.terraform.values import UNKNOWN, KeyRef
from kvaudit.scanner.reference import HSM_PLANE, builtin_role, cloud_suffixes

VAULT = "azurerm_key_vault"
HSM = "azurerm_key_vault_managed_hardware_security_module"
VAULT_KEY = "azurerm_key_vault_key"
HSM_KEY = "azurerm_key_vault_managed_hardware_security_module_key"
HSM_ROLE_DEFINITION = "azurerm_key_vault_managed_hardware_security_module_role_definition"

#: ARM resource provider path per azurerm type, for ids of resources that point at vaults.
ARM_TYPES: dict[str, str] = {
    "azurerm_log_analytics_workspace": "Microsoft.OperationalInsights/workspaces",
    "azurerm_storage_account": "Microsoft.Storage/storageAccounts",
    "azurerm_disk_encryption_set": "Microsoft.Compute/diskEncryptionSets",
    "azurerm_private_endpoint": "Microsoft.Network/privateEndpoints",
    "azurerm_kubernetes_cluster": "Microsoft.ContainerService/managedClusters",
    "azurerm_cosmosdb_account": "Microsoft.DocumentDB/databaseAccounts",
    "azurerm_mssql_server": "Microsoft.Sql/servers",
    "azurerm_user_assigned_identity": "Microsoft.ManagedIdentity/userAssignedIdentities",
    "azurerm_eventhub_namespace": "Microsoft.EventHub/namespaces",
    "azurerm_virtual_network": "Microsoft.Network/virtualNetworks",
    "azurerm_app_configuration": "Microsoft.AppConfiguration/configurationStores",
    "azurerm_container_registry": "Microsoft.ContainerRegistry/registries",
    "azurerm_data_factory": "Microsoft.DataFactory/factories",
    "azurerm_managed_disk": "Microsoft.Compute/disks",
    "azurerm_servicebus_namespace": "Microsoft.ServiceBus/namespaces",
    "azurerm_databricks_workspace": "Microsoft.Databricks/workspaces",
    "azurerm_cognitive_account": "Microsoft.CognitiveServices/accounts",
    "azurerm_postgresql_flexible_server": "Microsoft.DBforPostgreSQL/flexibleServers",
    "azurerm_mysql_flexible_server": "Microsoft.DBforMySQL/flexibleServers",
}


def known_str(value: Any) -> str | None:
    """The value if it is a non-empty string, else None (UNKNOWN, null, KeyRef ...)."""
    return value if isinstance(value, str) and value else None


def vault_kind(rtype: str) -> str:
    return "managed_hsm" if rtype == HSM else "vault"


def vault_id_of(rtype: str, values: dict[str, Any], address: str) -> str:
    """The (lower-case) id a vault or HSM row gets: its real id if known, else synthesised.

    An unresolvable ``name`` falls back to the Terraform address, which is stable and unique.
    """
    real = known_str(values.get("id"))
    if real and real.lower().startswith("/subscriptions/"):
        return real.rstrip("/").lower()
    name = known_str(values.get("name")) or address
    return synth_vault_id(name, vault_kind(rtype), resource_group=known_str(values.get("resource_group_name")))


def split_vault_id(vault_id: str | None) -> tuple[str | None, str | None]:
    """(name, kind) from an ARM vault or HSM id (any casing), or (None, None)."""
    if not vault_id:
        return None, None
    parts = vault_id.rstrip("/").split("/")
    lowered = [p.lower() for p in parts]
    for marker, kind in (("vaults", "vault"), ("managedhsms", "managed_hsm")):
        if marker in lowered:
            index = lowered.index(marker)
            if index + 1 < len(parts) and "microsoft.keyvault" in lowered:
                return parts[index + 1], kind
    return None, None


def vault_host(name: str, kind: str, environment: str = "public") -> str:
    """The data-plane host of a vault or HSM in the azurerm provider's ``environment``."""
    suffixes = cloud_suffixes(environment)
    return f"{name}.{suffixes.managedhsm if kind == 'managed_hsm' else suffixes.keyvault}".lower()


def arm_id(rtype: str, values: dict[str, Any], address: str) -> str:
    """The ARM id a non-vault resource will have; ``terraform:<address>`` when not derivable."""
    real = known_str(values.get("id"))
    if real and real.startswith("/"):
        return real
    name = known_str(values.get("name"))
    group = known_str(values.get("resource_group_name")) or UNKNOWN_SCOPE
    if rtype == "azurerm_resource_group" and name:
        return f"/subscriptions/{UNKNOWN_SCOPE}/resourceGroups/{name}"
    if rtype == "azurerm_subnet" and name and known_str(values.get("virtual_network_name")):
        return (
            f"/subscriptions/{UNKNOWN_SCOPE}/resourceGroups/{group}/providers/Microsoft.Network/"
            f"virtualNetworks/{values['virtual_network_name']}/subnets/{name}"
        )
    if rtype in ("azurerm_management_group",) and name:
        return f"/providers/Microsoft.Management/managementGroups/{name}"
    provider = ARM_TYPES.get(rtype)
    if provider and name:
        return f"/subscriptions/{UNKNOWN_SCOPE}/resourceGroups/{group}/providers/{provider}/{name}"
    return f"terraform:{address}"


def _key_parent(rtype: str, values: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(vault id, vault name, kind) of a key resource, from key_vault_id / managed_hsm_id."""
    parent = known_str(values.get("managed_hsm_id" if rtype == HSM_KEY else "key_vault_id"))
    if parent is None:
        return None, None, None
    name, kind = split_vault_id(parent)
    return parent.rstrip("/").lower(), name, kind


def key_identity(
    rtype: str, values: dict[str, Any], address: str, environment: str = "public"
) -> tuple[str, str | None, str | None, str | None]:
    """(key id, vault id, vault name, versionless key URI) of a vault or HSM key resource."""
    vault_id, vault_name, kind = _key_parent(rtype, values)
    name = known_str(values.get("name"))
    if vault_id and name:
        key_id = synth_key_id(vault_id, name)
    else:
        key_id = f"terraform:{address}".lower()
    uri = None
    if vault_name and kind and name:
        uri = f"https://{vault_host(vault_name, kind, environment)}/keys/{name}"
    return key_id, vault_id, vault_name, uri


def _key_ref(rtype: str, values: dict[str, Any], address: str, pinned: bool, environment: str) -> KeyRef:
    key_id, vault_id, vault_name, uri = key_identity(rtype, values, address, environment)
    host = uri.split("/")[2] if uri else None
    known_key = key_id if not key_id.startswith("terraform:") else None
    return KeyRef(
        key_id=known_key, vault_id=vault_id, vault_host=host, key_name=known_str(values.get("name")), pinned=pinned
    )


def computed_attribute(
    rtype: str, mode: str, values: dict[str, Any], attr: str, address: str, environment: str = "public"
) -> Any:
    """Predict a computed attribute of a resource or data source; UNKNOWN when Azure decides it."""
    name = known_str(values.get("name"))
    if rtype in (VAULT, HSM):
        if attr == "id":
            return vault_id_of(rtype, values, address)
        if attr in ("vault_uri", "hsm_uri") and name:
            return f"https://{vault_host(name, vault_kind(rtype), environment)}/"
        return UNKNOWN
    if rtype in (VAULT_KEY, HSM_KEY):
        versioned_attrs = ("id", "resource_id") if rtype == VAULT_KEY else ("versioned_id",)
        if attr in versioned_attrs:
            return _key_ref(rtype, values, address, True, environment)
        if attr in (("versionless_id",) if rtype == VAULT_KEY else ("id",)):
            return key_identity(rtype, values, address, environment)[3] or UNKNOWN
        if attr == "resource_versionless_id":
            key_id = key_identity(rtype, values, address)[0]
            return UNKNOWN if key_id.startswith("terraform:") else key_id
        return UNKNOWN
    if rtype == "azapi_resource" and attr == "id":
        return azapi_id(values)
    if rtype == HSM_ROLE_DEFINITION and attr == "resource_manager_id" and name:
        return f"/Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{name}"
    if rtype == HSM_ROLE_DEFINITION and attr == "role_name" and mode == "data" and name:
        role = builtin_role(name)
        return role.name if role is not None and role.plane == HSM_PLANE else UNKNOWN
    if rtype == "azurerm_subscription" and attr == "id":
        sub = known_str(values.get("subscription_id"))
        return f"/subscriptions/{sub or UNKNOWN_SCOPE}"
    if rtype in ("azurerm_resource_group", "azurerm_management_group") and attr == "id":
        return arm_id(rtype, values, address) if name else UNKNOWN
    if attr == "id" and rtype in ARM_TYPES or (rtype == "azurerm_subnet" and attr == "id"):
        result = arm_id(rtype, values, address)
        return UNKNOWN if result.startswith("terraform:") else result
    return UNKNOWN


def azapi_id(values: dict[str, Any]) -> Any:
    """ARM id of an azapi resource: its parent id plus its type and name."""
    type_text, parent, name = values.get("type"), known_str(values.get("parent_id")), known_str(values.get("name"))
    if not isinstance(type_text, str) or parent is None or name is None:
        return UNKNOWN
    namespace, *types = type_text.partition("@")[0].split("/")
    if len(types) == 1:
        return f"{parent.rstrip('/')}/providers/{namespace}/{types[0]}/{name}"
    return f"{parent.rstrip('/')}/{types[-1]}/{name}"
