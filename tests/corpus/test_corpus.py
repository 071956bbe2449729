"""Recall on real-world shapes: each corpus unit, modelled on a public repository, gives exactly
the findings a correct scanner gives (tests/fixtures/corpus/expected.toml)."""

from __future__ import annotations

import pytest

from tests.corpus.cases import CORPUS, FORMATS, load_cases
from tests.corpus.findings import scan_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_gives_exactly_the_expected_findings(case) -> None:
    found, errors = scan_case(case.path)
    assert errors == []
    missed = sorted(case.findings - found)
    extra = sorted(found - case.findings)
    assert (missed, extra) == ([], [])


def test_every_case_directory_is_listed_and_every_listed_case_exists() -> None:
    on_disk = {f"{fmt}/{p.name}" for fmt in FORMATS for p in (CORPUS / fmt).iterdir() if p.is_dir()}
    assert on_disk == {c.id for c in CASES}


def test_the_corpus_covers_every_format() -> None:
    counts = {fmt: sum(1 for c in CASES if c.fmt == fmt) for fmt in FORMATS}
    assert min(counts.values()) >= 6, counts
