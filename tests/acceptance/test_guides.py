"""Issue 12's acceptance suite: the five deployment guides in every IaC form their users write.

Each case (tests/acceptance/cases.py) is scanned and the exact set of (rule id, resource name,
status) that do not pass is compared with what a correct scanner gives. Each deployment as
described is also scanned through the CLI, which must exit 0 under the default ``--fail-on high``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kvaudit.rules.registry import all_rules
from tests.acceptance.cases import CASES, DESCRIBED, TITLES
from tests.acceptance.harness import GUIDES_DIR, Case, findings, materialise, policy_path, policy_text
from tests.conftest import FIXED_NOW, SHARED, run_kvaudit

GUIDE_TEXTS = SHARED / "deployment-guides"


def _params(cases: list[Case]) -> list:
    return [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
        for c in cases
    ]


@pytest.mark.parametrize("case", _params(CASES))
def test_case_gives_exactly_the_expected_findings(case: Case, tmp_path: Path) -> None:
    assert findings(materialise(case, tmp_path), policy_text(case)) == case.expected


DESCRIBED_CASES = [c for c in CASES if c.name == DESCRIBED]


@pytest.mark.parametrize("case", _params(DESCRIBED_CASES))
def test_deployment_as_described_through_the_cli(case: Case, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    source = GUIDES_DIR / case.guide / case.form
    done = run_kvaudit("scan", str(source), "--policy", str(policy_path(case.guide)), "--now", FIXED_NOW, "-o", f"json:{out}")
    report = json.loads(out.read_text(encoding="utf-8"))
    not_passing = {
        (f["rule_id"], f["resource"]["name"], f["status"])
        for f in report["findings"]
        if f["status"] in ("FAIL", "UNKNOWN", "ERROR")
    }
    assert not_passing == case.expected
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("case", DESCRIBED_CASES, ids=[c.id for c in DESCRIBED_CASES])
def test_described_expectation_has_nothing_at_high_or_critical(case: Case, tmp_path: Path) -> None:
    """The guides' deployments are sound: what a correct scanner reports on them is below high."""
    severity = {r.id: r.severity.value for r in all_rules()}
    assert {f for f in case.expected if f[2] == "FAIL" and severity[f[0]] in ("high", "critical")} == set()


def test_every_guide_has_each_form_described_and_its_mistakes() -> None:
    forms = {(c.guide, c.form) for c in CASES}
    described = {(c.guide, c.form) for c in DESCRIBED_CASES}
    assert described == forms
    assert {c.guide for c in CASES} == set(TITLES)
    for case in CASES:
        assert (case.name == DESCRIBED) == (case.quote == ""), case.id
        assert case.xfail is None or case.xfail[0] in "BCDEFGH" and case.xfail[1] == ":", case.id
    assert len({c.id for c in CASES}) == len(CASES)


def test_fixture_tree_holds_only_what_the_cases_use() -> None:
    used = {policy_path(g) for g in TITLES} | {GUIDES_DIR / c.guide / c.form for c in CASES}
    used |= {GUIDES_DIR / c.guide / src for c in CASES for src, _ in c.extra_files}
    on_disk = {p for g in TITLES for p in (GUIDES_DIR / g).iterdir() if p.name != "extra"}
    on_disk |= {p for g in TITLES if (GUIDES_DIR / g / "extra").is_dir() for p in (GUIDES_DIR / g / "extra").iterdir()}
    assert on_disk == used


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.mark.parametrize("case", [c for c in CASES if c.quote], ids=[c.id for c in CASES if c.quote])
def test_each_mistake_quotes_its_guide(case: Case) -> None:
    """The quote is the guide's own sentence (compared word by word: the guides' line breaks, bullets
    and table cells do not count)."""
    (source,) = GUIDE_TEXTS.glob(case.guide[:3] + "_*.txt")
    assert " ".join(_words(case.quote)) in " ".join(_words(source.read_text(encoding="utf-8")))
