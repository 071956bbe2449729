"""Which files make up a Terraform module, and reading the JSON configuration syntax.

Terraform reads ``*.tf`` and ``*.tf.json`` in a directory, then merges *override files*
(``override.tf``, ``*_override.tf`` and their ``.tf.json`` forms) into the blocks they name. A
scanner that skips ``.tf.json`` or lets an override replace a whole block judges a different
configuration than the one that is deployed.

A ``.tf.json`` file is translated into the equivalent native syntax and parsed by the same
parser, so its strings keep Terraform's JSON semantics (``"${...}"`` is a template) and
everything downstream sees one representation. Line numbers then refer to the translation's
blocks in order, not to the JSON text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kvaudit.scanner.containment import read_bounded, regular_problem
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.terraform.hcl import MAX_TF_BYTES, HclFile, parse_file, parse_text
from kvaudit.scanner.jsonio import decode_text, load_json_text

_OVERRIDE = re.compile(r"^(?:override|.+_override)\.tf(?:\.json)?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
#: Block types whose bodies hold nested blocks (objects) rather than only attributes.
_NESTING_BLOCKS = {"resource", "data", "provider", "terraform"}
#: Arguments that are maps, not nested blocks, even inside a resource.
_MAP_ARGUMENTS = {"tags", "labels", "triggers", "metadata", "parameters", "settings", "body", "headers"}


def configuration_files(directory: Path) -> tuple[list[Path], list[Path]]:
    """(primary files, override files) of a module directory, each in lexical order.

    Only regular files count: a FIFO or a link to ``/dev/zero`` named ``*.tf`` is not read."""
    found = [
        p
        for p in sorted(directory.iterdir())
        if (p.name.endswith(".tf") or p.name.endswith(".tf.json")) and regular_problem(p) is None
    ]
    overrides = [p for p in found if _OVERRIDE.match(p.name)]
    return [p for p in found if p not in overrides], overrides


def parse_configuration(path: Path, origin: str) -> HclFile:
    """Parse a ``.tf`` or ``.tf.json`` file."""
    if not path.name.endswith(".json"):
        return parse_file(path, origin)
    doc = load_json_text(decode_text(read_bounded(path, origin, MAX_TF_BYTES), origin), origin)
    if not isinstance(doc, dict):
        raise InputError(origin, "a .tf.json file must hold a JSON object")
    return parse_text(to_native(doc, origin), origin)


def _label(text: Any, origin: str) -> str:
    return json.dumps(str(text))


def _string(text: str) -> str:
    """A JSON string as a native template: quotes and backslashes escaped, ``${`` kept."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _value(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    items = ", ".join(f"{_string(str(k))} = {_value(v)}" for k, v in value.items())
    return "{" + items + "}"


def _body(obj: Any, nesting: bool, origin: str) -> list[str]:
    if not isinstance(obj, dict):
        raise InputError(origin, "a block body in a .tf.json file must be a JSON object")
    lines: list[str] = []
    for key, value in obj.items():
        if not _IDENTIFIER.match(str(key)):
            raise InputError(origin, f"invalid argument name {str(key)[:40]!r} in a .tf.json file")
        is_block = nesting and key not in _MAP_ARGUMENTS
        if is_block and isinstance(value, dict):
            lines += [f"{key} {{", *_body(value, True, origin), "}"]
        elif is_block and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                lines += [f"{key} {{", *_body(item, True, origin), "}"]
        else:
            lines.append(f"{key} = {_value(value)}")
    return lines


def _labelled(kind: str, labels: list[str], body: Any, origin: str) -> list[str]:
    nesting = kind in _NESTING_BLOCKS
    bodies = body if isinstance(body, list) else [body]
    out: list[str] = []
    for item in bodies:
        out += [f"{kind} {' '.join(_label(label, origin) for label in labels)} {{", *_body(item, nesting, origin), "}"]
    return out


def to_native(doc: dict[str, Any], origin: str) -> str:
    """The native-syntax text of a ``.tf.json`` document."""
    lines: list[str] = []
    for kind, content in doc.items():
        if kind == "//":
            continue  # a JSON comment
        if not isinstance(content, dict | list):
            raise InputError(origin, f"'{str(kind)[:40]}' in a .tf.json file must be an object")
        if kind in ("resource", "data"):
            for rtype, named in _objects(content, origin):
                for name, body in _objects(named, origin):
                    lines += _labelled(kind, [rtype, name], body, origin)
        elif kind in ("variable", "output", "module", "provider"):
            for name, body in _objects(content, origin):
                lines += _labelled(kind, [name], body, origin)
        elif kind in ("locals", "terraform"):
            for body in content if isinstance(content, list) else [content]:
                lines += _labelled(kind, [], body, origin)
    return "\n".join(lines) + "\n"


def _objects(content: Any, origin: str) -> list[tuple[str, Any]]:
    items = content if isinstance(content, list) else [content]
    out: list[tuple[str, Any]] = []
    for item in items:
        if not isinstance(item, dict):
            raise InputError(origin, "expected a JSON object in a .tf.json file")
        out.extend(item.items())
    return out
