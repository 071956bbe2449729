"""Which files a scan may open: regular files inside the scan roots, nothing else.

A pull-request gate scans a tree that anyone can write, and a tree can point outside itself: a
Bicep module ``../../../../etc/passwd``, a Terraform module source ``../../secrets``, a symlink to
``/proc/self/environ`` or ``/dev/zero``. Files are opened only when they resolve inside one of
the roots (the scan root, the directories and files given on the command line) or under a path
allowed explicitly with ``KVAUDIT_ALLOW_PATHS`` (``os.pathsep``-separated), and only when they
are regular files; the check happens on the opened descriptor, so a FIFO never blocks the scan.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kvaudit.scanner.errors import InputError

_state = threading.local()


def allowed_from_environment() -> list[Path]:
    """Extra roots allowed explicitly (``KVAUDIT_ALLOW_PATHS``)."""
    raw = os.environ.get("KVAUDIT_ALLOW_PATHS", "")
    return [Path(p).resolve() for p in raw.split(os.pathsep) if p.strip()]


@contextmanager
def roots(paths: Iterable[Path]) -> Iterator[None]:
    """Confine every :func:`read_bounded` with ``contained=True`` to ``paths`` for a while."""
    saved = getattr(_state, "roots", None)
    _state.roots = [p.resolve() for p in paths] + allowed_from_environment()
    try:
        yield
    finally:
        _state.roots = saved


def active() -> bool:
    """Whether reads are confined right now (a scan set its roots)."""
    return getattr(_state, "roots", None) is not None


def inside(path: Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside a root, or no roots are set."""
    active = getattr(_state, "roots", None)
    if active is None:
        return True
    resolved = path.resolve()
    return any(resolved == root or resolved.is_relative_to(root) for root in active)


def kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def regular_problem(path: Path) -> str | None:
    """Why ``path`` must not be read (not a regular file, dangling link), or None."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a dangling symbolic link" if path.is_symlink() else "no such file"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    return None if stat.S_ISREG(mode) else f"not a regular file ({kind_of(mode)})"


def read_bounded(path: Path, origin: str, max_bytes: int, contained: bool = True, prefix: bool = False) -> bytes:
    """The bytes of a regular file within ``max_bytes``, checked before anything is read.

    With ``prefix`` the first ``max_bytes`` are returned instead of refusing a larger file (for
    sniffing a file's kind). Opening is non-blocking, so a FIFO cannot hang the scan."""
    if contained and not inside(path):
        raise InputError(origin, "refers to a file outside the scanned tree (allow it with KVAUDIT_ALLOW_PATHS)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO or socket with no writer
            raise InputError(origin, "not a regular file") from None
        raise InputError(origin, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(origin, f"not a regular file ({kind_of(info.st_mode)})")
        if info.st_size > max_bytes and not prefix:
            raise InputError(origin, f"file is {info.st_size} bytes, larger than the {max_bytes}-byte limit")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise InputError(origin, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        if prefix:
            return data[:max_bytes]
        raise InputError(origin, f"file is larger than the {max_bytes}-byte limit")
    return data


__all__ = ["allowed_from_environment", "inside", "read_bounded", "regular_problem", "roots"]
