"""Evaluating HCL expressions (the trees :mod:`.hcl_syntax` builds) against a scope.

The evaluator knows HCL's expression language (literals, templates, operators, conditionals,
``for`` expressions, splats, function calls) but not Terraform's namespaces: the first name
of every traversal (``var``, ``local``, ``azurerm_key_vault`` ...) is handed to a
:class:`Scope`, which the module loader implements. What cannot be determined is UNKNOWN and
what Terraform would reject raises :class:`EvalError`; both become a null column, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kvaudit.scanner import budget
from kvaudit.scanner.iac.terraform.functions import MAX_NUMBER_BITS, EvalError, bounded_number, call, to_number, to_str
from kvaudit.scanner.iac.terraform.hcl_syntax import Node, unescape
from kvaudit.scanner.iac.terraform.values import UNKNOWN, EncodedJson, KeyRef, contains_unknown

#: An operation applied after the root of a traversal: ("attr", name), ("index", tree),
#: ("splat", [ops]).
Op = tuple[str, Any]


class Handle(Protocol):
    """An object reached through a traversal whose attributes are computed on demand."""

    def attr(self, name: str) -> Any: ...


class Scope(Protocol):
    """Resolves the first names of a traversal; returns the value and how many attrs it used."""

    def root(self, name: str, attrs: list[str]) -> tuple[Any, int]: ...


def _is_tree(node: object) -> bool:
    # kvaudit's own nodes first; any tree of the same shape (python-hcl2's, in bench/) also works
    return type(node) is Node or (hasattr(node, "data") and hasattr(node, "children"))


def _trees(node: Any) -> list[Any]:
    if type(node) is Node:
        return [k for k in node.children if type(k) is Node]  # its trees hold no comment nodes
    return [k for k in node.children if _is_tree(k) and k.data != "new_line_or_comment"]


def _tokens(node: Any) -> list[Any]:
    return [k for k in node.children if not _is_tree(k)]


def _is_handle(value: Any) -> bool:
    return hasattr(value, "attr") and callable(value.attr)


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _operands(op: str, left: Any, right: Any) -> tuple[Any, Any]:
    """Refuse a product whose size alone would cost seconds to compute (a squaring chain)."""
    if op == "*" and isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_NUMBER_BITS:
            raise EvalError("number out of range")
    return left, right


def _number(value: Any) -> Any:
    """Arithmetic operand: Terraform's number conversion, where null is an error, not unknown."""
    if value is None:
        raise EvalError("arithmetic on null")
    return to_number(value)


