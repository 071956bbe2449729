"""The corpus cases and their expected findings, read from tests/fixtures/corpus/expected.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
FORMATS = ("arm", "bicep", "terraform")

Finding = tuple[str, str, str]


@dataclass(frozen=True)
class Case:
    fmt: str
    name: str
    modelled_on: str
    findings: frozenset[Finding]

    @property
    def path(self) -> Path:
        return CORPUS / self.fmt / self.name

    @property
    def id(self) -> str:
        return f"{self.fmt}/{self.name}"


def _finding(text: str) -> Finding:
    rule, resource, status = text.split(" ")
    return rule, resource, status


def load_cases() -> list[Case]:
    """Every case in expected.toml, in file order."""
    data = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))
    out = []
    for fmt in FORMATS:
        for name, spec in data.get(fmt, {}).items():
            findings = frozenset(_finding(f) for f in spec["findings"])
            out.append(Case(fmt, name, spec["modelled_on"], findings))
    return out
