"""The rest of Microsoft's ARM template function library, beyond the core in ``functions``.

String (base64, data URIs, URIs, indexOf, padLeft, guid, uniqueString), numeric (float, min,
max), array and object (intersection, flatten, indexOf, objectKeys, items, shallowMerge, tryGet),
date (dateTimeAdd, dateTimeFromEpoch, dateTimeToEpoch), CIDR (parseCidr, cidrSubnet, cidrHost),
resource (managementGroupResourceId, pickZones) and the lambda functions (filter, map, reduce,
sort, toObject, groupBy, mapValues), which take a callable from the evaluator that applies the
lambda. Values that exist only at deployment time stay unknown: ``list*()``, ``providers()``,
``deployer()``, ``utcNow()``, ``newGuid()``.

``guid`` and ``uniqueString`` compute the values Azure computes (a name-based version-5 UUID in
ARM's namespace, and ARM's 64-bit Murmur variant in base 32), but only from fully known
arguments: an argument that holds the placeholder of an unknown subscription or resource group
gives a labelled unknown instead of a made-up name.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urljoin

from kvaudit.scanner.iac.arm.values import UNKNOWN, Partial, RuntimeObject, Unknown, is_known, label_of, to_text
from kvaudit.scanner.iac.common import UNKNOWN_SCOPE

Function = Callable[[list[Any], Any], Any]

#: Most items a lambda function may produce or visit (a bound on hostile templates).
MAX_ITEMS = 10_000
#: ARM's namespace for guid(): a version-5 UUID of the arguments joined with '-'.
ARM_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_MASK = 0xFFFFFFFF
_PLACEHOLDER = re.compile(rf"/(subscriptions|resourcegroups)/{UNKNOWN_SCOPE}(/|$)", re.I)


class LibraryError(ValueError):
    """A library function was given arguments it cannot work with."""


def _unknown(args: list[Any]) -> bool:
    return any(isinstance(a, Unknown | Partial | RuntimeObject) for a in args) or not all(is_known(a) for a in args)


def _known(fn: Callable[..., Any]) -> Function:
    """A function of known values; any unknown argument makes the result unknown."""

    def call(args: list[Any], scope: Any) -> Any:
        if _unknown(args):
            return UNKNOWN
        return fn(*args)

    return call


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise LibraryError(f"{name}() needs a string")
    return value


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LibraryError(f"{name}() needs an integer")
    return value


# --- string ----------------------------------------------------------------------------------


def _base64_to_text(value: str) -> str:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise LibraryError("base64ToString() needs valid base64 text") from None


def _data_uri(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return "data:text/plain;charset=utf8;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def _data_uri_to_string(value: str) -> str:
    header, sep, body = value.partition(",")
    if not sep or not header.startswith("data:"):
        raise LibraryError("dataUriToString() needs a data URI")
    if header.endswith(";base64"):
        return _base64_to_text(body)
    return unquote(body)


def _index_of(container: Any, item: Any, last: bool = False) -> int:
    if isinstance(container, str):
        text, needle = container.lower(), _text(item, "indexOf").lower()
        return text.rfind(needle) if last else text.find(needle)
    if isinstance(container, list):
        positions = [i for i, v in enumerate(container) if v == item]
        return (positions[-1] if last else positions[0]) if positions else -1
    raise LibraryError("indexOf() needs a string or an array")


def _pad_left(value: Any, width: Any, pad: Any = " ") -> str:
    text = to_text(value)
    width = _integer(width, "padLeft")
    if width > 16_384:
        raise LibraryError("padLeft() width out of range")
    pad = _text(pad, "padLeft")
    if len(pad) != 1:
        raise LibraryError("padLeft() pads with one character")
    return text.rjust(width, pad)


def _uri(base: Any, relative: Any) -> str:
    return urljoin(_text(base, "uri"), _text(relative, "uri"))


def _has_placeholder(args: list[Any]) -> bool:
    return any(isinstance(a, str) and _PLACEHOLDER.search(a) for a in args)


def _hash_input(name: str, args: list[Any]) -> str | Unknown:
    if _unknown(args) or _has_placeholder(args):
        labels = ", ".join(label_of(a) for a in args)
        return Unknown(label=f"{name}({labels})") if "?" not in labels else UNKNOWN
    if not args or not all(isinstance(a, str) for a in args):
        raise LibraryError(f"{name}() needs strings")
    return "-".join(args)


def _guid(args: list[Any], scope: Any) -> Any:
    text = _hash_input("guid", args)
    return text if isinstance(text, Unknown) else str(uuid.uuid5(ARM_GUID_NAMESPACE, text))


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 2246822507) & _MASK
    h ^= h >> 13
    h = (h * 3266489909) & _MASK
    return h ^ (h >> 16)


def murmur64(data: bytes) -> int:
    """ARM's uniqueString hash: a 64-bit Murmur variant over two 32-bit lanes, seed 0."""
    c1, c2 = 597399067, 2869860233
    h1 = h2 = 0
    length = len(data)
    index = 0
    while index + 7 < length:
        k1 = int.from_bytes(data[index : index + 4], "little")
        k2 = int.from_bytes(data[index + 4 : index + 8], "little")
        k1 = (_rotl((k1 * c1) & _MASK, 15) * c2) & _MASK
        h1 = ((_rotl(h1 ^ k1, 19) + h2) * 5 + 1444728091) & _MASK
        k2 = (_rotl((k2 * c2) & _MASK, 17) * c1) & _MASK
        h2 = ((_rotl(h2 ^ k2, 13) + h1) * 5 + 197830471) & _MASK
        index += 8
    tail = length - index
    if tail > 0:
        k1 = int.from_bytes(data[index : index + min(tail, 4)], "little")
        h1 ^= (_rotl((k1 * c1) & _MASK, 15) * c2) & _MASK
        if tail > 4:
            k2 = int.from_bytes(data[index + 4 : index + tail], "little")
            h2 ^= (_rotl((k2 * c2) & _MASK, 17) * c1) & _MASK
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & _MASK
    h2 = (h2 + h1) & _MASK
    return (h2 << 32) | h1


