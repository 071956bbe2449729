"""The shipped examples stay usable: CI templates call real options, example files load."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from kvaudit.rules.registry import all_rules
from kvaudit.scanner.cli import build_parser
from kvaudit.scanner.gating.waivers import load_waivers
from tests.conftest import FIXED_NOW, REPO, run_kvaudit
from tests.gating.helpers import read

yaml = pytest.importorskip("yaml")
CI = REPO / "examples" / "ci"


def _scripts(node: Any) -> list[str]:
    """Every shell script (a ``run`` or ``script`` value) anywhere in a workflow document."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("run", "script") and isinstance(v, str)]
        return found + [s for v in node.values() for s in _scripts(v)]
    if isinstance(node, list):
        return [s for v in node for s in _scripts(v)]
    return []


def _kvaudit_commands(script: str) -> list[list[str]]:
    """``kvaudit ...`` command lines, continuations joined and shell expansions made inert."""
    joined = re.sub(r"\\\n\s*", " ", script)
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if not line.startswith("kvaudit "):
            continue
        line = line.replace('"${args[@]}"', "")
        line = re.sub(r"\$\([^)]*\)", "X", line)
        line = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z_0-9]*", "X", line)
        commands.append(shlex.split(line)[1:])
    return commands


@pytest.mark.parametrize("name", ["github-pull-request.yml", "github-nightly.yml", "azure-pipelines.yml"])
def test_ci_templates_use_real_options(name: str) -> None:
    doc = yaml.safe_load((CI / name).read_text())
    commands = [c for s in _scripts(doc) for c in _kvaudit_commands(s)]
    assert commands, name
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)  # exits 2 on an unknown option
        assert args.command in ("scan", "diff")


def test_pull_request_workflow_gates_on_the_change() -> None:
    doc = yaml.safe_load((CI / "github-pull-request.yml").read_text())
    job = doc["jobs"]["kvaudit"]
    assert doc["permissions"]["security-events"] == "write"
    assert job["env"]["BASE_REF"] == "${{ github.base_ref }}"
    steps = {s.get("name", s.get("uses")): s for s in job["steps"]}
    assert steps["Upload SARIF to code scanning"]["uses"].startswith("github/codeql-action/upload-sarif@")
    scan = steps["Scan"]["run"]
    assert '--diff-base "origin/${BASE_REF}"' in scan and "-o sarif:kvaudit.sarif" in scan
    assert '>> "$GITHUB_STEP_SUMMARY"' in steps["Job summary"]["run"]


def test_nightly_workflow_uses_oidc_and_history() -> None:
    doc = yaml.safe_load((CI / "github-nightly.yml").read_text())
    assert doc["permissions"]["id-token"] == "write"
    steps = {s.get("name"): s for s in doc["jobs"]["scan"]["steps"]}
    login = steps["Azure login (OIDC)"]
    assert login["uses"].startswith("azure/login@") and "client-secret" not in login["with"]
    scan = steps["Scan live Azure"]["run"]
    assert "kvaudit scan --azure" in scan and "--history history" in scan


def test_pre_commit_hooks_at_the_root_match_the_example() -> None:
    root = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert root == (CI / "pre-commit-hooks.yaml").read_text()
    hooks = yaml.safe_load(root)
    assert [h["id"] for h in hooks] == ["kvaudit", "kvaudit-new-only"]
    parser = build_parser()
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        parser.parse_args(shlex.split(hook["entry"])[1:] + hook["args"])
    config = yaml.safe_load((CI / "pre-commit-config.yaml").read_text())
    assert config["repos"][0]["hooks"][0]["id"] == "kvaudit"


def test_example_policy_is_valid(tmp_path: Path) -> None:
    result = run_kvaudit("rules", "--policy", str(REPO / "examples" / "policy.toml"))
    assert result.returncode == 0, result.stderr
    demo = run_kvaudit("demo", "--policy", str(REPO / "examples" / "policy.toml"), "--now", FIXED_NOW)
    assert demo.returncode == 0, demo.stderr


def test_example_waivers_load_and_suppress_the_demo_legacy_vault(tmp_path: Path) -> None:
    path = REPO / "examples" / "waivers.toml"
    waivers = load_waivers(path, {r.id for r in all_rules()})
    assert [w.id for w in waivers] == ["W-2026-014", "W-2026-015", "W-2026-016"]
    assert all(w.justification and w.approver and w.expires for w in waivers)
    out = tmp_path / "r.json"
    result = run_kvaudit("demo", "--waivers", str(path), "--now", FIXED_NOW, "-o", f"json:{out}")
    assert result.returncode == 0, result.stderr
    shown = [
        (f["rule_id"], f["resource"]["name"])
        for f in read(out)["findings"]
        if f["suppression"] and f["suppression"]["kind"] == "waiver" and f["suppression"]["active"]
    ]
    assert shown == [("KV-NET-001", "kv-nw-legacy")]
