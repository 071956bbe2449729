"""The field table: for every inventory column, where each source finds it and what it means.

Each inventory column is defined once here: its Azure REST/ARM property path (read by the live
collector, ARM, Bicep and azapi), its Key Vault data-plane JSON path (live keys), its azurerm
attribute path (Terraform HCL and plan JSON), the documented platform default, which sources can
observe it, and the named hook for the few columns whose value is not a plain copy. One small
interpreter (:func:`fill`) turns a body into row values through the table, so the sources cannot
drift apart and no mapper keeps a private copy of a path or a default.

Three outcomes per column, never confused:

* a value the body holds (converted to the column's type);
* absent: the documented platform default (and the column is named in ``defaults``), or the
  field's "absent" value (an empty list of rules), or null where nothing is documented;
* unresolved: the body holds an expression the source could not evaluate. The column is null
  *and* named in the row's ``unresolved`` provenance column, so a rule can tell "not set" from
  "not known" and answer UNKNOWN.

A rule that reads a column the resource's source cannot observe (a key's versions from
Terraform, audit events from ARM) gets NOT_APPLICABLE from the engine, from ``observed_by``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kvaudit.scanner.inventory import BOOL, INT, OBJ, PROVENANCE, STRING, TABLES, TIME, normalise_id
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")

#: Every source an inventory row can come from (the ``source`` provenance column).
LIVE = frozenset({"azure"})
IAC = frozenset({"arm", "bicep", "terraform", "terraform-plan", "kubernetes"})
TERRAFORM = frozenset({"terraform", "terraform-plan"})
#: Snapshots and the demo keep the source of each row, so they need no entry of their own.
EVERY_SOURCE = LIVE | IAC
NONE: frozenset[str] = frozenset()

#: Path flavours: which spelling of a resource a body uses.
REST = "rest"  # ARM resource JSON: live control plane, ARM, Bicep, azapi
DATAPLANE = "dataplane"  # Key Vault / Managed HSM data-plane JSON (live keys)
AZURERM = "azurerm"  # azurerm provider attributes: HCL and plan JSON

#: Wildcard for "every vault kind" / "every azurerm type" in the per-kind maps below.
ANY = "*"

#: azurerm resource types of the Key Vault resources the table maps.
AZURERM_VAULT = "azurerm_key_vault"
AZURERM_HSM = "azurerm_key_vault_managed_hardware_security_module"
AZURERM_VAULT_KEY = "azurerm_key_vault_key"
AZURERM_HSM_KEY = "azurerm_key_vault_managed_hardware_security_module_key"
AZURERM_DIAGNOSTIC_SETTING = "azurerm_monitor_diagnostic_setting"
AZURERM_ACCESS_POLICY = "azurerm_key_vault_access_policy"


@dataclass(frozen=True)
class Field:
    """One inventory column and what every source needs to know about it.

    ``rest`` and ``default`` are keyed by vault kind (``vault``, ``managed_hsm``, or ``*``);
    ``azurerm`` by azurerm resource type (or ``*``). A kind or type missing from a map means the
    column does not exist for it (rbac_authorization_enabled on an HSM): null, never a default.
    """

    table: str
    column: str
    observed_by: frozenset[str] = EVERY_SOURCE
    rest: Mapping[str, str] = field(default_factory=dict)
    dataplane: str | None = None
    azurerm: Mapping[str, str] = field(default_factory=dict)
    default: Mapping[str, Any] = field(default_factory=dict)
    #: Where the azurerm provider's default differs from the REST API's (kind -> value).
    azurerm_default: Mapping[str, Any] | None = None
    #: The value an absent property stands for that is not a platform default (no rules: []).
    absent: Any = None
    #: Columns azurerm cannot set on a resource type: the value it always has there (a default).
    azurerm_fixed: Mapping[str, Any] = field(default_factory=dict)
    hook: str | None = None

    @property
    def type(self) -> str:
        """The logical column type, from the inventory's table definitions."""
        return {**TABLES[self.table], **PROVENANCE}[self.column]

    def path(self, flavour: str, kind: str | None) -> str | None:
        """The property path of this column in a body of ``flavour`` for ``kind`` (or type)."""
        if flavour == DATAPLANE:
            return self.dataplane
        paths = self.azurerm if flavour == AZURERM else self.rest
        return paths.get(kind or ANY, paths.get(ANY))

    def default_for(self, flavour: str, kind: str | None) -> tuple[bool, Any]:
        """(True, value) when a platform default is documented for ``kind`` in ``flavour``."""
        defaults = self.azurerm_default if flavour == AZURERM and self.azurerm_default is not None else self.default
        for key in (kind or ANY, ANY):
            if key in defaults:
                return True, defaults[key]
        return False, None