def _unique_string(args: list[Any], scope: Any) -> Any:
    text = _hash_input("uniqueString", args)
    if isinstance(text, Unknown):
        return text
    value = murmur64(text.encode("utf-8"))
    return "".join(_BASE32[((value << (5 * i)) & 0xFFFFFFFFFFFFFFFF) >> 59] for i in range(13))


# --- numbers, arrays and objects -------------------------------------------------------------


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise LibraryError("float() cannot convert a boolean")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LibraryError("float() needs a number or numeric text") from None


def _extreme(pick: Callable[..., Any], name: str) -> Function:
    def call(args: list[Any], scope: Any) -> Any:
        if _unknown(args):
            return UNKNOWN
        values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise LibraryError(f"{name}() needs integers")
        return pick(values)

    return call


def _intersection(args: list[Any], scope: Any) -> Any:
    if _unknown(args) or not args:
        return UNKNOWN
    if all(isinstance(a, dict) for a in args):
        first = args[0]
        return {k: v for k, v in first.items() if all(k in other and other[k] == v for other in args[1:])}
    if all(isinstance(a, list) for a in args):
        out: list[Any] = []
        for item in args[0]:
            if item not in out and all(item in other for other in args[1:]):
                out.append(item)
        return out
    raise LibraryError("intersection() needs arrays or objects")


def _flatten(value: Any) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(v, list) for v in value):
        raise LibraryError("flatten() needs an array of arrays")
    return [item for inner in value for item in inner]


def _object_keys(value: Any) -> list[str]:
    if not isinstance(value, dict):
        raise LibraryError("objectKeys() needs an object")
    return list(value)


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        raise LibraryError("items() needs an object")
    return [{"key": k, "value": value[k]} for k in sorted(value, key=str.lower)]


def _shallow_merge(value: Any) -> dict[str, Any]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise LibraryError("shallowMerge() needs an array of objects")
    out: dict[str, Any] = {}
    for item in value:
        out.update(item)
    return out


def _try_get(args: list[Any], scope: Any) -> Any:
    """``tryGet(object, key...)``: the nested value, or null where a key is absent."""
    value = args[0] if args else None
    for key in args[1:]:
        if isinstance(value, Unknown | Partial | RuntimeObject) or not is_known(key):
            return UNKNOWN
        if isinstance(value, dict) and isinstance(key, str):
            match = next((v for k, v in value.items() if k.lower() == key.lower()), _ABSENT)
            if match is _ABSENT:
                return None
            value = match
        elif isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
            if not -len(value) <= key < len(value):
                return None
            value = value[key]
        else:
            return None
    return value


_ABSENT = object()


# --- dates -----------------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise LibraryError("a date-time must be ISO 8601") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _date_time_add(base: Any, duration: Any, fmt: Any = None) -> str:
    start = _parse_time(_text(base, "dateTimeAdd"))
    match = _DURATION.match(_text(duration, "dateTimeAdd"))
    if not match or match.group(0) in ("P", "-P"):
        raise LibraryError("dateTimeAdd() needs an ISO 8601 duration")
    parts = {k: (float(v) if k == "s" else int(v)) for k, v in match.groupdict().items() if v and k != "sign"}
    sign = -1 if match.group("sign") else 1
    months = sign * (parts.get("y", 0) * 12 + parts.get("mo", 0))
    if abs(months) > 12 * 9000:
        raise LibraryError("dateTimeAdd() duration out of range")
    year, month = divmod(start.month - 1 + months, 12)
    try:
        shifted = start.replace(year=start.year + year, month=month + 1)
    except ValueError:  # the 31st in a shorter month: ARM clamps to the month's last day
        shifted = start.replace(year=start.year + year, month=month + 1, day=28)
    try:
        result = shifted + sign * timedelta(
            weeks=parts.get("w", 0),
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("mi", 0),
            seconds=parts.get("s", 0),
        )
    except OverflowError:
        raise LibraryError("dateTimeAdd() result out of range") from None
    return result.strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_epoch(value: Any) -> str:
    seconds = _integer(value, "dateTimeFromEpoch")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        raise LibraryError("dateTimeFromEpoch() out of range") from None


