"""Reference data about Azure itself: built-in roles, key consumers and cloud DNS suffixes.

These are facts of the platform, not of any estate, and every source and rule needs the same
ones: a Terraform ``role_definition_name``, an ARM ``roleDefinitionId`` and a live assignment
must all land on the same canonical role definition id, and a rule must know what that role
lets a principal do with keys whichever source the row came from. Holding them once here is
what keeps the sources from drifting apart (one table knew a role another did not).

Sources: learn.microsoft.com "Azure built-in roles" (Security section), "Local RBAC built-in roles
for Managed HSM" (its ids and data-action matrix) and the Managed HSM role definitions list; the
customer-managed-key documentation of each consumer; the clouds' documented DNS suffixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

AZURE_PLANE = "azure"
HSM_PLANE = "managed_hsm"

#: Prefix of the canonical id of an Azure RBAC built-in role (subscription-independent).
AZURE_ROLE_PREFIX = "/providers/microsoft.authorization/roledefinitions/"
#: Prefix of the canonical id of a Managed HSM local role, as the HSM data plane spells it.
HSM_ROLE_PREFIX = "microsoft.keyvault/providers/microsoft.authorization/roledefinitions/"

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@dataclass(frozen=True)
class BuiltinRole:
    """One built-in role definition of either plane."""

    guid: str
    name: str
    plane: str
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The canonical (lower-case) role definition id every adapter emits for this role."""
        prefix = HSM_ROLE_PREFIX if self.plane == HSM_PLANE else AZURE_ROLE_PREFIX
        return prefix + self.guid


_KV = "Microsoft.KeyVault/vaults"
_HSM = "Microsoft.KeyVault/managedHsm"