def _table(table: str, *fields_: Field, default: frozenset[str] = EVERY_SOURCE) -> dict[str, Field]:
    """Fields of ``table``: the ones given, and every other column observable by ``default``."""
    given = {f.column: f for f in fields_}
    unknown = set(given) - set(TABLES[table])
    if unknown:
        raise ValueError(f"unknown columns for {table}: {sorted(unknown)}")
    return {column: given.get(column) or Field(table, column, default) for column in TABLES[table]}


def _f(table: str, column: str, **facts: Any) -> Field:
    return Field(table, column, **facts)


_V, _H = "vault", "managed_hsm"


def _both(path: str) -> dict[str, str]:
    """The same azurerm attribute on the vault and on the HSM resource."""
    return {AZURERM_VAULT: path, AZURERM_HSM: path}


def _keys(value: Any) -> dict[str, Any]:
    """The same azurerm attribute (or fixed value) on the vault key and the HSM key resource."""
    return {AZURERM_VAULT_KEY: value, AZURERM_HSM_KEY: value}


#: The operations the platform permits a key of each type family when none are declared.
KEY_OPS_OF_KTY: dict[str, tuple[str, ...]] = {
    "RSA": ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"),
    "EC": ("sign", "verify"),
    "OKP": ("sign", "verify"),
    "OCT": ("encrypt", "decrypt", "wrapKey", "unwrapKey"),
}