def _to_epoch(value: Any) -> int:
    return int(_parse_time(_text(value, "dateTimeToEpoch")).timestamp())


# --- CIDR ------------------------------------------------------------------------------------


def _network(text: Any, name: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(_text(text, name), strict=False)
    except ValueError:
        raise LibraryError(f"{name}() needs a CIDR range") from None


def _parse_cidr(text: Any) -> dict[str, Any]:
    net = _network(text, "parseCidr")
    hosts = list(net.hosts()) if net.num_addresses <= 4 else None
    first = hosts[0] if hosts else (net.network_address + 1 if net.num_addresses > 2 else net.network_address)
    last = hosts[-1] if hosts else (net.broadcast_address - 1 if net.num_addresses > 2 else net.broadcast_address)
    out = {
        "network": str(net.network_address),
        "cidr": net.prefixlen,
        "firstUsable": str(first),
        "lastUsable": str(last),
    }
    if net.version == 4:
        out = {"network": out["network"], "netmask": str(net.netmask), "broadcast": str(net.broadcast_address), **out}
        out = {k: out[k] for k in ("network", "netmask", "broadcast", "firstUsable", "lastUsable", "cidr")}
    return out


def _cidr_subnet(text: Any, prefix: Any, index: Any) -> str:
    net = _network(text, "cidrSubnet")
    prefix, index = _integer(prefix, "cidrSubnet"), _integer(index, "cidrSubnet")
    if not net.prefixlen <= prefix <= net.max_prefixlen or index < 0 or index >= 2 ** (prefix - net.prefixlen):
        raise LibraryError("cidrSubnet() index or prefix out of range")
    size = 2 ** (net.max_prefixlen - prefix)
    return f"{net.network_address + index * size}/{prefix}"


def _cidr_host(text: Any, index: Any) -> str:
    net = _network(text, "cidrHost")
    index = _integer(index, "cidrHost")
    offset = index + (1 if net.version == 4 and net.num_addresses > 2 else 0)
    if index < 0 or offset >= net.num_addresses:
        raise LibraryError("cidrHost() index out of range")
    return str(net.network_address + offset)


# --- resources -------------------------------------------------------------------------------


def _management_group_resource_id(args: list[Any], scope: Any) -> Any:
    if _unknown(args):
        return UNKNOWN
    strings = [a for a in args if isinstance(a, str)]
    type_index = next((i for i, a in enumerate(strings) if "/" in a and "." in a.split("/")[0]), None)
    if type_index is None:
        raise LibraryError("managementGroupResourceId() needs a resource type")
    group = strings[0] if type_index == 1 else None
    rtype, names = strings[type_index], strings[type_index + 1 :]
    namespace, *types = rtype.split("/")
    if len(types) != len(names):
        raise LibraryError("managementGroupResourceId(): one name per type segment")
    head = f"/providers/Microsoft.Management/managementGroups/{group}" if group else UNKNOWN
    if not isinstance(head, str):
        return Unknown(label="managementGroup().id")
    return head + f"/providers/{namespace}" + "".join(f"/{t}/{n}" for t, n in zip(types, names, strict=True))


# --- lambdas ---------------------------------------------------------------------------------


def _callable(value: Any, name: str) -> Callable[..., Any]:
    if not callable(value):
        raise LibraryError(f"{name}() needs a lambda")
    return value


def _array(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise LibraryError(f"{name}() needs an array")
    if len(value) > MAX_ITEMS:
        raise LibraryError(f"{name}() over more than {MAX_ITEMS} items")
    return value


def _lambda(fn: Callable[[list[Any]], Any]) -> Function:
    """A lambda function: an unknown collection gives unknown, lambdas are called back.

    Only the collection itself must be known (a list or an object); its items and a
    ``reduce`` seed may be unknown, because the lambda is unknown-aware: an item it cannot
    judge makes ``filter``, ``sort`` and the keyed functions unknown, and ``map`` keeps the
    unknown item in place."""

    def call(args: list[Any], scope: Any) -> Any:
        if not args or isinstance(args[0], Unknown | Partial | RuntimeObject):
            return UNKNOWN
        return fn(args)

    return call


def _filter(args: list[Any]) -> Any:
    fn = _callable(args[1], "filter")
    kept = []
    for index, item in enumerate(_array(args[0], "filter")):
        keep = fn(item, index)
        if not isinstance(keep, bool):
            return UNKNOWN
        if keep:
            kept.append(item)
    return kept


def _map(args: list[Any]) -> Any:
    fn = _callable(args[1], "map")
    return [fn(item, index) for index, item in enumerate(_array(args[0], "map"))]


def _reduce(args: list[Any]) -> Any:
    fn = _callable(args[2], "reduce")
    acc = args[1]
    for index, item in enumerate(_array(args[0], "reduce")):
        acc = fn(acc, item, index)
    return acc


def _sort(args: list[Any]) -> Any:
    fn = _callable(args[1], "sort")

    def compare(a: Any, b: Any) -> int:
        before = fn(a, b)
        if not isinstance(before, bool):
            raise _Undecided
        if before:
            return -1
        after = fn(b, a)
        if not isinstance(after, bool):
            raise _Undecided
        return 1 if after else 0

    try:
        return sorted(_array(args[0], "sort"), key=functools.cmp_to_key(compare))
    except _Undecided:
        return UNKNOWN  # an order the lambda cannot decide is no order at all


class _Undecided(Exception):
    """A sort comparison that gave no boolean (an unknown item)."""


def _keyed(args: list[Any], name: str) -> dict[str, list[Any]] | Unknown:
    fn = _callable(args[1], name)
    groups: dict[str, list[Any]] = {}
    for item in _array(args[0], name):
        key = fn(item)
        if not isinstance(key, str):
            return UNKNOWN
        groups.setdefault(key, []).append(item)
    return groups


def _to_object(args: list[Any]) -> Any:
    value_fn = _callable(args[2], "toObject") if len(args) > 2 else None
    groups = _keyed(args[:2], "toObject")
    if isinstance(groups, Unknown):
        return groups
    return {k: (value_fn(items[-1]) if value_fn else items[-1]) for k, items in groups.items()}


def _map_values(args: list[Any]) -> Any:
    if not isinstance(args[0], dict):
        raise LibraryError("mapValues() needs an object")
    fn = _callable(args[1], "mapValues")
    return {k: fn(v) for k, v in args[0].items()}


def _runtime(args: list[Any], scope: Any) -> Any:
    return UNKNOWN


#: Lower-case function name -> implementation (``fn(args, scope)``).
LIBRARY: dict[str, Function] = {
    "base64": _known(lambda v: base64.b64encode(_text(v, "base64").encode("utf-8")).decode("ascii")),
    "base64tostring": _known(lambda v: _base64_to_text(_text(v, "base64ToString"))),
    "base64tojson": _known(lambda v: json.loads(_base64_to_text(_text(v, "base64ToJson")))),
    "datauri": _known(_data_uri),
    "datauritostring": _known(lambda v: _data_uri_to_string(_text(v, "dataUriToString"))),
    "indexof": _known(lambda c, i: _index_of(c, i)),
    "lastindexof": _known(lambda c, i: _index_of(c, i, last=True)),
    "padleft": _known(_pad_left),
    "uri": _known(_uri),
    "uricomponent": _known(lambda v: quote(_text(v, "uriComponent"), safe="")),
    "uricomponenttostring": _known(lambda v: unquote(_text(v, "uriComponentToString"))),
    "guid": _guid,
    "uniquestring": _unique_string,
    "float": _known(_float),
    "min": _extreme(min, "min"),
    "max": _extreme(max, "max"),
    "intersection": _intersection,
    "flatten": _known(_flatten),
    "objectkeys": _known(_object_keys),
    "items": _known(_items),
    "shallowmerge": _known(_shallow_merge),
    "tryget": _try_get,
    "datetimeadd": _known(_date_time_add),
    "datetimefromepoch": _known(_from_epoch),
    "datetimetoepoch": _known(_to_epoch),
    "parsecidr": _known(_parse_cidr),
    "cidrsubnet": _known(_cidr_subnet),
    "cidrhost": _known(_cidr_host),
    "managementgroupresourceid": _management_group_resource_id,
    "pickzones": _runtime,
    "providers": _runtime,
    "deployer": _runtime,
    "filter": _lambda(_filter),
    "map": _lambda(_map),
    "reduce": _lambda(_reduce),
    "sort": _lambda(_sort),
    "toobject": _lambda(_to_object),
    "groupby": _lambda(lambda args: _keyed(args, "groupBy")),
    "mapvalues": _lambda(_map_values),
}


def is_runtime_function(name: str) -> bool:
    """``list*()`` functions (listKeys, listSecrets...) read a deployed resource: unknown."""
    return name.lower().startswith("list")
