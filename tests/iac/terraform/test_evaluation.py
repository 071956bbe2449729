"""HCL evaluation: functions, templates, count/for_each, unknowns stay null (never guessed)."""

from __future__ import annotations

import pytest

from kvaudit.scanner.iac.terraform import load_terraform
from kvaudit.scanner.iac.terraform.evaluate import Evaluator
from kvaudit.scanner.iac.terraform.functions import EvalError
from kvaudit.scanner.iac.terraform.hcl import parse_text
from kvaudit.scanner.iac.terraform.values import UNKNOWN, EncodedJson

from .helpers import rows


class _Names:
    """Scope where ``var.<name>`` comes from a dict and anything else is unknown."""

    def __init__(self, variables: dict):
        self.variables = variables

    def root(self, name: str, attrs: list[str]):
        if name == "var" and attrs:
            return self.variables.get(attrs[0], UNKNOWN), 1
        return UNKNOWN, 0


def ev(expression: str, **variables):
    parsed = parse_text(f"x = {expression}\n", "t.tf")
    return Evaluator(_Names(variables)).evaluate(parsed.attrs["x"].expr)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('"kv-${var.env}-${upper("a")}"', "kv-prod-A"),
        ('format("%s-%03d", "kv", 7)', "kv-007"),
        ('join(",", ["a", "b"])', "a,b"),
        ('coalesce(null, "", "x")', "x"),
        ('tonumber("90") + 0', 90),
        ('tobool("true")', True),
        ("tostring(5)", "5"),
        ("merge({a = 1}, {b = 2}, {a = 3})", {"a": 3, "b": 2}),
        ('lookup({a = "x"}, "b", "d")', "d"),
        ("concat([1], [2, 3])", [1, 2, 3]),
        ('lower("ABC")', "abc"),
        ('var.n * 30 >= 90 ? "ok" : "low"', "ok"),
        ('[for s in ["a", "b"] : upper(s) if s != "b"]', ["A"]),
        ("{for k, v in {a = 1, b = 2} : k => v * 2}", {"a": 2, "b": 4}),
        ("[{n = 1}, {n = 2}][*].n", [1, 2]),
        ("var.m.inner[1]", "y"),
        ('try(var.m.missing, "fallback")', "fallback"),
        ("length(var.m)", 1),
        ("!true || false && true", False),
        ("-(5 % 3)", -2),
        ('"a$${literal}"', "a${literal}"),
        ("<<-EOT\n    indented\n    EOT\n", "indented\n"),
        ('base64encode(jsonencode({version = "1.0.0"}))', "eyJ2ZXJzaW9uIjoiMS4wLjAifQ=="),
        ('base64decode("eyJ2ZXJzaW9uIjoiMS4wLjAifQ==")', '{"version":"1.0.0"}'),
    ],
)
def test_expressions(expression, expected):
    assert ev(expression, env="prod", n=3, m={"inner": ["x", "y"]}) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "var.unset",
        '"kv-${var.unset}"',
        "var.unset ? 1 : 2",
        "upper(var.unset)",
        "[for s in var.unset : s]",
        "unknownfn(1)",
    ],
)
def test_unknown_propagates(expression):
    assert ev(expression) is UNKNOWN


def test_errors_are_eval_errors():
    with pytest.raises(EvalError):
        ev('1 + "x"')
    with pytest.raises(EvalError):
        ev("[1][5]")


def test_jsonencode_keeps_structure_when_unknowns_inside():
    assert ev('jsonencode({a = 1, b = "x"})') == '{"a":1,"b":"x"}'
    assert ev("jsonencode({a = var.unset})") == EncodedJson({"a": UNKNOWN})


def _load(tmp_path, text: str, **extra: str):
    (tmp_path / "main.tf").write_text(text)
    for name, content in extra.items():
        (tmp_path / name).write_text(content)
    inv, errors = load_terraform([tmp_path], tmp_path)
    assert errors == []
    return inv


