"""Reading one ``.tf`` file into blocks, attributes and comments, defensively.

python-hcl2's dict output flattens expressions back into strings, which would force a second,
home-made parser for ``${...}``. Its raw Lark tree keeps expressions structured *and* carries
line numbers and comment tokens, so this module keeps that tree for expressions and wraps only
the block structure in small dataclasses. Every failure is an :class:`InputError` with the
file, line and column, because one broken file must not stop the scan of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kvaudit.scanner.containment import read_bounded
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.jsonio import decode_text

#: A real Terraform file is kilobytes; the Lark parser manages ~200 KB/s, so larger is refused.
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


def _describe(exc: Exception) -> str:
    """One-line wording for Lark's multi-line parse errors."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedToken):
        if exc.token.type == "$END":
            return "invalid HCL: unexpected end of file"
        value = str(exc.token.value).strip()
        if not value:
            return "invalid HCL: unexpected end of line"
        return f"invalid HCL: unexpected {value[:40]!r}"
    if isinstance(exc, UnexpectedCharacters):
        return f"invalid HCL: unexpected character {exc.char!r}"
    if isinstance(exc, UnexpectedEOF):
        return "invalid HCL: unexpected end of file"
    return f"invalid HCL: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"


def parse_text(text: str, origin: str) -> HclFile:
    """Parse HCL text; ``origin`` names the file in errors and in every block."""
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise InputError(origin, "NUL byte in HCL file", line, col)
    deep = _nesting_offset(text)
    if deep is not None:
        line, col = _line_col(text, deep)
        raise InputError(origin, f"nesting deeper than {MAX_NESTING} levels", line, col)
    import hcl2
    from lark.exceptions import LarkError, UnexpectedInput

    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as exc:
        line = getattr(exc, "line", None)
        column = getattr(exc, "column", None)
        raise InputError(
            origin, _describe(exc), line if line and line > 0 else None, column if column and column > 0 else None
        ) from None
    except (LarkError, RecursionError, ValueError) as exc:
        raise InputError(origin, _describe(exc)) from None
    result = HclFile(path=origin)
    try:
        body = _child(tree, "body")
        if body is not None:
            result.blocks = _blocks_of(body, origin)
            result.attrs = _attrs_of(body, origin)
        result.comments = _comments(tree)
    except RecursionError:
        raise InputError(origin, "blocks nested too deeply") from None
    return result


def parse_file(path: Path, origin: str) -> HclFile:
    """Read (a regular file inside the scan roots, size-checked first), decode and parse one file."""
    data = read_bounded(path, origin, MAX_TF_BYTES)
    return parse_text(decode_text(data, origin), origin)


# --- tree helpers ---------------------------------------------------------------------------


def _is_tree(node: object) -> bool:
    return hasattr(node, "data") and hasattr(node, "children")


def _child(tree: object, name: str) -> object | None:
    for kid in tree.children:  # type: ignore[attr-defined]
        if _is_tree(kid) and kid.data == name:
            return kid
    return None


def label_text(node: object) -> str:
    """A block type or label: an identifier, keyword or quoted string."""
    if _is_tree(node):
        if node.data == "string":
            return "".join(
                str(part.children[0])
                for part in node.children
                if _is_tree(part) and part.children and not _is_tree(part.children[0])
            )
        return "".join(label_text(kid) for kid in node.children)
    return str(node)


def _blocks_of(body: object, origin: str) -> list[Block]:
    return [_block(kid, origin) for kid in body.children if _is_tree(kid) and kid.data == "block"]  # type: ignore[attr-defined]


def _attrs_of(body: object, origin: str) -> dict[str, Attr]:
    """The attributes of a body; Terraform rejects a body that sets one twice, and so do we
    (otherwise the second value would silently win)."""
    attrs: dict[str, Attr] = {}
    for kid in body.children:  # type: ignore[attr-defined]
        if _is_tree(kid) and kid.data == "attribute":
            parts = [c for c in kid.children if _is_tree(c)]
            name = label_text(parts[0])
            if name in attrs:
                raise InputError(
                    origin, f"duplicate attribute '{name}' (first set on line {attrs[name].line})", kid.meta.line
                )
            attrs[name] = Attr(name=name, expr=parts[-1], line=kid.meta.line)
    return attrs


def _block(tree: object, origin: str) -> Block:
    names: list[str] = []
    body = None
    for kid in tree.children:  # type: ignore[attr-defined]
        if _is_tree(kid):
            if kid.data == "body":
                body = kid
            elif kid.data in ("identifier", "keyword", "literal_value", "string"):
                names.append(label_text(kid))
    attrs = _attrs_of(body, origin) if body is not None else {}
    blocks = _blocks_of(body, origin) if body is not None else []
    meta = tree.meta  # type: ignore[attr-defined]
    return Block(
        type=names[0] if names else "",
        labels=names[1:],
        attrs=attrs,
        blocks=blocks,
        line=meta.line,
        end_line=meta.end_line,
        file=origin,
    )


def _comments(tree: object) -> list[tuple[int, str]]:
    """Every comment token with its line; suppressions are looked for among these."""
    found: list[tuple[int, str]] = []
    stack = [tree]  # iterative: Lark's own scan_values recurses once per nesting level
    while stack:
        node = stack.pop()
        for kid in node.children:  # type: ignore[attr-defined]
            if _is_tree(kid):
                stack.append(kid)
            elif getattr(kid, "type", None) == "NL_OR_COMMENT":
                text = str(kid).strip()
                if text.startswith(("#", "//", "/*")):
                    found.append((kid.line, text))
    return sorted(found)
