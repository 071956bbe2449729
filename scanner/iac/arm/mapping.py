"""Declared ARM resources (from ARM, Bicep or azapi) -> inventory rows. Written once for all.

Property paths and platform defaults come from the field table (:mod:`scanner.fields`), the
same one the live collector reads: values the template leaves unset but the platform fills in
are named in the row's ``defaults`` column, and a value the template sets to something that
cannot be evaluated stays null and is named in ``unresolved``. This module adds what only a
template has: ids, joins between declarations, and key references.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kvaudit.scanner.fields import REST, Filled, Reader, fill, rotation_columns, scalar_from_text
from kvaudit.scanner.iac import app_settings
from kvaudit.scanner.iac.arm.resources import Declared, deployment_id, render_name, scope_id
from kvaudit.scanner.iac.arm.values import Partial, RuntimeObject, Unknown, join_strings, plain, render
from kvaudit.scanner.iac.common import initial_administrators, location_columns, parse_key_uri, synth_key_id
from kvaudit.scanner.inventory import BOOL, INT, InlineSuppression, normalise_id
from kvaudit.scanner.keyrefs import json_setting_text
from kvaudit.scanner.reference import consumer_for_arm_type, kind_for_host, role_name

VAULT = "microsoft.keyvault/vaults"
HSM = "microsoft.keyvault/managedhsms"
KEY_TYPES = {"microsoft.keyvault/vaults/keys", "microsoft.keyvault/managedhsms/keys"}

#: How ARM values look to the field table: unknowns of three shapes, case-insensitive names.
ARM_READER = Reader(
    is_unknown=lambda value: isinstance(value, Unknown | Partial | RuntimeObject),
    case_insensitive=True,
    text_scalars=True,
)

_URI_REFS = {"vaulturi", "hsmuri", "properties.vaulturi", "properties.hsmuri"}
_KEY_REFS = {"keyuri", "properties.keyuri"}
_KEY_VERSION_REFS = {"keyuriwithversion", "properties.keyuriwithversion"}
_SENTINEL = "\x00"


def _get(obj: Any, *path: str) -> Any:
    """Case-insensitive nested lookup; a missing key gives ``_MISSING``, an unknown gives Unknown."""
    for name in path:
        if isinstance(obj, Unknown | Partial | RuntimeObject):
            return obj
        if not isinstance(obj, dict):
            return _MISSING
        found = _MISSING
        for key, value in obj.items():
            if key.lower() == name.lower():
                found = value
                break
        if found is _MISSING:
            return _MISSING
        obj = found
    return obj


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _typed(value: Any, kind: type | tuple[type, ...]) -> Any:
    value = plain(value)
    if isinstance(value, str) and kind in (bool, int):  # "true", "30": as the provider reads them
        value = scalar_from_text(value, BOOL if kind is bool else INT)
    if kind is int and isinstance(value, bool):
        return None
    return value if isinstance(value, kind) else None


class _Row:
    """Builds one row: provenance plus the columns the field table filled."""

    def __init__(self, decl: Declared):
        self.decl = decl
        self.values: dict[str, Any] = {
            "source": decl.source,
            **location_columns(decl.file, decl.line, decl.call),
            "api_version": decl.api_version,
        }
        self.defaulted: list[str] = []
        self.unresolved: list[str] = []

    def set(self, column: str, value: Any) -> None:
        self.values[column] = None if value is _MISSING else value

    def apply(self, filled: Filled) -> None:
        """Take every column the field table filled, with its defaults and unresolved names."""
        self.values.update(filled.values)
        self.defaulted.extend(filled.defaults)
        self.unresolved.extend(filled.unresolved)

    def done(self) -> dict[str, Any]:
        self.values["defaults"] = sorted(self.defaulted) or None
        self.values["unresolved"] = sorted(self.unresolved)
        return self.values


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class Mapper:
    """Turns a list of declarations into inventory records and inline suppressions."""

    def __init__(self, declared: Iterable[Declared]):
        self.declared = list(declared)
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.suppressions: list[InlineSuppression] = []
        #: vault id -> (kind, name) for vaults declared (or referenced as existing) in the IaC.
        self.vaults: dict[str, tuple[str, str | None]] = {}
        for decl in self.declared:
            if decl.type_lower in (VAULT, HSM):
                kind = "managed_hsm" if decl.type_lower == HSM else "vault"
                self.vaults[decl.id] = (kind, _name(decl.name))

    def run(self) -> tuple[dict[str, list[dict[str, Any]]], list[InlineSuppression]]:
        handlers = {
            VAULT: self._vault,
            HSM: self._vault,
            "microsoft.keyvault/vaults/keys": self._key,
            "microsoft.keyvault/managedhsms/keys": self._key,
            "microsoft.keyvault/vaults/accesspolicies": self._access_policy_resource,
            "microsoft.authorization/roleassignments": self._role_assignment,
            "microsoft.insights/diagnosticsettings": self._diagnostic_setting,
            "microsoft.network/privateendpoints": self._private_endpoint,
            "microsoft.keyvault/vaults/privateendpointconnections": self._pe_connection,
            "microsoft.keyvault/managedhsms/privateendpointconnections": self._pe_connection,
        }
        for decl in self.declared:
            handler = handlers.get(decl.type_lower)
            row_id = None
            if handler is not None and not decl.existing:
                row_id = handler(decl)
            if not decl.type_lower.startswith("microsoft.keyvault/") and not decl.existing:
                found = self._key_references(decl)
                row_id = row_id or found
            for rule, reason in decl.suppressions:
                self.suppressions.append(InlineSuppression(rule, row_id or decl.id, reason, decl.file, decl.line))
        return self.records, self.suppressions

    def _add(self, table: str, row: dict[str, Any]) -> str:
        self.records.setdefault(table, []).append(row)
        return row["id"]

    # --- vaults and managed HSMs -------------------------------------------------------------

    def _vault(self, decl: Declared) -> str:
        kind = "managed_hsm" if decl.type_lower == HSM else "vault"
        props = decl.properties
        row = _Row(decl)
        row.set("id", decl.id)
        row.set("display_id", decl.display_id)
        row.set("name", _name(decl.name))
        row.set("kind", kind)
        row.set("subscription_id", decl.deployment.subscription_id)
        row.set("resource_group", decl.deployment.resource_group)
        row.set("rbac_authorization_enabled", None)  # vaults only; managed HSMs always use local RBAC
        row.set("security_domain_activated", None)  # not observable from a template (field table)
        row.apply(fill("vaults", decl.body, REST, kind, ARM_READER))
        vault_id = self._add("vaults", row.done())
        if kind == "vault":
            self._access_policies(decl, vault_id, _get(props, "accessPolicies"))
        else:
            self._hsm_admins(decl, vault_id, _get(props, "initialAdminObjectIds"))
        return vault_id

    def _hsm_admins(self, decl: Declared, vault_id: str, admins: Any) -> None:
        """Initial administrators become Managed HSM Administrator at ``/`` on activation; an
        unknown list is an unknown set of administrators, not none."""
        for assignment in initial_administrators(
            vault_id,
            admins,
            principal=lambda admin: _typed(admin, str),
            label=lambda admin, _index: render(admin),
            absent=lambda admins: admins is _MISSING or admins is None,
        ):
            row = _Row(decl)
            unresolved = assignment.pop("unresolved")
            for column, value in assignment.items():
                row.set(column, value)
            row.unresolved.extend(unresolved)
            self._add("role_assignments", row.done())

    # --- keys ---------------------------------------------------------------------------------

    def _key(self, decl: Declared) -> str:
        vault_id = decl.id.rsplit("/keys/", 1)[0]
        row = _Row(decl)
        row.set("id", decl.id)
        row.set("vault_id", vault_id)
        row.set("vault_name", _name(decl.names[0]) if decl.names else None)
        row.set("name", _name(decl.name))
        row.set("kid", None)
        row.set("current_version", None)
        kind = "managed_hsm" if decl.type_lower == "microsoft.keyvault/managedhsms/keys" else "vault"
        row.apply(fill("keys", decl.body, REST, kind, ARM_READER))
        row.apply(rotation_columns(decl.body, REST, ARM_READER))
        row.set("managed", False)
        return self._add("keys", row.done())

    # --- access ---------------------------------------------------------------------------------

    def _access_policy_resource(self, decl: Declared) -> str | None:
        vault_id = decl.id.rsplit("/accesspolicies/", 1)[0]
        return self._access_policies(decl, vault_id, _get(decl.properties, "accessPolicies"))

    def _access_policies(self, decl: Declared, vault_id: str, policies: Any) -> str | None:
        """One row per policy; a list that cannot be evaluated is one policy of unknown principal
        and permissions, so that the vault's policies read as unknown rather than as none."""
        if isinstance(policies, Unknown | Partial | RuntimeObject):
            policies = [policies]
        first = None
        if isinstance(policies, list):
            for policy in policies:
                row_id = self._access_policy(decl, vault_id, policy)
                first = first or row_id
        return first

    def _access_policy(self, decl: Declared, vault_id: str, policy: Any) -> str:
        object_id = _get(policy, "objectId")
        row = _Row(decl)
        row.set("id", f"{vault_id}/accesspolicies/{render_name(object_id)}".lower())
        row.set("vault_id", vault_id)
        row.apply(fill("access_policies", policy, REST, None, ARM_READER))
        return self._add("access_policies", row.done())

    def _extension_target(self, decl: Declared) -> str:
        """The id an extension resource (role assignment, diagnostic setting) is attached to."""
        if decl.scope is not None:
            return scope_id(decl.scope, decl.deployment).lower()
        return deployment_id(decl.deployment).lower()

    def _vault_of(self, target: str) -> str | None:
        for marker in ("/providers/microsoft.keyvault/vaults/", "/providers/microsoft.keyvault/managedhsms/"):
            head, sep, tail = target.partition(marker)
            if sep:
                return head + sep + tail.split("/", 1)[0]
        return None

    def _role_assignment(self, decl: Declared) -> str:
        scope = self._extension_target(decl)
        row = _Row(decl)
        row.set("id", decl.id)
        row.set("plane", "azure")
        row.set("name", _name(decl.name))
        row.set("vault_id", self._vault_of(scope))
        row.set("scope", scope or "/")
        row.apply(fill("role_assignments", decl.body, REST, None, ARM_READER))
        row.set("role_name", role_name(row.values.get("role_definition_id")))
        return self._add("role_assignments", row.done())

    def _diagnostic_setting(self, decl: Declared) -> str:
        props = decl.properties
        logs_value = _get(props, "logs")
        logs: list[dict[str, Any]] | None = []
        if isinstance(logs_value, list):
            for item in logs_value:
                if not isinstance(item, dict):
                    logs = None
                    break
                retention = _get(item, "retentionPolicy")
                days = _typed(_get(retention, "days"), int)
                if _typed(_get(retention, "enabled"), bool) is False:
                    days = None
                logs.append(
                    {
                        "category": _typed(_get(item, "category"), str),
                        "category_group": _typed(_get(item, "categoryGroup"), str),
                        "enabled": _typed(_get(item, "enabled"), bool),
                        "retention_days": days,
                    }
                )
        elif logs_value is not _MISSING:
            logs = None
        row = _Row(decl)
        row.set("id", decl.id)
        row.set("target_id", self._extension_target(decl))
        row.set("name", _name(decl.name))
        row.set("logs", logs)
        row.apply(fill("diagnostic_settings", decl.body, REST, None, ARM_READER))
        return self._add("diagnostic_settings", row.done())

    # --- private endpoints ------------------------------------------------------------------------

    def _private_endpoint(self, decl: Declared) -> str | None:
        first = None
        for key, state in (
            ("privateLinkServiceConnections", "Approved"),
            ("manualPrivateLinkServiceConnections", "Pending"),
        ):
            connections = _get(decl.properties, key)
            if not isinstance(connections, list):
                continue
            for conn in connections:
                target = _get(conn, "properties", "privateLinkServiceId")
                target_id = normalise_id(render(target)) if target is not _MISSING else None
                if target_id is None or self._vault_of(target_id) != target_id:
                    continue
                conn_name = _name(plain(_get(conn, "name")))
                row = _Row(decl)
                row.set("id", f"{decl.id}/{key.lower()}/{render_name(_get(conn, 'name'))}".lower())
                row.set("target_id", target_id)
                row.set("name", conn_name)
                row.set("private_endpoint_id", decl.id)
                row.set("connection_state", state)
                row.set("provisioning_state", None)
                row_id = self._add("private_endpoints", row.done())
                first = first or row_id
        return first

    def _pe_connection(self, decl: Declared) -> str:
        row = _Row(decl)
        row.set("id", decl.id)
        row.set("target_id", decl.id.rsplit("/privateendpointconnections/", 1)[0])
        row.set("name", _name(decl.name))
        row.apply(fill("private_endpoints", decl.body, REST, None, ARM_READER))
        return self._add("private_endpoints", row.done())

    # --- key consumers ------------------------------------------------------------------------------

    def _key_references(self, decl: Declared) -> str | None:
        first = None
        storage = _get(decl.properties, "encryption", "keyvaultproperties")
        if decl.type_lower == "microsoft.storage/storageaccounts" and isinstance(storage, dict):
            uri = _get(storage, "keyvaulturi")
            name = _get(storage, "keyname")
            version = _get(storage, "keyversion")
            pieces = [uri if uri is not _MISSING else Unknown(), "/keys/", name if name is not _MISSING else ""]
            if version is not _MISSING and version not in ("", None):
                pieces += ["/", version]
            composed = join_strings([p for p in pieces])
            if isinstance(composed, str):
                composed = composed.replace("//keys/", "/keys/")
            elif isinstance(composed, Partial):
                composed = Partial(
                    tuple(p.replace("//keys/", "/keys/") if isinstance(p, str) else p for p in composed.parts)
                )
            first = self._reference_row(decl, "properties.encryption.keyvaultproperties", composed)
        for path, value in _walk(decl.body.get("properties"), "properties"):
            if path.lower().startswith("properties.encryption.keyvaultproperties"):
                continue
            if _looks_like_key_reference(value):
                row_id = self._reference_row(decl, path, value)
                first = first or row_id
        return self._settings_references(decl) or first

    def _settings_references(self, decl: Declared) -> str | None:
        """Key references named by application settings (vault URL, key name, key version)."""
        consumer = consumer_for_arm_type(decl.type)
        if consumer is None or not consumer.settings:
            return None
        if consumer.settings_names and (_name(decl.name) or "").lower() not in consumer.settings_names:
            return None
        owner_type, _, _child = decl.type.rpartition("/") if consumer.settings_names else (decl.type, "", "")
        consumer_id = decl.id.rsplit("/", 2)[0] if consumer.settings_names else decl.id
        names = decl.names[:-1] if consumer.settings_names else decl.names
        first = None
        for found in app_settings.references(
            decl.body,
            consumer.settings,
            text=json_setting_text,
            vault_of=self._settings_vault,
            consumer_id=consumer_id,
            consumer_type=owner_type,
            consumer_name=_name(names[-1]) if names else None,
        ):
            row = _Row(decl)
            for column, value in found.items():
                row.set(column, value)
            row.unresolved.extend(found["unresolved"])
            row_id = self._add("key_references", row.done())
            first = first or row_id
        return first

    def _settings_vault(self, setting: Any, host: str | None) -> str | None:
        """The declared vault a vault-URL setting names: ``kv.properties.vaultUri`` or its host."""
        head = setting.parts[0] if isinstance(setting, Partial) and setting.parts else setting
        kind = _ref_kind(head)
        if kind is not None and kind[0] == "vault":
            return kind[1].lower()
        return self._vault_for_host(host) if host else None

    def _reference_row(self, decl: Declared, path: str, value: Any) -> str | None:
        parsed = _parse_reference(value)
        if parsed is None:
            return None
        vault_id = parsed.get("vault_id")
        host = parsed.get("host")
        if vault_id is None and host is not None:
            vault_id = self._vault_for_host(host)
        key_name = parsed.get("key_name")
        key_id = parsed.get("key_id")
        if key_id is None and vault_id is not None and key_name is not None:
            key_id = synth_key_id(vault_id, key_name)
        row = _Row(decl)
        row.set("id", f"{decl.id}/{path}".lower())
        row.set("consumer_id", decl.id)
        row.set("consumer_type", decl.type)
        row.set("consumer_name", _name(decl.names[-1]) if decl.names else None)
        row.set("principal_id", None)
        row.set("key_uri", value if isinstance(value, str) else None)
        row.set("vault_host", host)
        row.set("vault_id", vault_id)
        row.set("key_id", key_id)
        row.set("key_name", key_name)
        row.set("key_version", parsed.get("version"))
        row.set("pinned", parsed.get("pinned"))
        consumer = consumer_for_arm_type(decl.type)
        known_path = consumer is not None and path.lower() in {p.lower() for p in consumer.key_paths}
        row.set("purpose", consumer.purpose if known_path else None)
        return self._add("key_references", row.done())

    def _vault_for_host(self, host: str) -> str | None:
        label = host.split(".", 1)[0]
        kind = kind_for_host(host)
        for vault_id, (vault_kind, name) in self.vaults.items():
            if name is not None and name.lower() == label and kind in (vault_kind, "unknown"):
                return vault_id
        return None



