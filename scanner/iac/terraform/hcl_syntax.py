"""HCL native syntax, parsed by hand from HashiCorp's specification, into expression trees.

The IaC gate parses every ``.tf`` file of a pull request. python-hcl2's Lark grammar cost about
12 ms a file, a third of a whole scan, so this module is a lexer and a recursive-descent parser
written from the HCL native syntax specification (hashicorp/hcl ``hclsyntax/spec.md``): bodies of
attributes and blocks, the operator precedence ladder, conditionals, templates with ``${}``
interpolation and ``%{}`` directives, heredocs, ``for`` expressions, splats and provider
functions (``provider::ns::fn``).

It emits the tree shape the evaluator (:mod:`.evaluate`) and the type reader (:mod:`.types`) walk,
the shape python-hcl2's grammar gives: every term is an ``expr_term``; a traversal step is
``get_attr_expr_term``/``index_expr_term``/``attr_splat_expr_term``/``full_splat_expr_term``
around its base; binary operators are ``binary_op`` → ``binary_term`` → ``binary_operator``,
left-associative. Newlines follow Terraform: they end an attribute, separate object elements,
and are ignored inside parentheses, brackets, templates and ``for`` expressions.

Input is hostile: loops, not recursion, build operator chains and traversals (``1 + 1 + ...`` and
``a.b.c...`` are as long as the file), bracket depth is bounded before parsing by the caller, and
every error carries a line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class Tok(str):
    """A token kept in the tree: its text, with the terminal's name in ``type``."""

    __slots__ = ("type", "line")
    type: str
    line: int

    def __new__(cls, type_: str, value: str, line: int = 0) -> Tok:
        token = super().__new__(cls, value)
        token.type = type_
        token.line = line
        return token


class Node:
    """A tree node: the grammar rule in ``data``, sub-nodes and tokens in ``children``."""

    __slots__ = ("data", "children")

    def __init__(self, data: str, children: list[object]) -> None:
        self.data = data
        self.children = children

    def __repr__(self) -> str:
        return f"Node({self.data!r}, {self.children!r})"


