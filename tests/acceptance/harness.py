"""Scanning one acceptance case: copy a guide's IaC, apply the case's edits, scan, list what does not pass.

Each guide's deployment as described lives once under tests/fixtures/guides/<guide>/<form>/; a
documented mistake is a small textual edit of it (each ``old`` text must occur exactly once, so an
edit can never silently stop applying). The findings are computed in process through the same
``load_sources`` and ``evaluate`` that ``kvaudit scan`` calls; test_guides.py also runs every
deployment as described through the CLI itself.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kvaudit.rules.engine import evaluate
from kvaudit.scanner.policy import parse
from kvaudit.scanner.sources import load_sources
from tests.conftest import FIXED_NOW, REPO

GUIDES_DIR = REPO / "tests" / "fixtures" / "guides"
NOT_PASSING = ("FAIL", "UNKNOWN", "ERROR")
Finding = tuple[str, str, str]


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` (which must occur exactly once in ``file``) by ``new``."""

    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Case:
    """One acceptance case: a guide's deployment in one IaC form, as described or with one mistake.

    ``expected`` is what a correct scanner reports by the guide and issue 12; ``xfail`` names the
    issue-12 cause (B-H) that keeps today's product from it, so the case flips when the fix lands.
    """

    guide: str
    form: str
    name: str
    quote: str
    expected: frozenset[Finding]
    edits: tuple[Edit, ...] = ()
    xfail: str | None = None
    #: (old, new) replacements in the guide's policy.toml, each ``old`` occurring exactly once
    policy_edits: tuple[tuple[str, str], ...] = ()
    #: (file under tests/fixtures/guides/<guide>/, name to copy it to in the case's tree)
    extra_files: tuple[tuple[str, str], ...] = ()
    #: files of the described deployment the case leaves out
    removed_files: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.guide}/{self.form}: {self.name}"


def policy_path(guide: str) -> Path:
    return GUIDES_DIR / guide / "policy.toml"


def policy_text(case: Case) -> str:
    text = policy_path(case.guide).read_text(encoding="utf-8")
    for old, new in case.policy_edits:
        assert text.count(old) == 1, f"{case.id}: {old!r} in policy.toml"
        text = text.replace(old, new)
    return text


def materialise(case: Case, into: Path) -> Path:
    """The case's IaC tree under ``into``: the described deployment with the case's edits applied."""
    target = into / case.form
    shutil.copytree(GUIDES_DIR / case.guide / case.form, target)
    for edit in case.edits:
        path = target / edit.file
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.old)
        assert count == 1, f"{case.id}: {edit.old!r} occurs {count} times in {edit.file}"
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
    for name in case.removed_files:
        (target / name).unlink()
    for source, name in case.extra_files:
        shutil.copyfile(GUIDES_DIR / case.guide / source, target / name)
    return target


def findings(directory: Path, policy: str) -> set[Finding]:
    """(rule id, resource name, status) of every result that is not PASS or NOT_APPLICABLE."""
    loaded = load_sources([str(directory)], root=directory)
    assert [str(e) for e in loaded.errors] == []
    evaluation = evaluate(loaded.inventory, parse(policy, "policy.toml"), now=pd.Timestamp(FIXED_NOW))
    out: set[Finding] = set()
    for outcome in evaluation.outcomes:
        frame = outcome.results
        for name, status in zip(frame["resource_name"], frame["status"], strict=True):
            if status in NOT_PASSING:
                out.add((outcome.rule.id, str(name), str(status)))
    return out
