"""The Bicep parser on today's language: precedence, new syntax, positions and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvaudit.scanner.iac.bicep.parser import MAX_DEPTH, BicepSyntaxError, Node, parse

REPO = Path(__file__).resolve().parents[3]


def _statement(text: str) -> Node:
    program = parse(text)
    assert len(program["statements"]) == 1
    return program["statements"][0]


def _value(text: str) -> Node:
    return _statement(f"var x = {text}\n")["value"]


def _shape(node: object) -> object:
    """A compact nested form of an expression tree, for exact comparisons."""
    if isinstance(node, Node):
        if node.kind == "literal":
            return node["value"]
        if node.kind == "name":
            return node["name"]
        if node.kind == "binary":
            return (node["op"], _shape(node["left"]), _shape(node["right"]))
        if node.kind == "unary":
            return (node["op"], _shape(node["operand"]))
        if node.kind == "ternary":
            return ("?:", _shape(node["test"]), _shape(node["then"]), _shape(node["else"]))
        if node.kind == "paren":
            return _shape(node["expr"])
        if node.kind == "member":
            return (".?" if node["safe"] else ".", _shape(node["target"]), node["name"])
        if node.kind == "non_null":
            return ("!", _shape(node["target"]))
        if node.kind == "call":
            head = node["name"] if node["namespace"] is None else f"{_shape(node['namespace'])}.{node['name']}"
            return ("call", head, *[_shape(a) for a in node["args"]])
        if node.kind == "lambda":
            return ("=>", tuple(node["args"]), _shape(node["body"]))
        if node.kind == "array":
            return [_shape(i) for i in node["items"]]
        if node.kind == "spread":
            return ("...", _shape(node["expr"]))
        if node.kind == "object":
            return {
                (i["key"] if i.kind == "property" else "..."): _shape(i["value"] if i.kind == "property" else i["expr"])
                for i in node["items"]
            }
        if node.kind == "interpolation":
            return ("${}", *[_shape(p) for p in node["parts"]])
        if node.kind == "index":
            return ("[]", _shape(node["target"]), _shape(node["index"]))
        return node.kind
    return node


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("a == b ? x : y", ("?:", ("==", "a", "b"), "x", "y")),
        ("1 + 2 * 3", ("+", 1, ("*", 2, 3))),
        ("10 - 4 - 3", ("-", ("-", 10, 4), 3)),
        ("a || b && c", ("||", "a", ("&&", "b", "c"))),
        ("a ?? b ?? c", ("??", ("??", "a", "b"), "c")),
        ("!a && b", ("&&", ("!", "a"), "b")),
        ("-1", -1),
        ("a < b == c > d", ("==", ("<", "a", "b"), (">", "c", "d"))),
        ("a ? b : c ? d : e", ("?:", "a", "b", ("?:", "c", "d", "e"))),
        ("x.?y.z", (".", (".?", "x", "y"), "z")),
        ("x!.y", (".", ("!", "x"), "y")),
        ("sys.concat('a', 'b')", ("call", "sys.concat", "a", "b")),
        ("map(xs, x => x.name)", ("call", "map", "xs", ("=>", ("x",), (".", "x", "name")))),
        ("reduce(xs, 0, (acc, x) => acc + x)", ("call", "reduce", "xs", 0, ("=>", ("acc", "x"), ("+", "acc", "x")))),
        ("'kv-${name}-${i + 1}'", ("${}", "kv-", "name", "-", ("+", "i", 1), "")),
        ("'it\\'s'", "it's"),
        ("[1, 2, ...rest]", [1, 2, ("...", "rest")]),
        ("{ a: 1, ...other }", {"a": 1, "...": "other"}),
        ("a =~ 'B'", ("=~", "a", "B")),
        ("xs[0]", ("[]", "xs", 0)),
    ],
)
def test_expressions_follow_bicep_precedence(text: str, shape: object) -> None:
    assert _shape(_value(text)) == shape


def test_multi_line_ternary_and_continued_operators() -> None:
    value = _value("cond\n  ? 'a'\n  : 'b'")
    assert _shape(value) == ("?:", "cond", "a", "b")
    assert _shape(_value("a\n  && b\n  || c")) == ("||", ("&&", "a", "b"), "c")


def test_objects_and_arrays_on_several_lines() -> None:
    value = _value("{\n  a: 1\n  'b-c': [\n    1\n    2\n  ]\n}")
    assert _shape(value) == {"a": 1, "b-c": [1, 2]}


def test_newlines_inside_parentheses_are_insignificant() -> None:
    assert _shape(_value("concat(\n  'a',\n  'b'\n)")) == ("call", "concat", "a", "b")


def test_resource_with_nested_child_existing_and_loop() -> None:
    program = parse(
        "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {\n"
        "  name: 'kv'\n"
        "  resource key 'keys' = {\n"
        "    name: 'k'\n"
        "  }\n"
        "}\n"
        "resource old 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'old'\n}\n"
        "resource keys 'Microsoft.KeyVault/vaults/keys@2023-07-01' = [for (n, i) in names: if (i > 0) {\n"
        "  name: n\n"
        "}]\n"
    )
    kv, old, keys = program["statements"]
    assert (kv.kind, kv["type"], kv["existing"], kv.line) == (
        "resource",
        "Microsoft.KeyVault/vaults@2023-07-01",
        False,
        1,
    )
    child = kv["body"]["items"][1]
    assert (child.kind, child["name"], child["type"], child.line) == ("resource", "key", "keys", 3)
    assert old["existing"] is True
    loop = keys["body"]
    assert (loop.kind, loop["item"], loop["index"], loop["body"].kind) == ("for", "n", "i", "if")


def test_types_resource_input_imports_and_exports() -> None:
    program = parse(
        "import { roleAssignmentType, lockType as lock } from 'br/public:avm/utl/types/avm-common-types:0.5.1'\n"
        "import * as types from './types.bicep'\n"
        "@export()\n"
        "type skuType = 'standard' | 'premium'\n"
        "type props = {\n  @description('x')\n  name: string\n  tags: object?\n  *: string\n}\n"
        "param tags resourceInput<'Microsoft.KeyVault/vaults@2024-11-01'>.tags?\n"
        "param ids string[] = []\n"
        "type choice =\n  | 'a'\n  | 'b'\n"
    )
    first, star, sku, props, tags, ids, multi = program["statements"]
    assert first["names"] == [("roleAssignmentType", "roleAssignmentType"), ("lockType", "lock")]
    assert star["wildcard"] == "types"
    assert sku["decorators"][0]["expr"]["name"] == "export"
    assert sku["value"].kind == "union_type"
    assert [p["name"] for p in props["value"]["properties"]] == ["name", "tags"]
    assert props["value"]["properties"][1]["type"].kind == "nullable_type"
    assert tags["type"].kind == "nullable_type" and tags["type"]["item"].kind == "type_member"
    assert ids["type"].kind == "array_type"
    assert [m["value"]["value"] for m in multi["value"]["members"]] == ["a", "b"]


def test_functions_outputs_metadata_target_scope_and_pragmas() -> None:
    program = parse(
        "targetScope = 'subscription'\n"
        "metadata name = 'm'\n"
        "#disable-next-line no-unused-params\n"
        "func keyName(prefix string) string => '${prefix}-key'\n"
        "output id string = kv.id\n"
        "output res resource 'Microsoft.KeyVault/vaults@2023-07-01' = kv\n"
        "var typed int = 3\n"
    )
    assert [s.kind for s in program["statements"]] == ["targetScope", "metadata", "func", "output", "output", "var"]


def test_bicepparam_files() -> None:
    program = parse("using './main.bicep'\nparam name = 'kv'\nparam retention = 7\n")
    using, name, retention = program["statements"]
    assert using["path"] == "./main.bicep"
    assert (name.kind, name["name"], name["value"]["value"]) == ("param_value", "name", "kv")
    assert retention["value"]["value"] == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("var x = 'open\n", "line 1: unterminated string"),
        ("var x = {\n  a: 1\n", "line 3: expected a property name, found end of file"),
        ("resource r 'T@v' = 5\n", "line 1: expected '{', 'if' or '[for', found 5"),
        ("var x = " + "9" * 5000 + "\n", "line 1: number with more than 40 digits"),
        ("var x = 1 +\nvar y = 2\n", "line 1: expected an expression, found end of line"),
        ("bogus x = 1\n", "line 1: expected a declaration, found 'bogus'"),
    ],
)
def test_bad_input_gives_one_positioned_line(text: str, message: str) -> None:
    with pytest.raises(BicepSyntaxError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_deep_nesting_is_rejected_without_recursion_error() -> None:
    with pytest.raises(BicepSyntaxError, match=f"nested more than {MAX_DEPTH} levels"):
        parse("var x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    with pytest.raises(BicepSyntaxError, match=f"nested more than {MAX_DEPTH} levels"):
        parse("var x = " + "[" * 5000 + "]" * 5000 + "\n")


def test_every_bicep_file_in_the_repository_parses() -> None:
    files = sorted(REPO.glob("examples/**/*.bicep")) + sorted(REPO.glob("tests/**/*.bicep"))
    assert files
    for path in files:
        parse(path.read_text(encoding="utf-8"))
