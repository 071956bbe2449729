"""Tokenizer, parser and evaluator for ARM template expressions (``"[concat('a', ...)]"``).

A string value is an expression when it starts with ``[`` and ends with ``]``; ``[[`` escapes a
literal leading bracket. The grammar is small: function calls, string/number literals, and
member access (``.name`` or ``[expr]``). Evaluation resolves what a static scan can know and
yields :class:`~scanner.iac.arm.values.Unknown` for the rest, so a rule sees null, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kvaudit.scanner import budget
from kvaudit.scanner.iac.arm.functions import TemplateFunctionError, call_function, member
from kvaudit.scanner.iac.arm.values import UNKNOWN, is_known


class ExpressionError(ValueError):
    """The expression text is malformed or cannot be evaluated (bad arguments, cycles)."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Member:
    target: Any
    key: Any  # a Literal for .name, or any node for [expr]


Node = Literal | Call | Member

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<ident>[A-Za-z_][\w$]*)"
    r"|(?P<punct>[()\[\],.]))"
)


def tokenize(text: str) -> list[tuple[str, Any]]:
    """Split expression text into (kind, value) tokens; strings come back unescaped."""
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(f"unexpected character {text[pos:].lstrip()[:1]!r} at offset {pos}")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind == "number":
            if len(value) > MAX_NUMBER_DIGITS:
                raise ExpressionError(f"number with {len(value)} digits is out of range")
            value = float(value) if "." in value else int(value)
        tokens.append((kind, value))
    return tokens


#: ARM numbers are 64-bit; a literal longer than this is refused before it is converted.
MAX_NUMBER_DIGITS = 20
#: Sub-expressions nested deeper than this are refused while parsing (ARM's own parser stops far
#: earlier); the recursive parser and evaluator would otherwise exhaust the Python stack.
MAX_NESTING = 100


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise ExpressionError("unexpected end of expression")
        if value is not None and token != ("punct", value):
            raise ExpressionError(f"expected '{value}' but found {token[1]!r}")
        self.pos += 1
        return token

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(f"expression nested deeper than {MAX_NESTING} levels")
        try:
            return self._expression()
        finally:
            self.depth -= 1

    def _expression(self) -> Node:
        kind, value = self.take()
        node: Node
        if kind in ("string", "number"):
            node = Literal(value)
        elif kind == "ident":
            if self.peek() == ("punct", "."):  # a user-defined function: namespace.member(...)
                self.take(".")
                member_kind, member = self.take()
                if member_kind != "ident":
                    raise ExpressionError(f"expected a function name after '{value}.', found {member!r}")
                value = f"{value}.{member}"
            self.take("(")
            args: list[Node] = []
            if self.peek() != ("punct", ")"):
                args.append(self.expression())
                while self.peek() == ("punct", ","):
                    self.take(",")
                    args.append(self.expression())
            self.take(")")
            node = Call(value, tuple(args))
        else:
            raise ExpressionError(f"unexpected {value!r}")
        while self.peek() in (("punct", "."), ("punct", "[")):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "ident":
                    raise ExpressionError(f"expected a property name after '.', found {name!r}")
                node = Member(node, Literal(name))
            else:
                key = self.expression()
                self.take("]")
                node = Member(node, key)
        return node


def parse_expression(text: str) -> Node:
    """Parse the text between the outer brackets of an ARM expression."""
    parser = _Parser(tokenize(text))
    node = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()[1]!r} after the expression")
    return node


def is_expression(value: Any) -> bool:
    """True for ``"[...]"`` strings; ``"[[..."`` is an escaped literal, not an expression."""
    if not isinstance(value, str):
        return False
    return value.startswith("[") and value.endswith("]") and not value.startswith("[[")


class Lambda:
    """A ``lambda(...)`` value: a callable the library's lambda functions apply to each item.

    It closes over the lambda variables of the lambdas it is written in, so a nested lambda
    reads its enclosing lambda's ``lambdaVariables('x')`` as ARM does. Extra arguments
    (the index that ``map``/``filter`` pass) are ignored when the lambda declares fewer names.
    """

    def __init__(self, names: tuple[str, ...], body: Node, evaluator: Evaluator, enclosing: dict[str, Any]):
        self.names, self.body, self.evaluator, self.enclosing = names, body, evaluator, enclosing

    def __call__(self, *values: Any) -> Any:
        if len(values) < len(self.names):
            raise ExpressionError(f"lambda with {len(self.names)} variables applied to {len(values)} values")
        evaluator = self.evaluator
        saved = evaluator.lambda_scope
        evaluator.lambda_scope = {**self.enclosing, **dict(zip(self.names, values, strict=False))}
        try:
            return evaluator.evaluate(self.body)
        finally:
            evaluator.lambda_scope = saved


