"""The HCL parser follows the HCL native syntax specification, as Terraform reads it.

Values are checked through the evaluator (what the scanner uses), so each case says what the
expression means; bench/hcl_parsers.py compares the parser with python-hcl2 file by file on
whole public repositories.
"""

from __future__ import annotations

from typing import Any

import pytest

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.terraform.evaluate import Evaluator
from kvaudit.scanner.iac.terraform.hcl import parse_text
from kvaudit.scanner.iac.terraform.hcl_syntax import unescape
from kvaudit.scanner.iac.terraform.values import UNKNOWN


class _Symbols:
    """``var.x`` is the string ``<var.x>``; other roots are unknown."""

    def root(self, name: str, attrs: list[str]) -> tuple[Any, int]:
        if name == "var" and attrs:
            return f"<var.{attrs[0]}>", 1
        return UNKNOWN, 0


def value(source: str) -> Any:
    parsed = parse_text(source, "t.tf")
    return Evaluator(_Symbols()).evaluate(parsed.attrs["x"].expr)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1 + 2 * 3\n", 7),
        ("x = (1 + 2) * 3\n", 9),
        ("x = 10 - 4 - 3\n", 3),  # left-associative
        ("x = 2 * 3 % 4\n", 2),
        ("x = 1 + 2 == 3 && 2 < 3 || false\n", True),
        ("x = !false == true\n", True),
        ("x = -2 * 3\n", -6),
        ("x = true ? 1 : false ? 2 : 3\n", 1),
        ("x = false ? 1 : false ? 2 : 3\n", 3),
        ("x = 1.5e1\n", 15),
        ('x = "a\\"b\\\\c\\n\\u00e9"\n', 'a"b\\c\n\u00e9'),
        ('x = "${var.a}-${"${var.b}"}"\n', "<var.a>-<var.b>"),
        ('x = "${ {a = "}"}["a"] }"\n', "}"),
        ('x = "$${not} %%{this}"\n', "${not} %{this}"),
        ('x = "%{if true}a%{endif}"\n', UNKNOWN),
        ('x = "${~ var.a ~}"\n', "<var.a>"),
        ("x = [\n  1,\n  2\n  ,3,\n]\n", [1, 2, 3]),
        ('x = {\n  a = 1, b = 2\n  "c" = 3\n  d: 4\n}\n', {"a": 1, "b": 2, "c": 3, "d": 4}),
        ("x = {}\n", {}),
        ("x = {\n  for = 1\n  in = 2\n}\n", {"for": 1, "in": 2}),
        ('x = [for i, v in ["a", "b"] : "${i}${v}"\n  if v != "b"]\n', ["0a"]),
        ('x = {for v in ["a", "a", "b"] : v => v...}\n', {"a": ["a", "a"], "b": ["b"]}),
        ("x = [{a = [1, 2]}, {a = [3]}][*].a[0]\n", [1, 3]),
        ("x = [{a = 1}, {a = 2}].*.a\n", [1, 2]),
        ("x = [[1, 2]][0].1\n", 2),
        ("x = max(\n  1,\n  3,\n)\n", 3),
        ("x = max([1, 5]...)\n", 5),
        ("x = [try\n  (var.z, 1)]\n", ["<var.z>"]),
        ("x = (\n  true\n  ? 1\n  : 2\n)\n", 1),
        ("x = 1 +\n  2\n", 3),
        ("x = <<EOT\nline ${x}\nEOT\n", UNKNOWN),
        ("x = <<-EOT\n    a\n      b\n    EOT\n", "a\n  b\n"),
        ("x = <<EOT\r\nwindows\r\nEOT\r\n", "windows\n"),
        ("x = null\n", None),
        ("x = var.a\ny = 2\n", "<var.a>"),
    ],
)
def test_expression_values(source: str, expected: Any) -> None:
    assert value(source) == expected


def test_blocks_labels_lines_and_one_line_blocks() -> None:
    parsed = parse_text(
        '# lead\nresource "azurerm_key_vault" "kv" {\n  name = "kv" // trailing\n  network_acls {\n'
        '    bypass = "None"\n  }\n  /* multi\n  line */\n}\nvariable "v" { default = 1 }\nlocals {}\n',
        "t.tf",
    )
    kv, variable, local = parsed.blocks
    assert (kv.type, kv.labels, kv.line, kv.end_line) == ("resource", ["azurerm_key_vault", "kv"], 2, 9)
    assert [(b.type, b.line, b.end_line) for b in kv.blocks] == [("network_acls", 4, 6)]
    assert kv.attrs["name"].line == 3
    assert (variable.type, variable.labels, variable.line, list(variable.attrs)) == ("variable", ["v"], 10, ["default"])
    assert (local.type, local.labels, local.attrs, local.blocks) == ("locals", [], {}, [])
    assert parsed.comments == [(1, "# lead"), (3, "// trailing"), (7, "/* multi\n  line */")]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("x = \n", "t.tf:1:5: invalid HCL: unexpected end of line, expected an expression"),
        ('resource "a" "b" {\n', "t.tf:2:1: invalid HCL: unexpected end of file, expected '}'"),
        ("x = 1 y = 2\n", "t.tf:1:7: invalid HCL: unexpected 'y', expected a newline"),
        ('x = "no end\n', "t.tf:1:12: invalid HCL: unterminated string (a quoted string ends at its line)"),
        ("x = <<EOT\nnever closed\n", "t.tf:1:5: invalid HCL: heredoc <<EOT is never closed"),
        ("/* open\n", "t.tf:1:1: invalid HCL: unterminated /* comment"),
        ("x = 1 @ 2\n", "t.tf:1:7: invalid HCL: unexpected character '@'"),
        ('resource "a" "${x}" {\n}\n', "t.tf:1:15: invalid HCL: unexpected '${', expected a literal block label"),
        ("x = [1 2]\n", "t.tf:1:8: invalid HCL: unexpected '2', expected ',' or ']'"),
        ("x = {a = 1 b = 2}\n", "t.tf:1:12: invalid HCL: unexpected 'b', expected ',', a newline or '}'"),
    ],
)
def test_errors_name_the_line_column_and_problem(source: str, error: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_text(source, "t.tf")
    assert str(caught.value) == error


def test_long_operator_chains_and_traversals_are_loops_not_recursion() -> None:
    parsed = parse_text("x = 1" + " + 1" * 20000 + "\ny = var.a" + ".b" * 20000 + "\n", "t.tf")
    assert set(parsed.attrs) == {"x", "y"}


def test_deep_conditional_chains_are_one_error_line() -> None:
    source = "x = " + "true ? 1 : " * 3000 + "0\n"
    with pytest.raises(InputError) as caught:
        parse_text(source, "t.tf")
    assert str(caught.value) == "t.tf: invalid HCL: expressions nested too deeply"


@pytest.mark.parametrize(
    ("raw", "text"),
    [("plain", "plain"), ("a\\tb", "a\tb"), ("\\U0001F511", "\U0001f511"), ("\\q", "\\q"), ("\\uD800", "\\uD800")],
)
def test_escapes(raw: str, text: str) -> None:
    assert unescape(raw) == text