#: table -> column -> Field.
FIELDS: dict[str, dict[str, Field]] = {
    "vaults": _table(
        "vaults",
        _f("vaults", "location", rest={ANY: "location"}, azurerm=_both("location")),
        _f("vaults", "tenant_id", rest={ANY: "properties.tenantId"}, azurerm=_both("tenant_id")),
        _f(
            "vaults",
            "sku",
            rest={_V: "properties.sku.name", _H: "sku.name"},
            azurerm=_both("sku_name"),
        ),
        _f("vaults", "uri", rest={_V: "properties.vaultUri", _H: "properties.hsmUri"}, hook="uri"),
        _f(
            "vaults",
            "soft_delete_enabled",
            rest={ANY: "properties.enableSoftDelete"},
            azurerm=_both("soft_delete_enabled"),
            # Soft delete cannot be turned off on vaults since 2020, nor ever on an HSM.
            default={ANY: True},
        ),
        _f(
            "vaults",
            "soft_delete_retention_days",
            rest={ANY: "properties.softDeleteRetentionInDays"},
            azurerm=_both("soft_delete_retention_days"),
            default={ANY: 90},
            hook="retention",
        ),
        _f(
            "vaults",
            "purge_protection_enabled",
            rest={ANY: "properties.enablePurgeProtection"},
            azurerm=_both("purge_protection_enabled"),
            # Vaults: absent until someone enables it (irreversibly). The Managed HSM REST API
            # documents a default of true; the azurerm provider always sends its own false.
            default={_V: False, _H: True},
            azurerm_default={ANY: False},
        ),
        _f(
            "vaults",
            "public_network_access",
            rest={ANY: "properties.publicNetworkAccess"},
            azurerm=_both("public_network_access_enabled"),
            default={ANY: "Enabled"},
            hook="enabled_text",
        ),
        _f(
            "vaults",
            "network_default_action",
            rest={ANY: "properties.networkAcls.defaultAction"},
            azurerm=_both("network_acls.default_action"),
            default={ANY: "Allow"},  # no network rules: reachable from every network
        ),
        _f(
            "vaults",
            "network_bypass",
            rest={ANY: "properties.networkAcls.bypass"},
            azurerm=_both("network_acls.bypass"),
            default={ANY: "AzureServices"},
        ),
        _f(
            "vaults",
            "ip_rules",
            rest={ANY: "properties.networkAcls.ipRules"},
            azurerm={AZURERM_VAULT: "network_acls.ip_rules"},
            absent=[],
            hook="rule_values",
        ),
        _f(
            "vaults",
            "virtual_network_rules",
            rest={ANY: "properties.networkAcls.virtualNetworkRules"},
            azurerm={AZURERM_VAULT: "network_acls.virtual_network_subnet_ids"},
            absent=[],
            hook="rule_ids",
        ),
        _f(
            "vaults",
            "rbac_authorization_enabled",
            rest={_V: "properties.enableRbacAuthorization"},
            azurerm={AZURERM_VAULT: "rbac_authorization_enabled|enable_rbac_authorization"},
            default={_V: False},  # access-policy model unless enableRbacAuthorization is true
        ),
        _f(
            "vaults",
            "security_domain_activated",
            # The security domain is downloaded after deployment: an ARM or Bicep template cannot
            # activate an HSM, while azurerm activates it on apply when certificates are given.
            observed_by=LIVE | TERRAFORM,
            rest={_H: "properties.securityDomainProperties.activationStatus"},
            azurerm={AZURERM_HSM: "security_domain_key_vault_certificate_ids"},
            hook="security_domain",
        ),
        _f("vaults", "tags", rest={ANY: "tags"}, azurerm=_both("tags"), absent={}),
    ),
    "keys": _table(
        "keys",
        # The data plane assigns versions and timestamps on creation; IaC cannot know them.
        _f("keys", "kid", observed_by=LIVE, dataplane="key.kid", hook="versionless_kid"),
        _f("keys", "current_version", observed_by=LIVE, dataplane="key.kid", hook="kid_version"),
        _f("keys", "created", observed_by=LIVE, dataplane="attributes.created", hook="epoch"),
        _f("keys", "updated", observed_by=LIVE, dataplane="attributes.updated", hook="epoch"),
        # Keys managed by another service (certificates) exist only once deployed: IaC declares
        # none, so an IaC key is never one.
        _f("keys", "managed", dataplane="managed", absent=False),
        _f("keys", "kty", rest={ANY: "properties.kty"}, dataplane="key.kty", azurerm=_keys("key_type"), hook="kty"),
        _f(
            "keys",
            "key_size",
            rest={ANY: "properties.keySize"},
            dataplane="key.n",
            azurerm=_keys("key_size"),
            hook="key_size",
        ),
        _f("keys", "curve", rest={ANY: "properties.curveName"}, dataplane="key.crv", azurerm=_keys("curve")),
        # Absent keyOps lets the key do every operation of its type (narrowed by _key_ops_of_kty);
        # azurerm requires key_opts, so an absent one there is not a default.
        _f(
            "keys",
            "key_ops",
            rest={ANY: "properties.keyOps"},
            dataplane="key.key_ops",
            azurerm=_keys("key_opts"),
            default={ANY: list(KEY_OPS_OF_KTY["RSA"])},
            azurerm_default={},
        ),
        _f(
            "keys",
            "enabled",
            rest={ANY: "properties.attributes.enabled"},
            dataplane="attributes.enabled",
            default={ANY: True},
            azurerm_fixed=_keys(True),  # azurerm creates keys enabled and has no attribute for it
        ),
        _f(
            "keys",
            "expires",
            rest={ANY: "properties.attributes.exp"},
            dataplane="attributes.exp",
            azurerm=_keys("expiration_date"),
            hook="epoch",
        ),
        _f(
            "keys",
            "not_before",
            rest={ANY: "properties.attributes.nbf"},
            dataplane="attributes.nbf",
            azurerm=_keys("not_before_date"),
            hook="epoch",
        ),
        _f(
            "keys",
            "exportable",
            rest={ANY: "properties.attributes.exportable"},
            dataplane="attributes.exportable",
            default={ANY: False},
            azurerm_fixed=_keys(False),  # azurerm keys cannot be made exportable
        ),
        _f(
            "keys",
            "release_policy",
            rest={ANY: "properties.release_policy.data|properties.releasePolicy.data"},
            dataplane="release_policy.data",
            hook="release_policy",
        ),
        _f(
            "keys",
            "release_policy_immutable",
            rest={ANY: "properties.release_policy.immutable|properties.releasePolicy.immutable"},
            dataplane="release_policy.immutable",
            hook="release_policy_flag",
        ),
        _f("keys", "tags", rest={ANY: "tags"}, dataplane="tags", azurerm=_keys("tags"), absent={}),
    ),
    # IaC declares a key, never its versions.
    "key_versions": _table("key_versions", default=LIVE),
    "role_assignments": _table(
        "role_assignments",
        # Display names need Microsoft Graph, which kvaudit does not read.
        _f("role_assignments", "principal_name", observed_by=NONE),
        _f(
            "role_assignments",
            "principal_id",
            rest={ANY: "properties.principalId"},
            azurerm={ANY: "principal_id"},
        ),
        # IaC declares the type it intends; only Azure reports a principal that no longer
        # exists (type Unknown), so verdicts on it are live only.
        _f(
            "role_assignments",
            "principal_type",
            observed_by=LIVE,
            rest={ANY: "properties.principalType"},
            azurerm={"azurerm_role_assignment": "principal_type"},
        ),
        _f(
            "role_assignments",
            "role_definition_id",
            rest={ANY: "properties.roleDefinitionId"},
            azurerm={ANY: "role_definition_id|role_definition_name"},
            hook="role_id",
        ),
    ),
    "access_policies": _table(
        "access_policies",
        _f("access_policies", "tenant_id", rest={ANY: "tenantId"}, azurerm={ANY: "tenant_id"}),
        _f("access_policies", "object_id", rest={ANY: "objectId"}, azurerm={ANY: "object_id"}),
        _f("access_policies", "application_id", rest={ANY: "applicationId"}, azurerm={ANY: "application_id"}),
        _f(
            "access_policies",
            "key_permissions",
            rest={ANY: "permissions.keys"},
            azurerm={ANY: "key_permissions"},
            absent=[],
        ),
        _f(
            "access_policies",
            "secret_permissions",
            rest={ANY: "permissions.secrets"},
            azurerm={ANY: "secret_permissions"},
            absent=[],
        ),
        _f(
            "access_policies",
            "certificate_permissions",
            rest={ANY: "permissions.certificates"},
            azurerm={ANY: "certificate_permissions"},
            absent=[],
        ),
    ),
    "diagnostic_settings": _table(
        "diagnostic_settings",
        _f(
            "diagnostic_settings",
            "workspace_id",
            rest={ANY: "properties.workspaceId"},
            azurerm={ANY: "log_analytics_workspace_id"},
            hook="arm_id",
        ),
        _f(
            "diagnostic_settings",
            "storage_account_id",
            rest={ANY: "properties.storageAccountId"},
            azurerm={ANY: "storage_account_id"},
            hook="arm_id",
        ),
        _f(
            "diagnostic_settings",
            "event_hub_authorization_rule_id",
            rest={ANY: "properties.eventHubAuthorizationRuleId"},
            azurerm={ANY: "eventhub_authorization_rule_id"},
            hook="arm_id",
        ),
        _f(
            "diagnostic_settings",
            "marketplace_partner_id",
            rest={ANY: "properties.marketplacePartnerId"},
            azurerm={ANY: "partner_solution_id"},
            hook="arm_id",
        ),
    ),
    "private_endpoints": _table(
        "private_endpoints",
        _f(
            "private_endpoints",
            "private_endpoint_id",
            rest={ANY: "properties.privateEndpoint.id"},
            hook="arm_id",
        ),
        _f(
            "private_endpoints",
            "connection_state",
            rest={ANY: "properties.privateLinkServiceConnectionState.status"},
            azurerm={ANY: "is_manual_connection"},
            # An automatic connection in the endpoint's own subscription is approved on creation.
            azurerm_default={ANY: "Approved"},
            hook="connection_state",
        ),
        _f("private_endpoints", "provisioning_state", rest={ANY: "properties.provisioningState"}),
    ),
    "key_references": _table("key_references"),
    # Key usage comes from audit logs, which only a live scan reads.
    "key_usage": _table("key_usage", default=LIVE),
    "collection_errors": _table("collection_errors", default=LIVE),
}


