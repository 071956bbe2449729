"""Neutralising attacker-chosen text before it reaches a terminal, a PR comment, a cell or a log.

Resource names, file names and error messages come from files anyone can write. Raw, an ESC
sequence clears a reviewer's screen and prints fake text, a newline splits one error over two
lines, a bidi override makes ``kv-prod`` read as something else, a zero-width space hides a
difference, a Markdown link turns a vault name into a phishing link in a pull-request comment,
and a cell starting with ``=`` runs as a spreadsheet formula. Every output channel passes text
through one of the functions here, so the rules for what is dangerous are written once.

Neutralised characters are replaced by a visible escape (``\\x1b``, ``\\u202e``) rather than
dropped, so a reader can still tell that something was there and two names never collapse into
one.
"""

from __future__ import annotations

import re
from typing import Any

#: C0 controls (except none: tab and newline are unsafe in one-line channels too), DEL, C1.
_CONTROLS = "\x00-\x1f\x7f-\x9f"
#: Bidi embeddings, overrides and isolates, plus the implicit marks that steer them.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: Zero-width and invisible formatting characters, line/paragraph separators and the BOM.
_INVISIBLE = "\u00ad\u180e\u200b-\u200d\u2028\u2029\u2060-\u2064\ufeff"
_UNSAFE = re.compile(f"[{_CONTROLS}{_BIDI}{_INVISIBLE}]")
#: The same set, but keeping newline and tab (multi-line text fields such as SARIF messages).
_UNSAFE_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}]")
#: CSV quotes cells, so tab, newline and carriage return are data there (but can start a formula).
_UNSAFE_CSV = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}]")

#: ``scheme://`` and the schemes that run or open something without ``//``.
_URL = re.compile(r"\b([a-z][a-z0-9+.-]{1,20}:(?=//)|(?:javascript|vbscript|data|file|mailto|tel):)", re.I)
#: GitHub autolinks ``www.example.com`` without a scheme.
_WWW = re.compile(r"\b(www)\.", re.I)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>|~!#])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
#: What a spreadsheet skips before deciding a cell is a formula.
_LEADING_BLANKS = " \u00a0\u3000"


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """Text with every control, bidi and zero-width character shown as an escape; one line."""
    return _UNSAFE.sub(_escape_char, "" if value is None else str(value))


def visible_multiline(value: Any) -> str:
    """Like :func:`visible`, but newlines and tabs are kept (for fields that are multi-line)."""
    return _UNSAFE_MULTILINE.sub(_escape_char, "" if value is None else str(value))


def terminal_text(value: Any) -> str:
    """One line safe to print on a terminal or a CI log: no ESC, no newline, no bidi."""
    return visible(value)


def defuse_urls(text: str) -> str:
    """Break ``scheme:`` so that no renderer turns the text into a link (``https[:]//``)."""
    return _WWW.sub(r"\1[.]", _URL.sub(lambda m: m.group(1)[:-1] + "[:]", text))


def markdown_text(value: Any, limit: int = 200) -> str:
    """Plain text safe inside Markdown (and a GitHub table cell): one line, no HTML, no links,
    no mentions, no emphasis, truncated to ``limit`` characters."""
    text = visible(" ".join(("" if value is None else str(value)).split()))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = defuse_urls(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # A zero-width space after "@" keeps a resource named "@org/team" from notifying that team.
    # (It is added after neutralising, so it is the renderer's own, not the attacker's.)
    return text.replace("@", "@\u200b")


def sarif_text(value: Any) -> str:
    """A SARIF ``message.text``/``markdown`` string: controls and bidi escaped, links defused
    (code-scanning UIs render SARIF text as Markdown)."""
    return defuse_urls(visible_multiline(value)).replace("](", "]\u2060(").replace("<", "&lt;")


def csv_cell(value: Any) -> Any:
    """A spreadsheet-safe cell: controls escaped, and a formula (even after leading blanks)
    prefixed with an apostrophe, as OWASP advises. Numbers and empty cells pass unchanged."""
    if not isinstance(value, str):
        return value
    text = _UNSAFE_CSV.sub(_escape_char, value)
    if text.lstrip(_LEADING_BLANKS).startswith(_FORMULA_START):
        return "'" + text
    return text


def xml_text(value: Any) -> str:
    """Text for an XML attribute or element (JUnit): controls and bidi shown as escapes, which
    also removes every character XML 1.0 cannot carry; newlines and tabs are kept."""
    text = visible_multiline(value)
    return re.sub("[\ufffe\uffff\ud800-\udfff]", "\ufffd", text)


__all__ = [
    "csv_cell",
    "defuse_urls",
    "markdown_text",
    "sarif_text",
    "terminal_text",
    "visible",
    "visible_multiline",
    "xml_text",
]
