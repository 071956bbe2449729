"""The template function library shared by the ARM expression evaluator and the Bicep evaluator.

Bicep compiles to ARM and keeps ARM's function names and semantics, so one implementation
serves both: the same misconfiguration must give the same inventory values whatever the
language. Every function is *unknown-aware*: an unknown argument makes the result unknown
unless the function provably does not depend on it (``if`` with a known condition, ``and``
with a known false, string concatenation that keeps the known pieces as a :class:`Partial`).
Nothing here guesses: ``uniqueString``/``guid`` return labelled unknowns because reproducing
ARM's hashes is not needed to audit a vault and a wrong value would be worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kvaudit.scanner import budget
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.arm.library import LIBRARY
from kvaudit.scanner.iac.arm.values import (
    UNKNOWN,
    Partial,
    RuntimeObject,
    Unknown,
    is_known,
    join_strings,
    to_text,
)
from kvaudit.scanner.iac.common import UNKNOWN_SCOPE
from kvaudit.scanner.jsonio import load_json_text


class TemplateFunctionError(ValueError):
    """A function was called with arguments that cannot work (wrong count or type)."""


@dataclass(frozen=True)
class DeploymentScope:
    """Where a (nested) deployment lands; unknown parts become the ``iac`` placeholder in ids."""

    subscription_id: str | None = None
    resource_group: str | None = None
    level: str = "resourceGroup"  # resourceGroup | subscription | managementGroup | tenant

    @property
    def subscription_part(self) -> str:
        return self.subscription_id or UNKNOWN_SCOPE

    @property
    def resource_group_part(self) -> str:
        return self.resource_group or UNKNOWN_SCOPE

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_part}/resourceGroups/{self.resource_group_part}"

    @property
    def subscription_id_path(self) -> str:
        return f"/subscriptions/{self.subscription_part}"


Function = Callable[[list[Any], DeploymentScope], Any]


def _any_unknown(args: list[Any]) -> bool:
    return any(isinstance(a, Unknown | Partial | RuntimeObject) for a in args)


def _strict(fn: Callable[..., Any]) -> Function:
    """Wrap a function of known values: any unknown argument gives an unknown result."""

    def call(args: list[Any], scope: DeploymentScope) -> Any:
        if _any_unknown(args):
            return UNKNOWN
        try:
            return fn(*args)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError) as exc:
            raise TemplateFunctionError(str(exc)) from None

    return call


def _text_map(fn: Callable[[str], str]) -> Function:
    """A string->string function that keeps Partial strings partial (toLower of 'kv-{x}')."""

    def call(args: list[Any], scope: DeploymentScope) -> Any:
        (value,) = args
        if isinstance(value, Partial):
            return Partial(tuple(fn(p) if isinstance(p, str) else p for p in value.parts))
        if isinstance(value, Unknown | RuntimeObject):
            return UNKNOWN
        return fn(to_text(value))

    return call


def _concat(args: list[Any], scope: DeploymentScope) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [item for a in args for item in a]
    if any(isinstance(a, list | dict) for a in args):
        return UNKNOWN
    return join_strings(args)


_FORMAT_ITEM = re.compile(r"\{\{|\}\}|\{(\d+)(?:,[^}:]*)?(?::([^}]*))?\}")


def _format(args: list[Any], scope: DeploymentScope) -> Any:
    if not args or not isinstance(args[0], str):
        return UNKNOWN
    template, values = args[0], args[1:]
    pieces: list[Any] = []
    last = 0
    for match in _FORMAT_ITEM.finditer(template):
        pieces.append(template[last : match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            pieces.append(token[0])
        else:
            index = int(match.group(1))
            if index >= len(values):
                raise TemplateFunctionError(f"format index {index} out of range")
            value = values[index]
            pieces.append(value if not isinstance(value, bool) else to_text(value))
        last = match.end()
    pieces.append(template[last:])
    return join_strings(pieces)


def _if(args: list[Any], scope: DeploymentScope) -> Any:
    cond, yes, no = args
    if isinstance(cond, bool):
        return yes if cond else no
    return UNKNOWN


def _coalesce(args: list[Any], scope: DeploymentScope) -> Any:
    for arg in args:
        if isinstance(arg, Unknown | Partial | RuntimeObject):
            return arg if isinstance(arg, Partial) else UNKNOWN
        if arg is not None:
            return arg
    return None


def _and(args: list[Any], scope: DeploymentScope) -> Any:
    if any(a is False for a in args):
        return False
    return True if all(a is True for a in args) else UNKNOWN


def _or(args: list[Any], scope: DeploymentScope) -> Any:
    if any(a is True for a in args):
        return True
    return False if all(a is False for a in args) else UNKNOWN


def _not(args: list[Any], scope: DeploymentScope) -> Any:
    (value,) = args
    return (not value) if isinstance(value, bool) else UNKNOWN


def _equals(args: list[Any], scope: DeploymentScope) -> Any:
    left, right = args
    if not (is_known(left) and is_known(right)):
        return UNKNOWN
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return left == right and type(left) is type(right)


def _empty(args: list[Any], scope: DeploymentScope) -> Any:
    (value,) = args
    if isinstance(value, Partial):
        return False if any(isinstance(p, str) and p for p in value.parts) else UNKNOWN
    if isinstance(value, Unknown | RuntimeObject):
        return UNKNOWN
    return value is None or len(value) == 0


def _length(args: list[Any], scope: DeploymentScope) -> Any:
    (value,) = args
    if isinstance(value, list | dict):
        return len(value)
    if isinstance(value, str):
        return len(value)
    return UNKNOWN


def _contains(args: list[Any], scope: DeploymentScope) -> Any:
    container, item = args
    if not is_known(item) or isinstance(container, Unknown | Partial | RuntimeObject):
        return UNKNOWN
    if isinstance(container, str):
        return str(item) in container
    if isinstance(container, dict):
        return any(str(item).lower() == k.lower() for k in container)
    if isinstance(container, list):
        if not all(is_known(v) for v in container):
            return True if item in container else UNKNOWN
        return item in container
    return UNKNOWN


def _union(args: list[Any], scope: DeploymentScope) -> Any:
    if all(isinstance(a, dict) for a in args):
        out: dict[str, Any] = {}
        for a in args:
            for key, value in a.items():
                if isinstance(out.get(key), dict) and isinstance(value, dict):
                    out[key] = _union([out[key], value], scope)
                else:
                    out[key] = value
        return out
    if all(isinstance(a, list) for a in args):
        out_list: list[Any] = []
        seen: set[Any] = set()
        for a in args:
            for value in a:
                key = _identity(value)
                if key not in seen:  # a set, not ``in out_list``: linear, not quadratic
                    seen.add(key)
                    out_list.append(value)
        return out_list
    return UNKNOWN


def _identity(value: Any) -> Any:
    """A hashable stand-in for a template value, equal exactly when the values are equal."""
    if isinstance(value, bool | int | float | str) or value is None:
        return (type(value) is bool, value)
    return ("repr", repr(value))


def _create_object(args: list[Any], scope: DeploymentScope) -> Any:
    if len(args) % 2:
        raise TemplateFunctionError("createObject needs key/value pairs")
    out = {}
    for key, value in zip(args[::2], args[1::2], strict=True):
        if not isinstance(key, str):
            return UNKNOWN
        out[key] = value
    return out


def _json(args: list[Any], scope: DeploymentScope) -> Any:
    (value,) = args
    if not isinstance(value, str):
        return UNKNOWN
    try:
        return load_json_text(value, "json()")
    except InputError as exc:
        raise TemplateFunctionError(f"json(): {exc.problem}") from None


def _first_last(index: int) -> Function:
    def call(args: list[Any], scope: DeploymentScope) -> Any:
        (value,) = args
        if isinstance(value, list | str):
            return value[index] if value else ("" if isinstance(value, str) else None)
        if isinstance(value, Partial):
            part = value.parts[index]
            if isinstance(part, str):
                return part[index]
        return UNKNOWN

    return call


def _split(args: list[Any], scope: DeploymentScope) -> Any:
    text, delimiters = args
    if not isinstance(text, str) or not is_known(delimiters):
        return UNKNOWN
    delims = [delimiters] if isinstance(delimiters, str) else list(delimiters)
    if not delims:
        return [text]
    return re.split("|".join(re.escape(d) for d in delims), text)


def _substring(text: str, start: int = 0, length: int | None = None) -> str:
    if start < 0 or start > len(text) or (length is not None and (length < 0 or start + length > len(text))):
        raise ValueError("substring index out of range")
    return text[start:] if length is None else text[start : start + length]


def _string(args: list[Any], scope: DeploymentScope) -> Any:
    (value,) = args
    if isinstance(value, Partial):
        return value
    if not is_known(value):
        return UNKNOWN
    if isinstance(value, bool):
        return "True" if value else "False"
    return to_text(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, int):
        return value != 0
    raise ValueError(f"bool(): cannot convert {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("int(): cannot convert a boolean")
    return int(value)


def _resource_id_parts(args: list[Any], scope: DeploymentScope, with_rg: bool) -> Any:
    """Shared body of resourceId/subscriptionResourceId/tenantResourceId.

    The first argument that contains a ``/`` is the resource type; anything before it is the
    subscription and/or resource group. Unknown scope parts use the ``iac`` placeholder so that
    ids of resources declared in the same template join up.
    """
    type_index = next(
        (i for i, a in enumerate(args) if isinstance(a, str) and "/" in a and "." in a.split("/")[0]),
        None,
    )
    if type_index is None:
        return UNKNOWN
    before, rtype, names = args[:type_index], _resource_type(args[type_index]), args[type_index + 1 :]
    namespace, *types = rtype.split("/")
    subscription: Any = scope.subscription_part
    group: Any = scope.resource_group_part
    if with_rg:
        if len(before) == 2:
            subscription, group = before
        elif len(before) == 1:
            group = before[0]
    elif len(before) == 1:
        subscription = before[0]
    if _names_current(subscription, "subscription().subscriptionId"):
        subscription = scope.subscription_part
    if _names_current(group, "resourceGroup().name"):
        group = scope.resource_group_part
    flat: list[Any] = []
    for name in names:
        if isinstance(name, str):
            flat.extend(name.split("/"))
        else:
            flat.append(name)
    if len(flat) != len(types):
        raise TemplateFunctionError(f"resourceId: {len(types)} name segments expected for {rtype}")
    pieces: list[Any] = []
    if scope.level != "tenant" or before:
        pieces += ["/subscriptions/", _placeholder(subscription)]
    if with_rg:
        pieces += ["/resourceGroups/", _placeholder(group)]
    pieces += ["/providers/", namespace]
    for segment, name in zip(types, flat, strict=True):
        pieces += ["/", segment, "/", name]
    return join_strings(pieces)


def _names_current(value: Any, label: str) -> bool:
    """``subscription().subscriptionId`` / ``resourceGroup().name`` passed to resourceId():
    the deployment's own scope, which must give the same id as leaving the argument out."""
    return isinstance(value, Unknown) and value.label == label