#: Functions the evaluator itself implements because they need template state.
Special = Callable[[list[Any]], Any]


class Evaluator:
    """Evaluates parsed expressions against a template context.

    ``specials`` maps lower-case function names (parameters, variables, copyIndex, reference...)
    to callables over already-evaluated arguments; everything else goes to the shared library.
    ``if`` is lazy so an unused branch that cannot be evaluated does not fail the template.
    """

    def __init__(self, scope: Any, specials: dict[str, Special]):
        self.scope = scope
        self.specials = specials
        self._cache: dict[str, Node] = {}
        #: lambdaVariables() in scope: the innermost lambda's arguments over its enclosing ones'.
        self.lambda_scope: dict[str, Any] = {}

    def _lambda(self, node: Call) -> Lambda:
        """``lambda('x', 'y', body)``: names are string literals, the body is evaluated when the
        lambda function (filter, map, reduce, sort, toObject...) applies it."""
        if not node.args:
            raise ExpressionError("lambda() needs a body")
        names = []
        for arg in node.args[:-1]:
            if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
                raise ExpressionError("lambda() variable names must be string literals")
            names.append(arg.value.lower())
        return Lambda(tuple(names), node.args[-1], self, dict(self.lambda_scope))

    def _short_circuit(self, node: Call, stop: bool) -> Any:
        """``and``/``or`` stop at the first false/true argument, as ARM's evaluator does, so
        ``and(contains(x, 'enabled'), x.enabled)`` is false, not an error, when x has no
        ``enabled``. After an argument that is unknown or not a boolean, an argument that fails
        makes the result unknown (ARM would have stopped before it, or not)."""
        pending = False
        for arg in node.args:
            try:
                value = self.evaluate(arg)
            except ExpressionError:
                if pending:
                    return UNKNOWN
                raise
            if value is stop:
                return stop
            if value is not (not stop):
                pending = True  # unknown, or not a boolean (null): the rest may still decide
        return UNKNOWN if pending else not stop

    def _lambda_variable(self, node: Call) -> Any:
        if len(node.args) != 1:
            raise ExpressionError("lambdaVariables() takes one name")
        name = self.evaluate(node.args[0])
        if not isinstance(name, str) or name.lower() not in self.lambda_scope:
            raise ExpressionError(f"lambdaVariables({name!r}) is not a variable of an enclosing lambda")
        return self.lambda_scope[name.lower()]

    def evaluate_string(self, text: str) -> Any:
        if text.startswith("[["):
            return text[1:]
        if not is_expression(text):
            return text
        node = self._cache.get(text)
        if node is None:
            node = parse_expression(text[1:-1])
            self._cache[text] = node
        return self.evaluate(node)

    def evaluate(self, node: Node) -> Any:
        """Evaluate ``node``; every call is charged to the scan's budget (time and depth)."""
        spent = budget.current()
        spent.tick()
        spent.depth += 1
        try:
            if spent.depth > spent.limits.expression_depth:
                raise ExpressionError(f"expressions nested deeper than {spent.limits.expression_depth} levels")
            return self._evaluate(node)
        finally:
            spent.depth -= 1

    def _evaluate(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Member):
            target = self.evaluate(node.target)
            key = self.evaluate(node.key)
            if not is_known(key):
                return UNKNOWN
            try:
                return member(target, key)
            except TemplateFunctionError as exc:
                raise ExpressionError(str(exc)) from None
        name = node.name.lower()
        if name == "lambda":
            return self._lambda(node)
        if name == "lambdavariables":
            return self._lambda_variable(node)
        if name in ("and", "or") and node.args:
            return self._short_circuit(node, stop=name == "or")
        if name == "if" and len(node.args) == 3:
            cond = self.evaluate(node.args[0])
            if isinstance(cond, bool):
                return self.evaluate(node.args[1] if cond else node.args[2])
            return UNKNOWN
        args = [self.evaluate(arg) for arg in node.args]
        try:
            special = self.specials.get(name)
            if special is not None:
                return special(args)
            return call_function(node.name, args, self.scope)
        except TemplateFunctionError as exc:
            raise ExpressionError(str(exc)) from None
        except ValueError as exc:
            raise ExpressionError(f"{node.name}(): {exc}") from None
