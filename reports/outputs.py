"""``-o FORMAT[:PATH]`` for the diff and trend commands, which have their own format lists.

scan and demo parse their outputs in :mod:`scanner.cli`; these commands render other documents
(drift, trend), so they accept only the formats they can write and say so in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kvaudit.scanner.errors import UsageError


def output_type(formats: Iterable[str]) -> Callable[[str], tuple[str, Path | None]]:
    """An argparse ``type`` for ``FORMAT[:PATH]`` restricted to ``formats`` (``md`` = markdown)."""
    allowed = tuple(formats)

    def parse(value: str) -> tuple[str, Path | None]:
        fmt, _, path = value.partition(":")
        fmt = "markdown" if fmt.lower() == "md" else fmt.lower()
        if fmt not in allowed:
            raise argparse.ArgumentTypeError(f"unknown output format {fmt!r} (choose from {', '.join(allowed)})")
        return fmt, Path(path) if path else None

    return parse


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a reader (or a crash) never sees half a file.

    The temporary file is opened normally (not with mkstemp) so the result gets the usual
    umask-derived permissions that a report shared with auditors needs.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


def write_outputs(
    outputs: list[tuple[str, Path | None]], renderers: dict[str, Callable[[Any], str]], document: Any
) -> None:
    for fmt, path in outputs:
        text = renderers[fmt](document)
        if path is None:
            sys.stdout.write(text)
        else:
            write_atomic(path, text)