def _resource_type(text: str) -> str:
    """A resource type as ARM accepts it: ``Microsoft.KeyVault/vaults/`` (a trailing slash,
    which some hand-written templates carry) is ``Microsoft.KeyVault/vaults``."""
    return text.rstrip("/")


def _placeholder(value: Any) -> Any:
    return UNKNOWN_SCOPE if isinstance(value, Unknown) and value.label is None else value


def _resource_id(args: list[Any], scope: DeploymentScope) -> Any:
    return _resource_id_parts(args, scope, with_rg=scope.level == "resourceGroup" or _has_rg(args))


def _has_rg(args: list[Any]) -> bool:
    type_index = next((i for i, a in enumerate(args) if isinstance(a, str) and "/" in a), 0)
    return type_index >= 1


def _subscription_resource_id(args: list[Any], scope: DeploymentScope) -> Any:
    return _resource_id_parts(args, scope, with_rg=False)


def _tenant_resource_id(args: list[Any], scope: DeploymentScope) -> Any:
    type_index = next((i for i, a in enumerate(args) if isinstance(a, str) and "/" in a), None)
    if type_index is None:
        return UNKNOWN
    rtype, names = _resource_type(args[type_index]), args[type_index + 1 :]
    namespace, *types = rtype.split("/")
    pieces: list[Any] = ["/providers/", namespace]
    for segment, name in zip(types, names, strict=False):
        pieces += ["/", segment, "/", name]
    return join_strings(pieces)