class HclSyntaxError(Exception):
    """Text that is not HCL; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class RawAttr:
    name: str
    expr: object
    line: int


@dataclass
class RawBlock:
    type: str
    labels: list[str]
    items: list[RawAttr | RawBlock]
    line: int
    end_line: int


@dataclass
class RawBody:
    items: list[RawAttr | RawBlock] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)


# --- lexer ----------------------------------------------------------------------------------

_CODE = re.compile(
    r"""(?P<ws>[ \t\r]+)
    |(?P<nl>\n)
    |(?P<comment>\#[^\n]*|//[^\n]*)
    |(?P<block_comment>/\*)
    |(?P<heredoc><<-?(?=[A-Za-z]))
    |(?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<name>[^\W\d][\w-]*)
    |(?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|::|\.\*|[=!<>+\-*/%?:,.()\[\]{}~])
    |(?P<quote>")""",
    re.X,
)
_STRING_CHARS = re.compile(r'(?:[^"\\$%\n]|\\.|\$(?!\$?\{)|%(?!%?\{))+', re.S)
_HEREDOC_MARKER = re.compile(r"[A-Za-z][\w.-]*")

#: Token kinds: NAME, NUMBER, NL, EOF, punctuation by its own text, and inside templates
#: STR_START, STR_END, STRING_CHARS, ESCAPED_INTERPOLATION, ESCAPED_DIRECTIVE, INTERP_START,
#: DIRECTIVE_START, TEMPLATE_END, HEREDOC, HEREDOC_TRIM.
Token = tuple[str, str, int, int]  # kind, text, line, column


def _column(text: str, offset: int) -> int:
    return offset - (text.rfind("\n", 0, offset) + 1) + 1


def tokenize(text: str, comments: list[tuple[int, str]]) -> list[Token]:
    """The tokens of ``text``; comments go to ``comments`` as ``(line, text)``.

    Templates nest (a string holds ``${...}``, which holds strings), so the lexer keeps a stack
    of modes: ``"s"`` inside a quoted string, or the brace depth of code inside ``${``/``%{``.
    """
    tokens: list[Token] = []
    append = tokens.append
    pos, line, line_start, end = 0, 1, 0, len(text)
    stack: list[object] = []  # "s", or [depth] for code inside a template
    match_code, match_chars = _CODE.match, _STRING_CHARS.match
    while pos < end:
        if stack and stack[-1] == "s":
            char = text[pos]
            col = pos - line_start + 1
            if char == '"':
                stack.pop()
                append(("STR_END", '"', line, col))
                pos += 1
                continue
            if char == "\n":
                raise HclSyntaxError("invalid HCL: unterminated string (a quoted string ends at its line)", line, col)
            two = text[pos : pos + 3]
            if two.startswith(("${", "%{")):
                append(("INTERP_START" if char == "$" else "DIRECTIVE_START", two[:2], line, col))
                stack.append([0])
                pos += 2
                continue
            if two in ("$${", "%%{"):
                append(("ESCAPED_INTERPOLATION" if char == "$" else "ESCAPED_DIRECTIVE", two, line, col))
                pos += 3
                continue
            found = match_chars(text, pos)
            if found is None:  # a lone backslash at the end of the text
                raise HclSyntaxError("invalid HCL: unterminated string", line, col)
            append(("STRING_CHARS", found.group(), line, col))
            pos = found.end()
            continue
        found = match_code(text, pos)
        col = pos - line_start + 1
        if found is None:
            raise HclSyntaxError(f"invalid HCL: unexpected character {text[pos]!r}", line, col)
        kind = found.lastgroup
        value = found.group()
        if kind == "ws":
            pos = found.end()
            continue
        if kind == "nl":
            append(("NL", value, line, col))
            line += 1
            pos = line_start = found.end()
            continue
        if kind == "comment":
            comments.append((line, value.strip()))
            pos = found.end()
            continue
        if kind == "block_comment":
            close = text.find("*/", pos + 2)
            if close < 0:
                raise HclSyntaxError("invalid HCL: unterminated /* comment", line, col)
            body = text[pos : close + 2]
            comments.append((line, body.strip()))
            newlines = body.count("\n")
            if newlines:
                line += newlines
                line_start = pos + body.rfind("\n") + 1
            pos = close + 2
            continue
        if kind == "heredoc":
            pos, line, line_start = _heredoc(text, pos, value, line, col, tokens)
            continue
        if kind == "quote":
            append(("STR_START", '"', line, col))
            stack.append("s")
            pos = found.end()
            continue
        if kind == "number":
            append(("NUMBER", value, line, col))
        elif kind == "name":
            append(("NAME", value, line, col))
        else:
            if stack:
                depth = stack[-1]
                assert isinstance(depth, list)
                if value == "{":
                    depth[0] += 1
                elif value == "}":
                    if depth[0] == 0:
                        stack.pop()
                        append(("TEMPLATE_END", value, line, col))
                        pos = found.end()
                        continue
                    depth[0] -= 1
            append((value, value, line, col))
        pos = found.end()
    if stack:
        raise HclSyntaxError(
            "invalid HCL: unexpected end of file inside a string or template", line, end - line_start + 1
        )
    append(("EOF", "", line, end - line_start + 1))
    return tokens


def _heredoc(text: str, pos: int, opener: str, line: int, col: int, tokens: list[Token]) -> tuple[int, int, int]:
    """Lex ``<<EOT``/``<<-EOT`` up to its closing marker line; the token's text is the opening
    line, the body and the closing marker, each ending in a newline (what the evaluator reads).
    Returns the position after the closing marker (its newline is lexed as NL), the line there
    and that line's start."""
    marker = _HEREDOC_MARKER.match(text, pos + len(opener))
    assert marker is not None
    name = marker.group()
    after = marker.end()
    newline = text.find("\n", after)
    if newline < 0 or text[after:newline].strip():
        raise HclSyntaxError("invalid HCL: a heredoc marker must end its line", line, col)
    cursor, current = newline + 1, line + 1
    while cursor <= len(text):
        stop = text.find("\n", cursor)
        stop = len(text) if stop < 0 else stop
        if text[cursor:stop].strip() == name:
            kind = "HEREDOC_TRIM" if opener == "<<-" else "HEREDOC"
            tokens.append((kind, text[pos:stop].replace("\r\n", "\n") + "\n", line, col))
            return stop, current, cursor
        if stop == len(text):
            break
        cursor, current = stop + 1, current + 1
    raise HclSyntaxError(f"invalid HCL: heredoc <<{name} is never closed", line, col)


# --- parser ---------------------------------------------------------------------------------

#: Binary operators by precedence, loosest first (HCL spec "Operations").
_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}
#: An operator that cannot begin a statement or an element, so a newline before it continues
#: the expression (python-hcl2 accepted these layouts, and so does Terraform inside brackets).
_CONTINUES = frozenset(_PRECEDENCE) - {"-"} | {"?", ":"}
_LITERALS = frozenset(("true", "false", "null"))