class Evaluator:
    """Evaluates expressions in one scope, with extra local names for ``for`` and ``dynamic``."""

    def __init__(self, scope: Scope, names: dict[str, Any] | None = None):
        self.scope = scope
        self.names = names or {}

    def child(self, names: dict[str, Any]) -> Evaluator:
        return Evaluator(self.scope, {**self.names, **names})

    def evaluate(self, node: Any) -> Any:
        """Value of an expression; EvalError becomes UNKNOWN at the caller's discretion."""
        try:
            return self._eval(node)
        except RecursionError:
            raise EvalError("expression nested too deeply") from None

    # --- dispatch --------------------------------------------------------------------------

    def _eval(self, node: Any) -> Any:
        if not _is_tree(node):
            raise EvalError(f"unexpected token {node!r}")
        handler = _HANDLERS.get(node.data)
        if handler is None:
            return UNKNOWN
        spent = budget.current()
        spent.tick()
        return budget.check_size(handler(self, node))

    def _e_expr_term(self, node: Any) -> Any:
        kids = _trees(node)
        if len(kids) != 1:
            raise EvalError("malformed expression")
        return self._eval(kids[0])

    def _e_int_lit(self, node: Any) -> Any:
        return to_number(str(node.children[0]))

    def _e_float_lit(self, node: Any) -> Any:
        return to_number(str(node.children[0]))

    def _e_literal_value(self, node: Any) -> Any:
        return {"true": True, "false": False, "null": None}[str(node.children[0])]

    def _e_identifier(self, node: Any) -> Any:
        return self._traverse(str(node.children[0]), [])

    def _e_keyword(self, node: Any) -> Any:
        return self._traverse(str(node.children[0]), [])

    def _e_string(self, node: Any) -> Any:
        parts: list[Any] = []
        for part in _trees(node):
            for piece in part.children:
                if _is_tree(piece):
                    if piece.data != "interpolation":
                        return UNKNOWN  # %{if}/%{for} template directives
                    parts.append(self._eval(_trees(piece)[0]))
                elif piece.type == "STRING_CHARS":
                    parts.append(unescape(str(piece)))
                elif piece.type == "ESCAPED_INTERPOLATION":
                    parts.append(str(piece)[1:])
                elif piece.type == "ESCAPED_DIRECTIVE":
                    parts.append(str(piece)[1:])
        if len(parts) == 1 and len(_trees(node)) == 1 and _is_tree(_trees(node)[0].children[0]):
            return parts[0]  # "${x}" keeps the type of x
        if any(p is UNKNOWN or isinstance(p, KeyRef | EncodedJson) for p in parts):
            return UNKNOWN
        if any(p is None for p in parts):
            raise EvalError("null in string template")
        return "".join(to_str(p) for p in parts)

    def _e_heredoc_template(self, node: Any, trim: bool = False) -> Any:
        text = str(node.children[0])
        lines = text.split("\n")
        body = lines[1:-2]  # drop "<<EOT", the closing marker and the trailing ""
        if trim:
            indents = [len(ln) - len(ln.lstrip()) for ln in body if ln.strip()]
            cut = min(indents) if indents else 0
            body = [ln[cut:] for ln in body]
        result = "\n".join(ln.rstrip("\r") for ln in body) + ("\n" if body else "")
        if "${" in result.replace("$${", "") or "%{" in result.replace("%%{", ""):
            return UNKNOWN
        return result.replace("$${", "${").replace("%%{", "%{")

    def _e_heredoc_template_trim(self, node: Any) -> Any:
        return self._e_heredoc_template(node, trim=True)

    def _e_tuple(self, node: Any) -> Any:
        return [self._eval(kid) for kid in _trees(node)]

    def _e_object(self, node: Any) -> Any:
        result: dict[str, Any] = {}
        for elem in _trees(node):
            key_node, value_node = _trees(elem)
            key = self._object_key(key_node)
            if key is UNKNOWN:
                return UNKNOWN
            result[to_str(key)] = self._eval(value_node)
        return result

    def _object_key(self, key_node: Any) -> Any:
        inner = _trees(key_node)
        if not inner:  # a keyword used as a key
            return str(_tokens(key_node)[0])
        expr = inner[0]
        if expr.data == "keyword":
            return str(expr.children[0])
        if expr.data == "expr_term":
            sub = _trees(expr)
            if len(sub) == 1 and sub[0].data in ("identifier", "keyword"):
                return str(sub[0].children[0])
        return self._eval(expr)

    def _e_conditional(self, node: Any) -> Any:
        cond, yes, no = _trees(node)
        value = self._eval(cond)
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, bool):
            raise EvalError("condition is not a bool")
        return self._eval(yes if value else no)

    def _e_unary_op(self, node: Any) -> Any:
        op = str(_tokens(node)[0])
        value = self._eval(_trees(node)[0])
        if value is UNKNOWN:
            return UNKNOWN
        if op == "!":
            if not isinstance(value, bool):
                raise EvalError("! on non-bool")
            return not value
        return -_number(value)

    def _e_binary_op(self, node: Any) -> Any:
        left_node, term = _trees(node)[:2]
        op_node, right_node = _trees(term)
        op = str(op_node.children[0])
        left = self._eval(left_node)
        if op in ("&&", "||"):
            if left is not UNKNOWN and not isinstance(left, bool):
                raise EvalError(f"{op} on non-bool")
            if left is False and op == "&&":
                return False
            if left is True and op == "||":
                return True
            right = self._eval(right_node)
            if right is UNKNOWN or left is UNKNOWN:
                return UNKNOWN
            return right if isinstance(right, bool) else _raise(f"{op} on non-bool")
        right = self._eval(right_node)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        try:
            return bounded_number(_BINARY[op](*_operands(op, _number(left), _number(right))))
        except ZeroDivisionError:
            raise EvalError("division by zero") from None
        except (OverflowError, TypeError):
            raise EvalError(f"arithmetic out of range or on the wrong types ({op})") from None

    def _e_function_call(self, node: Any) -> Any:
        idents = [k for k in _trees(node) if k.data == "identifier"]
        name = "::".join(str(i.children[0]) for i in idents)
        if name == "try":
            return self._call_try(node)
        args_node = next((k for k in _trees(node) if k.data == "arguments"), None)
        if name == "can":
            try:
                value = self._eval(_trees(args_node)[0]) if args_node is not None else UNKNOWN
            except EvalError:
                return False
            return UNKNOWN if value is UNKNOWN else True
        args: list[Any] = []
        expand = False
        if args_node is not None:
            args = [self._eval(k) for k in _trees(args_node)]
            expand = any(getattr(t, "type", None) == "ELLIPSIS" for t in _tokens(args_node))
        if expand:
            if args[-1] is UNKNOWN:
                return UNKNOWN
            if not isinstance(args[-1], list):
                raise EvalError("... needs a list")
            args = args[:-1] + list(args[-1])
        if name == "jsonencode" and len(args) == 1 and contains_unknown(args[0]):
            return EncodedJson(args[0])
        return call(name, args)

    # try() must catch errors while evaluating its arguments, so it is handled before them.
    def _call_try(self, node: Any) -> Any:
        args_node = next((k for k in _trees(node) if k.data == "arguments"), None)
        for arg in _trees(args_node) if args_node is not None else []:
            try:
                return self._eval(arg)
            except EvalError:
                continue
        raise EvalError("try: no argument succeeded")

    def _e_for_tuple_expr(self, node: Any) -> Any:
        intro, *rest = _trees(node)
        body = rest[0]
        cond = rest[1] if len(rest) > 1 else None
        out: list[Any] = []
        for names in self._for_items(intro):
            if names is UNKNOWN:
                return UNKNOWN
            inner = self.child(names)
            if cond is not None:
                keep = inner._eval(_trees(cond)[0])
                if keep is UNKNOWN:
                    return UNKNOWN
                if not keep:
                    continue
            out.append(inner._eval(body))
        return out

    def _e_for_object_expr(self, node: Any) -> Any:
        intro, key_node, value_node, *rest = _trees(node)
        grouping = any(getattr(t, "type", None) == "ELLIPSIS" for t in _tokens(node))
        cond = rest[0] if rest else None
        out: dict[str, Any] = {}
        for names in self._for_items(intro):
            if names is UNKNOWN:
                return UNKNOWN
            inner = self.child(names)
            if cond is not None:
                keep = inner._eval(_trees(cond)[0])
                if keep is UNKNOWN:
                    return UNKNOWN
                if not keep:
                    continue
            key = inner._eval(key_node)
            if key is UNKNOWN:
                return UNKNOWN
            value = inner._eval(value_node)
            if grouping:
                out.setdefault(to_str(key), []).append(value)
            else:
                out[to_str(key)] = value
        return out

    def _for_items(self, intro: Any) -> list[Any]:
        kids = _trees(intro)
        idents = [str(k.children[0]) for k in kids if k.data == "identifier"]
        collection = self._eval([k for k in kids if k.data != "identifier"][0])
        if collection is UNKNOWN:
            return [UNKNOWN]
        if isinstance(collection, dict):
            pairs = list(collection.items())
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        else:
            raise EvalError("for over a non-collection")
        budget.charge("iterations", len(pairs))
        if len(idents) == 2:
            return [{idents[0]: k, idents[1]: v} for k, v in pairs]
        return [{idents[0]: v} for _, v in pairs]

    # --- traversals ------------------------------------------------------------------------

    def _e_get_attr_expr_term(self, node: Any) -> Any:
        return self._traversal(node)

    _e_index_expr_term = _e_get_attr_expr_term
    _e_attr_splat_expr_term = _e_get_attr_expr_term
    _e_full_splat_expr_term = _e_get_attr_expr_term

    def _traversal(self, node: Any) -> Any:
        ops: list[Op] = []
        current = node
        while True:
            if _is_tree(current) and current.data == "expr_term" and len(_trees(current)) == 1:
                inner_node = _trees(current)[0]
                if inner_node.data in _TRAVERSALS:
                    current = inner_node
                    continue
            if not (_is_tree(current) and current.data in _TRAVERSALS):
                break
            base, op_node = _trees(current)[:2]
            ops.insert(0, self._op(op_node))
            current = base
        inner = _trees(current)[0] if _is_tree(current) and current.data == "expr_term" else current
        if _is_tree(inner) and inner.data == "identifier":
            return self._traverse(str(inner.children[0]), ops)
        return self._apply(self._eval(current), ops)

    def _op(self, op_node: Any) -> Op:
        kind = op_node.data
        if kind == "get_attr":
            return ("attr", _attr_name(op_node))
        if kind == "short_index":
            return ("index", int(str(_tokens(op_node)[-1])))
        if kind == "braces_index":
            return ("index", self._eval(_trees(op_node)[0]))
        if kind in ("attr_splat", "full_splat"):
            return ("splat", [self._op(k) for k in _trees(op_node)])
        raise EvalError(f"unsupported traversal {kind}")

    def _traverse(self, root: str, ops: list[Op]) -> Any:
        if root in self.names:
            return self._apply(self.names[root], ops)
        attrs: list[str] = []
        for kind, arg in ops:
            if kind != "attr":
                break
            attrs.append(arg)
        value, used = self.scope.root(root, attrs)
        return self._apply(value, ops[used:])

    def _apply(self, value: Any, ops: list[Op]) -> Any:
        for position, (kind, arg) in enumerate(ops):
            if value is UNKNOWN:
                return UNKNOWN
            if kind == "splat":
                if value is None:
                    return []
                items = value if isinstance(value, list) else [value]
                rest = arg + ops[position + 1 :]
                return [self._apply(item, rest) for item in items]
            if kind == "attr":
                value = _get_attr(value, arg)
            else:
                value = _index(value, arg)
        return value

    def _e_interpolation(self, node: Any) -> Any:
        return self._eval(_trees(node)[0])