def _extension_resource_id(args: list[Any], scope: DeploymentScope) -> Any:
    base, rtype, *names = args
    if not isinstance(rtype, str):
        return UNKNOWN
    namespace, *types = _resource_type(rtype).split("/")
    pieces: list[Any] = [base, "/providers/", namespace]
    for segment, name in zip(types, names, strict=False):
        pieces += ["/", segment, "/", name]
    return join_strings(pieces)


def _resource_group(args: list[Any], scope: DeploymentScope) -> Any:
    if args:
        rg_id = join_strings([scope.subscription_id_path, "/resourceGroups/", args[-1]])
        return {"id": rg_id, "name": args[-1]}
    name = scope.resource_group or Unknown(label="resourceGroup().name")
    return {
        "id": scope.resource_group_id,
        "name": name,
        "location": Unknown(label="resourceGroup().location"),
        "tags": UNKNOWN,
        "properties": UNKNOWN,
    }


def _subscription(args: list[Any], scope: DeploymentScope) -> Any:
    sub = args[0] if args else (scope.subscription_id or Unknown(label="subscription().subscriptionId"))
    return {
        "id": join_strings(["/subscriptions/", _placeholder(sub) if args else scope.subscription_part]),
        "subscriptionId": sub,
        "tenantId": Unknown(label="subscription().tenantId"),
        "displayName": UNKNOWN,
    }


