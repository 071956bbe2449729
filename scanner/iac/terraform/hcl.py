"""Reading one ``.tf`` file into blocks, attributes and comments, defensively.

The syntax itself is :mod:`.hcl_syntax` (a parser written from the HCL specification, which keeps
expressions as trees for the evaluator); this module adds the guards that run before it (NUL
bytes, nesting depth), turns its items into the small dataclasses the module loader walks, and
rejects what Terraform rejects in a body (an attribute set twice). Every failure is an
:class:`InputError` with the file, line and column, because one broken file must not stop the
scan of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kvaudit.scanner.containment import read_bounded
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.terraform import hcl_syntax
from kvaudit.scanner.jsonio import decode_text

#: A real Terraform file is kilobytes; a megabyte of HCL is refused rather than parsed.
MAX_TF_BYTES = 1024 * 1024
#: Bracket nesting deeper than this is refused before parsing: the evaluator recurses per level.
MAX_NESTING = 64

_OPEN = "([{"


@dataclass
class Attr:
    """``name = expression``; ``expr`` is the Lark subtree, evaluated later in context."""

    name: str
    expr: object
    line: int


@dataclass
class Block:
    """A block with its labels, attributes and nested blocks, plus where it sits in the file."""

    type: str
    labels: list[str]
    attrs: dict[str, Attr]
    blocks: list[Block]
    line: int
    end_line: int
    file: str


@dataclass
class HclFile:
    """One parsed file: its top-level blocks and its comments as ``(line, text)``."""

    path: str
    blocks: list[Block] = field(default_factory=list)
    attrs: dict[str, Attr] = field(default_factory=dict)  # top level: only tfvars have these
    comments: list[tuple[int, str]] = field(default_factory=list)


#: What matters to nesting inside a quoted string: escapes, its end, and template openings.
_IN_STRING = re.compile(r"\\.|[\"\n]|[$%]\{", re.S)
#: What matters outside strings: quotes, comments and brackets.
_IN_CODE = re.compile(r"[\"#()\[\]{}]|//|/\*")


def _nesting_offset(text: str) -> int | None:
    """Offset where nesting first passes :data:`MAX_NESTING`, else None.

    Brackets and ``${``/``%{`` template sequences nest; each closes where it closes, so a file
    with a hundred interpolations side by side is depth 2, not 100. Quoted text and comments
    are skipped (a bracket in a comment does not nest). The scan jumps from one significant
    character to the next with a regular expression: a loop over every character cost as
    much as a fifth of parsing."""
    stack: list[str] = []  # "s" string, "t" template inside a string, or a bracket
    offset = 0
    while True:
        in_string = bool(stack) and stack[-1] == "s"
        found = (_IN_STRING if in_string else _IN_CODE).search(text, offset)
        if found is None:
            return None
        token, offset = found.group(), found.end()
        if in_string:
            if token[0] == "\\":
                continue
            if token in ('"', "\n"):
                stack.pop()
                continue
            stack.append("t")  # ${ or %{ opens a template
            if len(stack) > MAX_NESTING:
                return found.start() + 1
        elif token == '"':
            stack.append("s")
        elif token in ("#", "//"):
            newline = text.find("\n", found.start())
            if newline < 0:
                return None
            offset = newline
        elif token == "/*":
            close = text.find("*/", found.start() + 2)
            if close < 0:
                return None
            offset = close + 2
        elif token in _OPEN:
            stack.append(token)
            if len(stack) > MAX_NESTING:
                return found.start()
        elif stack and stack[-1] in (_OPEN + "t"):
            stack.pop()


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def parse_text(text: str, origin: str) -> HclFile:
    """Parse HCL text; ``origin`` names the file in errors and in every block."""
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise InputError(origin, "NUL byte in HCL file", line, col)
    deep = _nesting_offset(text)
    if deep is not None:
        line, col = _line_col(text, deep)
        raise InputError(origin, f"nesting deeper than {MAX_NESTING} levels", line, col)
    try:
        raw = hcl_syntax.parse(text)
    except hcl_syntax.HclSyntaxError as exc:
        raise InputError(origin, exc.message, exc.line, exc.column) from None
    except RecursionError:
        raise InputError(origin, "invalid HCL: expressions nested too deeply") from None
    result = HclFile(path=origin, comments=sorted(raw.comments))
    result.blocks, result.attrs = _items(raw.items, origin)
    return result


def parse_file(path: Path, origin: str) -> HclFile:
    """Read (a regular file inside the scan roots, size-checked first), decode and parse one file."""
    data = read_bounded(path, origin, MAX_TF_BYTES)
    return parse_text(decode_text(data, origin), origin)


# --- structure ------------------------------------------------------------------------------


def _items(items: list[hcl_syntax.RawAttr | hcl_syntax.RawBlock], origin: str) -> tuple[list[Block], dict[str, Attr]]:
    """The blocks and attributes of a body. Terraform rejects a body that sets an attribute
    twice, and so do we (otherwise the second value would silently win)."""
    blocks: list[Block] = []
    attrs: dict[str, Attr] = {}
    for item in items:
        if isinstance(item, hcl_syntax.RawAttr):
            if item.name in attrs:
                raise InputError(
                    origin, f"duplicate attribute '{item.name}' (first set on line {attrs[item.name].line})", item.line
                )
            attrs[item.name] = Attr(name=item.name, expr=item.expr, line=item.line)
        else:
            nested, nested_attrs = _items(item.items, origin)
            blocks.append(
                Block(
                    type=item.type,
                    labels=item.labels,
                    attrs=nested_attrs,
                    blocks=nested,
                    line=item.line,
                    end_line=item.end_line,
                    file=origin,
                )
            )
    return blocks, attrs