_ROLES: tuple[BuiltinRole, ...] = (
    # --- Azure RBAC (control plane roles and the Key Vault data roles) -----------------------
    BuiltinRole("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", AZURE_PLANE),
    BuiltinRole("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", AZURE_PLANE),
    BuiltinRole("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", AZURE_PLANE),
    BuiltinRole("f25e0fa2-a7c8-4377-a976-54943a77a395", "Key Vault Contributor", AZURE_PLANE),
    BuiltinRole("18500a29-7fe2-46b2-a342-b16a415e101d", "Managed HSM contributor", AZURE_PLANE),
    BuiltinRole("00482a5a-887f-4fb3-b363-3b7fe8e74483", "Key Vault Administrator", AZURE_PLANE, (f"{_KV}/*",)),
    BuiltinRole(
        "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
        "Key Vault Crypto Officer",
        AZURE_PLANE,
        (f"{_KV}/keys/*", f"{_KV}/keyrotationpolicies/*"),
    ),
    BuiltinRole(
        "12338af0-0e69-4776-bea7-57ae8d297424",
        "Key Vault Crypto User",
        AZURE_PLANE,
        tuple(
            f"{_KV}/keys/{a}"
            for a in (
                "read",
                "update/action",
                "backup/action",
                "encrypt/action",
                "decrypt/action",
                "wrap/action",
                "unwrap/action",
                "sign/action",
                "verify/action",
            )
        ),
    ),
    BuiltinRole(
        "e147488a-f6f5-4113-8e2d-b22465e65bf6",
        "Key Vault Crypto Service Encryption User",
        AZURE_PLANE,
        (f"{_KV}/keys/read", f"{_KV}/keys/wrap/action", f"{_KV}/keys/unwrap/action"),
    ),
    BuiltinRole(
        "08bbd89e-9f13-488c-ac41-acfcb10c90ab",
        "Key Vault Crypto Service Release User",
        AZURE_PLANE,
        (f"{_KV}/keys/release/action",),
    ),
    BuiltinRole(
        "21090545-7ca7-4776-b22c-e363652d74d2",
        "Key Vault Reader",
        AZURE_PLANE,
        (f"{_KV}/*/read", f"{_KV}/secrets/readMetadata/action"),
    ),
    BuiltinRole(
        "4633458b-17de-408a-b874-0445c86b69e6",
        "Key Vault Secrets User",
        AZURE_PLANE,
        (f"{_KV}/secrets/getSecret/action", f"{_KV}/secrets/readMetadata/action"),
    ),
    BuiltinRole(
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer", AZURE_PLANE, (f"{_KV}/secrets/*",)
    ),
    BuiltinRole(
        "a4417e6f-fecd-4de8-b567-7b0420556985",
        "Key Vault Certificates Officer",
        AZURE_PLANE,
        (f"{_KV}/certificatecas/*", f"{_KV}/certificates/*", f"{_KV}/certificatecontacts/write"),
    ),
    BuiltinRole(
        "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba",
        "Key Vault Certificate User",
        AZURE_PLANE,
        (f"{_KV}/certificates/read", f"{_KV}/secrets/getSecret/action", f"{_KV}/secrets/readMetadata/action"),
    ),
    # --- Managed HSM local RBAC ---------------------------------------------------------------
    BuiltinRole(
        "a290e904-7015-4bba-90c8-60543313cdb4",
        "Managed HSM Administrator",
        HSM_PLANE,
        tuple(
            f"{_HSM}/{a}"
            for a in (
                "roleAssignments/delete/action",
                "roleAssignments/read/action",
                "roleAssignments/write/action",
                "roleDefinitions/read/action",
                "roleDefinitions/write/action",
                "roleDefinitions/delete/action",
                "securitydomain/download/action",
                "securitydomain/download/read",
                "securitydomain/upload/action",
                "securitydomain/upload/read",
                "securitydomain/transferkey/read",
                "backup/start/action",
                "restore/start/action",
                "backup/status/action",
                "restore/status/action",
            )
        ),
    ),
    BuiltinRole(
        "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
        "Managed HSM Crypto Officer",
        HSM_PLANE,
        tuple(
            f"{_HSM}/{a}"
            for a in (
                "roleAssignments/delete/action",
                "roleAssignments/read/action",
                "roleAssignments/write/action",
                "roleDefinitions/read/action",
                "roleDefinitions/write/action",
                "roleDefinitions/delete/action",
                "keys/deletedKeys/read/action",
                "keys/deletedKeys/delete",
                "keys/deletedKeys/recover/action",
                "keys/export/action",
            )
        ),
    ),
    BuiltinRole(
        "21dbd100-6940-42c2-9190-5d6cb909625b",
        "Managed HSM Crypto User",
        HSM_PLANE,
        tuple(
            f"{_HSM}/{a}"
            for a in (
                "roleDefinitions/read/action",
                "roleAssignments/read/action",
                "keys/read/action",
                "keys/write/action",
                "keys/rotate/action",
                "keys/delete",
                "keys/create",
                "keys/import/action",
                "keys/release/action",
                "keys/backup/action",
                "keys/restore/action",
                "keys/encrypt/action",
                "keys/decrypt/action",
                "keys/wrap/action",
                "keys/unwrap/action",
                "keys/sign/action",
                "keys/verify/action",
                "rng/action",
            )
        ),
    ),
    BuiltinRole(
        "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
        "Managed HSM Policy Administrator",
        HSM_PLANE,
        tuple(
            f"{_HSM}/{a}"
            for a in (
                "roleDefinitions/read/action",
                "roleDefinitions/write/action",
                "roleDefinitions/delete/action",
                "roleAssignments/read/action",
                "roleAssignments/write/action",
                "roleAssignments/delete/action",
            )
        ),
    ),
    BuiltinRole(
        "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
        "Managed HSM Crypto Auditor",
        HSM_PLANE,
        tuple(
            f"{_HSM}/{a}"
            for a in (
                "roleAssignments/read/action",
                "roleDefinitions/read/action",
                "keys/read/action",
                "keys/deletedKeys/read/action",
            )
        ),
    ),
    BuiltinRole(
        "33413926-3206-4cdd-b39a-83574fe37a17",
        "Managed HSM Crypto Service Encryption User",
        HSM_PLANE,
        (f"{_HSM}/keys/read/action", f"{_HSM}/keys/wrap/action", f"{_HSM}/keys/unwrap/action"),
    ),
    BuiltinRole(
        "21dbd100-6940-42c2-9190-5d6cb909625c",
        "Managed HSM Crypto Service Release User",
        HSM_PLANE,
        (f"{_HSM}/keys/release/action",),
    ),
    BuiltinRole(
        "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
        "Managed HSM Backup User",
        HSM_PLANE,
        (f"{_HSM}/backup/start/action", f"{_HSM}/backup/status/action", f"{_HSM}/keys/backup/action"),
    ),
    BuiltinRole(
        "6efe6056-5259-49d2-8b3d-d3d73544b20b",
        "Managed HSM Restore User",
        HSM_PLANE,
        (f"{_HSM}/restore/start/action", f"{_HSM}/restore/status/action", f"{_HSM}/keys/restore/action"),
    ),
)

#: Other names the same built-ins go by (the Managed HSM documentation drops "User").
_ALIASES: dict[str, str] = {
    "managed hsm backup": "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8",
    "managed hsm restore": "6efe6056-5259-49d2-8b3d-d3d73544b20b",
}

BUILTIN_ROLES: dict[str, BuiltinRole] = {role.guid: role for role in _ROLES}
_BY_NAME: dict[str, BuiltinRole] = {
    **{role.name.lower(): role for role in _ROLES},
    **{alias: BUILTIN_ROLES[guid] for alias, guid in _ALIASES.items()},
}


@lru_cache(maxsize=4096)
def builtin_role(role: str | None) -> BuiltinRole | None:
    """The built-in role named by a GUID, any role definition id holding one, or a role name."""
    if not isinstance(role, str) or not role.strip():
        return None
    guids = _GUID.findall(role)
    if guids:
        return BUILTIN_ROLES.get(guids[-1].lower())
    return _BY_NAME.get(role.strip().lower())


def canonical_role_id(role: str | None) -> str | None:
    """The canonical id of a built-in role (from a GUID, an id in any spelling, or a name).

    A role that is not a known built-in keeps its id, lower-cased (a custom role is matched by
    its own id); a bare name that is not a built-in has no id and gives None.
    """
    found = builtin_role(role)
    if found is not None:
        return found.id
    if isinstance(role, str) and _GUID.search(role):
        return role.strip().rstrip("/").lower()
    return None


def role_name(role: str | None) -> str | None:
    """The built-in role's display name, or None when ``role`` is not a known built-in."""
    found = builtin_role(role)
    return found.name if found else None


#: Key data actions (lower case, either plane) -> the kvaudit key operation each grants.
#: ``read`` stands for get and list; ``manage_roles`` for writing role assignments.
KEY_DATA_ACTIONS: dict[str, str] = {
    **{
        f"microsoft.keyvault/{plane}/keys/{action}": op
        for plane in ("vaults", "managedhsm")
        for action, op in (
            ("read", "read"),
            ("read/action", "read"),
            ("encrypt/action", "encrypt"),
            ("decrypt/action", "decrypt"),
            ("wrap/action", "wrapkey"),
            ("unwrap/action", "unwrapkey"),
            ("sign/action", "sign"),
            ("verify/action", "verify"),
            ("create", "create"),
            ("create/action", "create"),
            ("update/action", "update"),
            ("write/action", "update"),
            ("import/action", "import"),
            ("delete", "delete"),
            ("backup/action", "backup"),
            ("restore/action", "restore"),
            ("release/action", "release"),
            ("export/action", "export"),
            ("rotate/action", "rotate"),
            ("deletedkeys/delete", "purge"),
            ("deletedkeys/recover/action", "recover"),
        )
    },
    "microsoft.keyvault/vaults/deletedkeys/delete": "purge",
    "microsoft.keyvault/managedhsm/roleassignments/write/action": "manage_roles",
}


# --- key consumers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Where a consumer keeps application settings (environment variables, app settings).

    ``path`` is a dotted path in the resource body where ``[]`` steps into every item of a list
    (``properties.template.containers[].env``). With ``name`` set the settings are a list of
    items naming themselves (``{name, value}``); without it they are a ``name -> value`` map.
    ``elsewhere`` names item fields that take the value from somewhere the scanner cannot read
    (a Container Apps ``secretRef``): such a setting exists, with an unknown value.
    """

    path: str
    name: str | None = None
    value: str | None = None
    elsewhere: tuple[str, ...] = ()


@dataclass(frozen=True)
class Consumer:
    """A resource type that uses a customer-managed key, and what for."""

    arm_type: str  # as ARM spells it
    purpose: str | None  # wrap | encrypt | sign | release, or None when the key's use is not implied
    key_paths: tuple[str, ...] = ()  # ARM property paths holding the key reference
    azurerm_types: tuple[str, ...] = ()
    #: Given a versionless key URI, the service follows the key's rotation itself (re-wrapping its
    #: data keys with the new version), so not pinning is the documented configuration.
    auto_rotates: bool = False
    #: Application settings in the ARM body (templates and live GETs share it), and in azurerm.
    settings: tuple[Settings, ...] = ()
    azurerm_settings: tuple[Settings, ...] = ()
    #: Only resources of this type with these names hold settings (``sites/config`` 'appsettings').
    settings_names: tuple[str, ...] = ()
    #: Whether the live collector may read the settings: App Service app settings are only
    #: returned by ``POST .../config/appsettings/list``, which returns their (secret) values.
    settings_live: bool = False


#: Purposes: services that protect their own data keys with the Key Vault key call wrapKey and
#: unwrapKey ("wrap"); AKS KMS v2 calls encrypt and decrypt on the key (its documented access policy
#: is ``--key-permissions encrypt decrypt``), so its purpose is "encrypt".
CONSUMERS: tuple[Consumer, ...] = (
    Consumer(
        "Microsoft.Compute/diskEncryptionSets",
        "wrap",
        ("properties.activeKey.keyUrl",),
        ("azurerm_disk_encryption_set",),
        auto_rotates=True,  # rotationToLatestKeyVersionEnabled
    ),
    Consumer(
        "Microsoft.Storage/storageAccounts",
        "wrap",
        ("properties.encryption.keyvaultproperties",),
        ("azurerm_storage_account", "azurerm_storage_account_customer_managed_key"),
        auto_rotates=True,
    ),
    # SQL TDE with a customer-managed key: autoRotationEnabled on the encryption protector.
    Consumer("Microsoft.Sql/servers", "wrap", (), ("azurerm_mssql_server",), auto_rotates=True),
    Consumer(
        "Microsoft.Sql/servers/encryptionProtector",
        "wrap",
        (),
        ("azurerm_mssql_server_transparent_data_encryption",),
        auto_rotates=True,
    ),
    Consumer("Microsoft.Sql/servers/keys", "wrap", ("properties.uri",), auto_rotates=True),
    Consumer("Microsoft.Sql/managedInstances", "wrap", auto_rotates=True),
    Consumer("Microsoft.Sql/managedInstances/encryptionProtector", "wrap", auto_rotates=True),
    Consumer("Microsoft.Sql/managedInstances/keys", "wrap", ("properties.uri",), auto_rotates=True),
    Consumer(
        "Microsoft.ContainerService/managedClusters",
        "encrypt",
        ("properties.securityProfile.azureKeyVaultKms.keyId",),
        ("azurerm_kubernetes_cluster",),
    ),
    Consumer(
        "Microsoft.DocumentDB/databaseAccounts",
        "wrap",
        ("properties.keyVaultKeyUri",),
        ("azurerm_cosmosdb_account",),
        auto_rotates=True,  # a versionless keyVaultKeyUri follows rotation
    ),
    Consumer("Microsoft.DBforPostgreSQL/flexibleServers", "wrap"),
    Consumer("Microsoft.DBforMySQL/flexibleServers", "wrap"),
    Consumer("Microsoft.CognitiveServices/accounts", "wrap"),
    Consumer("Microsoft.MachineLearningServices/workspaces", "wrap"),
    Consumer("Microsoft.ContainerRegistry/registries", "wrap"),
    Consumer("Microsoft.EventHub/namespaces", "wrap"),
    Consumer("Microsoft.ServiceBus/namespaces", "wrap"),
    Consumer("Microsoft.OperationalInsights/clusters", "wrap"),
    Consumer("Microsoft.RecoveryServices/vaults", "wrap"),
    Consumer("Microsoft.DataFactory/factories", "wrap"),
    # Applications: the purpose of a key they name in their settings comes from the settings' names.
    Consumer(
        "Microsoft.App/containerApps",
        None,
        azurerm_types=("azurerm_container_app",),
        settings=tuple(
            Settings(f"properties.template.{containers}[].env", "name", "value", ("secretRef",))
            for containers in ("containers", "initContainers")
        ),
        azurerm_settings=tuple(
            Settings(f"template[].{containers}[].env", "name", "value", ("secret_name",))
            for containers in ("container", "init_container")
        ),
        settings_live=True,
    ),
    Consumer(
        "Microsoft.Web/sites",
        None,
        azurerm_types=(
            "azurerm_linux_web_app",
            "azurerm_windows_web_app",
            "azurerm_linux_function_app",
            "azurerm_windows_function_app",
        ),
        settings=(Settings("properties.siteConfig.appSettings", "name", "value"),),
        azurerm_settings=(Settings("app_settings"),),
    ),
    Consumer("Microsoft.Web/sites/config", None, settings=(Settings("properties"),), settings_names=("appsettings",)),
)

#: App Service setting values that Azure replaces with a Key Vault secret at run time.
SECRET_REFERENCE_PREFIX = "@microsoft.keyvault("
#: The setting that picks a user-assigned identity for DefaultAzureCredential / the Azure SDKs.
CLIENT_ID_SETTING = "AZURE_CLIENT_ID"

_BY_ARM_TYPE: dict[str, Consumer] = {c.arm_type.lower(): c for c in CONSUMERS}
_BY_AZURERM_TYPE: dict[str, Consumer] = {t: c for c in CONSUMERS for t in c.azurerm_types}


def consumer_for_arm_type(arm_type: str | None) -> Consumer | None:
    return _BY_ARM_TYPE.get((arm_type or "").lower())


def consumer_for_azurerm_type(azurerm_type: str | None) -> Consumer | None:
    return _BY_AZURERM_TYPE.get(azurerm_type or "")


def auto_rotating_consumer_types() -> frozenset[str]:
    """ARM types (lower case) of consumers that follow a versionless key's rotation themselves."""
    return frozenset(c.arm_type.lower() for c in CONSUMERS if c.auto_rotates)


def consumer_purpose(arm_type: str | None) -> str | None:
    """The key purpose a consumer type implies (None when it implies none, or is not known)."""
    found = consumer_for_arm_type(arm_type)
    return found.purpose if found else None


# --- clouds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudSuffixes:
    """The data-plane DNS suffixes of one Azure cloud."""

    keyvault: str
    managedhsm: str
    names: tuple[str, ...]  # kvaudit's --cloud name first, then the azurerm ``environment`` name


CLOUD_SUFFIXES: tuple[CloudSuffixes, ...] = (
    CloudSuffixes("vault.azure.net", "managedhsm.azure.net", ("public",)),
    CloudSuffixes("vault.usgovcloudapi.net", "managedhsm.usgovcloudapi.net", ("usgov", "usgovernment")),
    CloudSuffixes("vault.azure.cn", "managedhsm.azure.cn", ("china",)),
    # Germany (retired): still seen in old templates, so its hosts are still recognised.
    CloudSuffixes("vault.microsoftazure.de", "managedhsm.microsoftazure.de", ("german", "germany")),
)

#: DNS suffix -> vault | managed_hsm, for telling the service from a key URI alone.
DATA_PLANE_SUFFIXES: dict[str, str] = {
    suffix: kind
    for cloud in CLOUD_SUFFIXES
    for suffix, kind in ((cloud.keyvault, "vault"), (cloud.managedhsm, "managed_hsm"))
}


def cloud_suffixes(name: str | None) -> CloudSuffixes:
    """The suffixes of a cloud by kvaudit or azurerm name; the public cloud when unnamed."""
    wanted = (name or "public").lower()
    for cloud in CLOUD_SUFFIXES:
        if wanted in cloud.names:
            return cloud
    return CLOUD_SUFFIXES[0]


def kind_for_host(host: str) -> str:
    """``vault``/``managed_hsm`` from the DNS suffix, ``unknown`` for a custom cloud or typo."""
    host = host.lower().rstrip(".")
    for suffix, kind in DATA_PLANE_SUFFIXES.items():
        if host.endswith("." + suffix):
            return kind
    return "unknown"