def observed_by(table: str, column: str) -> frozenset[str]:
    """The sources that can observe ``table.column`` (provenance columns: every source)."""
    if column in PROVENANCE:
        return EVERY_SOURCE
    return FIELDS[table][column].observed_by


def observable(table: str, column: str, source: str | None) -> bool | None:
    """Can ``source`` observe ``table.column``? None when the row's source is not known."""
    if not isinstance(source, str) or source.lower() not in EVERY_SOURCE:
        return None  # snapshots of unknown origin, the demo: the table cannot say
    return source.lower() in observed_by(table, column)


# --- the interpreter --------------------------------------------------------------------------


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: A property the body does not hold (absent, or JSON/HCL null).
MISSING: Any = _Marker("MISSING")
#: A property the body holds but whose value the source could not evaluate.
UNRESOLVED: Any = _Marker("UNRESOLVED")


def _never_unknown(value: Any) -> bool:
    """Live JSON holds no unknown values."""
    return False


@dataclass(frozen=True)
class Reader:
    """How one source's values look: which of them are unknown, and whether keys ignore case."""

    is_unknown: Callable[[Any], bool] = _never_unknown
    case_insensitive: bool = False
    #: Resource providers read ``"true"`` and ``"30"`` as the boolean and the integer they
    #: spell (ARM templates pass such strings through): see :func:`scalar_from_text`.
    text_scalars: bool = False


#: Live JSON: everything it holds is known, and property names are exact.
LIVE_READER = Reader()


def lookup(body: Any, path: str, reader: Reader = LIVE_READER) -> Any:
    """The value at a dotted ``path`` (alternatives separated by ``|``), MISSING or UNRESOLVED.

    A step into a list of one-element blocks (HCL's nested blocks) takes the first block.
    """
    if reader.is_unknown is _never_unknown and not reader.case_insensitive:
        return _lookup_known(body, path)
    result = MISSING
    for alternative in path.split("|"):
        found = _lookup_one(body, alternative, reader)
        if found is UNRESOLVED:
            result = UNRESOLVED  # unless another spelling holds a known value
        elif found is not MISSING:
            return found
    return result


#: Each path's alternatives, split into steps once: a live scan looks up some two million.
_STEPS: dict[str, tuple[tuple[str, ...], ...]] = {}


def _lookup_known(body: Any, path: str) -> Any:
    """:func:`lookup` for a body that holds nothing unknown and spells names exactly (live
    JSON): the same walk, without the checks for unknown values that cannot occur there."""
    alternatives = _STEPS.get(path)
    if alternatives is None:
        alternatives = _STEPS[path] = tuple(tuple(a.split(".")) for a in path.split("|"))
    for steps in alternatives:
        current = body
        for step in steps:
            if isinstance(current, list):
                if not current:
                    current = None
                    break
                current = current[0]
            if not isinstance(current, dict):
                current = None
                break
            current = current.get(step)
            if current is None:
                break
        if current is not None and current is not MISSING:
            return current
    return MISSING


