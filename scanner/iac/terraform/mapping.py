"""Turning Terraform resource instances into inventory rows: one mapping, two front-ends.

Both the HCL evaluator and the plan reader hand over :class:`Instance` objects whose values use
the azurerm attribute names, so each resource type is mapped once here. Conventions:

* an attribute that is absent or ``null`` gets the provider's documented default and its
  column is named in ``defaults``;
* an attribute that is UNKNOWN (unresolvable, or computed at apply) becomes null, never a
  default and never a guess, and its column is named in ``unresolved``.

Attribute paths, defaults and conversions come from the field table (:mod:`scanner.fields`);
this module adds ids, joins and key references.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kvaudit.scanner.fields import AZURERM, Filled, Reader, fill, rotation_columns
from kvaudit.scanner.iac import app_settings
from kvaudit.scanner.iac.common import initial_administrators, location_columns, parse_key_uri, synth_key_id
from kvaudit.scanner.iac.terraform.azapi import AZAPI_TYPES, declared_from
from kvaudit.scanner.iac.terraform.azure import (
    HSM,
    HSM_KEY,
    HSM_ROLE_DEFINITION,
    VAULT,
    VAULT_KEY,
    arm_id,
    key_identity,
    split_vault_id,
    vault_host,
    vault_id_of,
    vault_kind,
)
from kvaudit.scanner.iac.terraform.module import Instance
from kvaudit.scanner.iac.terraform.rotation import HSM_KEY_ROTATION_POLICY, SeparatePolicies
from kvaudit.scanner.iac.terraform.updates import apply_writes
from kvaudit.scanner.iac.terraform.values import UNKNOWN, EncodedJson, KeyRef, contains_unknown
from kvaudit.scanner.inventory import normalise_id
from kvaudit.scanner.keyrefs import UNRESOLVED
from kvaudit.scanner.reference import Consumer, consumer_for_azurerm_type, role_name

_MISSING = object()

#: How Terraform values look to the field table: UNKNOWN, and references computed at apply.
TF_READER = Reader(is_unknown=lambda value: value is UNKNOWN or isinstance(value, KeyRef | EncodedJson))

#: Consumers that configure another resource: the row belongs to that resource.
PARENT_ATTRIBUTE: dict[str, str] = {
    "azurerm_storage_account_customer_managed_key": "storage_account_id",
    "azurerm_mssql_server_transparent_data_encryption": "server_id",
}


@dataclass
class Rows:
    """Rows per table plus, per Terraform address, the ids of rows it declared (for suppressions)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    declared: dict[str, list[str]] = field(default_factory=dict)

    def add(self, table: str, instance: Instance, row: dict[str, Any], source: str) -> None:
        row.setdefault("source", source)
        for column, value in location_columns(instance.file, instance.line, instance.call).items():
            row.setdefault(column, value)
        self.tables.setdefault(table, []).append(row)
        self.declared.setdefault(instance.address, []).append(row["id"])


def known(value: Any) -> Any:
    """The value for a column: UNKNOWN and KeyRef become null; lists with unknowns too."""
    if value is UNKNOWN or isinstance(value, KeyRef | EncodedJson) or contains_unknown(value):
        return None
    return value


