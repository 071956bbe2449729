"""Hostile or broken input: one-line positioned errors, other files still scanned, no hangs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kvaudit.scanner.iac.terraform import load_terraform

from .helpers import BAD, FIXTURES, REPO, rows

GOOD = 'resource "azurerm_key_vault" "ok" {\n  name     = "kv-ok"\n  sku_name = "premium"\n}\n'


def _scan(tmp_path: Path, files: dict[str, bytes | str]):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return load_terraform([tmp_path], tmp_path)


def test_invalid_hcl_reports_line_and_column_and_other_modules_load():
    inv, errors = load_terraform([BAD, FIXTURES / "hsm_misconfigured"], REPO)
    assert [str(e) for e in errors] == ["tests/fixtures/terraform/bad/invalid.tf:3:14: invalid HCL: unexpected end of line, expected an expression"]
    assert (errors[0].line, errors[0].column) == (3, 14)
    assert [r["name"] for r in rows(inv, "vaults")] == ["mhsm-shared"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b'resource "azurerm_key_vault" "x" {\n  name = "\xff\xfe"\n}\n',
            "bad.tf: not valid UTF-8 (byte 0xff at offset 45)",
        ),
        (b'a = 1\nb = "x\x00y"\n', "bad.tf:2:7: NUL byte in HCL file"),
        (("locals {\n  x = " + "[" * 70 + "]" * 70 + "\n}\n").encode(), "bad.tf:2:70: nesting deeper than 64 levels"),
        (b"locals {\n  x = <<EOT\nnever closed\n}\n", "bad.tf:2:"),
        (b'/* unterminated comment\nresource "a" "b" {}\n', "bad.tf:1:1: invalid HCL"),
        (b'resource "azurerm_key_vault" "x" {\n', "bad.tf:2:1: invalid HCL: unexpected end of file"),
        (b'x = "${"\n', "bad.tf:1:"),
    ],
)
def test_broken_file_is_one_line_error_and_sibling_file_still_scanned(tmp_path, content, expected):
    inv, errors = _scan(tmp_path, {"bad.tf": content, "good.tf": GOOD})
    assert len(errors) == 1
    message = str(errors[0])
    assert message.startswith(expected)
    assert "\n" not in message
    assert [r["name"] for r in rows(inv, "vaults")] == ["kv-ok"]


def test_huge_file_is_refused_before_parsing(tmp_path):
    start = time.monotonic()
    inv, errors = _scan(tmp_path, {"huge.tf": "# " + "x" * (1024 * 1024) + "\n", "good.tf": GOOD})
    assert [str(e) for e in errors] == ["huge.tf: file is 1048579 bytes, larger than the 1048576-byte limit"]
    assert len(inv.tables["vaults"]) == 1
    assert time.monotonic() - start < 5


def test_pathological_expressions_do_not_hang_or_crash(tmp_path):
    start = time.monotonic()
    content = (
        'resource "azurerm_key_vault" "deep" {\n'
        '  name = "kv-deep"\n'
        "  soft_delete_retention_days = 1" + " + 1" * 5000 + "\n"
        "  sku_name = var.x" + ".y" * 5000 + "\n"
        "}\n"
    )
    inv, errors = _scan(tmp_path, {"main.tf": content})
    assert errors == []
    vault = rows(inv, "vaults")[0]
    assert (vault["name"], vault["soft_delete_retention_days"], vault["sku"]) == ("kv-deep", None, None)
    assert time.monotonic() - start < 15


def test_odd_unicode_bom_and_crlf_are_preserved(tmp_path):
    name = "kv-\u202etxt.exe\u200b-\U0001f511"
    content = (
        "\ufeff"
        + f'resource "azurerm_key_vault" "u" {{\r\n  name = "{name}"\r\n  tags = {{ "\u00e9t\u00e9" = "\u6f22\u5b57" }}\r\n}}\r\n'
    )
    inv, errors = _scan(tmp_path, {"main.tf": content.encode("utf-8")})
    assert errors == []
    vault = rows(inv, "vaults")[0]
    assert vault["name"] == name
    assert vault["tags"] == {"\u00e9t\u00e9": "\u6f22\u5b57"}
    assert vault["line"] == 1


def test_module_calling_itself_is_a_cycle_error_and_terminates(tmp_path):
    content = GOOD + 'module "loop" {\n  source = "./"\n}\n'
    inv, errors = _scan(tmp_path, {"main.tf": content})
    assert [str(e) for e in errors] == ["main.tf:5: module cycle through module.loop: . -> ."]
    assert [r["name"] for r in rows(inv, "vaults")] == ["kv-ok"]


def test_missing_path_is_an_error(tmp_path):
    inv, errors = load_terraform([tmp_path / "nope"], tmp_path)
    assert [str(e) for e in errors] == ["nope: no such file or directory"]
    assert len(inv.tables["vaults"]) == 0


def test_bad_tfvars_is_reported_and_variables_fall_back_to_unknown(tmp_path):
    content = 'variable "sku" {}\nresource "azurerm_key_vault" "v" {\n  name = "kv-v"\n  sku_name = var.sku\n}\n'
    inv, errors = _scan(tmp_path, {"main.tf": content, "terraform.tfvars": "sku = \n"})
    assert [str(e) for e in errors] == ["terraform.tfvars:1:7: invalid HCL: unexpected end of line, expected an expression"]
    assert rows(inv, "vaults")[0]["sku"] is None