def _lookup_one(body: Any, path: str, reader: Reader) -> Any:
    current = body
    for step in path.split("."):
        if reader.is_unknown(current):
            return UNRESOLVED
        if isinstance(current, list):
            if not current:
                return MISSING
            current = current[0]
            if reader.is_unknown(current):
                return UNRESOLVED
        if not isinstance(current, dict):
            return MISSING
        if reader.case_insensitive:
            lowered = step.lower()
            current = next((v for k, v in current.items() if str(k).lower() == lowered), MISSING)
        else:
            current = current.get(step, MISSING)
        if current is MISSING or current is None:
            return MISSING
    return UNRESOLVED if _holds_unknown(current, reader) else current


def _holds_unknown(value: Any, reader: Reader) -> bool:
    if reader.is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(_holds_unknown(v, reader) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_unknown(v, reader) for v in value)
    return False


class Unresolvable(Exception):
    """Raised by a hook when the value it was given cannot be turned into the column's value."""


@dataclass
class HookInput:
    """What a hook sees: the raw value, where it came from and the whole body."""

    value: Any
    flavour: str
    kind: str | None
    body: Any
    reader: Reader


def _hook_enabled_text(h: HookInput) -> Any:
    """azurerm ``public_network_access_enabled`` is a bool; the REST API's text is the column."""
    if h.flavour == AZURERM:
        if isinstance(h.value, bool):
            return "Enabled" if h.value else "Disabled"
        raise Unresolvable
    return _typed(h.value, STRING)


def _hook_epoch(h: HookInput) -> Any:
    """REST and data-plane times are epoch seconds; azurerm's are RFC 3339 text."""
    value = h.value
    if isinstance(value, bool):
        raise Unresolvable
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str) and h.flavour == AZURERM:
        return _rfc3339(value)
    raise Unresolvable


