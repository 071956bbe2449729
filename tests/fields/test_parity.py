"""Every column of the field table, one case per source that can observe it, the same value.

The cases are generated from :data:`scanner.fields.FIELDS`: for each column, a minimal body per
source is built *from the field's own paths* (REST for the live collector, ARM, Bicep; azurerm for
Terraform HCL and plan JSON; data plane for live keys), holding one sample value. Every source
must give the same column value, and where the value is an expression the source cannot
evaluate, the same null, named in ``unresolved``. The live vault case starts from the official
REST example (getVault.json / ManagedHsm_Get.json), the live key case from GetKey-example.json.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kvaudit.scanner.azure.records import vault_records
from kvaudit.scanner.fields import (
    ANY,
    AZURERM,
    AZURERM_HSM,
    AZURERM_HSM_KEY,
    AZURERM_VAULT,
    AZURERM_VAULT_KEY,
    DATAPLANE,
    FIELDS,
    REST,
    dataplane_key_row,
    observable,
)
from tests.conftest import SHARED

from .helpers import arm_template, load, one

EXAMPLES = SHARED / "azure-rest-examples"
UNK = object()  # "an expression this source cannot evaluate"

POLICY = {"version": "1.0.0", "anyOf": [{"authority": "https://maa.example", "allOf": []}]}
MODULUS = (1 << 3071) | 12345  # a 3072-bit RSA modulus
SUBNET = "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/v/subnets/s"

#: column -> (expected value, {flavour: sample in that flavour's spelling}).
SAMPLES: dict[str, dict[str, tuple[Any, dict[str, Any]]]] = {
    "vaults": {
        "location": ("northeurope", {REST: "northeurope", AZURERM: "northeurope"}),
        "tenant_id": (
            "00000000-0000-0000-0000-0000000000aa",
            {REST: "00000000-0000-0000-0000-0000000000aa", AZURERM: "00000000-0000-0000-0000-0000000000aa"},
        ),
        "sku": ("premium", {REST: "premium", AZURERM: "premium"}),
        "uri": ("https://kv-parity.vault.azure.net/", {REST: "https://kv-parity.vault.azure.net/"}),
        "soft_delete_enabled": (False, {REST: False, AZURERM: False}),
        "soft_delete_retention_days": (30, {REST: 30, AZURERM: 30}),
        "purge_protection_enabled": (True, {REST: True, AZURERM: True}),
        "public_network_access": ("Disabled", {REST: "Disabled", AZURERM: False}),
        "network_default_action": ("Deny", {REST: "Deny", AZURERM: "Deny"}),
        "network_bypass": ("None", {REST: "None", AZURERM: "None"}),
        "ip_rules": (["203.0.113.0/24"], {REST: [{"value": "203.0.113.0/24"}], AZURERM: ["203.0.113.0/24"]}),
        "virtual_network_rules": ([SUBNET.lower()], {REST: [{"id": SUBNET}], AZURERM: [SUBNET]}),
        "rbac_authorization_enabled": (True, {REST: True, AZURERM: True}),
        "tags": ({"env": "prod"}, {REST: {"env": "prod"}, AZURERM: {"env": "prod"}}),
    },
    "keys": {
        "kty": ("RSA-HSM", {REST: "RSA-HSM", DATAPLANE: "RSA-HSM", AZURERM: "RSA-HSM"}),
        "key_size": (
            3072,
            {
                REST: 3072,
                AZURERM: 3072,
                DATAPLANE: base64.urlsafe_b64encode(MODULUS.to_bytes(384, "big")).decode().rstrip("="),
            },
        ),
        "curve": ("P-256K", {REST: "P-256K", DATAPLANE: "P-256K", AZURERM: "P-256K"}),
        "key_ops": (
            ["sign", "verify"],
            {REST: ["sign", "verify"], DATAPLANE: ["sign", "verify"], AZURERM: ["sign", "verify"]},
        ),
        "enabled": (False, {REST: False, DATAPLANE: False}),
        "expires": (
            datetime(2027, 12, 28, 13, 20, tzinfo=UTC),
            {REST: 1830000000, DATAPLANE: 1830000000, AZURERM: "2027-12-28T13:20:00Z"},
        ),
        "not_before": (
            datetime(2026, 1, 1, tzinfo=UTC),
            {REST: 1767225600, DATAPLANE: 1767225600, AZURERM: "2026-01-01T00:00:00Z"},
        ),
        "exportable": (True, {REST: True, DATAPLANE: True}),
        "release_policy": (
            POLICY,
            {
                REST: base64.b64encode(json.dumps(POLICY).encode()).decode(),
                DATAPLANE: base64.urlsafe_b64encode(json.dumps(POLICY).encode()).decode().rstrip("="),
            },
        ),
        "release_policy_immutable": (True, {REST: True, DATAPLANE: True}),
        "tags": ({"env": "prod"}, {REST: {"env": "prod"}, DATAPLANE: {"env": "prod"}, AZURERM: {"env": "prod"}}),
    },
}

KINDS = {"vaults": "vault", "keys": "key"}
AZURERM_TYPE = {"vaults": AZURERM_VAULT, "keys": AZURERM_VAULT_KEY}


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    steps = path.split("|")[0].split(".")
    for step in steps[:-1]:
        body = body.setdefault(step, {})
    body[steps[-1]] = value


def _path(table: str, column: str, flavour: str) -> str | None:
    spec = FIELDS[table][column]
    kind = AZURERM_TYPE[table] if flavour == AZURERM else KINDS[table]
    return spec.path(flavour, kind)


# --- sources ------------------------------------------------------------------------------------


def _live(table: str, column: str, value: Any) -> dict[str, Any]:
    if table == "keys":
        body = json.loads((EXAMPLES / "keyvault-keys/GetKey-example.json").read_text())["responses"]["200"]["body"]
        body["key"].pop("n", None)
        body["key"]["kty"] = "RSA-HSM" if column == "key_size" else body["key"]["kty"]
        _set(body, _path(table, column, DATAPLANE), value)
        return dataplane_key_row(body)
    body = json.loads((EXAMPLES / "keyvault-mgmt/getVault.json").read_text())["responses"]["200"]["body"]
    _set(body, _path(table, column, REST), value)
    return vault_records(body, "2023-07-01")["vaults"][0]


def _arm_resources(table: str, column: str, value: Any) -> list[dict[str, Any]]:
    vault = {
        "type": "Microsoft.KeyVault/vaults",
        "apiVersion": "2023-07-01",
        "name": "kv-parity",
        "location": "westeurope",
        "properties": {"tenantId": "00000000-0000-0000-0000-000000000001", "sku": {"family": "A", "name": "standard"}},
    }
    if table == "vaults":
        _set(vault, _path(table, column, REST), value)
        return [vault]
    key = {
        "type": "Microsoft.KeyVault/vaults/keys",
        "apiVersion": "2023-07-01",
        "name": "kv-parity/k",
        "properties": {"kty": "RSA-HSM", "attributes": {}},
    }
    _set(key, _path(table, column, REST), value)
    if column.startswith("release_policy"):
        key["properties"].setdefault("release_policy", {}).setdefault(
            "data", value if column == "release_policy" else base64.b64encode(json.dumps(POLICY).encode()).decode()
        )
    return [vault, key]


def _arm(table: str, column: str, value: Any, root: Path) -> dict[str, Any]:
    resources = _arm_resources(table, column, "[parameters('unknown')]" if value is UNK else value)
    inv = load("arm", root, "main.json", arm_template(resources, parameters={"unknown": {"type": "string"}}))
    return one(inv, table)


def _bicep_value(value: Any) -> str:
    if value is UNK:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[\n" + "\n".join(_bicep_value(v) for v in value) + "\n]"
    return "{\n" + "\n".join(f"{k}: {_bicep_value(v)}" for k, v in value.items()) + "\n}"


def _bicep(table: str, column: str, value: Any, root: Path) -> dict[str, Any]:
    resources = _arm_resources(table, column, UNK if value is UNK else value)
    text = ["param unknown string"]
    for index, res in enumerate(resources):
        body = {k: v for k, v in res.items() if k not in ("type", "apiVersion", "name")}
        name = res["name"].split("/")[-1]
        parent = "\n  parent: r0" if index else ""
        body_text = _bicep_value(body)[1:-1]
        text.append(
            f"resource r{index} '{res['type']}@{res['apiVersion']}' = {{\n  name: '{name}'{parent}\n{body_text}\n}}"
        )
    inv = load("bicep", root, "main.bicep", "\n\n".join(text))
    return one(inv, table)


def _hcl_value(value: Any) -> str:
    if value is UNK:
        return "var.unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_hcl_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_hcl_value(v)}" for k, v in value.items()) + " }"


def _azurerm_resources(table: str, column: str, value: Any) -> list[tuple[str, str, dict[str, Any]]]:
    vault = {
        "name": "kv-parity",
        "location": "westeurope",
        "resource_group_name": "rg-parity",
        "tenant_id": "00000000-0000-0000-0000-000000000001",
        "sku_name": "standard",
    }
    path = _path(table, column, AZURERM)
    if table == "vaults":
        _set(vault, path, value)
        return [(AZURERM_VAULT, "kv", vault)]
    key = {"name": "k", "key_vault_id": "${azurerm_key_vault.kv.id}", "key_type": "RSA-HSM", "key_opts": ["sign"]}
    _set(key, path, value)
    return [(AZURERM_VAULT, "kv", vault), (AZURERM_VAULT_KEY, "k", key)]


def _hcl_body(values: dict[str, Any], indent: str = "  ") -> str:
    lines = []
    for name, value in values.items():
        if isinstance(value, dict) and name != "tags":
            lines.append(f"{indent}{name} {{\n{_hcl_body(value, indent + '  ')}\n{indent}}}")
        elif isinstance(value, str) and value.startswith("${"):
            lines.append(f"{indent}{name} = {value[2:-1]}")
        else:
            lines.append(f"{indent}{name} = {_hcl_value(value)}")
    return "\n".join(lines)


def _hcl(table: str, column: str, value: Any, root: Path) -> dict[str, Any]:
    text = ['variable "unknown" {}']
    for rtype, name, values in _azurerm_resources(table, column, value):
        text.append(f'resource "{rtype}" "{name}" {{\n{_hcl_body(values)}\n}}')
    inv = load("terraform", root, "tf/main.tf", "\n\n".join(text))
    return one(inv, table)


def _plan_values(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Planned values (nested blocks as lists) and the matching after_unknown."""
    planned: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict) and name != "tags":
            inner, inner_unknown = _plan_values(value)
            planned[name] = [inner]
            if inner_unknown:
                unknown[name] = [inner_unknown]
        elif value is UNK or (isinstance(value, str) and value.startswith("${")):
            planned[name] = None
            unknown[name] = True
        else:
            planned[name] = value
    return planned, unknown


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return None if value is UNK else value