def test_count_expands_with_index_and_zero_count_declares_nothing(tmp_path):
    inv = _load(
        tmp_path,
        'resource "azurerm_key_vault" "kv" {\n  count = 2\n  name = "kv-${count.index}"\n}\n'
        'resource "azurerm_key_vault" "off" {\n  count = var.enabled ? 1 : 0\n  name = "kv-off"\n}\n'
        'variable "enabled" {\n  default = false\n}\n',
    )
    assert [r["name"] for r in rows(inv, "vaults")] == ["kv-0", "kv-1"]


def test_undeterminable_for_each_gives_one_row_with_unknowns(tmp_path):
    inv = _load(
        tmp_path,
        'variable "names" {}\n'
        'resource "azurerm_key_vault" "kv" {\n  for_each = var.names\n  name = each.key\n  sku_name = "premium"\n'
        "  soft_delete_retention_days = var.retention\n}\n",
    )
    vault = rows(inv, "vaults")[0]
    assert len(rows(inv, "vaults")) == 1
    assert (vault["name"], vault["sku"], vault["soft_delete_retention_days"]) == (None, "premium", None)
    assert (
        vault["id"]
        == "/subscriptions/iac~./resourcegroups/iac/providers/microsoft.keyvault/vaults/azurerm_key_vault.kv"
    )
    assert "soft_delete_retention_days" not in vault["defaults"]  # unknown is not a default


def test_tfvars_override_defaults_and_set_for_each(tmp_path):
    inv = _load(
        tmp_path,
        'variable "vaults" {\n  default = []\n}\nvariable "sku" {\n  default = "standard"\n}\n'
        'resource "azurerm_key_vault" "kv" {\n  for_each = toset(var.vaults)\n  name = "kv-${each.value}"\n'
        "  sku_name = var.sku\n}\n",
        **{"terraform.tfvars": 'vaults = ["a", "b"]\n', "prod.auto.tfvars": 'sku = "premium"\n'},
    )
    assert [(r["name"], r["sku"]) for r in rows(inv, "vaults")] == [("kv-a", "premium"), ("kv-b", "premium")]


def test_references_between_for_each_instances(tmp_path):
    inv = _load(
        tmp_path,
        'resource "azurerm_key_vault" "kv" {\n  for_each = { a = "rg-a", b = "rg-b" }\n  name = "kv-${each.key}"\n'
        "  resource_group_name = each.value\n}\n"
        'resource "azurerm_key_vault_key" "k" {\n  for_each = azurerm_key_vault.kv\n  name = "k"\n'
        '  key_vault_id = each.value.id\n  key_type = "RSA-HSM"\n}\n'
        'resource "azurerm_role_assignment" "ra" {\n  scope = azurerm_key_vault.kv["b"].id\n'
        '  role_definition_name = "Key Vault Crypto User"\n  principal_id = "p"\n}\n',
    )
    assert [k["id"] for k in rows(inv, "keys")] == [
        "/subscriptions/iac~./resourcegroups/rg-a/providers/microsoft.keyvault/vaults/kv-a/keys/k",
        "/subscriptions/iac~./resourcegroups/rg-b/providers/microsoft.keyvault/vaults/kv-b/keys/k",
    ]
    assert rows(inv, "role_assignments")[0]["vault_id"] == (
        "/subscriptions/iac~./resourcegroups/rg-b/providers/microsoft.keyvault/vaults/kv-b"
    )


def test_existing_vault_data_source_and_china_cloud(tmp_path):
    inv = _load(
        tmp_path,
        'provider "azurerm" {\n  features {}\n  environment = "china"\n}\n'
        'data "azurerm_key_vault" "shared" {\n  name = "kv-shared"\n  resource_group_name = "rg-shared"\n}\n'
        'data "azurerm_key_vault_key" "k" {\n  name = "cmk"\n  key_vault_id = data.azurerm_key_vault.shared.id\n}\n'
        'resource "azurerm_disk_encryption_set" "des" {\n  name = "des"\n  resource_group_name = "rg"\n'
        "  key_vault_key_id = data.azurerm_key_vault_key.k.versionless_id\n}\n",
    )
    ref = rows(inv, "key_references")[0]
    assert ref["key_uri"] == "https://kv-shared.vault.azure.cn/keys/cmk"
    assert (ref["vault_host"], ref["pinned"]) == ("kv-shared.vault.azure.cn", False)
    assert rows(inv, "vaults") == []  # a data source is not a declared vault