def _rfc3339(text: str) -> datetime:
    """azurerm's RFC 3339 time (``2027-12-31T00:00:00Z``); a time without an offset is UTC.
    Parsed without pandas, because the IaC loaders run in processes that never import it."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Unresolvable from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def decode_release_policy(encoded: Any) -> dict[str, Any] | None:
    """The release policy document from base64url JSON text, raw JSON text or bytes, or a dict."""
    if isinstance(encoded, dict):
        return encoded
    if isinstance(encoded, bytes | bytearray):
        raw = bytes(encoded)
    elif isinstance(encoded, str):
        raw = encoded.encode()
    else:
        return None
    for candidate in (raw, _b64url(raw)):
        if candidate is None:
            continue
        try:
            doc = json.loads(candidate.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(doc, dict):
            return doc
    return None


def _b64url(raw: bytes) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        return None


def _hook_release_policy(h: HookInput) -> Any:
    doc = decode_release_policy(h.value)
    if doc is None:
        raise Unresolvable  # declared, but not a policy document kvaudit can read
    return doc


def _hook_release_policy_flag(h: HookInput) -> Any:
    return _typed(h.value, BOOL)


def _hook_rule_values(h: HookInput) -> Any:
    """Firewall IP rules: ``[{value: cidr}]`` in REST, a list of CIDR strings in azurerm."""
    return _rule_list(h, "value", lower=False)


def _hook_rule_ids(h: HookInput) -> Any:
    """Virtual network rules: ``[{id: subnet}]`` in REST, a list of subnet ids in azurerm."""
    return _rule_list(h, "id", lower=True)


def _rule_list(h: HookInput, key: str, lower: bool) -> list[str]:
    if not isinstance(h.value, list):
        raise Unresolvable
    out = []
    for item in h.value:
        text = lookup(item, key, h.reader) if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise Unresolvable
        out.append(normalise_id(text) if lower else text)
    return out


_ACTIVATION = {"active": True, "notactivated": False, "failed": False}


def _hook_security_domain(h: HookInput) -> Any:
    """Live: the HSM's activation status. azurerm: activated on apply when the configuration
    gives the security-domain certificates and a quorum; not declaring them says nothing."""
    if h.flavour == AZURERM:
        certs = lookup(h.body, "activate_config.security_domain_certificate", h.reader)
        if certs is MISSING:
            certs = h.value
        quorum = lookup(h.body, "activate_config.security_domain_quorum|security_domain_quorum", h.reader)
        if certs is UNRESOLVED or quorum is UNRESOLVED:
            raise Unresolvable
        return True if isinstance(certs, list) and certs and quorum is not MISSING else None
    status = _typed(h.value, STRING)
    return _ACTIVATION.get(status.lower()) if status else None


#: Hooks that read other attributes of the body too, so they run even when their own is absent.
_BODY_HOOKS = frozenset({"security_domain"})


def _hook_uri(h: HookInput) -> Any:
    return _typed(h.value, STRING)


def _hook_kty(h: HookInput) -> Any:
    """A key declared in a Managed HSM is an HSM key whatever ``kty`` says: the HSM holds no
    software keys, and ``kty: 'oct'`` or ``--kty oct`` there creates an oct-HSM key. The type is
    normalised here, by the kind of vault the declaration belongs to, so every source agrees."""
    if not isinstance(h.value, str):
        raise Unresolvable
    kind = h.kind if h.flavour != AZURERM else _vault_kind_of(h.kind)
    if kind == _H and h.value and not h.value.upper().endswith("-HSM"):
        return f"{h.value}-HSM"
    return h.value


def _hook_key_size(h: HookInput) -> Any:
    """The data plane has no key size, only an RSA modulus (base64url); IaC states the size."""
    if h.flavour == DATAPLANE:
        if not isinstance(h.value, str | bytes):
            raise Unresolvable
        raw = _b64url(h.value.encode() if isinstance(h.value, str) else h.value)
        return rsa_size(raw)
    value = _typed(h.value, INT)
    if value is None and isinstance(h.value, str) and h.value.isdigit():
        return int(h.value)  # azurerm plan JSON may carry numbers as text
    if value is None:
        raise Unresolvable
    return value


def rsa_size(n: bytes | None) -> int | None:
    """RSA modulus length in bits: the data plane has no key_size, only the modulus."""
    if not n:
        return None
    return int.from_bytes(bytes(n), "big").bit_length() or None


def _kid_parts(h: HookInput) -> tuple[str, str | None]:
    """(versionless key URI, version or None) of a data-plane ``kid``."""
    text = _typed(h.value, STRING)
    if text is None:
        raise Unresolvable
    head, sep, tail = text.rstrip("/").partition("/keys/")
    name, _, version = tail.partition("/")
    return (f"{head}{sep}{name}", version or None) if sep else (text, None)


def _hook_versionless_kid(h: HookInput) -> Any:
    return _kid_parts(h)[0]


def _hook_kid_version(h: HookInput) -> Any:
    return _kid_parts(h)[1]


def _hook_arm_id(h: HookInput) -> Any:
    text = _typed(h.value, STRING)
    if text is None:
        raise Unresolvable
    return normalise_id(text) if text else None


def _hook_role_id(h: HookInput) -> Any:
    from kvaudit.scanner.reference import canonical_role_id

    text = _typed(h.value, STRING)
    if text is None:
        raise Unresolvable
    return canonical_role_id(text)


def _hook_connection_state(h: HookInput) -> Any:
    """azurerm says whether the connection is manual (it then waits for approval)."""
    if h.flavour == AZURERM:
        if isinstance(h.value, bool):
            return "Pending" if h.value else "Approved"
        raise Unresolvable
    return _typed(h.value, STRING)


#: Named hooks for the columns whose value is not a plain typed copy.
HOOKS: dict[str, Callable[[HookInput], Any]] = {
    "enabled_text": _hook_enabled_text,
    "epoch": _hook_epoch,
    "release_policy": _hook_release_policy,
    "release_policy_flag": _hook_release_policy_flag,
    "rule_values": _hook_rule_values,
    "rule_ids": _hook_rule_ids,
    "security_domain": _hook_security_domain,
    "uri": _hook_uri,
    "kty": _hook_kty,
    "key_size": _hook_key_size,
    "versionless_kid": _hook_versionless_kid,
    "kid_version": _hook_kid_version,
    "arm_id": _hook_arm_id,
    "role_id": _hook_role_id,
    "connection_state": _hook_connection_state,
    "retention": lambda h: _typed_or_unresolvable(h.value, INT),
}


def _typed_or_unresolvable(value: Any, kind: str) -> Any:
    """``value`` when it has the column's type; a value of another type is declared but not a
    value of the column (``"softDeleteRetentionInDays": true``): unresolved, never absent."""
    typed = _typed(value, kind)
    if typed is None:
        raise Unresolvable
    return typed


def _typed(value: Any, kind: str) -> Any:
    """``value`` when it has the column's type, else None."""
    if kind == STRING:
        return value if isinstance(value, str) else None
    if kind == BOOL:
        return value if isinstance(value, bool) else None
    if kind == INT:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return None
    if kind == OBJ:
        return value if isinstance(value, list | dict) else None
    if kind == TIME:
        return value if isinstance(value, datetime) else None
    return value


_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")


def scalar_from_text(text: str, kind: str) -> Any:
    """``text`` read as a boolean or integer column the way a resource provider's JSON reader
    reads a string in that place: ``"true"``/``"False"`` (any case, surrounding blanks allowed)
    and ``"30"``/``" -7 "``. Anything else (``"yes"``, ``"1"`` for a boolean, ``"30.5"``) is
    UNRESOLVED: the deployment would be refused, so the value is not known, never guessed."""
    if kind == BOOL:
        word = text.strip().lower()
        return {"true": True, "false": False}.get(word, UNRESOLVED)
    if kind == INT and _INTEGER_TEXT.fullmatch(text):
        return int(text)
    return UNRESOLVED


