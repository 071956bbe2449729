"""Evaluate Bicep syntax trees (from :mod:`scanner.iac.bicep.parser`) into template values.

Values use the ARM value model (:mod:`scanner.iac.arm.values`), and functions are the ARM
template function library, so a Bicep file and the ARM JSON it compiles to evaluate the same.
What cannot be known before deployment stays unknown, and an expression that cannot be evaluated
(a division by zero, a function given the wrong arguments) makes only that value unknown: the
resource around it is still declared and its other properties are still judged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kvaudit.scanner import budget
from kvaudit.scanner.iac.arm.functions import (
    INT_MAX,
    INT_MIN,
    DeploymentScope,
    TemplateFunctionError,
    call_function,
    divmod_truncated,
    member,
)
from kvaudit.scanner.iac.arm.values import UNKNOWN, Partial, RuntimeObject, Unknown, is_known, join_strings, to_text
from kvaudit.scanner.iac.bicep.parser import Node


class BicepEvalError(ValueError):
    """An expression cannot be evaluated (the value it stands for becomes unknown)."""


@dataclass(frozen=True)
class Lambda:
    """A ``x => body`` value: evaluated each time it is applied, in the scope it was written in."""

    args: tuple[str, ...]
    body: Node
    env: Env

    def __call__(self, *values: Any) -> Any:
        bindings = dict(zip(self.args, values, strict=False))
        return self.env.child(bindings).value(self.body)


@dataclass(frozen=True)
class UserFunction:
    """A ``func name(args) type => body`` declaration; its body sees only its arguments and
    the file's other functions and imports (Bicep functions cannot read params or vars)."""

    args: tuple[str, ...]
    body: Node
    env: Env


def _compare(op: str, left: Any, right: Any) -> Any:
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("=~", "!~"):
        if not (isinstance(left, str) and isinstance(right, str)):
            raise BicepEvalError(f"'{op}' compares strings only")
        same = left.lower() == right.lower()
        return same if op == "=~" else not same
    if (
        type(left) is bool
        or type(right) is bool
        or not (isinstance(left, int | float) and isinstance(right, int | float))
    ):
        raise BicepEvalError(f"'{op}' compares numbers only")
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if type(left) is bool or type(right) is bool or not (isinstance(left, int) and isinstance(right, int)):
        raise BicepEvalError(f"'{op}' needs integers")
    if op in ("/", "%"):
        if right == 0:
            raise BicepEvalError("division by zero")
        quotient, remainder = divmod_truncated(left, right)
        result = quotient if op == "/" else remainder
    else:
        result = left + right if op == "+" else left - right if op == "-" else left * right
    if not INT_MIN <= result <= INT_MAX:
        raise BicepEvalError("integer overflow (Bicep integers are 64-bit)")
    return result


