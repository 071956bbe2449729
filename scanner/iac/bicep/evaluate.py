"""Evaluate pycep's JSON form of a Bicep file into :class:`Declared` resources.

pycep gives an AST-like JSON: quoted strings are ``str``, identifiers are ``BicepElement`` (a
``str`` subclass), operators and functions are ``{"operator"|"function": {...}}`` and string
interpolation stays as raw ``${...}`` text, which is parsed here by handing the inner
expression back to pycep. Functions are delegated to the ARM library so Bicep and ARM agree.

pycep quirk: binary operators are parsed right-associatively without precedence
(``a == b ? x : y`` becomes ``a == (b ? x : y)``); parenthesise conditions in Bicep you want
scanned exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner import budget
from scanner.errors import InputError
from scanner.iac.arm.functions import (
    INT_MAX,
    INT_MIN,
    DeploymentScope,
    TemplateFunctionError,
    call_function,
    divmod_truncated,
    member,
)
from scanner.iac.arm.resources import Declared, split_name
from scanner.iac.arm.template import suppressions_from_metadata
from scanner.iac.arm.values import UNKNOWN, Partial, RuntimeObject, Unknown, is_known, join_strings, render
from scanner.iac.common import parse_suppression_comment

MAX_LOOP = 800
MAX_MODULE_DEPTH = 10


class BicepEvalError(ValueError):
    """An expression in a Bicep file cannot be evaluated."""


def _is_identifier(value: Any) -> bool:
    return isinstance(value, str) and type(value) is not str


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "equals": lambda a, b: a == b,
    "not_equals": lambda a, b: a != b,
    "equals_case_insensitive": lambda a, b: str(a).lower() == str(b).lower(),
    "not_equals_case_insensitive": lambda a, b: str(a).lower() != str(b).lower(),
    "greater_than": lambda a, b: a > b,
    "greater_than_or_equals": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b,
    "less_than_or_equals": lambda a, b: a <= b,
    "add": lambda a, b: a + b,
    "substract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: divmod_truncated(a, b)[0],
    "modulo": lambda a, b: divmod_truncated(a, b)[1],
}


@dataclass
class Env:
    """Names visible in one Bicep file: params, vars, resource and module symbols, loop vars."""

    scope: DeploymentScope
    parse_text: Callable[[str], Any]
    lazy: dict[str, Callable[[], Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    resolving: set[str] = field(default_factory=set)
    #: False for the child scopes of loops; a file's own scope is one module call of the budget.
    root: bool = True

    def __post_init__(self) -> None:
        if self.root:
            budget.charge("module_calls")

    def lookup(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.lazy:
            if name in self.resolving:
                raise BicepEvalError(f"circular reference through '{name}'")
            self.resolving.add(name)
            try:
                self.values[name] = self.lazy[name]()
            finally:
                self.resolving.discard(name)
            return self.values[name]
        return Unknown(label=name) if name in ("sys", "az") else UNKNOWN

    def child(self, **bindings: Any) -> Env:
        env = Env(self.scope, self.parse_text, self.lazy, {**self.values, **bindings}, self.resolving, root=False)
        return env

    # -- evaluation ---------------------------------------------------------------------------

    def value(self, node: Any) -> Any:
        """Evaluate a pycep node; every node is charged to the scan's budget (time, size)."""
        budget.tick()
        return budget.check_size(self._value(node))

    def _value(self, node: Any) -> Any:
        if _is_identifier(node):
            return self.lookup(str(node))
        if isinstance(node, str):
            return self.interpolate(node)
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if isinstance(node, dict):
            if "operator" in node and len(node) == 1:
                return self.operator(node["operator"])
            if "function" in node and len(node) == 1:
                return self.function(node["function"])
            if "loop_type" in node and "config" in node:
                return self.loop(node)
            return {k: self.value(v) for k, v in node.items() if not k.startswith("__")}
        return node

    def interpolate(self, text: str) -> Any:
        if "${" not in text:
            return text
        pieces: list[Any] = []
        pos = 0
        while True:
            start = text.find("${", pos)
            if start < 0 or (start > 0 and text[start - 1] == "\\"):
                pieces.append(text[pos:])
                break
            end = _matching_brace(text, start + 2)
            pieces.append(text[pos:start])
            pieces.append(self.value(self.parse_text(text[start + 2 : end])))
            pos = end + 1
        return join_strings(pieces)

    def operator(self, op: dict[str, Any]) -> Any:
        kind = op["type"]
        operands = op.get("operands", {})
        if kind == "property_accessor":
            chain = _flatten_accessor(op)
            value = self.value(chain[0])
            for name in chain[1:]:
                value = self._member(value, str(name))
            return value
        if kind == "index_accessor":
            return self._member(self.value(operands["operand_1"]), self.value(operands["operand_2"]))
        if kind == "nested_resource_accessor":
            return UNKNOWN
        if kind == "conditional":
            cond = self.value(operands["condition"])
            if isinstance(cond, bool):
                return self.value(operands["true_value" if cond else "false_value"])
            return UNKNOWN
        if kind == "not":
            inner = self.value(operands.get("bool_value"))
            return (not inner) if isinstance(inner, bool) else UNKNOWN
        if kind == "minus":
            inner = self.value(next(iter(operands.values())))
            return -inner if isinstance(inner, int) else UNKNOWN
        if kind in ("and", "or", "coalesce"):
            args = [self.value(operands["operand_1"]), self.value(operands["operand_2"])]
            return call_function(kind, args, self.scope)
        if kind in _COMPARE:
            left, right = self.value(operands["operand_1"]), self.value(operands["operand_2"])
            if kind == "add" and (isinstance(left, str) or isinstance(right, str)):
                return UNKNOWN
            if not (is_known(left) and is_known(right)):
                return UNKNOWN
            try:
                result = _COMPARE[kind](left, right)
            except (TypeError, ArithmeticError, ValueError) as exc:
                raise BicepEvalError(f"{kind}: {exc}") from None
            if isinstance(result, int) and not isinstance(result, bool) and not INT_MIN <= result <= INT_MAX:
                raise BicepEvalError(f"{kind}: integer overflow (Bicep integers are 64-bit)")
            return result
        if kind == "function_accessor":
            return UNKNOWN
        return UNKNOWN

    def _member(self, value: Any, name: Any) -> Any:
        if not is_known(name):
            return UNKNOWN
        try:
            return member(value, name)
        except TemplateFunctionError as exc:
            raise BicepEvalError(str(exc)) from None

    def function(self, fn: dict[str, Any]) -> Any:
        name = str(fn["type"]).replace("_", "").lower()
        params = fn.get("parameters") or {}
        args = [self.value(v) for v in params.values()]
        while args and args[-1] is None:
            args.pop()
        if name == "resourcegroup" and args:
            args = [a for a in args if a is not None][-1:]
        if name == "range":
            start, count = (args + [0, 0])[:2]
            if isinstance(start, int) and isinstance(count, int) and 0 <= count <= MAX_LOOP:
                return list(range(start, start + count))
            return UNKNOWN
        try:
            return call_function(name, args, self.scope)
        except TemplateFunctionError as exc:
            raise BicepEvalError(str(exc)) from None

    def loop(self, node: dict[str, Any]) -> Any:
        """``[for x in xs: {...}]`` -> list; unknown collection -> unknown."""
        out = []
        for env in self.iterations(node):
            if env is None:
                return UNKNOWN
            cond = node.get("condition")
            if cond is not None and env.value(cond) is False:
                continue
            out.append(env.value(node["config"]))
        return out

    def iterations(self, node: dict[str, Any]) -> list[Env | None]:
        loop = node["loop_type"]
        detail = loop.get("detail", {})
        if loop.get("type") == "object":
            collection = self.lookup(detail.get("object_name"))
            if not isinstance(collection, dict):
                return [None]
            items: list[Any] = [{"key": k, "value": v} for k, v in collection.items()]
        else:
            collection = self.value(detail.get("array_name"))
            if not isinstance(collection, list) or len(collection) > MAX_LOOP:
                return [None]
            items = collection
        budget.charge("iterations", len(items))
        envs: list[Env | None] = []
        for index, item in enumerate(items):
            bindings = {detail["item_name"]: item}
            if detail.get("index_name"):
                bindings[detail["index_name"]] = index
            envs.append(self.child(**bindings))
        return envs


