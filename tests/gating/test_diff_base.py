"""--diff-base: a pull request fails only on what it introduces (git repositories built here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXED_NOW, run_kvaudit
from tests.gating.helpers import fp, git, read, save_estate, suppressed, unsuppressed, vault

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _scan(cwd: Path, out: Path, *args: str):
    return run_kvaudit("scan", *args, "--fail-on", "low", "--now", FIXED_NOW, "-o", f"json:{out}", cwd=cwd)


@pytest.fixture
def snapshot_repo(tmp_path: Path) -> Path:
    """A repository whose HEAD holds a compliant vault and one already failing (purge off)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    save_estate(repo / "estate" / "vaults.json", [vault("kv-app"), vault("kv-legacy", purge_protection_enabled=False)])
    _commit_all(repo, "estate")
    return repo


def test_snapshot_change_fails_only_on_the_new_finding(snapshot_repo: Path, tmp_path: Path) -> None:
    # The change breaks kv-app and moves the already failing kv-legacy to another file.
    save_estate(snapshot_repo / "estate" / "vaults.json", [vault("kv-app", purge_protection_enabled=False)])
    save_estate(snapshot_repo / "estate" / "legacy.json", [vault("kv-legacy", purge_protection_enabled=False)])
    out = tmp_path / "r.json"
    result = _scan(snapshot_repo, out, "estate", "--diff-base", "HEAD")
    assert result.returncode == 1, result.stderr
    report = read(out)
    assert unsuppressed(report) == {fp("KV-REC-003", "kv-app")}
    assert suppressed(report) == {fp("KV-REC-003", "kv-legacy")}
    legacy = next(f for f in report["findings"] if f["fingerprint"] == fp("KV-REC-003", "kv-legacy"))
    assert legacy["suppression"]["kind"] == "baseline"
    assert legacy["suppression"]["justification"] == "present at HEAD"
    head = git(snapshot_repo, "rev-parse", "HEAD").strip()
    assert report["exceptions"]["diff_base"] == {"ref": "HEAD", "commit": head, "pre_existing": 1}


def test_snapshot_move_only_exits_0(snapshot_repo: Path, tmp_path: Path) -> None:
    save_estate(snapshot_repo / "estate" / "vaults.json", [vault("kv-app")])
    save_estate(snapshot_repo / "estate" / "legacy.json", [vault("kv-legacy", purge_protection_enabled=False)])
    out = tmp_path / "r.json"
    result = _scan(snapshot_repo, out, "estate", "--diff-base", "HEAD")
    assert result.returncode == 0, result.stderr
    report = read(out)
    assert unsuppressed(report) == set()
    assert suppressed(report, "baseline") == {fp("KV-REC-003", "kv-legacy")}
    # Without --diff-base the inherited finding still fails the gate.
    assert _scan(snapshot_repo, out, "estate").returncode == 1


def test_untracked_file_counts_as_new(snapshot_repo: Path, tmp_path: Path) -> None:
    save_estate(snapshot_repo / "new" / "extra.json", [vault("kv-extra", public_network_access="Enabled")])
    out = tmp_path / "r.json"
    result = _scan(snapshot_repo, out, "estate", "new", "--diff-base", "HEAD")
    assert result.returncode == 1, result.stderr
    assert unsuppressed(read(out)) == {fp("KV-NET-001", "kv-extra")}


def test_diff_base_against_an_older_commit_by_name(snapshot_repo: Path, tmp_path: Path) -> None:
    git(snapshot_repo, "branch", "base")
    save_estate(snapshot_repo / "estate" / "vaults.json", [vault("kv-app", purge_protection_enabled=False)])
    _commit_all(snapshot_repo, "break kv-app")
    out = tmp_path / "r.json"
    assert _scan(snapshot_repo, out, "estate", "--diff-base", "base").returncode == 1
    assert unsuppressed(read(out)) == {fp("KV-REC-003", "kv-app")}
    assert _scan(snapshot_repo, out, "estate", "--diff-base", "HEAD").returncode == 0


