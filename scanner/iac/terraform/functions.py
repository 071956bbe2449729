"""The Terraform built-in functions that Key Vault configurations actually use.

Anything not listed here evaluates to UNKNOWN rather than a guess. Each function gets already
evaluated arguments; UNKNOWN in an argument makes the result UNKNOWN unless the function can
decide without it (``coalesce`` skips nulls, ``try`` takes the first success).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any

from kvaudit.scanner import budget
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.terraform.values import UNKNOWN, EncodedJson, contains_unknown
from kvaudit.scanner.jsonio import load_json_text


class EvalError(Exception):
    """An expression Terraform itself would reject; the attribute becomes UNKNOWN."""


#: Terraform numbers are 512-bit floats; integers beyond this are out of range rather than a
#: reason to spend seconds on big-integer arithmetic (and Python refuses >4300-digit strings).
MAX_NUMBER_BITS = 1024
_MAX_NUMBER_DIGITS = 310


def bounded_number(value: Any) -> Any:
    """``value`` unless it is a number out of Terraform's range (or NaN)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_NUMBER_BITS:
        raise EvalError("number out of range")
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        raise EvalError("number out of range")
    return value


def to_str(value: Any) -> str:
    """Terraform's automatic conversion to string (numbers and bools only)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    raise EvalError(f"cannot convert {type(value).__name__} to string")


def to_number(value: Any) -> Any:
    """Terraform's conversion to number (``tonumber``), shared by the evaluator's arithmetic."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise EvalError("cannot convert bool to number")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        if len(value) > _MAX_NUMBER_DIGITS:
            raise EvalError("number out of range")
        try:
            return int(value)
        except ValueError:
            try:
                return bounded_number(float(value))
            except ValueError:
                raise EvalError(f"cannot convert {value[:40]!r} to number") from None
    raise EvalError("cannot convert to number")


def _to_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise EvalError("cannot convert to bool")


def _format(fmt: str, *args: Any) -> str:
    out: list[str] = []
    arg_index = 0
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char != "%":
            out.append(char)
            i += 1
            continue
        match = re.match(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])", fmt[i:])
        if not match:
            raise EvalError("bad format verb")
        verb = match.group(4)
        i += match.end()
        if verb == "%":
            out.append("%")
            continue
        if arg_index >= len(args):
            raise EvalError("not enough arguments for format")
        arg = args[arg_index]
        arg_index += 1
        for size in (match.group(2), match.group(3)):
            if size and (len(size) > 7 or int(size) > budget.current().limits.string_chars):
                raise budget.BudgetExceeded(f"evaluation budget exceeded: format width {size[:12]}")
        spec = "%" + match.group(1) + match.group(2)
        if verb == "s":
            out.append(("%" + match.group(1).replace("0", "") + match.group(2) + "s") % to_str(arg))
        elif verb == "d":
            out.append((spec + "d") % int(to_number(arg)))
        elif verb == "q":
            out.append(json.dumps(to_str(arg)))
        elif verb == "v":
            out.append(to_str(arg) if not isinstance(arg, list | dict) else json.dumps(arg))
        elif verb in "fg":
            out.append(
                ("%" + match.group(1) + match.group(2) + (f".{match.group(3)}" if match.group(3) else "") + verb)
                % float(to_number(arg))
            )
        else:
            raise EvalError(f"unsupported format verb %{verb}")
    return "".join(out)


def _merge(*maps: Any) -> dict:
    result: dict = {}
    for item in maps:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise EvalError("merge needs maps")
        result.update(item)
    return result


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    if not isinstance(mapping, dict):
        raise EvalError("lookup needs a map")
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise EvalError(f"key {key!r} not found")


def _concat(*lists: Any) -> list:
    result: list = []
    for item in lists:
        if not isinstance(item, list):
            raise EvalError("concat needs lists")
        result.extend(item)
    return result


def _flatten(value: Any) -> list:
    if not isinstance(value, list):
        raise EvalError("flatten needs a list")
    out: list = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _identity(item: Any) -> Any:
    """A hashable stand-in for a value, equal exactly when the values are equal."""
    if isinstance(item, bool | int | float | str) or item is None:
        return (type(item) is bool, item)
    try:
        return ("json", json.dumps(item, sort_keys=True, default=repr))
    except (TypeError, ValueError):
        return ("repr", repr(item))


def _distinct(value: list) -> list:
    """The first occurrence of each element, in order; linear (a set of identities)."""
    if not isinstance(value, list):
        raise EvalError("distinct needs a list")
    seen: set[Any] = set()
    out: list = []
    for item in value:
        key = _identity(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _toset(value: Any) -> list:
    """A set, as a list: each element once, strings in lexical and numbers in numeric order, as
    Terraform orders the sets it iterates (other elements keep their first occurrence)."""
    if not isinstance(value, list):
        raise EvalError("toset needs a list")
    unique = _distinct(value)
    if all(isinstance(v, str) for v in unique):
        return sorted(unique)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in unique):
        return sorted(unique)
    return unique