def _walk(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    """Every leaf (and unknown) under ``value`` with its dotted property path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value


def _ref_kind(value: Any) -> tuple[str, str] | None:
    if isinstance(value, Unknown) and value.ref is not None:
        prop = value.ref[0].lower()
        if prop in _URI_REFS:
            return "vault", value.ref[1]
        if prop in _KEY_REFS:
            return "key", value.ref[1]
        if prop in _KEY_VERSION_REFS:
            return "key_version", value.ref[1]
    return None


def _looks_like_key_reference(value: Any) -> bool:
    if isinstance(value, str):
        return parse_key_uri(value) is not None
    if isinstance(value, Unknown):
        kind = _ref_kind(value)
        return kind is not None and kind[0] != "vault"
    if isinstance(value, Partial):
        if _ref_kind(value.parts[0]) is not None:
            return True
        text = "".join(p if isinstance(p, str) else _SENTINEL for p in value.parts)
        return text.lower().startswith("https://") and "/keys/" in text.lower()
    return False


def _parse_reference(value: Any) -> dict[str, Any] | None:
    """Vault, key, version and pinning of a key reference that may be partly unknown."""
    if isinstance(value, str):
        parsed = parse_key_uri(value)
        if parsed is None:
            return None
        return {
            "host": parsed.host,
            "key_name": parsed.key_name,
            "version": parsed.version,
            "pinned": parsed.pinned,
        }
    parts = list(value.parts) if isinstance(value, Partial) else [value]
    head = _ref_kind(parts[0])
    if head is not None:
        kind, target = head
        rest = "".join(p if isinstance(p, str) else _SENTINEL for p in parts[1:])
        if kind == "vault":
            segments = [s for s in rest.split("/") if s != ""]
            if not segments or segments[0].lower() != "keys":
                return None
            return _segments(segments[1:], {"vault_id": target.lower()})
        key_id = target.lower()
        vault_id = key_id.rsplit("/keys/", 1)[0]
        key_name = key_id.rsplit("/keys/", 1)[1] if "/keys/" in key_id else None
        out = {"vault_id": vault_id, "key_id": key_id, "key_name": key_name, "version": None}
        if kind == "key_version":
            out["pinned"] = True
        else:
            version = rest.strip("/")
            out["pinned"] = bool(version) if _SENTINEL not in version else None
            out["version"] = version if version and _SENTINEL not in version else None
        if key_name is not None and "{" in key_name:
            out["key_name"] = None
        return out
    text = "".join(p if isinstance(p, str) else _SENTINEL for p in parts)
    scheme, _, rest = text.partition("://")
    host, _, path = rest.partition("/")
    segments = [s for s in path.split("/") if s != ""]
    if scheme.lower() != "https" or not segments or segments[0].lower() != "keys":
        return None
    out = {"host": host.lower() if _SENTINEL not in host else None}
    return _segments(segments[1:], out)


def _segments(segments: list[str], out: dict[str, Any]) -> dict[str, Any]:
    """key name / version segments, where ``_SENTINEL`` marks unknown text."""
    name = segments[0] if segments else None
    out["key_name"] = name if name and _SENTINEL not in name else None
    if len(segments) >= 2:
        out["pinned"] = True
        out["version"] = segments[1] if _SENTINEL not in segments[1] else None
    elif name is not None and name.endswith(_SENTINEL):
        out["pinned"] = None  # an unknown tail may or may not carry "/<version>"
        out["version"] = None
    else:
        out["pinned"] = False
        out["version"] = None
    return out


def map_declared(
    declared: Iterable[Declared],
) -> tuple[dict[str, list[dict[str, Any]]], list[InlineSuppression]]:
    """Inventory records and inline suppressions for every declared resource."""
    return Mapper(declared).run()