def _flatten_accessor(op: dict[str, Any]) -> list[Any]:
    operands = op["operands"]
    chain = [operands["operand_1"]]
    second = operands["operand_2"]
    while isinstance(second, dict) and second.get("operator", {}).get("type") == "property_accessor":
        inner = second["operator"]["operands"]
        chain.append(inner["operand_1"])
        second = inner["operand_2"]
    chain.append(second)
    return chain


def _matching_brace(text: str, pos: int) -> int:
    depth = 0
    quote = False
    while pos < len(text):
        char = text[pos]
        if quote:
            if char == "'":
                quote = False
        elif char == "'":
            quote = True
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return pos
            depth -= 1
        pos += 1
    raise BicepEvalError("unterminated ${ in string")


_COMMENT = re.compile(r"^\s*//(.*)$")


def comment_suppressions(lines: list[str], start_line: int) -> list[tuple[str, str | None]]:
    """``// kvaudit:ignore RULE reason`` on the comment/decorator lines directly above a resource."""
    out: list[tuple[str, str | None]] = []
    index = start_line - 2
    while index >= 0:
        text = lines[index]
        match = _COMMENT.match(text)
        if match:
            parsed = parse_suppression_comment(text.strip())
            if parsed:
                out.append(parsed)
        elif not text.strip().startswith("@"):
            break
        index -= 1
    return list(reversed(out))