@dataclass
class Env:
    """Names visible to an expression: params, vars, symbols, functions, loop and lambda variables.

    ``lazy`` holds thunks evaluated on first use (variables may refer to each other in any
    order); a cycle is an error rather than a hang.
    """

    scope: DeploymentScope
    values: dict[str, Any] = field(default_factory=dict)
    lazy: dict[str, Callable[[], Any]] = field(default_factory=dict)
    functions: dict[str, UserFunction] = field(default_factory=dict)
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    parent: Env | None = None
    resolving: set[str] = field(default_factory=set)
    #: Called with (message, line) for every value that could not be evaluated: the value is
    #: unknown, and the template is wrong (Azure would refuse it), so the user hears of it.
    report: Callable[[str, int | None], None] | None = None

    def __hash__(self) -> int:
        return id(self)

    def child(self, bindings: dict[str, Any]) -> Env:
        return Env(self.scope, dict(bindings), parent=self, resolving=self.resolving, report=self.report)

    def _failed(self, exc: Exception, node: Any) -> Any:
        if self.report is not None:
            self.report(f"cannot evaluate: {exc}", node.line if isinstance(node, Node) else None)
        return UNKNOWN

    def lookup(self, name: str) -> Any:
        env: Env | None = self
        while env is not None:
            if name in env.values:
                return env.values[name]
            if name in env.lazy:
                if name in env.resolving:
                    raise BicepEvalError(f"circular reference through '{name}'")
                env.resolving.add(name)
                try:
                    env.values[name] = env.lazy.pop(name)()
                except (BicepEvalError, TemplateFunctionError, OverflowError) as exc:
                    env.values[name] = self._failed(exc, None)
                finally:
                    env.resolving.discard(name)
                return env.values[name]
            env = env.parent
        return Unknown(label=name)

    def function(self, name: str) -> UserFunction | None:
        env: Env | None = self
        while env is not None:
            if name in env.functions:
                return env.functions[name]
            env = env.parent
        return None

    def namespace(self, name: str) -> dict[str, Any] | None:
        env: Env | None = self
        while env is not None:
            if name in env.namespaces:
                return env.namespaces[name]
            env = env.parent
        return None

    # --- expressions --------------------------------------------------------------------

    def value(self, node: Any) -> Any:
        """The value of an expression node (non-nodes are returned as they are)."""
        if not isinstance(node, Node):
            return node
        handler = getattr(self, f"_v_{node.kind}", None)
        if handler is None:
            return UNKNOWN
        budget.tick()
        return budget.check_size(handler(node))

    def guarded(self, node: Any) -> Any:
        """:meth:`value`, with an evaluation error making this one value unknown."""
        try:
            return self.value(node)
        except (BicepEvalError, TemplateFunctionError, OverflowError) as exc:
            return self._failed(exc, node)

    def _v_literal(self, node: Node) -> Any:
        return node["value"]

    def _v_name(self, node: Node) -> Any:
        return self.lookup(node["name"])

    def _v_paren(self, node: Node) -> Any:
        return self.value(node["expr"])

    def _v_interpolation(self, node: Node) -> Any:
        pieces: list[Any] = []
        for index, part in enumerate(node["parts"]):
            if index % 2 == 0:
                pieces.append(part)
            else:
                value = self.value(part)
                pieces.append(value if isinstance(value, str | Unknown | Partial | RuntimeObject) else to_text(value))
        return join_strings(pieces)

    def _v_array(self, node: Node) -> Any:
        out: list[Any] = []
        for item in node["items"]:
            if item.kind == "spread":
                spread = self.value(item["expr"])
                if not isinstance(spread, list):
                    return UNKNOWN
                out.extend(spread)
            else:
                out.append(self.guarded(item))
        return out

    def _v_object(self, node: Node) -> Any:
        out: dict[str, Any] = {}
        for item in node["items"]:
            if item.kind == "spread":
                spread = self.value(item["expr"])
                if not isinstance(spread, dict):
                    # Any property could come from the unknown object: none can be trusted as
                    # absent, so the whole object is unknown rather than partly defaulted.
                    return Unknown(label="{...}")
                out.update(spread)
            elif item.kind == "property":
                key = item["key"]
                if isinstance(key, Node):
                    key = self.value(key)
                    if not isinstance(key, str):
                        return Unknown(label="{...}")
                out[key] = self.guarded(item["value"])
        return out

    def _v_member(self, node: Node) -> Any:
        target = self.value(node["target"])
        if node["safe"] and (target is None or (isinstance(target, dict) and not _has_key(target, node["name"]))):
            return None
        return self._member(target, node["name"])

    def _v_index(self, node: Node) -> Any:
        target = self.value(node["target"])
        index = self.value(node["index"])
        if not is_known(index):
            return UNKNOWN
        if node["safe"] and (target is None or (isinstance(target, dict | list) and not _has_key(target, index))):
            return None
        return self._member(target, index)

    def _v_non_null(self, node: Node) -> Any:
        return self.value(node["target"])

    def _v_child(self, node: Node) -> Any:
        target = self.value(node["target"])
        if isinstance(target, dict) and isinstance(target.get("__children__"), dict):
            child = target["__children__"].get(node["name"])
            if child is not None:
                return child() if callable(child) else child
        return UNKNOWN

    def _member(self, target: Any, name: Any) -> Any:
        try:
            return member(target, name)
        except TemplateFunctionError as exc:
            raise BicepEvalError(str(exc)) from None

    def _v_unary(self, node: Node) -> Any:
        operand = self.value(node["operand"])
        if not is_known(operand):
            return UNKNOWN
        if node["op"] == "!":
            if not isinstance(operand, bool):
                raise BicepEvalError("'!' needs a bool")
            return not operand
        if type(operand) is bool or not isinstance(operand, int):
            raise BicepEvalError(f"'{node['op']}' needs an integer")
        return -operand if node["op"] == "-" else operand

    def _v_binary(self, node: Node) -> Any:
        op = node["op"]
        left = self.value(node["left"])
        if op == "??":
            if left is None:
                return self.value(node["right"])
            return left if is_known(left) or isinstance(left, Partial | RuntimeObject) else UNKNOWN
        if op in ("&&", "||"):
            if left is (op == "||"):  # true || x, false && x
                return left
            right = self.value(node["right"])
            if isinstance(left, bool) and isinstance(right, bool):
                return right
            if right is (op == "||"):
                return right
            return UNKNOWN
        right = self.value(node["right"])
        if not (is_known(left) and is_known(right)):
            return UNKNOWN
        if op in ("+", "-", "*", "/", "%"):
            return _arithmetic(op, left, right)
        return _compare(op, left, right)

    def _v_ternary(self, node: Node) -> Any:
        test = self.value(node["test"])
        if isinstance(test, bool):
            return self.value(node["then"] if test else node["else"])
        if is_known(test):
            raise BicepEvalError("a condition must be a bool")
        then, other = self.guarded(node["then"]), self.guarded(node["else"])
        return then if is_known(then) and then == other else UNKNOWN

    def _v_lambda(self, node: Node) -> Any:
        return Lambda(tuple(node["args"]), node["body"], self)

    def _v_for(self, node: Node) -> Any:
        out: list[Any] = []
        for env in self.iterations(node):
            if env is None:
                return UNKNOWN
            body = node["body"]
            if body.kind == "if":
                test = env.value(body["test"])
                if test is False:
                    continue
                if not isinstance(test, bool):
                    out.append(UNKNOWN)
                    continue
                body = body["body"]
            out.append(env.guarded(body))
        return out

    def iterations(self, node: Node) -> Iterator[Env | None]:
        """One child scope per item of a ``for`` loop; a single None when the items are unknown."""
        source = self.value(node["source"])
        if not isinstance(source, list):
            yield None
            return
        budget.charge("iterations", len(source))
        for index, item in enumerate(source):
            bindings = {node["item"]: item}
            if node["index"]:
                bindings[node["index"]] = index
            yield self.child(bindings)

    def _v_call(self, node: Node) -> Any:
        name: str = node["name"]
        namespace = node["namespace"]
        if namespace is not None:
            if namespace.kind == "name" and namespace["name"] in ("sys", "az"):
                return self._builtin(name, node["args"])
            if namespace.kind == "name":
                imported = self.namespace(namespace["name"])
                if imported is not None:
                    fn = imported.get(name)
                    if isinstance(fn, UserFunction):
                        return self._apply(fn, node["args"])
                    return UNKNOWN
            # A method on a resource or module symbol (listKeys(), getSecret()): runtime only.
            return UNKNOWN
        fn = self.function(name)
        if fn is not None:
            return self._apply(fn, node["args"])
        return self._builtin(name, node["args"])

    def _apply(self, fn: UserFunction, arg_nodes: list[Node]) -> Any:
        args = [self.value(a) for a in arg_nodes]
        env = fn.env.child(dict(zip(fn.args, args, strict=False)))
        return env.value(fn.body)

    def _builtin(self, name: str, arg_nodes: list[Node]) -> Any:
        lowered = name.lower()
        args = [self.value(a) for a in arg_nodes]
        if lowered == "range":
            start, count = (args + [0, 0])[:2]
            if not (isinstance(start, int) and isinstance(count, int)):
                return UNKNOWN
            if count < 0:
                raise BicepEvalError("range() of a negative count")
            budget.check_length(count, "array")
            return list(range(start, start + count))
        if lowered in ("loadtextcontent", "loadjsoncontent", "loadfileasbase64", "loadyamlcontent"):
            return Unknown(label=f"{name}()")
        try:
            return call_function(lowered, args, self.scope)
        except TemplateFunctionError as exc:
            raise BicepEvalError(str(exc)) from None


def _has_key(target: Any, key: Any) -> bool:
    if isinstance(target, dict):
        return isinstance(key, str) and any(k.lower() == key.lower() for k in target)
    if isinstance(target, list):
        return isinstance(key, int) and not isinstance(key, bool) and -len(target) <= key < len(target)
    return True
