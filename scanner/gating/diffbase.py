"""``--diff-base REF``: which of today's failures were already failing at REF.

A pull-request gate should fail on what the change introduces, not on debt the branch
inherited. So the same SOURCE paths are loaded as they were at REF and evaluated by the same
engine with the same policy and the same ``now``; the fingerprints that failed there are
pre-existing. Fingerprints ignore line numbers, so moving or reformatting a resource keeps it
pre-existing, while a new resource or a newly broken setting is new.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvaudit.scanner.gating import gitrev


@dataclass
class BaseFailures:
    """The FAIL fingerprints at ``ref`` plus the problems that make that set incomplete."""

    ref: str
    commit: str
    fingerprints: set[str]
    problems: list[str] = field(default_factory=list)


def _relative_sources(sources: list[str], cwd: Path) -> tuple[Path, list[str]]:
    """The repository root and the SOURCE paths relative to it."""
    from kvaudit.scanner.errors import UsageError

    resolved = [(cwd / s).resolve() for s in sources]
    top = gitrev.repository_root(resolved[0])
    relative = []
    for path in resolved:
        try:
            relative.append(path.relative_to(top).as_posix())
        except ValueError:
            raise UsageError(f"--diff-base: {path} is outside the git repository {top}") from None
    return top, ["" if r == "." else r for r in relative]


def _mirror(tmp: Path, top: Path, cwd: Path) -> tuple[Path, Path]:
    """Where in ``tmp`` to extract the tree, and the scan root to load it from.

    IaC ids carry each unit's path relative to the scan root (the cwd), with ``..`` steps when
    the repository lies outside it. The base tree is laid out with the repository and the cwd in
    the same relative places, so its units have exactly the same paths and an unchanged resource
    keeps its fingerprint.
    """
    top, cwd = top.resolve(), cwd.resolve()
    try:
        common = Path(os.path.commonpath([top, cwd]))
    except ValueError:  # different drives: nothing in common to mirror
        return tmp, tmp
    dest = tmp / top.relative_to(common)
    root = tmp / cwd.relative_to(common)
    root.mkdir(parents=True, exist_ok=True)
    return dest, root


def _failing(inventory: Any, policy: Any, now: Any) -> set[str]:
    from kvaudit.reports.model import fingerprint
    from kvaudit.rules.engine import evaluate

    evaluation = evaluate(inventory, policy, now=now)
    failing: set[str] = set()
    for outcome in evaluation.outcomes:
        results = outcome.results
        if not len(results):
            continue
        for resource_id in results.loc[results["status"] == "FAIL", "resource_id"]:
            failing.add(fingerprint(outcome.rule.id, str(resource_id)))
    return failing


def failures_at(ref: str, sources: list[str], policy: Any, now: Any, cwd: Path | None = None) -> BaseFailures:
    """Evaluate ``sources`` as they were at git revision ``ref``.

    Paths missing at ``ref`` contribute nothing (so everything in them is new). Files that
    fail to load at ``ref`` are listed in ``problems``: their findings also count as new,
    which errs on the side of gating.
    """
    from kvaudit.scanner.sources import load_sources

    cwd = cwd or Path.cwd()
    top, relative = _relative_sources(sources, cwd)
    commit = gitrev.resolve_commit(top, ref)
    with tempfile.TemporaryDirectory(prefix="kvaudit-diffbase-") as tmp:
        dest, root = _mirror(Path(tmp) / "tree", top, cwd)
        gitrev.extract(top, gitrev.select(gitrev.list_tree(top, commit), relative), dest)
        present = [str(dest / r) if r else str(dest) for r in relative if (dest / r).exists()]
        if not present:
            return BaseFailures(ref, commit, set())
        loaded = load_sources(present, root=root)
        problems = [str(e).replace(str(dest) + "/", "") for e in loaded.errors]
        return BaseFailures(ref, commit, _failing(loaded.inventory, policy, now), problems)