def _length(value: Any) -> int:
    if isinstance(value, list | dict | str):
        return len(value)
    raise EvalError("length needs a collection or string")


def _element(value: list, index: Any) -> Any:
    if not value:
        raise EvalError("element of empty list")
    return value[int(to_number(index)) % len(value)]


def _one(value: list) -> Any:
    if not isinstance(value, list) or len(value) > 1:
        raise EvalError("one needs a list of at most one element")
    return value[0] if value else None


def _coalesce(*args: Any) -> Any:
    for arg in args:
        if arg is UNKNOWN:
            return UNKNOWN
        if arg is not None and arg != "":
            return arg
    raise EvalError("coalesce: no non-null argument")


def _keys(value: dict) -> list:
    return sorted(value) if isinstance(value, dict) else _raise("keys needs a map")


def _values(value: dict) -> list:
    return [value[k] for k in sorted(value)] if isinstance(value, dict) else _raise("values needs a map")


def _raise(message: str) -> Any:
    raise EvalError(message)


def _range(*bounds: Any) -> list:
    """``range()``, with its length checked against the budget before the list is built."""
    span = range(*(int(to_number(x)) for x in bounds))
    budget.check_length(len(span), "array")
    return list(span)


def _jsondecode(text: str) -> Any:
    try:
        return load_json_text(to_str(text), "jsondecode()")
    except InputError as exc:
        raise EvalError(f"jsondecode: {exc.problem}") from None


def _base64decode(text: Any) -> str:
    """Terraform's ``base64decode``: standard alphabet, the result must be UTF-8 text."""
    try:
        return base64.b64decode(to_str(text), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise EvalError("base64decode: not base64-encoded UTF-8 text") from None


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lower": lambda s: to_str(s).lower(),
    "upper": lambda s: to_str(s).upper(),
    "title": lambda s: to_str(s).title(),
    "trimspace": lambda s: to_str(s).strip(),
    "trim": lambda s, chars: to_str(s).strip(chars),
    "trimprefix": lambda s, p: to_str(s).removeprefix(p),
    "trimsuffix": lambda s, p: to_str(s).removesuffix(p),
    "replace": lambda s, a, b: to_str(s).replace(a, b),
    "split": lambda sep, s: to_str(s).split(sep),
    "substr": lambda s, off, n: to_str(s)[int(off) : (None if int(n) < 0 else int(off) + int(n))],
    "startswith": lambda s, p: to_str(s).startswith(p),
    "endswith": lambda s, p: to_str(s).endswith(p),
    "format": _format,
    "join": lambda sep, items: sep.join(to_str(i) for i in _flatten(items) if i is not None),
    "coalesce": _coalesce,
    "coalescelist": lambda *lists: next((item for item in lists if item), []),
    "compact": lambda items: [i for i in items if i not in (None, "")],
    "tostring": lambda v: None if v is None else to_str(v),
    "tonumber": to_number,
    "tobool": _to_bool,
    "tolist": lambda v: list(v) if isinstance(v, list) else _raise("tolist needs a list"),
    "toset": _toset,
    "tomap": lambda v: dict(v) if isinstance(v, dict) else _raise("tomap needs a map"),
    "merge": _merge,
    "lookup": _lookup,
    "concat": _concat,
    "flatten": _flatten,
    "distinct": _distinct,
    "length": _length,
    "element": _element,
    "one": _one,
    "keys": _keys,
    "values": _values,
    "contains": lambda items, v: v in items,
    "zipmap": lambda ks, vs: dict(zip(ks, vs, strict=True)),
    "range": lambda *a: _range(*a),
    "min": lambda *a: min(to_number(x) for x in a),
    "max": lambda *a: max(to_number(x) for x in a),
    "abs": lambda x: abs(to_number(x)),
    "jsonencode": lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True),
    "jsondecode": _jsondecode,
    # Release policies are commonly written as base64encode(jsonencode({...})).
    "base64encode": lambda s: base64.b64encode(to_str(s).encode("utf-8")).decode("ascii"),
    "base64decode": _base64decode,
}

#: Functions whose result does not depend on UNKNOWN arguments in the usual way.
LAZY = {"coalesce"}


def call(name: str, args: list[Any]) -> Any:
    """Apply a built-in; unknown functions and unknown arguments give UNKNOWN."""
    func = FUNCTIONS.get(name)
    if func is None:
        return UNKNOWN
    # jsonencode() of a structure holding unknowns has no text yet: a function of that text
    # (base64encode, sha256, ...) is unknown too.
    if name not in LAZY and any(contains_unknown(a) or isinstance(a, EncodedJson) for a in args):
        return UNKNOWN
    try:
        return budget.check_size(bounded_number(func(*args)))
    except EvalError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError, OverflowError) as exc:
        raise EvalError(f"{name}: {exc}") from None