#: Node kind -> its ``_e_<kind>`` method, looked up once rather than by name at every node.
_HANDLERS: dict[str, Callable[[Evaluator, Any], Any]] = {
    name[3:]: member for name, member in vars(Evaluator).items() if name.startswith("_e_") and callable(member)
}

_TRAVERSALS = ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term")


def _attr_name(op_node: Any) -> str:
    kid = _trees(op_node)[0]
    return str(kid.children[0])


def _get_attr(value: Any, name: str) -> Any:
    if _is_handle(value):
        return value.attr(name)
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise EvalError(f"no attribute {name!r}")
    if value is None:
        raise EvalError(f"attribute {name!r} of null")
    raise EvalError(f"attribute {name!r} of a {type(value).__name__}")


def _index(value: Any, key: Any) -> Any:
    if key is UNKNOWN:
        return UNKNOWN
    if isinstance(value, list):
        if isinstance(key, bool) or not isinstance(key, int | float | str):
            raise EvalError("bad list index")
        position = int(_number(key))
        if not 0 <= position < len(value):
            raise EvalError("index out of range")
        return value[position]
    if isinstance(value, dict):
        text = to_str(key)
        if text not in value:
            raise EvalError(f"no key {text!r}")
        return value[text]
    if _is_handle(value):
        return value.attr(to_str(key))
    raise EvalError("index into a non-collection")


def _raise(message: str) -> Any:
    raise EvalError(message)