def _always_unknown(args: list[Any], scope: DeploymentScope) -> Any:
    return UNKNOWN


def _compare(op: Callable[[Any, Any], bool]) -> Function:
    def call(args: list[Any], scope: DeploymentScope) -> Any:
        left, right = args
        if not (is_known(left) and is_known(right)):
            return UNKNOWN
        return op(left, right)

    return call


#: ARM integers are 64-bit signed: anything outside is an overflow, not a bigger number.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def divmod_truncated(a: int, b: int) -> tuple[int, int]:
    """ARM's div and mod: integers, truncating toward zero; dividing by zero is an error."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b)):
        raise ValueError("div() and mod() take integers")
    if b == 0:
        raise ValueError("division by zero")
    quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    return quotient, a - quotient * b


def _bounded(result: Any) -> Any:
    """A function's result within ARM's integer range and the scan's size budget."""
    if isinstance(result, int) and not isinstance(result, bool) and not INT_MIN <= result <= INT_MAX:
        raise TemplateFunctionError("integer overflow (ARM integers are 64-bit)")
    if isinstance(result, float) and (result != result or abs(result) == float("inf")):
        raise TemplateFunctionError("number out of range")
    try:
        budget.check_size(result)
    except budget.BudgetExceeded as exc:
        raise TemplateFunctionError(str(exc)) from None
    return result


def _range(start: int, count: int) -> list[int]:
    if count < 0 or count > 10_000:
        raise ValueError("range count out of bounds")
    return list(range(start, start + count))