def _plan(table: str, column: str, value: Any, root: Path) -> dict[str, Any]:
    resources, changes, config = [], [], []
    for rtype, name, values in _azurerm_resources(table, column, value):
        planned, unknown = _plan_values(values)
        address = f"{rtype}.{name}"
        resources.append({"address": address, "mode": "managed", "type": rtype, "name": name, "values": planned})
        changes.append({"address": address, "change": {"actions": ["create"], "after_unknown": unknown}})
        expressions = {
            k: {"references": ["var.unknown"]} if v is UNK else {"constant_value": _plain(v)} for k, v in values.items()
        }
        if rtype == AZURERM_VAULT_KEY:
            expressions["key_vault_id"] = {"references": ["azurerm_key_vault.kv.id", "azurerm_key_vault.kv"]}
        config.append({"address": address, "mode": "managed", "type": rtype, "name": name, "expressions": expressions})
    doc = {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": resources}},
        "resource_changes": changes,
        "configuration": {"root_module": {"resources": config}},
    }
    return one(load("plan", root, "plan.json", doc), table)


SOURCES = {"arm": _arm, "bicep": _bicep, "terraform": _hcl, "terraform-plan": _plan}
FLAVOUR = {"arm": REST, "bicep": REST, "terraform": AZURERM, "terraform-plan": AZURERM}