def _term(inner: object) -> Node:
    return Node("expr_term", [inner])


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        #: True where newlines are insignificant: inside (), [], templates and for expressions.
        self.loose: list[bool] = [False]

    # --- token access ---------------------------------------------------------------------

    def peek(self) -> Token:
        token = self.tokens[self.i]
        if token[0] == "NL" and self.loose[-1]:
            self.skip_nl()
            token = self.tokens[self.i]
        return token

    def kind(self) -> str:
        return self.peek()[0]

    def next(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def skip_nl(self) -> None:
        tokens = self.tokens
        while tokens[self.i][0] == "NL":
            self.i += 1

    def continues(self) -> bool:
        """At a newline in a strict context: does the next line continue the expression?"""
        j = self.i
        while self.tokens[j][0] == "NL":
            j += 1
        if self.tokens[j][0] in _CONTINUES and j != self.i:
            self.i = j
            return True
        return False

    def expect(self, kind: str, what: str | None = None) -> Token:
        token = self.peek()
        if token[0] != kind:
            self.fail(token, what)
        self.i += 1
        return token

    def fail(self, token: Token, what: str | None = None) -> None:
        kind, value, line, col = token
        if kind == "EOF":
            message = "unexpected end of file"
        elif kind == "NL":
            message = "unexpected end of line"
        elif kind == "STR_START":
            message = "unexpected string"
        else:
            message = f"unexpected {value[:40]!r}"
        if what:
            message += f", expected {what}"
        raise HclSyntaxError(f"invalid HCL: {message}", line, col)

    # --- bodies ---------------------------------------------------------------------------

    def body(self, closing: str | None) -> tuple[list[RawAttr | RawBlock], int]:
        """Items up to ``closing`` (``}``) or the end of the file; returns them and the line
        of the token that closed the body."""
        items: list[RawAttr | RawBlock] = []
        while True:
            self.skip_nl()
            token = self.tokens[self.i]
            if token[0] == "EOF":
                if closing is not None:
                    self.fail(token, "'}'")
                return items, token[2]
            if closing is not None and token[0] == closing:
                self.i += 1
                return items, token[2]
            if token[0] != "NAME":
                self.fail(token, "an attribute or a block")
            items.append(self.item(closing))

    def item(self, closing: str | None) -> RawAttr | RawBlock:
        name_token = self.tokens[self.i]
        self.i += 1
        name, line = name_token[1], name_token[2]
        if self.tokens[self.i][0] == "=":
            self.i += 1
            expr = self.expression()
            self.end_of_item(closing)
            return RawAttr(name, expr, line)
        labels: list[str] = []
        while True:
            token = self.tokens[self.i]
            if token[0] == "NAME":
                labels.append(token[1])
                self.i += 1
            elif token[0] == "STR_START":
                labels.append(self.label())
            else:
                break
        self.expect("{", "'=' or a block")
        items, end_line = self.body("}")
        self.end_of_item(closing)
        return RawBlock(name, labels, items, line, end_line)

    def end_of_item(self, closing: str | None) -> None:
        """An attribute or block ends its line (or, in a one-line block, meets its ``}``)."""
        kind = self.tokens[self.i][0]
        if kind in ("NL", "EOF") or (closing is not None and kind == closing):
            return
        self.fail(self.tokens[self.i], "a newline")

    def label(self) -> str:
        self.i += 1  # STR_START
        parts: list[str] = []
        while True:
            token = self.tokens[self.i]
            if token[0] == "STR_END":
                self.i += 1
                return "".join(parts)
            if token[0] == "STRING_CHARS":
                parts.append(unescape(token[1]))
                self.i += 1
            else:
                self.fail(token, "a literal block label")

    # --- expressions ----------------------------------------------------------------------

    def expression(self) -> object:
        cond = self.binary()
        if self.kind() == "?" or (self.tokens[self.i][0] == "NL" and self.continues() and self.kind() == "?"):
            self.i += 1
            self.skip_nl()
            yes = self.expression()
            if self.tokens[self.i][0] == "NL":
                self.continues()
            self.expect(":", "':' of a conditional")
            self.skip_nl()
            no = self.expression()
            return Node("conditional", [cond, yes, no])
        return cond

    def binary(self) -> object:
        """Precedence climbing, with an explicit stack so a chain of any length is a loop."""
        operands: list[object] = [self.unary()]
        operators: list[str] = []
        while True:
            token = self.peek()
            if token[0] == "NL" and self.continues():
                token = self.peek()
            op = token[0]
            level = _PRECEDENCE.get(op)
            if level is None:
                break
            self.i += 1
            self.skip_nl()
            while operators and _PRECEDENCE[operators[-1]] >= level:
                self._reduce(operands, operators)
            operators.append(op)
            operands.append(self.unary())
        while operators:
            self._reduce(operands, operators)
        return operands[0]

    @staticmethod
    def _reduce(operands: list[object], operators: list[str]) -> None:
        right = operands.pop()
        left = operands.pop()
        op = operators.pop()
        term = Node("binary_term", [Node("binary_operator", [Tok(op, op)]), right])
        operands.append(Node("binary_op", [left, term]))

    def unary(self) -> object:
        ops: list[str] = []
        while self.kind() in ("!", "-"):
            ops.append(self.next()[0])
        node = self.postfix()
        for op in reversed(ops):
            node = Node("unary_op", [Tok(op, op), node])
        return node

    def postfix(self) -> Node:
        node = self.primary()
        tokens = self.tokens
        while True:
            kind = self.kind()
            if kind == ".":
                step = self.get_attr_or_short_index()
                wrapper = "get_attr_expr_term" if step.data == "get_attr" else "index_expr_term"
            elif kind == "[":
                if tokens[self.i + 1][0] == "*" and tokens[self.i + 2][0] == "]":
                    self.i += 3
                    step = Node("full_splat", [Tok("FULL_SPLAT_START", "[*]"), *self.splat_steps()])
                    wrapper = "full_splat_expr_term"
                else:
                    step = self.braces_index()
                    wrapper = "index_expr_term"
            elif kind == ".*":
                self.i += 1
                step = Node("attr_splat", [Tok("ATTR_SPLAT", ".*"), *self.splat_steps()])
                wrapper = "attr_splat_expr_term"
            else:
                return node
            node = _term(Node(wrapper, [node, step]))

    def splat_steps(self) -> list[Node]:
        steps: list[Node] = []
        while True:
            kind = self.tokens[self.i][0]
            if kind == ".":
                steps.append(self.get_attr_or_short_index())
            elif kind == "[" and self.tokens[self.i + 1][0] != "*":
                steps.append(self.braces_index())
            else:
                return steps

    def get_attr_or_short_index(self) -> Node:
        self.i += 1  # "."
        token = self.tokens[self.i]
        if token[0] == "NAME":
            self.i += 1
            name = token[1]
            inner = Node("literal_value" if name in _LITERALS else "identifier", [Tok("NAME", name)])
            return Node("get_attr", [Tok(".", "."), inner])
        if token[0] == "NUMBER" and token[1].isdigit():
            self.i += 1
            return Node("short_index", [Tok(".", "."), Tok("INT_LITERAL", token[1])])
        self.fail(token, "an attribute name")
        raise AssertionError  # unreachable

    def braces_index(self) -> Node:
        self.i += 1  # "["
        self.loose.append(True)
        expr = self.expression()
        self.expect("]", "']'")
        self.loose.pop()
        return Node("braces_index", [expr])

    def primary(self) -> Node:
        token = self.peek()
        kind = token[0]
        if kind == "NUMBER":
            self.i += 1
            value = token[1]
            if value.isdigit():
                return _term(Node("int_lit", [Tok("INT_LITERAL", value)]))
            return _term(Node("float_lit", [Tok("FLOAT_LITERAL", value)]))
        if kind == "NAME":
            return self.name_term(token)
        if kind == "STR_START":
            return _term(self.template())
        if kind == "(":
            self.i += 1
            self.loose.append(True)
            expr = self.expression()
            self.expect(")", "')'")
            self.loose.pop()
            return Node("expr_term", [Tok("(", "("), expr, Tok(")", ")")])
        if kind == "[":
            return _term(self.tuple_or_for())
        if kind == "{":
            return _term(self.object_or_for())
        if kind in ("HEREDOC", "HEREDOC_TRIM"):
            self.i += 1
            data = "heredoc_template" if kind == "HEREDOC" else "heredoc_template_trim"
            return _term(Node(data, [Tok(kind, token[1])]))
        self.fail(token, "an expression")
        raise AssertionError  # unreachable

    def name_term(self, token: Token) -> Node:
        self.i += 1
        name = token[1]
        following = self.kind()  # inside brackets, "try\n(" is still a call
        if following == "(" or (following == "::" and self.tokens[self.i + 1][0] == "NAME"):
            return _term(self.function_call(name))
        if name in _LITERALS:
            return _term(Node("literal_value", [Tok(name.upper(), name)]))
        return _term(Node("identifier", [Tok("NAME", name)]))

    def function_call(self, name: str) -> Node:
        parts: list[object] = [Node("identifier", [Tok("NAME", name)])]
        while self.tokens[self.i][0] == "::":
            self.i += 1
            parts.append(Node("identifier", [Tok("NAME", self.expect("NAME", "a function name")[1])]))
        self.expect("(", "'('")
        self.loose.append(True)
        args: list[object] = []
        while self.kind() != ")":
            args.append(self.expression())
            kind = self.kind()
            if kind == ",":
                self.i += 1
            elif kind == "...":
                self.i += 1
                args.append(Tok("ELLIPSIS", "..."))
                if self.kind() == ",":
                    self.i += 1
                break
            elif kind != ")":
                self.fail(self.peek(), "',' or ')'")
        self.expect(")", "')'")
        self.loose.pop()
        if args:
            parts.append(Node("arguments", args))
        return Node("function_call", parts)

    def _for_ahead(self) -> bool:
        token = self.peek()
        return token[0] == "NAME" and token[1] == "for" and self.tokens[self.i + 1][0] == "NAME"

    def tuple_or_for(self) -> Node:
        self.i += 1  # "["
        self.loose.append(True)
        if self._for_ahead():
            intro = self.for_intro()
            body = self.expression()
            kids: list[object] = [intro, body]
            if self.peek()[0] == "NAME" and self.peek()[1] == "if":
                kids.append(self.for_cond())
            self.expect("]", "']'")
            self.loose.pop()
            return Node("for_tuple_expr", kids)
        items: list[object] = []
        while self.kind() != "]":
            items.append(self.expression())
            if self.kind() == ",":
                self.i += 1
            elif self.kind() != "]":
                self.fail(self.peek(), "',' or ']'")
        self.i += 1
        self.loose.pop()
        return Node("tuple", items)

    def for_intro(self) -> Node:
        self.i += 1  # "for"
        names = [Node("identifier", [Tok("NAME", self.expect("NAME", "a for variable")[1])])]
        if self.kind() == ",":
            self.i += 1
            names.append(Node("identifier", [Tok("NAME", self.expect("NAME", "a for variable")[1])]))
        token = self.expect("NAME", "'in'")
        if token[1] != "in":
            self.fail(token, "'in'")
        collection = self.expression()
        self.expect(":", "':' of a for expression")
        return Node("for_intro", [*names, collection])

    def for_cond(self) -> Node:
        self.i += 1  # "if"
        return Node("for_cond", [self.expression()])

    def object_or_for(self) -> Node:
        self.i += 1  # "{"
        self.loose.append(True)
        if self._for_ahead():
            intro = self.for_intro()
            key = self.expression()
            self.expect("=>", "'=>'")
            value = self.expression()
            kids: list[object] = [intro, key, value]
            if self.kind() == "...":
                self.i += 1
                kids.append(Tok("ELLIPSIS", "..."))
            if self.peek()[0] == "NAME" and self.peek()[1] == "if":
                kids.append(self.for_cond())
            self.expect("}", "'}'")
            self.loose.pop()
            return Node("for_object_expr", kids)
        self.loose[-1] = False  # object elements are separated by newlines or commas
        elems: list[object] = []
        while True:
            self.skip_nl()
            if self.tokens[self.i][0] == "}":
                self.i += 1
                break
            key = self.expression()
            separator = self.peek()
            if separator[0] not in ("=", ":"):
                self.fail(separator, "'=' or ':' after an object key")
            self.i += 1
            self.skip_nl()
            value = self.expression()
            elems.append(Node("object_elem", [Node("object_elem_key", [key]), Tok(separator[0], separator[0]), value]))
            kind = self.tokens[self.i][0]
            if kind == ",":
                self.i += 1
            elif kind not in ("NL", "}"):
                self.fail(self.tokens[self.i], "',', a newline or '}'")
        self.loose.pop()
        return Node("object", elems)

    def template(self) -> Node:
        """A quoted template: literal runs, ``${ expr }`` and ``%{ directive }`` parts."""
        self.i += 1  # STR_START
        parts: list[object] = []
        while True:
            token = self.tokens[self.i]
            kind = token[0]
            if kind == "STR_END":
                self.i += 1
                return Node("string", parts)
            if kind in ("STRING_CHARS", "ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                self.i += 1
                parts.append(Node("string_part", [Tok(kind, token[1])]))
            elif kind == "INTERP_START":
                self.i += 1
                self.loose.append(True)
                if self.kind() == "~":
                    self.i += 1
                expr = self.expression()
                if self.kind() == "~":
                    self.i += 1
                self.expect("TEMPLATE_END", "'}' closing ${")
                self.loose.pop()
                parts.append(Node("string_part", [Node("interpolation", [expr])]))
            elif kind == "DIRECTIVE_START":
                self.i += 1
                self.skip_template()
                parts.append(Node("string_part", [Node("template_directive", [])]))
            else:
                self.fail(token, "the rest of the string")

    def skip_template(self) -> None:
        """Step over a ``%{ if/for/else/end }`` directive: the evaluator gives UNKNOWN for any
        template that has one, so only its extent matters (its own templates nest)."""
        depth = 0
        while True:
            kind = self.tokens[self.i][0]
            self.i += 1
            if kind == "EOF":
                self.fail(self.tokens[self.i - 1], "'}' closing %{")
            if kind in ("INTERP_START", "DIRECTIVE_START"):
                depth += 1
            elif kind == "TEMPLATE_END":
                if depth == 0:
                    return
                depth -= 1


def parse(text: str) -> RawBody:
    """Parse a whole file: its top-level items and its comments."""
    comments: list[tuple[int, str]] = []
    tokens = tokenize(text, comments)
    parser = _Parser(text, tokens)
    items, _ = parser.body(None)
    return RawBody(items, comments)


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)


def unescape(raw: str) -> str:
    """A quoted template's literal text with HCL's escapes resolved (``\\n``, ``\\"``,
    ``\\uNNNN``...); an escape HCL does not define is kept as written."""
    if "\\" not in raw:
        return raw

    def one(found: re.Match[str]) -> str:
        short, long, char = found.groups()
        code = short or long
        if code is not None:
            point = int(code, 16)
            return chr(point) if point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF else found.group()
        return _ESCAPES.get(char, found.group())

    return _ESCAPE.sub(one, raw)
