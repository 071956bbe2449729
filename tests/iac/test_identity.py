"""One identity per declaration: the same name in two units is two resources.

Fixtures in tests/fixtures/identity/: two Terraform environments declaring the same vault
(``terraform/envs``), two ARM templates declaring ``kv-a`` of which only one has a diagnostic
setting (``arm``), two Bicep entry files declaring ``kv-same``, one of them through a local module
(``bicep``), and a role assignment in one unit on a vault with a fully literal id declared in
another (``literal``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kvaudit.reports.model import fingerprint
from kvaudit.scanner.iac.identity import qualify_id, unit_of
from kvaudit.scanner.sources import load_sources
from tests.conftest import FIXED_NOW, run_kvaudit
from tests.gating.helpers import git

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "identity"
ENVS = FIX / "terraform"
VAULT = "/resourcegroups/rg-app/providers/microsoft.keyvault/vaults/kv-app"
DEV = f"/subscriptions/iac~envs%2fdev{VAULT}"
PROD = f"/subscriptions/iac~envs%2fprod{VAULT}"
LITERAL_VAULT = (
    "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-shared"
    "/providers/microsoft.keyvault/vaults/kv-shared"
)
#: The rules whose verdicts these cases are about.
RULES = {"KV-REC-003", "KV-NET-001", "KV-LOG-001"}


def _scan(cwd: Path, out: Path, *args: str, fail_on: str = "high"):
    return run_kvaudit("scan", *args, "--now", FIXED_NOW, "--fail-on", fail_on, "-o", f"json:{out}", cwd=cwd)


def _findings(out: Path) -> list[dict]:
    return json.loads(out.read_text(encoding="utf-8"))["findings"]


def _fails(findings: list[dict]) -> set[tuple[str, str, str, int]]:
    return {
        (f["rule_id"], f["resource"]["id"], f["location"]["file"], f["location"]["line"])
        for f in findings
        if f["status"] == "FAIL" and f["rule_id"] in RULES
    }


def _active(finding: dict) -> bool:
    return bool(finding["suppression"] and finding["suppression"]["active"])


def test_same_vault_in_two_directories_is_two_rows() -> None:
    loaded = load_sources([str(ENVS / "envs")], root=ENVS)
    assert loaded.errors == []
    vaults = loaded.inventory.tables["vaults"]
    assert list(zip(vaults["id"], vaults["name"], vaults["file"], vaults["line"], strict=True)) == [
        (DEV, "kv-app", "envs/dev/main.tf", 2),
        (PROD, "kv-app", "envs/prod/main.tf", 4),
    ]
    assert list(vaults["display_id"]) == [DEV, PROD]  # Terraform has no spelling of its own


def test_prod_failures_are_reported_with_prod_location(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = _scan(ENVS, out, "envs")
    assert result.returncode == 1, result.stderr
    findings = _findings(out)
    assert _fails(findings) == {
        ("KV-LOG-001", DEV, "envs/dev/main.tf", 2),
        ("KV-LOG-001", PROD, "envs/prod/main.tf", 4),
        ("KV-NET-001", PROD, "envs/prod/main.tf", 4),
        ("KV-REC-003", PROD, "envs/prod/main.tf", 4),
    }
    purge = {f["resource"]["id"]: f for f in findings if f["rule_id"] == "KV-REC-003"}
    assert (purge[DEV]["status"], purge[PROD]["status"]) == ("PASS", "FAIL")
    assert purge[DEV]["fingerprint"] != purge[PROD]["fingerprint"]
    assert purge[PROD]["fingerprint"] == fingerprint("KV-REC-003", PROD)
    assert {f["resource"]["name"] for f in findings if f["rule_id"] in RULES} == {"kv-app"}
    assert "coverage: complete" in result.stderr


def test_baseline_from_dev_does_not_suppress_prod(tmp_path: Path) -> None:
    baseline, out = tmp_path / "baseline.json", tmp_path / "r.json"
    created = _scan(ENVS, tmp_path / "dev.json", "envs/dev", "--baseline-create", str(baseline), fail_on="none")
    assert created.returncode == 0, created.stderr
    result = _scan(ENVS, out, "envs", "--baseline", str(baseline))
    assert result.returncode == 1, result.stderr
    failing = [f for f in _findings(out) if f["status"] == "FAIL" and f["rule_id"] in RULES]
    assert {(f["rule_id"], f["resource"]["id"], _active(f)) for f in failing} == {
        ("KV-LOG-001", DEV, True),
        ("KV-LOG-001", PROD, False),
        ("KV-NET-001", PROD, False),
        ("KV-REC-003", PROD, False),
    }


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_base_flags_a_new_prod_vault_with_a_dev_name(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "envs" / "dev").mkdir(parents=True)
    shutil.copy(ENVS / "envs" / "dev" / "main.tf", repo / "envs" / "dev" / "main.tf")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "dev")
    # The pull request adds prod: the same address and vault name, badly configured.
    (repo / "envs" / "prod").mkdir()
    shutil.copy(ENVS / "envs" / "prod" / "main.tf", repo / "envs" / "prod" / "main.tf")
    out = tmp_path / "r.json"
    result = _scan(repo, out, "envs", "--diff-base", "HEAD")
    assert result.returncode == 1, result.stderr
    failing = [f for f in _findings(out) if f["status"] == "FAIL" and f["rule_id"] in RULES]
    assert {(f["rule_id"], f["resource"]["id"], _active(f)) for f in failing} == {
        ("KV-LOG-001", DEV, True),  # failing at HEAD already: pre-existing
        ("KV-LOG-001", PROD, False),
        ("KV-NET-001", PROD, False),
        ("KV-REC-003", PROD, False),
    }


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_diff_base_from_a_subdirectory_keeps_fingerprints(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ENVS / "envs", repo / "infra" / "envs")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "envs")
    out = tmp_path / "r.json"
    # Run from inside the repository, below its root: units are relative to infra/envs.
    result = _scan(repo / "infra" / "envs", out, ".", "--diff-base", "HEAD")
    assert result.returncode == 0, result.stderr
    failing = [f for f in _findings(out) if f["status"] == "FAIL"]
    assert failing and all(f["suppression"]["kind"] == "baseline" and _active(f) for f in failing)
    assert {f["resource"]["id"] for f in failing if f["rule_id"] == "KV-REC-003"} == {f"/subscriptions/iac~prod{VAULT}"}


def test_diagnostic_setting_counts_only_in_its_own_template(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = _scan(FIX, out, "arm")
    assert result.returncode == 1, result.stderr
    logging = {
        (f["resource"]["id"], f["location"]["file"], f["status"])
        for f in _findings(out)
        if f["rule_id"] == "KV-LOG-001"
    }
    assert logging == {
        (
            "/subscriptions/iac~arm%2flogged.json/resourcegroups/iac/providers/microsoft.keyvault/vaults/kv-a",
            "arm/logged.json",
            "PASS",
        ),
        (
            "/subscriptions/iac~arm%2fsilent.json/resourcegroups/iac/providers/microsoft.keyvault/vaults/kv-a",
            "arm/silent.json",
            "FAIL",
        ),
    }


def test_a_literal_key_uri_joins_the_one_vault_its_host_names_even_from_another_unit() -> None:
    """A vault name is a globally unique DNS label, so a literal URI names that vault wherever
    it is written (scanner.iac.crossunit); two units declaring the name would leave it unjoined."""
    loaded = load_sources([str(FIX / "consumers")], root=FIX)
    assert loaded.errors == []
    keys = "/subscriptions/iac~consumers%2fkeys/resourcegroups/rg-keys/providers/microsoft.keyvault/vaults/kv-keys"
    refs = loaded.inventory.tables["key_references"]
    refs = refs.astype(object).where(refs.notna(), None)
    assert sorted(zip(refs["consumer_name"], refs["vault_id"], refs["key_id"], refs["pinned"], strict=True)) == [
        ("des-local", keys, f"{keys}/keys/cmk", True),
        ("des-remote", keys, f"{keys}/keys/cmk", True),
    ]


def test_bicep_entry_files_are_units_and_modules_are_not() -> None:
    loaded = load_sources([str(FIX / "bicep")], root=FIX)
    assert loaded.errors == []
    vaults = loaded.inventory.tables["vaults"]
    # modules/vault.bicep is used by two.bicep, so it is not an entry of its own; its vault is
    # shown at the call in two.bicep and declared in the module.
    got = zip(vaults["id"], vaults["sku"], vaults["file"], vaults["declared_file"], strict=True)
    assert [(i, sku, file, declared if isinstance(declared, str) else None) for i, sku, file, declared in got] == [
        (
            "/subscriptions/iac~bicep%2fone.bicep/resourcegroups/iac/providers/microsoft.keyvault/vaults/kv-same",
            "premium",
            "bicep/one.bicep",
            None,
        ),
        (
            "/subscriptions/iac~bicep%2ftwo.bicep/resourcegroups/iac/providers/microsoft.keyvault/vaults/kv-same",
            "standard",
            "bicep/two.bicep",
            "bicep/modules/vault.bicep",
        ),
    ]


def test_literal_ids_join_across_units() -> None:
    loaded = load_sources([str(FIX / "literal")], root=FIX)
    assert loaded.errors == []
    (vault,) = loaded.inventory.tables["vaults"].to_dict("records")
    assert (vault["id"], vault["file"]) == (LITERAL_VAULT, "literal/vault/azuredeploy.json")
    (grant,) = loaded.inventory.tables["role_assignments"].to_dict("records")
    assert (grant["scope"], grant["vault_id"], grant["file"]) == (
        LITERAL_VAULT,
        LITERAL_VAULT,
        "literal/access/main.tf",
    )
    # Its name is the Terraform address (Azure picks the GUID), so its own id carries the unit.
    assert grant["id"] == (
        f"{LITERAL_VAULT}/providers/microsoft.authorization/roleassignments/"
        "azurerm_role_assignment.literal~literal%2faccess"
    )


def test_a_literal_vault_declared_twice_is_an_input_error(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(FIX / "literal" / "vault" / "azuredeploy.json", tmp_path / name / "azuredeploy.json")
    loaded = load_sources([str(tmp_path)], root=tmp_path)
    assert [str(e) for e in loaded.errors] == [
        f"b/azuredeploy.json:17: declares {LITERAL_VAULT}, already declared in a/azuredeploy.json:17; "
        "only the first declaration is evaluated"
    ]
    assert list(loaded.inventory.tables["vaults"]["file"]) == ["a/azuredeploy.json"]


def test_fingerprints_are_stable_from_run_to_run_and_place_to_place(tmp_path: Path) -> None:
    runs = []
    for place in ("first", "second/nested"):
        copy = tmp_path / place
        shutil.copytree(ENVS, copy)
        for attempt in range(2):
            out = tmp_path / f"{place.replace('/', '-')}-{attempt}.json"
            assert _scan(copy, out, "envs").returncode == 1
            runs.append(sorted(f["fingerprint"] for f in _findings(out)))
    assert runs[0] and all(run == runs[0] for run in runs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "/subscriptions/iac/resourcegroups/iac/providers/x/y/kv",
            "/subscriptions/iac~u%2fv/resourcegroups/iac/providers/x/y/kv",
        ),
        ("/subscriptions/iac", "/subscriptions/iac~u%2fv"),
        (
            "/subscriptions/0000/resourcegroups/iac/providers/x/y/kv",
            "/subscriptions/0000/resourcegroups/iac~u%2fv/providers/x/y/kv",
        ),
        (
            "/subscriptions/0000/resourcegroups/rg/providers/x/y/kv",
            "/subscriptions/0000/resourcegroups/rg/providers/x/y/kv",
        ),
        (
            "/subscriptions/0000/resourcegroups/rg/providers/x/y/kv-{uniquestring('/a/b')}/keys/k",
            "/subscriptions/0000/resourcegroups/rg/providers/x/y/kv-{uniquestring('/a/b')}~u%2fv/keys/k",
        ),
        ("/Subscriptions/IAC/resourceGroups/rg", "/Subscriptions/IAC~u%2Fv/resourceGroups/rg"),
        ("terraform:azurerm_key_vault_key.k", "terraform:u%2fv:azurerm_key_vault_key.k"),
        ("/providers/microsoft.management/managementgroups/mg", "/providers/microsoft.management/managementgroups/mg"),
        ("/", "/"),
        (None, None),
    ],
)
def test_qualify_id(value: str | None, expected: str | None) -> None:
    assert qualify_id(value, "u/v") == expected


def test_unit_paths_are_relative(tmp_path: Path) -> None:
    (tmp_path / "repo" / "infra").mkdir(parents=True)
    (tmp_path / "cwd").mkdir()
    assert unit_of(tmp_path / "repo" / "infra", tmp_path / "repo") == "infra"
    assert unit_of(tmp_path / "repo", tmp_path / "repo") == "."
    assert unit_of(tmp_path / "repo" / "infra", tmp_path / "cwd") == "../repo/infra"