CASES = [
    (table, column, source)
    for table, samples in SAMPLES.items()
    for column in samples
    for source in ("azure", *SOURCES)
    if observable(table, column, source)
]


def test_every_mapped_column_has_a_sample() -> None:
    """A column the table maps for a vault or key must be in the parity cases."""
    for table, kind in KINDS.items():
        for column, spec in FIELDS[table].items():
            mapped = spec.path(REST, kind) or spec.path(AZURERM, AZURERM_TYPE[table])
            if mapped and spec.observed_by - {"azure"} and column != "security_domain_activated":
                assert column in SAMPLES[table], column


@pytest.mark.parametrize(("table", "column", "source"), CASES)
def test_same_value_from_every_source(table: str, column: str, source: str, tmp_path: Path) -> None:
    expected, samples = SAMPLES[table][column]
    if source == "azure":
        flavour = DATAPLANE if table == "keys" else REST
        if flavour not in samples or _path(table, column, flavour) is None:
            pytest.skip("not read from the live body")
        row = _live(table, column, samples[flavour])
    else:
        flavour = FLAVOUR[source]
        if flavour not in samples or _path(table, column, flavour) is None:
            fixed = FIELDS[table][column].azurerm_fixed.get(AZURERM_TYPE[table]) if flavour == AZURERM else None
            if fixed is None:
                pytest.skip(f"{source} has no attribute for {column}")
            row = SOURCES[source](table, "kty", "RSA-HSM", tmp_path)
            assert (row[column], column in row["defaults"]) == (fixed, True)
            return
        row = SOURCES[source](table, column, samples[flavour], tmp_path)
    assert row[column] == expected
    assert column not in (row["unresolved"] or [])