#: Function name (lower case) -> implementation. Names that need the evaluator's own state
#: (parameters, variables, copyIndex, reference) are handled by the evaluators.
FUNCTIONS: dict[str, Function] = {
    "concat": _concat,
    "format": _format,
    "resourceid": _resource_id,
    "subscriptionresourceid": _subscription_resource_id,
    "tenantresourceid": _tenant_resource_id,
    "extensionresourceid": _extension_resource_id,
    "if": _if,
    "coalesce": _coalesce,
    "tolower": _text_map(str.lower),
    "toupper": _text_map(str.upper),
    "trim": _text_map(str.strip),
    "string": _string,
    "bool": _strict(_bool),
    "int": _strict(_int),
    "equals": _equals,
    "not": _not,
    "and": _and,
    "or": _or,
    "empty": _empty,
    "length": _length,
    "contains": _contains,
    "replace": _strict(lambda s, old, new: s.replace(old, new)),
    "startswith": _strict(lambda s, p: s.lower().startswith(p.lower())),
    "endswith": _strict(lambda s, p: s.lower().endswith(p.lower())),
    "newguid": _always_unknown,
    "utcnow": _always_unknown,
    "resourcegroup": _resource_group,
    "subscription": _subscription,
    "tenant": _always_unknown,
    "managementgroup": _always_unknown,
    "deployment": _always_unknown,
    "environment": _always_unknown,
    "union": _union,
    "createarray": lambda args, scope: list(args),
    "array": lambda args, scope: args[0] if isinstance(args[0], list) else [args[0]],
    "createobject": _create_object,
    "json": _json,
    "first": _first_last(0),
    "last": _first_last(-1),
    "split": _split,
    "substring": _strict(_substring),
    "join": _strict(lambda items, sep: sep.join(to_text(i) for i in items)),
    "take": _strict(lambda v, n: v[: max(n, 0)]),
    "skip": _strict(lambda v, n: v[max(n, 0) :]),
    "range": _strict(_range),
    "greater": _compare(lambda a, b: a > b),
    "greaterorequals": _compare(lambda a, b: a >= b),
    "less": _compare(lambda a, b: a < b),
    "lessorequals": _compare(lambda a, b: a <= b),
    "add": _strict(lambda a, b: a + b),
    "sub": _strict(lambda a, b: a - b),
    "mul": _strict(lambda a, b: a * b),
    "div": _strict(lambda a, b: divmod_truncated(a, b)[0]),
    "mod": _strict(lambda a, b: divmod_truncated(a, b)[1]),
    "true": lambda args, scope: True,
    "false": lambda args, scope: False,
    "null": lambda args, scope: None,
}


def call_function(name: str, args: list[Any], scope: DeploymentScope) -> Any:
    """Call a template function: the core here, then the rest of the library
    (:mod:`scanner.iac.arm.library`); names neither knows give an unknown value."""
    fn = FUNCTIONS.get(name.lower()) or LIBRARY.get(name.lower())
    if fn is None:
        return UNKNOWN
    _check_arguments(args)
    try:
        return _bounded(fn(args, scope))
    except TemplateFunctionError:
        raise
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError) as exc:
        raise TemplateFunctionError(f"{name}(): {exc}") from None


def _check_arguments(args: list[Any]) -> None:
    """Refuse before calling: a function whose result could pass the string budget (``concat``
    of two strings at half the limit, ``replace``, ``join``, ``format``) is stopped here, before
    the allocation."""
    limit = budget.current().limits.string_chars
    if sum(len(a) for a in args if isinstance(a, str)) > limit:
        raise TemplateFunctionError(f"evaluation budget exceeded: strings longer than {limit} characters")


def member(value: Any, name: str) -> Any:
    """``value.name`` / ``value['name']`` with ARM's case-insensitive property lookup."""
    if isinstance(value, RuntimeObject):
        return value.get(name)
    if isinstance(value, dict):
        if name in value:
            return value[name]
        for key, item in value.items():
            if key.lower() == str(name).lower():
                return item
        raise TemplateFunctionError(f"property '{name}' does not exist")
    if isinstance(value, list) and isinstance(name, int) and not isinstance(name, bool):
        if -len(value) <= name < len(value):
            return value[name]
        raise TemplateFunctionError(f"index {name} out of range")
    if isinstance(value, Unknown):
        return Unknown(ref=(f"{value.ref[0]}.{name}", value.ref[1])) if value.ref else UNKNOWN
    return UNKNOWN