def _str(value: Any) -> str | None:
    value = known(value)
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    value = known(value)
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    value = known(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _list(value: Any) -> list | None:
    value = known(value)
    return list(value) if isinstance(value, list) else None


def _block(values: dict[str, Any], name: str) -> Any:
    """First nested block as a dict, None when absent, UNKNOWN when undeterminable."""
    value = values.get(name)
    if value is None or value == []:
        return None
    if value is UNKNOWN or not isinstance(value, list) or not isinstance(value[0], dict):
        return UNKNOWN
    return value[0]


class Defaults:
    """Collects column values, recording those filled from a documented provider default."""

    def __init__(self) -> None:
        self.row: dict[str, Any] = {}
        self.names: list[str] = []
        self.unresolved: list[str] = []

    def apply(self, filled: Filled) -> None:
        """Take every column the field table filled, with its defaults and unresolved names."""
        self.row.update(filled.values)
        self.names.extend(filled.defaults)
        self.unresolved.extend(filled.unresolved)

    def done(self) -> dict[str, Any]:
        self.row["defaults"] = sorted(self.names)
        self.row["unresolved"] = sorted(self.unresolved)
        return self.row


def _filled(table: str, values: dict[str, Any], rtype: str | None) -> Defaults:
    d = Defaults()
    d.apply(fill(table, values, AZURERM, rtype, TF_READER))
    return d


class Mapper:
    """Maps all instances of one scan; vault lookups let key URIs join to declared vaults."""

    def __init__(self, instances: list[Instance], source: str):
        self.instances = instances
        self.source = source
        self.rows = Rows()
        self.vaults_by_host: dict[str, str] = {}
        self.role_definitions: dict[str, dict[str, Any]] = {}
        for inst in instances:
            if inst.type in (VAULT, HSM):
                vid = vault_id_of(inst.type, inst.values, inst.address)
                name, kind = split_vault_id(vid)
                if name and kind:
                    self.vaults_by_host[vault_host(name, kind, inst.environment)] = vid
            if inst.type == HSM_ROLE_DEFINITION and inst.mode == "managed":
                name = _str(inst.values.get("name"))
                if name:
                    self.role_definitions[name.lower()] = inst.values

    def run(self) -> Rows:
        self.rotation = SeparatePolicies(self.instances, self._reference)
        handlers: dict[str, Callable[[Instance], None]] = {
            HSM_KEY_ROTATION_POLICY: lambda _inst: None,  # read by key(): it configures the key
            VAULT: self.vault,
            HSM: self.vault,
            VAULT_KEY: self.key,
            HSM_KEY: self.key,
            "azurerm_key_vault_access_policy": self.access_policy,
            "azurerm_key_vault_managed_hardware_security_module_role_assignment": self.hsm_role_assignment,
            "azurerm_role_assignment": self.role_assignment,
            "azurerm_monitor_diagnostic_setting": self.diagnostic_setting,
            "azurerm_private_endpoint": self.private_endpoint,
        }
        azapi: list[Instance] = []
        for inst in self.instances:
            if inst.mode != "managed":
                continue
            handler = handlers.get(inst.type)
            if handler is not None:
                handler(inst)
            elif inst.type in AZAPI_TYPES:
                azapi.append(inst)
            elif inst.type.startswith("azurerm_"):
                self.consumer(inst)
        if azapi:
            self.azapi(azapi)
        apply_writes(self.instances, self.rows.tables)  # azapi writes onto resources declared above
        return self.rows

    def azapi(self, instances: list[Instance]) -> None:
        """azapi resources go through the ARM mapping (imported only when there are some)."""
        from kvaudit.scanner.iac.arm.mapping import map_declared

        pairs = [(inst, declared_from(inst)) for inst in instances]
        pairs = [(inst, decl) for inst, decl in pairs if decl is not None]
        for inst, decl in pairs:
            decl.call = inst.call  # a module's azapi resource is shown at its call, like the others
        records, _ = map_declared([decl for _, decl in pairs])
        for table, table_rows in records.items():
            for table_row in table_rows:
                table_row["source"] = self.source
                self.rows.tables.setdefault(table, []).append(table_row)
        for inst, decl in pairs:
            self.rows.declared.setdefault(inst.address, []).append(decl.id)

    # --- vaults and HSMs -----------------------------------------------------------------

    def vault(self, inst: Instance) -> None:
        v = inst.values
        kind = vault_kind(inst.type)
        vid = vault_id_of(inst.type, v, inst.address)
        name = _str(v.get("name"))
        d = Defaults()
        d.row.update(
            id=vid,
            display_id=_str(v.get("id")) or vid,
            name=name,
            kind=kind,
            subscription_id=_subscription(vid),
            resource_group=_str(v.get("resource_group_name")),
            uri=f"https://{vault_host(name, kind, inst.environment)}/" if name else None,
            rbac_authorization_enabled=None,
            security_domain_activated=None,
        )
        d.apply(fill("vaults", v, AZURERM, inst.type, TF_READER))
        self.rows.add("vaults", inst, d.done(), self.source)
        if kind == "managed_hsm":
            for row in initial_administrators(
                vid, v.get("admin_object_ids"), principal=_str, label=lambda _a, _i: None, absent=lambda a: a is None
            ):
                self.rows.add("role_assignments", inst, {**row, "defaults": []}, self.source)
        if kind == "vault":
            policies = v.get("access_policy")
            if isinstance(policies, list):
                for index, policy in enumerate(policies):
                    if isinstance(policy, dict) or policy is UNKNOWN:
                        self._policy_row(inst, vid, policy, f"inline-{index}")
            elif policies is UNKNOWN:  # a dynamic block over an unknown collection: unknown policies
                self._policy_row(inst, vid, UNKNOWN, "{unknown-list}")

    # --- keys ----------------------------------------------------------------------------

    def key(self, inst: Instance) -> None:
        v = inst.values
        key_id, vault_id, vault_name, uri = key_identity(inst.type, v, inst.address, inst.environment)
        d = Defaults()
        d.row.update(id=key_id, vault_id=vault_id, vault_name=vault_name, name=_str(v.get("name")), kid=uri)
        d.apply(fill("keys", v, AZURERM, inst.type, TF_READER))
        d.row["managed"] = False
        d.apply(rotation_columns(v, AZURERM, TF_READER, policy=self.rotation.policy_for(inst.type, key_id)))
        self.rows.add("keys", inst, d.done(), self.source)

    # --- access --------------------------------------------------------------------------

    def access_policy(self, inst: Instance) -> None:
        vault_id = _id(inst.values.get("key_vault_id"))
        self._policy_row(inst, vault_id or f"terraform:{inst.address}".lower(), inst.values, None, vault_id)

    def _policy_row(
        self, inst: Instance, vault_id: str, policy: Any, suffix: str | None, real_vault: Any = _MISSING
    ) -> None:
        object_id = _str(policy.get("object_id")) if isinstance(policy, dict) else None
        name = object_id or suffix or inst.address
        d = _filled("access_policies", policy, inst.type)
        d.row.update(
            id=f"{vault_id}/accesspolicies/{name}".lower(), vault_id=vault_id if real_vault is _MISSING else real_vault
        )
        row = d.done()
        self.rows.add("access_policies", inst, row, self.source)

    def hsm_role_assignment(self, inst: Instance) -> None:
        v = inst.values
        hsm_id = _id(v.get("managed_hsm_id"))
        if hsm_id is None and _str(v.get("vault_base_url")):
            host = _str(v.get("vault_base_url")).split("//")[-1].split("/")[0].lower()
            hsm_id = self.vaults_by_host.get(host)
        name = _str(v.get("name")) or inst.address
        d = _filled("role_assignments", v, inst.type)
        role_definition_id = d.row.get("role_definition_id")
        name_of_role, data_actions, not_data_actions = self._hsm_role(role_definition_id)
        d.row.update(
            id=f"{hsm_id or 'terraform:' + inst.address}/roleassignments/{name}".lower(),
            plane="managed_hsm",
            name=name,
            vault_id=hsm_id,
            scope=_str(v.get("scope")),
            role_name=name_of_role,
            data_actions=data_actions,
            not_data_actions=not_data_actions,
        )
        row = d.done()
        self.rows.add("role_assignments", inst, row, self.source)

    def _hsm_role(self, role_definition_id: str | None) -> tuple[str | None, Any, Any]:
        if not role_definition_id:
            return None, None, None
        guid = role_definition_id.rstrip("/").split("/")[-1].lower()
        custom = self.role_definitions.get(guid)
        if custom is not None:
            permission = _block(custom, "permission")
            perms = permission if isinstance(permission, dict) else {}
            return _str(custom.get("role_name")), _list(perms.get("data_actions")), _list(perms.get("not_data_actions"))
        return role_name(role_definition_id), None, None

    def role_assignment(self, inst: Instance) -> None:
        v = inst.values
        scope = _id(v.get("scope"))
        name = _str(v.get("name")) or inst.address
        d = _filled("role_assignments", v, inst.type)
        d.row.update(
            id=f"{scope or 'terraform:' + inst.address}/providers/microsoft.authorization/roleassignments/{name}".lower(),
            plane="azure",
            name=name,
            vault_id=_vault_scope(scope),
            scope=scope,
            role_name=role_name(d.row.get("role_definition_id")) or _str(v.get("role_definition_name")),
        )
        row = d.done()
        self.rows.add("role_assignments", inst, row, self.source)

    # --- logging and network -------------------------------------------------------------

    def diagnostic_setting(self, inst: Instance) -> None:
        v = inst.values
        target = _id(v.get("target_resource_id"))
        if target is not None and "/providers/microsoft.keyvault/" not in target:
            return
        name = _str(v.get("name")) or inst.address
        logs = _logs(v)
        d = _filled("diagnostic_settings", v, inst.type)
        d.row.update(
            id=f"{target or 'terraform:' + inst.address}/providers/microsoft.insights/diagnosticsettings/{name}".lower(),
            target_id=target,
            name=name,
            logs=logs,
        )
        if logs is None:  # log blocks that could not be evaluated (a dynamic over an unknown set)
            d.unresolved.append("logs")
        row = d.done()
        self.rows.add("diagnostic_settings", inst, row, self.source)

    def private_endpoint(self, inst: Instance) -> None:
        v = inst.values
        connections = v.get("private_service_connection")
        if not isinstance(connections, list):
            return
        endpoint_id = arm_id(inst.type, v, inst.address)
        for connection in connections:
            if not isinstance(connection, dict):
                continue
            target = _id(connection.get("private_connection_resource_id"))
            if target is not None and "/providers/microsoft.keyvault/" not in target:
                continue
            name = _str(connection.get("name")) or _str(v.get("name")) or inst.address
            d = _filled("private_endpoints", connection, inst.type)
            d.row.update(
                id=f"{target or 'terraform:' + inst.address}/privateendpointconnections/{name}".lower(),
                target_id=target,
                name=name,
                private_endpoint_id=None if endpoint_id.startswith("terraform:") else endpoint_id,
            )
            row = d.done()
            self.rows.add("private_endpoints", inst, row, self.source)

    # --- consumers -----------------------------------------------------------------------

    def consumer(self, inst: Instance) -> None:
        """Any other azurerm resource holding a key id (known consumers or not) references it."""
        v = inst.values
        consumer_id = normalise_id(arm_id(inst.type, v, inst.address))
        known_consumer = consumer_for_azurerm_type(inst.type)
        arm_type = known_consumer.arm_type if known_consumer else inst.type
        purpose = known_consumer.purpose if known_consumer else None
        parent = _id(v.get(PARENT_ATTRIBUTE.get(inst.type, "")))
        consumer_id = parent or consumer_id
        consumer_name = _str(v.get("name")) or (parent.rsplit("/", 1)[-1] if parent else inst.address)
        if inst.type == "azurerm_storage_account_customer_managed_key":
            if _str(v.get("key_name")) and v.get("key_vault_key_id") is None and v.get("managed_hsm_key_id") is None:
                self._named_key_reference(inst, consumer_id, consumer_name, arm_type, purpose)
                return
        for path, value in _walk(v):
            if path.startswith(("id", "identity")):
                continue
            ref = self._reference(value)
            if ref is None:
                continue
            row = {
                "id": f"{consumer_id}#{path}",
                "consumer_id": consumer_id,
                "consumer_type": arm_type,
                "consumer_name": consumer_name,
                "purpose": purpose,
                **ref,
            }
            self.rows.add("key_references", inst, row, self.source)
        if known_consumer is not None and known_consumer.azurerm_settings:
            self._settings_references(inst, known_consumer, consumer_id, consumer_name)

    def _settings_references(self, inst: Instance, consumer: Consumer, consumer_id: str, name: str) -> None:
        """Key references named by app settings or container env (vault URL, key name, version)."""
        found = app_settings.references(
            inst.values,
            consumer.azurerm_settings,
            text=_setting_text,
            vault_of=lambda _setting, host: self.vaults_by_host.get(host) if host else None,
            consumer_id=consumer_id,
            consumer_type=consumer.arm_type,
            consumer_name=name,
        )
        for row in found:
            self.rows.add("key_references", inst, row, self.source)

    def _named_key_reference(
        self, inst: Instance, consumer_id: str, consumer_name: str, arm_type: str, purpose: str | None
    ) -> None:
        v = inst.values
        vault_id = _id(v.get("key_vault_id"))
        name = _str(v.get("key_name"))
        version = v.get("key_version")
        vault_name, kind = split_vault_id(vault_id)
        host = vault_host(vault_name, kind, inst.environment) if vault_name and kind else None
        row = {
            "id": f"{consumer_id}#key_name",
            "consumer_id": consumer_id,
            "consumer_type": arm_type,
            "consumer_name": consumer_name,
            "purpose": purpose,
            "key_uri": f"https://{host}/keys/{name}" + (f"/{version}" if isinstance(version, str) and version else "")
            if host
            else None,
            "vault_host": host,
            "vault_id": vault_id,
            "key_id": synth_key_id(vault_id, name) if vault_id and name else None,
            "key_name": name,
            "key_version": _str(version),
            "pinned": None if version is UNKNOWN else bool(version),
        }
        self.rows.add("key_references", inst, row, self.source)

    def _reference(self, value: Any) -> dict[str, Any] | None:
        """Columns of a key reference for a KeyRef, key URI or ARM key id; None otherwise."""
        if isinstance(value, KeyRef):
            return {
                "key_uri": None,
                "vault_host": value.vault_host,
                "vault_id": value.vault_id,
                "key_id": value.key_id,
                "key_name": value.key_name,
                "key_version": value.version,
                "pinned": value.pinned,
            }
        if not isinstance(value, str):
            return None
        uri = parse_key_uri(value)
        if uri is not None:
            vault_id = self.vaults_by_host.get(uri.host)
            return {
                "key_uri": value,
                "vault_host": uri.host,
                "vault_id": vault_id,
                "key_id": synth_key_id(vault_id, uri.key_name) if vault_id else None,
                "key_name": uri.key_name,
                "key_version": uri.version,
                "pinned": uri.pinned,
            }
        lowered = value.lower()
        if "/providers/microsoft.keyvault/" in lowered and "/keys/" in lowered:
            vault_part, _, rest = lowered.rstrip("/").partition("/keys/")
            pieces = rest.split("/")
            version = pieces[2] if len(pieces) >= 3 and pieces[1] == "versions" else None
            vault_name, kind = split_vault_id(vault_part)
            return {
                "key_uri": None,
                "vault_host": vault_host(vault_name, kind) if vault_name and kind else None,
                "vault_id": vault_part,
                "key_id": synth_key_id(vault_part, pieces[0]),
                "key_name": value.rstrip("/").split("/keys/")[-1].split("/")[0],
                "key_version": version,
                "pinned": version is not None,
            }
        return None


def _setting_text(value: Any) -> Any:
    """An app setting's text as the provider sends it; unresolved when only known after apply."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return UNRESOLVED


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted path, leaf) for every leaf in nested attribute values."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, item in value.items():
            out.extend(_walk(item, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list):
        out = []
        for index, item in enumerate(value):
            out.extend(_walk(item, f"{path}[{index}]"))
        return out
    return [(path, value)]


def _id(value: Any) -> str | None:
    text = _str(value)
    return normalise_id(text) if text else None


def _vault_scope(scope: str | None) -> str | None:
    """The vault or HSM id when ``scope`` is that vault or something inside it (a key)."""
    if not scope or "/providers/microsoft.keyvault/" not in scope:
        return None
    base, _, rest = scope.partition("/providers/microsoft.keyvault/")
    parts = rest.split("/")
    return f"{base}/providers/microsoft.keyvault/{parts[0]}/{parts[1]}" if len(parts) >= 2 else None


def _subscription(vault_id: str) -> str | None:
    parts = vault_id.split("/")
    if len(parts) > 2 and parts[1] == "subscriptions" and parts[2] != "iac":
        return parts[2]
    return None


def _logs(values: dict[str, Any]) -> list[dict[str, Any]] | None:
    entries: list[dict[str, Any]] = []
    for name in ("enabled_log", "log"):
        blocks = values.get(name)
        if blocks is None:
            continue
        if not isinstance(blocks, list):
            return None
        for block in blocks:
            if not isinstance(block, dict):
                return None
            enabled = block.get("enabled", True) if name == "log" else True
            retention = _block(block, "retention_policy")
            days = None
            if isinstance(retention, dict) and retention.get("enabled") is True:
                days = _int(retention.get("days"))
            entries.append(
                {
                    "category": _str(block.get("category")) or None,
                    "category_group": _str(block.get("category_group")) or None,
                    "enabled": _bool(enabled),
                    "retention_days": days,
                }
            )
    return entries


def map_instances(instances: list[Instance], source: str) -> Rows:
    """Rows for every Key Vault related instance, in declaration order."""
    return Mapper(instances, source).run()
