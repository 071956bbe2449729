"""Read files as they were at a git revision, without touching the working tree or the repo.

``--diff-base`` needs the IaC as it was before the change. A worktree would add metadata to
the user's repository and a checkout would clobber their edits, so this reads blobs straight
from the object store (``git ls-tree`` + ``git cat-file --batch``) into a temporary folder.
Symlinks and submodules are skipped: following them could write outside that folder, and the
current scan does not follow them either.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kvaudit.scanner.errors import UsageError

#: Files extracted from the whole tree (not only under the SOURCE paths) because Terraform and
#: Bicep modules are referenced by relative paths that may leave the scanned directory.
MODULE_SUFFIXES = (".tf", ".tfvars", ".bicep", ".bicepparam")
_REGULAR_MODES = {"100644", "100755"}


@dataclass(frozen=True)
class TreeFile:
    path: str  # repo-relative, POSIX separators
    oid: str


def _git(top: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(top), *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("--diff-base needs git on PATH") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _GitFailed(detail[0] if detail else f"git {args[0]} exited with {done.returncode}")
    return done.stdout


class _GitFailed(Exception):
    """A git command failed; callers turn it into a one-line error that says what was asked."""


def repository_root(path: Path) -> Path:
    """The top of the git working tree that holds ``path`` (a file or directory)."""
    where = path if path.is_dir() else path.parent
    try:
        out = _git(where, "rev-parse", "--show-toplevel")
    except _GitFailed as exc:
        raise UsageError(f"--diff-base: {path} is not in a git repository ({exc})") from None
    return Path(out.decode("utf-8").strip()).resolve()


def resolve_commit(top: Path, ref: str) -> str:
    """The commit id ``ref`` names; an unknown ref is a usage error that hints at shallow clones."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"--diff-base: not a git revision: {ref!r}")
    try:
        out = _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except _GitFailed:
        raise UsageError(
            f"--diff-base: unknown git revision {ref!r} in {top} (in CI, fetch it first: git fetch origin <branch>)"
        ) from None
    return out.decode("ascii").strip()


def list_tree(top: Path, commit: str) -> list[TreeFile]:
    """Every regular file in ``commit`` (symlinks and submodules left out)."""
    try:
        out = _git(top, "ls-tree", "-r", "-z", "--full-tree", commit)
    except _GitFailed as exc:
        raise UsageError(f"--diff-base: cannot list {commit[:12]} in {top}: {exc}") from None
    files = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, oid = meta.decode("ascii").split()
        if kind == "blob" and mode in _REGULAR_MODES:
            files.append(TreeFile(path.decode("utf-8", "surrogateescape"), oid))
    return files


def select(files: Iterable[TreeFile], prefixes: Sequence[str]) -> list[TreeFile]:
    """Files at or under any of ``prefixes`` (repo-relative; ``""`` is the whole tree), plus
    every module-like file, so that relative module references still resolve."""
    chosen = []
    for f in files:
        under = any(p == "" or f.path == p or f.path.startswith(p.rstrip("/") + "/") for p in prefixes)
        if under or f.path.lower().endswith(MODULE_SUFFIXES):
            chosen.append(f)
    return chosen


def _safe_target(dest: Path, path: str) -> Path:
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or PurePosixPath(path).is_absolute():
        raise UsageError(f"--diff-base: refusing unsafe path {path!r} in the git tree")
    return dest.joinpath(*parts)


def extract(top: Path, files: Sequence[TreeFile], dest: Path) -> None:
    """Write ``files`` (blobs) under ``dest`` with one ``git cat-file --batch`` call."""
    if not files:
        return
    request = "".join(f"{f.oid}\n" for f in files).encode("ascii")
    try:
        out = _git(top, "cat-file", "--batch", stdin=request)
    except _GitFailed as exc:
        raise UsageError(f"--diff-base: cannot read files from {top}: {exc}") from None
    pos = 0
    for f in files:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("ascii").split()
        if len(header) != 3 or header[1] != "blob":
            raise UsageError(f"--diff-base: git could not read {f.path} ({' '.join(header)})")
        size = int(header[2])
        body = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
        target = _safe_target(dest, f.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
