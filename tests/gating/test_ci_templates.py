"""The CI templates and the GitHub Action, run: each is parsed, and its kvaudit steps are executed
with bash against a git project built from examples/ (compliant IaC on origin/main, misconfigured
IaC added by the change), exactly as the CI system would run them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvaudit.scanner import __version__
from tests.conftest import REPO
from tests.reports.test_sarif_schema import github_problems

yaml = pytest.importorskip("yaml")
CI = REPO / "examples" / "ci"
INSTALL = f'python -m pip install "kvaudit @ git+https://github.com/kvaudit/kvaudit@v{__version__}"'
_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=kvaudit", "-c", "user.email=kvaudit@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose origin/main has compliant IaC and whose working tree adds misconfigured IaC."""
    root = tmp_path_factory.mktemp("project")
    terraform = REPO / "examples" / "iac" / "terraform"
    shutil.copytree(terraform / "vault_compliant", root / "infra" / "compliant")
    (root / ".kvaudit").mkdir()
    shutil.copy(REPO / "examples" / "policy.toml", root / ".kvaudit" / "policy.toml")
    shutil.copy(REPO / "examples" / "waivers.toml", root / ".kvaudit" / "waivers.toml")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    _git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    shutil.copytree(terraform / "vault_misconfigured", root / "infra" / "misconfigured")
    return root


def _resolve(text: str, expressions: dict[str, str]) -> str:
    """Replace ``${{ ... }}`` with known values; an unknown expression fails the test."""

    def value(match: re.Match[str]) -> str:
        assert match.group(1) in expressions, f"unexpected expression {match.group(0)}"
        return expressions[match.group(1)]

    return _EXPRESSION.sub(value, text)