@dataclass
class Filled:
    """Column values of one row, with the columns taken from defaults and the unresolved ones."""

    values: dict[str, Any] = field(default_factory=dict)
    defaults: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        return {"defaults": list(self.defaults), "unresolved": list(self.unresolved)}


def fill(
    table: str,
    body: Any,
    flavour: str,
    kind: str | None = None,
    reader: Reader = LIVE_READER,
    columns: tuple[str, ...] | None = None,
) -> Filled:
    """Every column of ``table`` the field table maps for ``flavour``/``kind``, read from ``body``.

    ``kind`` is the vault kind for REST bodies (``vault`` / ``managed_hsm``) and the azurerm
    resource type for azurerm bodies. Columns the table does not map for them are left out, so
    the caller sets identity and join columns itself.
    """
    out = Filled()
    for column, spec in FIELDS[table].items():
        if columns is not None and column not in columns:
            continue
        path = spec.path(flavour, kind)
        if flavour == AZURERM and kind in spec.azurerm_fixed:
            out.values[column] = _copy(spec.azurerm_fixed[kind])
            out.defaults.append(column)
            continue
        if path is None:
            continue
        default_key = kind if flavour != AZURERM else _vault_kind_of(kind)
        raw = lookup(body, path, reader)
        if raw is UNRESOLVED:
            out.values[column] = None
            out.unresolved.append(column)
            continue
        if raw is MISSING and spec.hook not in _BODY_HOOKS:
            has_default, value = spec.default_for(flavour, default_key)
            if has_default:
                out.values[column] = _copy(value)
                out.defaults.append(column)
                continue
            else:
                out.values[column] = _copy(spec.absent)
                continue
        if reader.text_scalars and isinstance(raw, str) and spec.type in (BOOL, INT):
            raw = scalar_from_text(raw, spec.type)
            if raw is UNRESOLVED:  # not a boolean or an integer: the provider refuses it
                out.values[column] = None
                out.unresolved.append(column)
                continue
        try:
            hook = HOOKS.get(spec.hook or "")
            value = hook(HookInput(raw, flavour, kind, body, reader)) if hook else _typed(raw, spec.type)
        except Unresolvable:
            out.values[column] = None
            out.unresolved.append(column)
            continue
        if value is None and hook is None:
            out.unresolved.append(column)  # declared with a value of the wrong type
        out.values[column] = value
    _soft_delete_off(out)
    _release_policy_mutable(out)
    _key_ops_of_kty(out)
    return out


def _key_ops_of_kty(out: Filled) -> None:
    """Absent key operations are every operation the key's type permits; of a key whose type is
    not known they are not known either."""
    if "key_ops" not in out.defaults:
        return
    kty = out.values.get("kty")
    family = kty.upper().removesuffix("-HSM") if isinstance(kty, str) else None
    if family in KEY_OPS_OF_KTY:
        out.values["key_ops"] = list(KEY_OPS_OF_KTY[family])
        return
    out.values["key_ops"] = None
    out.defaults.remove("key_ops")
    if "kty" in out.unresolved:
        out.unresolved.append("key_ops")


def _soft_delete_off(out: Filled) -> None:
    """No retention applies when soft delete is off: the 90-day default is not filled in then."""
    if out.values.get("soft_delete_enabled") is False and "soft_delete_retention_days" in out.defaults:
        out.values["soft_delete_retention_days"] = None
        out.defaults.remove("soft_delete_retention_days")


def _release_policy_mutable(out: Filled) -> None:
    """A release policy declared without ``immutable`` is mutable (the documented default)."""
    declared = out.values.get("release_policy") is not None or "release_policy" in out.unresolved
    column = "release_policy_immutable"
    if declared and column in out.values and out.values[column] is None and column not in out.unresolved:
        out.values[column] = False
        out.defaults.append(column)


def _vault_kind_of(azurerm_type: str | None) -> str | None:
    if azurerm_type in (AZURERM_HSM, AZURERM_HSM_KEY):
        return _H
    if azurerm_type in (AZURERM_VAULT, AZURERM_VAULT_KEY):
        return _V
    return azurerm_type


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


# --- entry points for the live collector ----------------------------------------------------


#: The key columns a rotation policy fills.
ROTATION_COLUMNS = ("rotation_policy_present", "rotation_actions", "rotation_time_after_create", "rotation_expiry_time")
#: Where a key's rotation policy sits, per flavour: REST/ARM key bodies and the data plane's
#: ``GET /keys/{name}/rotationpolicy`` share one shape; azurerm has a ``rotation_policy`` block.
ROTATION_POLICY = {REST: "properties.rotationPolicy", AZURERM: "rotation_policy"}


