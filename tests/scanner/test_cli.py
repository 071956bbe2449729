"""The CLI contract, run as a user runs it: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from kvaudit.reports.renderers.common import where
from kvaudit.reports.schema import validate_report
from kvaudit.scanner import snapshot
from kvaudit.scanner.demo import demo_inventory
from tests.conftest import FIXED_NOW

SPINE_RULES = {
    "KV-REC-001",
    "KV-REC-002",
    "KV-REC-003",
    "KV-NET-001",
    "KV-NET-002",
    "KV-LOG-001",
    "KV-TIER-002",
    "KV-KEY-001",
    "KV-LIFE-001",
    "KV-LIFE-004",
    "KV-ACC-001",
}


def test_demo_writes_valid_json_and_html_with_every_spine_rule_failing(kvaudit, tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    result = kvaudit("demo", "-o", f"json:{out_json}", "-o", f"html:{out_html}", "--now", FIXED_NOW)
    assert result.returncode == 0, result.stderr
    report = json.loads(out_json.read_text())
    validate_report(report)
    failing = {f["rule_id"] for f in report["findings"] if f["status"] == "FAIL"}
    assert SPINE_RULES <= failing
    passing = {f["rule_id"] for f in report["findings"] if f["status"] == "PASS"}
    assert SPINE_RULES <= passing
    html = out_html.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "kv-nw-legacy" in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_scan_snapshot_exit_codes(kvaudit, tmp_path: Path) -> None:
    snap = tmp_path / "estate.json"
    snapshot.save(demo_inventory(), snap)
    assert kvaudit("scan", str(snap), "--fail-on", "high", "--now", FIXED_NOW).returncode == 1
    assert kvaudit("scan", str(snap), "--fail-on", "critical", "--now", FIXED_NOW).returncode == 0
    assert kvaudit("scan", str(snap), "--fail-on", "none", "--now", FIXED_NOW).returncode == 0


def test_incomplete_scan_exits_3(kvaudit, tmp_path: Path) -> None:
    inv = demo_inventory()
    from kvaudit.scanner.inventory import frame

    inv.tables["collection_errors"] = frame(
        "collection_errors",
        [
            {
                "id": "/x",
                "vault_id": "/x",
                "operation": "keys.list",
                "affects": ["keys"],
                "status_code": 403,
                "error": "Forbidden",
            }
        ],
    )
    snap = tmp_path / "estate.json"
    snapshot.save(inv, snap)
    result = kvaudit("scan", str(snap), "-o", f"json:{tmp_path / 'r.json'}", "--now", FIXED_NOW)
    assert result.returncode == 3
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["coverage"]["complete"] is False
    assert report["coverage"]["collection_errors"][0]["operation"] == "keys.list"


def test_usage_and_input_errors_are_one_line_exit_2(kvaudit, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "kvaudit-snapshot", "version": 1, "tables": {')
    cases = [
        ("scan",),
        ("scan", str(tmp_path / "missing.json")),
        ("scan", str(bad)),
        ("scan", str(bad), "-o", "pdf:x"),
        ("demo", "--policy", str(tmp_path / "nope.toml")),
        ("demo", "--now", "yesterday-ish"),
        ("frobnicate",),
    ]
    for args in cases:
        result = kvaudit(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("kvaudit: error:")]
        assert len(errors) == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_policy_file_names_the_file(kvaudit, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[rules.KV-REC-002]\nmin_days = 3\n")
    result = kvaudit("demo", "--policy", str(policy))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"kvaudit: error: {policy}:2: rule KV-REC-002 has no parameter 'min_days' (parameters: min_retention_days)"
    )


def test_rules_lists_the_catalogue_with_mappings(kvaudit) -> None:
    result = kvaudit("rules", "--format", "json")
    assert result.returncode == 0
    catalogue = json.loads(result.stdout)
    ids = [entry["id"] for entry in catalogue]
    assert ids == sorted(ids) and SPINE_RULES <= set(ids)
    purge = next(e for e in catalogue if e["id"] == "KV-REC-003")
    assert {"framework": "CIS-Azure-6.0.0", "control": "8.3.5"}.items() <= purge["compliance"][0].items() or any(
        m["framework"].startswith("CIS") for m in purge["compliance"]
    )
    text = kvaudit("rules").stdout
    assert "KV-REC-003" in text and "controls:" in text


def test_report_to_stdout_is_valid(kvaudit) -> None:
    result = kvaudit("demo", "-o", "json", "--now", FIXED_NOW, "--omit-passed")
    report = json.loads(result.stdout)
    validate_report(report)
    assert not any(f["status"] == "PASS" for f in report["findings"])
    assert report["summary"]["by_status"]["PASS"] > 0


def test_python_dash_m_and_version(kvaudit) -> None:
    result = kvaudit("--version")
    assert result.returncode == 0 and result.stdout.startswith("kvaudit ")


def test_schema_id_names_the_report_schema_version() -> None:
    from kvaudit.reports.model import SCHEMA_VERSION
    from kvaudit.reports.schema import report_schema

    assert report_schema()["$id"].endswith(f"report-{SCHEMA_VERSION}.json")


# --- the console ------------------------------------------------------------------------------

MISCONFIGURED_ARM = "examples/iac/arm/misconfigured"


def test_scan_lists_each_failing_finding_on_stdout(kvaudit, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = kvaudit("scan", MISCONFIGURED_ARM, "-o", f"json:{out}", "--now", FIXED_NOW)
    assert result.returncode == 1
    report = json.loads(out.read_text())
    failing = [f for f in report["findings"] if f["status"] == "FAIL" and not f["suppression"]]
    inline = [f for f in report["findings"] if f["suppression"] and f["suppression"]["kind"] == "inline"]
    assert len(inline) == 1 and inline[0]["suppression"]["active"]
    lines = result.stdout.splitlines()
    assert lines[0] == "examples/iac/arm/misconfigured/azuredeploy.json"
    heads = [line for line in lines if line.startswith("  ") and line.split()[0].isupper()]
    # The location is the last column (after two spaces); a resource of the nested deployment is
    # at the deployment, with the deployment's name and the resource's own line after it.
    assert sorted((h.split()[0], h.split()[1], h.rsplit("  ", 1)[-1]) for h in heads) == sorted(
        (f["severity"].upper(), f["rule_id"], where(f)) for f in failing
    )
    assert any(h.endswith("azuredeploy.json:58 (hsm-keys, declared at " + MISCONFIGURED_ARM + "/azuredeploy.json:71)") for h in heads)
    assert sum(1 for line in lines if line.strip().startswith("fix: ")) == len(failing)
    assert result.stderr.splitlines() == [
        f"kvaudit: wrote json report {out}",
        f"kvaudit: {len(failing)} failing ("
        + ", ".join(
            f"{n} {s}"
            for s in ("critical", "high", "medium", "low", "info")
            if (n := sum(f["severity"] == s for f in failing))
        )
        + "), 1 suppressed (1 inline), "
        + ", ".join(
            f"{report['summary']['by_status'][s]} {s}"
            for s in ("UNKNOWN", "PASS", "NOT_APPLICABLE")
            if report["summary"]["by_status"][s]
        )
        + "; coverage: complete",
    ]


def test_quiet_leaves_only_the_summary_line(kvaudit, tmp_path: Path) -> None:
    result = kvaudit("scan", MISCONFIGURED_ARM, "--quiet", "-o", f"json:{tmp_path / 'r.json'}", "--now", FIXED_NOW)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("kvaudit: ")


def test_demo_says_which_files_it_wrote(kvaudit, tmp_path: Path) -> None:
    html, sarif = tmp_path / "d.html", tmp_path / "d.sarif"
    result = kvaudit("demo", "-o", f"html:{html}", "-o", f"sarif:{sarif}", "--now", FIXED_NOW, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("kvaudit: wrote")] == [
        f"kvaudit: wrote html report {html}",
        f"kvaudit: wrote sarif report {sarif}",
    ]


def test_baselined_findings_are_counted_as_suppressed_not_failing(kvaudit, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    first = kvaudit("scan", MISCONFIGURED_ARM, "--baseline-create", str(baseline), "-q", "--now", FIXED_NOW)
    assert first.returncode == 1
    failing = int(first.stderr.splitlines()[-1].split(": ", 1)[1].split()[0])
    again = kvaudit("scan", MISCONFIGURED_ARM, "--baseline", str(baseline), "--now", FIXED_NOW)
    assert again.returncode == 0 and again.stdout == ""
    assert again.stderr.splitlines()[-1].startswith(
        f"kvaudit: 0 failing, {failing + 1} suppressed ({failing} baseline, 1 inline), "
    )


def test_a_closed_pipe_ends_quietly() -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (["rules"], ["demo", "-o", "json", "--now", FIXED_NOW]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "kvaudit.scanner", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        assert proc.wait() == 141, stderr
        assert stderr == ""


def test_two_outputs_to_stdout_are_a_usage_error(kvaudit) -> None:
    result = kvaudit("demo", "-o", "json", "-o", "sarif")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "kvaudit: error: -o json and -o sarif would all write to standard output; give all but one a PATH\n"
    )
    drift = kvaudit("diff", "a.json", "b.json", "-o", "json", "-o", "md")
    assert drift.returncode == 2 and "would all write to standard output" in drift.stderr


def test_flags_that_do_not_apply_are_refused(kvaudit) -> None:
    cases = {
        ("scan", "examples/iac", "--shard", "0/4"): "--shard does not apply here: it applies only to a live "
        "scan (--azure)",
        ("demo", "--diff-base", "HEAD"): "--diff-base does not apply here: demo reads no files from git, so "
        "there is no revision to compare",
        ("demo", "--sarif-suppressed", "-o", "json"): "--sarif-suppressed does not apply here: no SARIF is "
        "written (-o sarif[:PATH])",
    }
    for args, message in cases.items():
        result = kvaudit(*args)
        assert (result.returncode, result.stderr) == (2, f"kvaudit: error: {message}\n"), args


def test_environment_sets_any_flag_and_the_flag_wins(kvaudit) -> None:
    assert kvaudit("scan", MISCONFIGURED_ARM, "-q", env={"KVAUDIT_FAIL_ON": "none"}).returncode == 0
    assert (
        kvaudit("scan", MISCONFIGURED_ARM, "-q", "--fail-on", "high", env={"KVAUDIT_FAIL_ON": "none"}).returncode == 1
    )
    quiet = kvaudit("scan", MISCONFIGURED_ARM, env={"KVAUDIT_QUIET": "yes"})
    assert quiet.stdout == "" and len(quiet.stderr.splitlines()) == 1
    bad = kvaudit("scan", MISCONFIGURED_ARM, env={"KVAUDIT_FAIL_ON": "severe"})
    assert bad.returncode == 2
    assert bad.stderr == (
        "kvaudit: error: KVAUDIT_FAIL_ON: 'severe' is not one of critical, high, medium, low, info, none\n"
    )


def test_history_names_runs_by_now(kvaudit, tmp_path: Path) -> None:
    history = tmp_path / "history"
    result = kvaudit("demo", "--history", str(history), "--now", FIXED_NOW, "-q")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in history.iterdir()) == ["20261123T000000Z.json"]