def _run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` as a CI runner's bash would, with ``kvaudit`` meaning this checkout."""
    prelude = f'kvaudit() {{ "{sys.executable}" -m kvaudit.scanner "$@"; }}\n'
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KVAUDIT_")}
    full_env.update(PYTHONPATH=str(REPO), **env)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", prelude + script],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _steps(doc: dict[str, Any], job: str) -> dict[str, dict[str, Any]]:
    return {s.get("name") or s.get("displayName") or s.get("uses", ""): s for s in doc["jobs"][job]["steps"]}


def _assert_gate_sarif(path: Path) -> None:
    log = json.loads(path.read_text())
    assert github_problems(log) == []
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"infra/misconfigured/main.tf"}


def test_github_pull_request_workflow_runs(project: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load((CI / "github-pull-request.yml").read_text())
    steps = _steps(doc, "kvaudit")
    assert steps["Install kvaudit"]["run"] == INSTALL
    work = tmp_path / "checkout"
    shutil.copytree(project, work, symlinks=True)
    env = {k: _resolve(v, {"github.base_ref": "main"}) for k, v in doc["jobs"]["kvaudit"]["env"].items()}
    env.update(GITHUB_OUTPUT=str(tmp_path / "out"), GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    scan = _run(steps["Scan"]["run"], work, env)
    assert scan.returncode == 0, scan.stderr
    assert _outputs(tmp_path / "out") == {"exit-code": "1"}
    _assert_gate_sarif(work / "kvaudit.sarif")
    assert json.loads((work / "kvaudit.json").read_text())["tool"]["name"] == "kvaudit"
    summary = _run(steps["Job summary"]["run"], work, env)
    assert summary.returncode == 0 and (tmp_path / "summary.md").read_text() == (work / "kvaudit.md").read_text()


def test_azure_pipelines_scan_runs(project: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load((CI / "azure-pipelines.yml").read_text())
    steps = {s.get("displayName"): s for s in doc["jobs"][0]["steps"]}
    assert steps["Install kvaudit"]["script"] == INSTALL
    work, staging = tmp_path / "s", tmp_path / "staging"
    shutil.copytree(project, work, symlinks=True)
    script = steps["Scan IaC (new findings only)"]["script"].replace("$(Build.ArtifactStagingDirectory)", str(staging))
    env = {"INFRA_PATHS": "infra", "KVAUDIT_DIFF_BASE": "origin/main"}
    scan = _run(script, work, env)
    assert scan.returncode == 1, scan.stderr
    assert f"##vso[task.uploadsummary]{staging}/kvaudit.md" in scan.stdout
    _assert_gate_sarif(staging / "CodeAnalysisLogs" / "kvaudit.sarif")
    assert (work / "kvaudit-junit.xml").read_text().startswith("<?xml")


def test_github_nightly_workflow_runs_on_a_snapshot(project: Path, tmp_path: Path) -> None:
    """Live Azure is replaced by the demo estate's row file; every other flag is the template's."""
    doc = yaml.safe_load((CI / "github-nightly.yml").read_text())
    steps = _steps(doc, "scan")
    assert steps["Install kvaudit"]["run"] == INSTALL
    work = tmp_path / "w"
    shutil.copytree(project, work, symlinks=True)
    live = '--azure --management-group "$KVAUDIT_MANAGEMENT_GROUP"'
    scan_script = steps["Scan live Azure"]["run"]
    assert live in scan_script
    scan_script = scan_script.replace(live, str(REPO / "scanner" / "demo" / "estate.toml"))
    env = {"GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    for night in (1, 2):
        result = _run(scan_script, work, env)
        assert result.returncode == 0, result.stderr
        assert _outputs(tmp_path / "out") == {"exit-code": "0"}, night
    assert len(list((work / "history").glob("*.json"))) == 3  # two runs and latest-diff.json
    drift = _run(steps["New findings since the previous night"]["run"], work, env)
    assert drift.returncode == 0, drift.stderr
    assert _outputs(tmp_path / "out") == {"exit-code": "0"}
    assert (work / "out" / "drift.md").read_text().startswith("#")


@pytest.mark.parametrize("hook_id", ["kvaudit", "kvaudit-new-only"])
def test_pre_commit_hooks_run(project: Path, hook_id: str) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks[hook_id]
    result = _run(" ".join([hook["entry"], *hook["args"]]), project, {})
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0] == "infra/misconfigured/main.tf"
    assert "fix: " in result.stdout


def test_action_is_a_composite_that_gates_and_uploads(project: Path, tmp_path: Path) -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = {s.get("name") or s["uses"]: s for s in action["runs"]["steps"]}
    assert (
        steps["Install kvaudit"]["run"] == 'python -m pip install --disable-pip-version-check "${GITHUB_ACTION_PATH}"'
    )
    upload = steps["Upload SARIF to code scanning"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    text = (REPO / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used == set(action["inputs"]), "every input is used and every used input is declared"
    assert all(s.get("shell") == "bash" for s in action["runs"]["steps"] if "run" in s)

    inputs = {f"inputs.{k}": str(v.get("default", "")) for k, v in action["inputs"].items()}
    inputs.update({"inputs.paths": "infra", "inputs.diff-base": "origin/main"})
    work = tmp_path / "repo"
    shutil.copytree(project, work, symlinks=True)
    scan = steps["Scan"]
    env = {k: _resolve(str(v), inputs) for k, v in scan["env"].items()}
    env.update(
        GITHUB_OUTPUT=str(tmp_path / "out"), RUNNER_TEMP=str(tmp_path), GITHUB_STEP_SUMMARY=str(tmp_path / "s.md")
    )
    result = _run(scan["run"], work, env)
    assert result.returncode == 0, result.stderr
    assert _outputs(tmp_path / "out") == {"exit-code": "1", "sarif-written": "true"}
    _assert_gate_sarif(work / "kvaudit.sarif")
    assert (tmp_path / "s.md").read_text() == (tmp_path / "kvaudit-summary.md").read_text()
    gate = steps["Gate"]
    done = _run(gate["run"], work, {"CODE": "1"})
    assert done.returncode == 1