UNKNOWN_CASES = [
    (table, column, source)
    for table, column, source in CASES
    if source != "azure" and _path(table, column, FLAVOUR[source]) is not None
]


@pytest.mark.parametrize(("table", "column", "source"), UNKNOWN_CASES)
def test_same_unknown_from_every_source(table: str, column: str, source: str, tmp_path: Path) -> None:
    row = SOURCES[source](table, column, UNK, tmp_path)
    assert (row[column], column in row["unresolved"]) == (None, True)


def test_hsm_paths_differ_where_the_rest_api_does() -> None:
    hsm = json.loads((EXAMPLES / "keyvault-mgmt/ManagedHsm_Get.json").read_text())["responses"]["200"]["body"]
    row = vault_records(hsm, "2023-07-01")["vaults"][0]
    assert (row["kind"], row["sku"], row["uri"]) == ("managed_hsm", hsm["sku"]["name"], hsm["properties"]["hsmUri"])
    assert FIELDS["vaults"]["sku"].path(REST, "managed_hsm") == "sku.name"
    assert FIELDS["vaults"]["purge_protection_enabled"].default_for(REST, "managed_hsm") == (True, True)
    assert FIELDS["vaults"]["purge_protection_enabled"].default_for(AZURERM, "managed_hsm") == (True, False)
    assert FIELDS["vaults"]["rbac_authorization_enabled"].path(REST, "managed_hsm") is None
    assert FIELDS["vaults"]["sku"].path(AZURERM, AZURERM_HSM) == "sku_name"
    assert FIELDS["keys"]["kty"].path(AZURERM, AZURERM_HSM_KEY) == "key_type"
    assert FIELDS["vaults"]["location"].path(REST, ANY) == "location"