COMPLIANT = """
resource "azurerm_key_vault" "{name}" {{
  name                          = "{name}"
  location                      = "westeurope"
  resource_group_name           = "rg-app"
  tenant_id                     = "72f988bf-86f1-41af-91ab-2d7cd011db47"
  sku_name                      = "premium"
  soft_delete_retention_days    = 90
  purge_protection_enabled      = {purge}
  public_network_access_enabled = false
  enable_rbac_authorization     = true

  network_acls {{
    default_action = "Deny"
    bypass         = "None"
  }}
}}

resource "azurerm_monitor_diagnostic_setting" "{name}" {{
  name                       = "audit"
  target_resource_id         = azurerm_key_vault.{name}.id
  log_analytics_workspace_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"

  enabled_log {{
    category_group = "audit"
  }}
}}
"""


def _tf(name: str, purge: bool = True) -> str:
    return COMPLIANT.format(name=name, purge=str(purge).lower())


def _tf_id(name: str) -> str:
    """A vault of the root module ``repo/infra``, scanned from the sibling directory ``elsewhere``."""
    return f"/subscriptions/iac~..%2frepo%2finfra/resourcegroups/rg-app/providers/microsoft.keyvault/vaults/{name}"


def test_terraform_pull_request(tmp_path: Path) -> None:
    """The pull-request gate end to end: Terraform, absolute SOURCE path, run from outside the repo."""
    from kvaudit.reports.model import fingerprint

    repo = tmp_path / "repo"
    infra = repo / "infra"
    infra.mkdir(parents=True)
    git(repo, "init", "-q")
    (infra / "main.tf").write_text(_tf("kv_app") + _tf("kv_legacy", purge=False))
    _commit_all(repo, "infra")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "r.json"

    # Nothing changed: the inherited failure is pre-existing.
    assert _scan(elsewhere, out, str(infra), "--diff-base", "HEAD").returncode == 0
    inherited = fingerprint("KV-REC-003", _tf_id("kv_legacy"))
    assert suppressed(read(out)) >= {inherited}

    # Break kv_app and move kv_legacy to its own file, above new lines.
    (infra / "main.tf").write_text(_tf("kv_app", purge=False))
    (infra / "legacy.tf").write_text("# moved here\n\n\n" + _tf("kv_legacy", purge=False))
    result = _scan(elsewhere, out, str(infra), "--diff-base", "HEAD")
    assert result.returncode == 1, result.stderr
    report = read(out)
    assert unsuppressed(report) == {fingerprint("KV-REC-003", _tf_id("kv_app"))}
    assert inherited in suppressed(report, "baseline")
    moved = next(f for f in report["findings"] if f["fingerprint"] == inherited)
    assert moved["location"]["file"].endswith("legacy.tf")


def test_not_a_repository_is_a_one_line_usage_error(tmp_path: Path) -> None:
    snap = save_estate(tmp_path / "plain" / "vaults.json", [vault("kv-app")])
    result = _scan(tmp_path, tmp_path / "r.json", str(snap), "--diff-base", "HEAD")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"kvaudit: error: --diff-base: {snap.resolve()} is not in a git repository")


def test_unknown_revision_is_a_one_line_usage_error(snapshot_repo: Path, tmp_path: Path) -> None:
    result = _scan(snapshot_repo, tmp_path / "r.json", "estate", "--diff-base", "origin/nope")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"kvaudit: error: --diff-base: unknown git revision 'origin/nope' in {snapshot_repo.resolve()} "
        "(in CI, fetch it first: git fetch origin <branch>)"
    ]
    assert not (tmp_path / "r.json").exists()


def test_diff_base_needs_sources(tmp_path: Path) -> None:
    result = run_kvaudit("demo", "--diff-base", "HEAD", "--now", FIXED_NOW, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kvaudit: error: --diff-base does not apply here: demo reads no files from git, so there is no "
        "revision to compare"
    ]