def resource_symbol(decl: Declared) -> dict[str, Any]:
    """What a Bicep resource symbol evaluates to: id/name/type known, runtime state unknown."""
    return {
        "id": decl.display_id,
        "name": join_strings(_join_names(decl.names)),
        "type": decl.type,
        "apiVersion": decl.api_version,
        "location": decl.body.get("location", UNKNOWN),
        "properties": RuntimeObject(decl.id),
        "identity": RuntimeObject(decl.id, ("identity",)),
    }


def _join_names(names: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i, name in enumerate(names):
        if i:
            out.append("/")
        out.append(name)
    return out


def scope_of(value: Any, fallback: DeploymentScope) -> tuple[DeploymentScope, Any]:
    """A ``scope:`` value -> (deployment scope for modules, extension scope id for resources)."""
    if isinstance(value, dict) and "id" in value:
        target = value["id"]
        text = render(target) or ""
        parts = text.split("/")
        if len(parts) == 5 and parts[3].lower() == "resourcegroups":
            name = value.get("name")
            return DeploymentScope(fallback.subscription_id, name if isinstance(name, str) else None), None
        return fallback, target
    return fallback, None


def symbol_names(raw_name: Any, env: Env, parent: dict[str, Any] | None) -> list[Any]:
    names = split_name(env.value(raw_name))
    if parent is not None:
        parent_names = split_name(parent.get("name")) if isinstance(parent, dict) else []
        return [*parent_names, *names]
    return names


def make_error(origin: str, problem: str, line: int | None) -> InputError:
    return InputError(origin, problem, line)


__all__ = [
    "BicepEvalError",
    "Env",
    "comment_suppressions",
    "make_error",
    "resource_symbol",
    "scope_of",
    "suppressions_from_metadata",
    "symbol_names",
    "Partial",
]
