"""The console listing: failing findings grouped by file, escaped, plain or coloured."""

from __future__ import annotations

import copy
import io
from typing import Any

from kvaudit.scanner.console import grouped_failures, summary_line, visible, write_findings, write_plain
from tests.reports.fixtures import golden_report


def _report() -> dict[str, Any]:
    """Two failing IaC findings in one file (one with a hostile name) and one suppressed."""
    report = copy.deepcopy(golden_report())
    fails = [f for f in report["findings"] if f["status"] == "FAIL" and not f["suppression"]]
    first, second = fails[0], fails[1]
    first["resource"]["name"] = "kv-\x1b[31mred\u202eevil\x9b"
    first["message"] = "kv-x public\nnetwork\taccess \x07 enabled"
    first["location"] = {"file": "infra/main.tf", "line": 7}
    second["location"] = {"file": "infra/main.tf", "line": 3}
    suppressed = [f for f in report["findings"] if f["suppression"] and f["suppression"]["active"]]
    report["findings"] = [first, second] + suppressed
    return report


def test_visible_escapes_controls_c1_and_bidi() -> None:
    assert visible("a\x1b[2Jb\u202ec\x9bd\x00e\u2066f\u200fg") == "a\\x1b[2Jb\\u202ec\\x9bd\\x00e\\u2066f\\u200fg"
    assert visible("plain ünïcode") == "plain ünïcode"


def test_plain_listing_groups_by_file_with_rule_resource_line_message_and_fix() -> None:
    report = _report()
    first, second = report["findings"][0], report["findings"][1]
    rules = {r["id"]: r for r in report["rules"]}
    out = io.StringIO()
    write_findings(report, out, colour=False)
    text = out.getvalue()
    fix_first = rules[first["rule_id"]]["remediation"]["terraform"].splitlines()[0]
    fix_second = rules[second["rule_id"]]["remediation"]["terraform"].splitlines()[0]
    assert text.splitlines() == [
        "infra/main.tf",
        f"  {first['severity'].upper():<8} {first['rule_id']:<12} kv-\\x1b[31mred\\u202eevil\\x9b  infra/main.tf:7",
        f"  {'':<8} kv-x public network access \\x07 enabled",
        f"  {'':<8} fix: {' '.join(fix_first.split())}",
        f"  {second['severity'].upper():<8} {second['rule_id']:<12} {second['resource']['name']}  infra/main.tf:3",
        f"  {'':<8} {second['message']}",
        f"  {'':<8} fix: {' '.join(fix_second.split())}",
        "",
    ]
    assert "\x1b" not in text and "\u202e" not in text


def test_rich_listing_colours_but_never_passes_raw_controls() -> None:
    out = io.StringIO()
    write_findings(_report(), out, colour=True)
    text = out.getvalue()
    assert "\x1b[" in text  # rich styles
    assert "\\x1b[31mred\\u202eevil\\x9b" in text
    assert "\x1b[31mred" not in text and "\u202e" not in text and "\x9b" not in text and "\x07" not in text


def test_findings_without_a_file_group_under_their_vault() -> None:
    report = copy.deepcopy(golden_report())
    labels = [label for label, _ in grouped_failures(report)]
    assert "infra/main.bicep" in labels
    assert "infra/main.tf" in labels  # a finding in a module groups under the root file that calls it
    assert "kv-nw-legacy (Azure)" in labels
    assert all(label.endswith("(Azure)") or label in ("infra/main.bicep", "infra/main.tf") for label in labels)


def test_a_finding_in_a_module_shows_the_call_and_the_declaration() -> None:
    report = copy.deepcopy(golden_report())
    out = io.StringIO()
    write_plain(report, out)
    assert 'infra/main.tf:20 (module.kv.module.keys["cmk"], declared at infra/modules/kv/keys/main.tf:7)' in out.getvalue()


def test_summary_separates_suppressed_from_failing() -> None:
    report = _report()
    assert summary_line(report) == (
        "kvaudit: 2 failing (2 high), 3 suppressed (1 baseline, 1 inline, 1 waiver), 4 UNKNOWN, 198 PASS, "
        "124 NOT_APPLICABLE; coverage: INCOMPLETE (1 collection errors)"
    )