def rotation_columns(body: Any, flavour: str, reader: Reader = LIVE_READER, policy: Any = MISSING) -> Filled:
    """The rotation columns of a key, from its body (or from ``policy`` itself when given).

    REST shape: ``lifetimeActions[].action.type`` (``rotate``/``notify``, any case) with
    ``trigger.timeAfterCreate``, and ``attributes.expiryTime``. azurerm shape: an ``automatic``
    block (``time_after_creation``) is the Rotate action and ``notify_before_expiry`` the Notify
    one; ``expire_after`` is the expiry. No policy means no policy (present False, no actions);
    a policy that could not be evaluated leaves every rotation column unresolved.
    """
    out = Filled()
    raw = lookup(body, ROTATION_POLICY[flavour], reader) if policy is MISSING else policy
    if raw is UNRESOLVED or (raw is not MISSING and not isinstance(raw, dict | list)):
        out.values.update(dict.fromkeys(ROTATION_COLUMNS))
        out.unresolved.extend(ROTATION_COLUMNS)
        return out
    if raw is MISSING or raw is None or raw == []:
        out.values.update(rotation_policy_present=False, rotation_actions=[])
        out.values.update(rotation_time_after_create=None, rotation_expiry_time=None)
        return out
    raw = raw[0] if isinstance(raw, list) else raw
    actions: list[str] | None = []
    after_create: Any = None
    if flavour == AZURERM:
        automatic = lookup(raw, "automatic", reader)
        if automatic is UNRESOLVED:
            actions = None
        elif automatic is not MISSING and automatic != []:  # plan JSON writes an absent block as []
            actions.append("Rotate")
            after_create = lookup(automatic, "time_after_creation", reader)
        notify = lookup(raw, "notify_before_expiry", reader)
        if actions is not None and notify is not MISSING:
            actions.append("Notify")
        expiry = lookup(raw, "expire_after", reader)
    else:
        lifetime = lookup(raw, "lifetimeActions", reader)
        if lifetime is UNRESOLVED or (lifetime is not MISSING and not isinstance(lifetime, list)):
            actions = None
        for item in lifetime if isinstance(lifetime, list) else []:
            action = lookup(item, "action.type", reader)
            if not isinstance(action, str):
                actions = None
                break
            actions.append(action.capitalize())
            if action.lower() == "rotate":
                after_create = lookup(item, "trigger.timeAfterCreate", reader)
        expiry = lookup(raw, "attributes.expiryTime", reader)
    out.values["rotation_policy_present"] = True
    out.values["rotation_actions"] = actions
    if actions is None:
        out.unresolved.append("rotation_actions")
    for column, value in (("rotation_time_after_create", after_create), ("rotation_expiry_time", expiry)):
        out.values[column] = value if isinstance(value, str) else None
        if value is UNRESOLVED:
            out.unresolved.append(column)
    return out


def rest_row(table: str, kind: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """Mapped columns of ``table`` from a live REST body, with ``defaults`` and ``unresolved``."""
    filled = fill(table, body, REST, kind)
    return {**filled.values, **filled.provenance()}


def dataplane_key_row(body: dict[str, Any], table: str = "keys") -> dict[str, Any]:
    """Key (or key version, ``table="key_versions"``) columns from data-plane key JSON.

    ``body`` is the JSON of a get-key response (``key``, ``attributes``, ``tags``,
    ``release_policy``, ``managed``). Sizes of oct-HSM keys are not in it (the ARM
    ``managedHSMs/keys`` API has them); identity columns are the caller's.
    """
    filled = fill("keys", body, DATAPLANE)
    values = filled.values
    if not str(values.get("kty") or "").upper().startswith("RSA"):
        values["key_size"] = None  # only an RSA modulus gives a size
    if table != "keys":
        wanted = set(TABLES[table])
        values = {k: v for k, v in values.items() if k in wanted}
    return {**values, **filled.provenance()}


def provider_defaulted_attributes() -> frozenset[str]:
    """Top-level azurerm attributes whose absence means a documented default (plan JSON fills
    them in, so the plan reader drops the ones the configuration never set)."""
    names: set[str] = set()
    for fields_ in FIELDS.values():
        for spec in fields_.values():
            if not (spec.azurerm_default if spec.azurerm_default is not None else spec.default):
                continue
            for path in spec.azurerm.values():
                names.update(alternative.split(".")[0] for alternative in path.split("|"))
    return frozenset(names)


def unresolved_mask(frame: pd.DataFrame, column: str) -> pd.Series:
    """True for rows whose ``column`` was declared but could not be evaluated (null = unknown)."""
    if "unresolved" not in frame.columns:
        return pd.Series(False, index=frame.index, dtype=bool)
    return pd.Series(
        [isinstance(cell, list | tuple) and column in cell for cell in frame["unresolved"]],
        index=frame.index,
        dtype=bool,
    )
