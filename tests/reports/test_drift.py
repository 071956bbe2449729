"""Drift (kvaudit diff), run history (--history) and trends (kvaudit trend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kvaudit.reports.diff import diff_reports, gate
from kvaudit.reports.history import list_runs, record_run
from kvaudit.reports.renderers.drift import render_html, render_markdown
from kvaudit.reports.trend import load_history, resolution_times, severity_over_time, summarise
from kvaudit.scanner.cli import main


def _finding(fp: str, status: str = "FAIL", severity: str = "high", suppressed: bool = False) -> dict[str, Any]:
    return {
        "rule_id": f"KV-T-{fp[:3].upper()}",
        "title": "t",
        "severity": severity,
        "status": status,
        "suppression": {"kind": "waiver", "active": True} if suppressed else None,
        "resource": {"id": f"/r/{fp}", "name": fp, "type": None},
        "location": None,
        "message": f"{fp} {status}",
        "fingerprint": fp,
    }


def _report(findings: list[dict[str, Any]], when: str = "2025-06-01T00:00:00+00:00") -> dict[str, Any]:
    return {
        "scan": {"started": when, "finished": when, "evaluated_at": when, "ruleset_version": "x"},
        "coverage": {"complete": True},
        "findings": findings,
    }


def test_new_resolved_unchanged_by_fingerprint() -> None:
    old = _report([_finding("aaa"), _finding("bbb", "UNKNOWN"), _finding("ccc"), _finding("ddd", "PASS")])
    new = _report([_finding("aaa", severity="medium"), _finding("ccc", "PASS"), _finding("ddd"), _finding("eee")])
    drift = diff_reports(old, new, "old.json", "new.json")
    assert [(e["fingerprint"], e["previous_status"], e["status"]) for e in drift["new"]] == [
        ("ddd", "PASS", "FAIL"),
        ("eee", None, "FAIL"),
    ]
    assert [(e["fingerprint"], e["previous_status"], e["status"], e["resolution"]) for e in drift["resolved"]] == [
        ("bbb", "UNKNOWN", None, "no longer reported"),
        ("ccc", "FAIL", "PASS", "now PASS"),
    ]
    assert [(e["fingerprint"], e["previous_severity"], e["severity"]) for e in drift["unchanged"]] == [
        ("aaa", "high", "medium")
    ]
    assert drift["summary"]["new"] == 2 and drift["summary"]["resolved"] == 2 and drift["summary"]["unchanged"] == 1
    assert drift["old_run"]["label"] == "old.json" and drift["new_run"]["label"] == "new.json"


def test_unknown_is_open_so_fail_to_unknown_is_not_resolved() -> None:
    drift = diff_reports(_report([_finding("aaa")]), _report([_finding("aaa", "UNKNOWN")]))
    assert (drift["summary"]["new"], drift["summary"]["resolved"], drift["summary"]["unchanged"]) == (0, 0, 1)


def test_gate_counts_new_unsuppressed_fail_at_or_above_threshold() -> None:
    new = _report(
        [
            _finding("aaa", severity="high"),
            _finding("bbb", severity="low"),
            _finding("ccc", severity="critical", suppressed=True),
            _finding("ddd", "UNKNOWN", severity="critical"),
        ]
    )
    drift = diff_reports(_report([]), new)
    assert [e["fingerprint"] for e in gate(drift, "high")] == ["aaa"]
    assert [e["fingerprint"] for e in gate(drift, "low")] == ["aaa", "bbb"]
    assert gate(drift, "critical") == [] and gate(drift, "none") == []


def _write(path: Path, report: dict[str, Any]) -> Path:
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def test_diff_command_outputs_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _write(tmp_path / "old.json", _report([_finding("aaa")]))
    new = _write(tmp_path / "new.json", _report([_finding("aaa"), _finding("bbb", severity="medium")]))
    args = ["diff", str(old), str(new), "-o", f"json:{tmp_path / 'd.json'}", "-o", f"html:{tmp_path / 'd.html'}"]
    assert main([*args, "--fail-on", "high"]) == 0
    assert capsys.readouterr().err == "kvaudit: drift: 1 new, 0 resolved, 1 unchanged; 0 new at or above high\n"
    assert main([*args, "--fail-on", "medium"]) == 1
    drift = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert [e["fingerprint"] for e in drift["new"]] == ["bbb"]
    assert "<h2>New findings (1)</h2>" in (tmp_path / "d.html").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["diff", str(old), str(new)]) == 0
    assert capsys.readouterr().out.startswith("## kvaudit drift: 1 new, 0 resolved, 1 still open\n")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"findings": []}', "not a kvaudit JSON report (expected an object with 'scan' and 'findings')"),
        ('{"scan": {}, "findings": [{"status": "FAIL"}]}', "finding 0 lacks one of fingerprint, rule_id"),
        ("[1, 2", "invalid JSON"),
    ],
)
def test_diff_rejects_bad_reports_in_one_line(
    tmp_path: Path, content: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path / "good.json", _report([]))
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert main(["diff", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kvaudit: error: {bad}") and problem in err and err.count("\n") == 1


def test_history_records_runs_and_latest_diff(tmp_path: Path) -> None:
    history = tmp_path / "history"
    first = _report([_finding("aaa"), _finding("bbb")], "2025-06-01T02:00:00+00:00")
    path, drift = record_run(first, history)
    assert (path.name, drift) == ("20250601T020000Z.json", None)
    assert not (history / "latest-diff.json").exists()
    second = _report([_finding("bbb"), _finding("ccc")], "2025-06-02T02:00:00+00:00")
    path, drift = record_run(second, history)
    assert path.name == "20250602T020000Z.json"
    saved = json.loads((history / "latest-diff.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(drift))
    assert [e["fingerprint"] for e in saved["new"]] == ["ccc"]
    assert [e["fingerprint"] for e in saved["resolved"]] == ["aaa"]
    assert (history / "latest-diff.md").read_text(encoding="utf-8").startswith("## kvaudit drift: 1 new, 1 resolved")
    again, _ = record_run(second, history)  # same second: a suffix keeps both
    assert again.name == "20250602T020000Z-1.json"
    assert [p.name for p in list_runs(history)] == [
        "20250601T020000Z.json",
        "20250602T020000Z.json",
        "20250602T020000Z-1.json",
    ]
    assert json.loads(path.read_text(encoding="utf-8")) == second


def test_demo_with_history_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    codes = {main(["demo", "--now", "2025-06-01T00:00:00Z", "--history", str(tmp_path)]) for _ in range(2)}
    complete = json.loads(list_runs(tmp_path)[-1].read_text(encoding="utf-8"))["coverage"]["complete"]
    assert codes == {0 if complete else 3}  # demo gates on nothing but completeness
    err = capsys.readouterr().err
    assert "(first run, no diff)" in err and " 0 new, 0 resolved, " in err
    assert len(list_runs(tmp_path)) == 2 and (tmp_path / "latest-diff.md").exists()


def _history(tmp_path: Path) -> Path:
    """Four nightly runs: aaa open nights 1-2; bbb open throughout; ccc open 1, gone 2, back 3-4;
    ddd (medium) open 2-3 but suppressed on 3."""
    runs = [
        [_finding("aaa"), _finding("bbb"), _finding("ccc")],
        [_finding("aaa"), _finding("bbb"), _finding("ddd", severity="medium")],
        [_finding("bbb"), _finding("ccc"), _finding("ddd", severity="medium", suppressed=True)],
        [_finding("bbb"), _finding("ccc", "UNKNOWN"), _finding("aaa", "PASS")],
    ]
    for day, findings in enumerate(runs, start=1):
        record_run(_report(findings, f"2025-06-0{day}T02:00:00+00:00"), tmp_path)
    return tmp_path


def test_trend_severity_over_time(tmp_path: Path) -> None:
    times, frame = load_history(_history(tmp_path))
    table = severity_over_time(times, frame)
    assert [t.isoformat() for t in table.index] == [f"2025-06-0{d}T02:00:00+00:00" for d in range(1, 5)]
    assert table["high"].tolist() == [3, 2, 2, 2]
    assert table["medium"].tolist() == [0, 1, 0, 0]
    assert table["total"].tolist() == [3, 3, 2, 2]


def test_trend_time_to_resolve_per_episode(tmp_path: Path) -> None:
    times, frame = load_history(_history(tmp_path))
    episodes = resolution_times(times, frame)
    rows = [
        (e["fingerprint"], e["first_seen"].day, None if pd.isna(e["resolved"]) else e["resolved"].day, e["days_open"])
        for e in episodes.to_dict(orient="records")
    ]
    assert sorted(rows, key=lambda r: (r[0], r[1])) == [
        ("aaa", 1, 3, 2.0),
        ("bbb", 1, None, pytest.approx(float("nan"), nan_ok=True)),
        ("ccc", 1, 2, 1.0),
        ("ccc", 3, None, pytest.approx(float("nan"), nan_ok=True)),
        ("ddd", 2, 4, 2.0),
    ]
    trend = summarise(times, frame)
    assert (trend["resolved_count"], trend["open_count"], trend["median_days_to_resolve"]) == (3, 2, 2.0)


def test_trend_command_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = _history(tmp_path / "h")
    html, csv, res = tmp_path / "t.html", tmp_path / "t.csv", tmp_path / "r.csv"
    assert main(["trend", str(history), "-o", f"html:{html}", "-o", f"csv:{csv}", "-o", f"csv-resolution:{res}"]) == 0
    assert (
        capsys.readouterr().err == "kvaudit: trend: 4 runs; 3 findings resolved (median 2.00 days open), 2 still open\n"
    )
    assert csv.read_text(encoding="utf-8").splitlines() == [
        "run,critical,high,medium,low,info,total",
        "2025-06-01T02:00:00Z,0,3,0,0,0,3",
        "2025-06-02T02:00:00Z,0,2,1,0,0,3",
        "2025-06-03T02:00:00Z,0,2,0,0,0,2",
        "2025-06-04T02:00:00Z,0,2,0,0,0,2",
    ]
    assert len(pd.read_csv(res)) == 5
    page = html.read_text(encoding="utf-8")
    assert "<svg" in page and "<polyline" in page and "<script" not in page


def test_trend_on_empty_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trend", str(tmp_path)]) == 2
    assert "no run reports" in capsys.readouterr().err


def test_drift_renderers_escape(tmp_path: Path) -> None:
    hostile = _finding("<script>x</script>")
    drift = diff_reports(_report([]), _report([hostile]))
    assert "<script>x" not in render_html(drift) and "&lt;script&gt;x" in render_html(drift)
    assert "<script>" not in render_markdown(drift)
