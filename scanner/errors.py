"""Errors that the CLI turns into one line and an exit code, never a traceback.

Messages name files and quote values that come from hostile input, so every message is made
one line here (whitespace runs collapsed) and every control, bidi or zero-width character is
shown as an escape: an error can neither clear the screen nor forge a second line.
"""

from __future__ import annotations

from kvaudit.scanner.textsafe import terminal_text


def one_line(text: object) -> str:
    """``text`` as one terminal-safe line."""
    return terminal_text(" ".join(str(text).split()))


class KvauditError(Exception):
    """Base class: the message is made fit for one line on stderr."""

    exit_code = 2

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(message))


class UsageError(KvauditError):
    """Bad command line or configuration (exit 2)."""


class InputError(KvauditError):
    """A file that cannot be read or parsed; the message names the file and the problem (exit 2)."""

    def __init__(self, origin: str, problem: str, line: int | None = None, column: int | None = None):
        self.origin = origin
        self.problem = one_line(problem)
        self.line = line
        self.column = column
        where = terminal_text(origin)
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {self.problem}")

    def __reduce__(self) -> tuple[type, tuple[str, str, int | None, int | None]]:
        """Pickle by constructor arguments, so errors cross process boundaries (parallel loaders)."""
        return (self.__class__, (self.origin, self.problem, self.line, self.column))


class PolicyError(InputError):
    """The policy file is malformed or names unknown rules or parameters."""
