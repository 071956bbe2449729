"""Applying a variable's declared type, chiefly ``optional(type, default)`` object attributes.

Azure Verified Modules declare inputs such as ``network_acls`` as objects whose attributes are
``optional(string, "Deny")``; Terraform fills those defaults before the module sees the value.
Without doing the same, ``var.network_acls.default_action`` would look unknown whenever the
caller relies on the module's secure default.
"""

from __future__ import annotations

from typing import Any

from kvaudit.scanner.iac.terraform.evaluate import Evaluator
from kvaudit.scanner.iac.terraform.functions import EvalError
from kvaudit.scanner.iac.terraform.functions import _toset as to_set
from kvaudit.scanner.iac.terraform.values import UNKNOWN, contains_unknown


class _NoScope:
    def root(self, name: str, attrs: list[str]) -> tuple[Any, int]:
        return UNKNOWN, 0


_LITERALS = Evaluator(_NoScope())


def _is_tree(node: object) -> bool:
    return hasattr(node, "data") and hasattr(node, "children")


def _kids(node: Any) -> list[Any]:
    return [k for k in node.children if _is_tree(k) and k.data != "new_line_or_comment"]


def _unwrap(node: Any) -> Any:
    while _is_tree(node) and node.data == "expr_term" and len(_kids(node)) == 1:
        node = _kids(node)[0]
    return node


def _call_parts(node: Any) -> tuple[str | None, list[Any]]:
    node = _unwrap(node)
    if _is_tree(node) and node.data == "identifier":
        return str(node.children[0]), []
    if _is_tree(node) and node.data == "function_call":
        name = str(_kids(node)[0].children[0])
        args_node = next((k for k in _kids(node) if k.data == "arguments"), None)
        return name, _kids(args_node) if args_node is not None else []
    return None, []


def _object_fields(node: Any) -> dict[str, Any]:
    node = _unwrap(node)
    fields: dict[str, Any] = {}
    if not (_is_tree(node) and node.data == "object"):
        return fields
    for elem in _kids(node):
        key_node, value_node = _kids(elem)
        key = _unwrap(_kids(key_node)[0]) if _kids(key_node) else None
        if key is not None and _is_tree(key) and key.data in ("identifier", "keyword"):
            fields[str(key.children[0])] = value_node
        elif key is not None:
            fields[str(_LITERALS.evaluate(key))] = value_node
    return fields


def convert(type_node: Any, value: Any) -> Any:
    """Convert ``value`` to the declared type; values that do not fit are returned unchanged."""
    if value is UNKNOWN or value is None or type_node is None:
        return value
    name, args = _call_parts(type_node)
    if name == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if name == "string" and isinstance(value, bool):
        return "true" if value else "false"
    if name == "number" and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    if name == "bool" and value in ("true", "false"):
        return value == "true"
    if name in ("list", "set") and args and isinstance(value, list):
        items = [convert(args[0], item) for item in value]
        return to_set(items) if name == "set" and not contains_unknown(items) else items
    if name == "map" and args and isinstance(value, dict):
        return {k: convert(args[0], v) for k, v in value.items()}
    if name == "object" and args and isinstance(value, dict):
        out = dict(value)
        for field, field_type in _object_fields(args[0]).items():
            inner_name, inner_args = _call_parts(field_type)
            if inner_name == "optional":
                if field not in out or out[field] is None:
                    default = None
                    if len(inner_args) > 1:
                        try:
                            default = _LITERALS.evaluate(inner_args[1])
                        except EvalError:
                            default = UNKNOWN
                    out[field] = convert(inner_args[0], default)
                else:
                    out[field] = convert(inner_args[0], out[field])
            elif field in out:
                out[field] = convert(field_type, out[field])
        return out
    return value
