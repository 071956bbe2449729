"""A finding on a resource declared in a module is shown at the module call in the scanned root.

Terraform (a root calling a local module that calls another, with for_each), Bicep (an entry file
calling a module that loops over another) and ARM (a nested deployment with an inline template)
each give the outermost call in the root as the location, the module path, and the resource's own
file and line as the declaration (SARIF ``relatedLocations``). A resource of the root itself is
unchanged, and fingerprints do not depend on where the call is.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest

from kvaudit.reports.model import build_report
from kvaudit.reports.renderers import get_renderer
from kvaudit.reports.renderers.sarif import to_sarif
from kvaudit.reports.schema import validate_report
from kvaudit.rules.engine import evaluate
from kvaudit.scanner.sources import load_sources
from tests.reports.test_sarif_schema import _official_schema, github_problems

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "modules"
NOW = pd.Timestamp("2026-11-23T00:00:00Z")


def _report(root: Path, unit: str) -> dict[str, Any]:
    loaded = load_sources([str(root / unit)], root=root)
    assert [str(e) for e in loaded.errors] == []
    evaluation = evaluate(loaded.inventory, now=NOW)
    started = NOW.to_pydatetime().astimezone(UTC)
    report = build_report(loaded.inventory, evaluation, started, started)
    validate_report(report)  # location.module and location.declared are in the report schema
    return report


def _open(report: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    return sorted(
        (f["rule_id"], f["resource"]["name"], f["status"], f["location"])
        for f in report["findings"]
        if f["status"] in ("FAIL", "UNKNOWN")
    )


def _at(file: str, line: int, module: str | None = None, declared: tuple[str, int] | None = None) -> dict[str, Any]:
    return {
        "file": file,
        "line": line,
        "module": module,
        "declared": {"file": declared[0], "line": declared[1]} if declared else None,
    }


TF_ROOT = _at("terraform/main.tf", 13)
TF_VAULT = _at("terraform/main.tf", 3, "module.kv", ("terraform/modules/key-vault/main.tf", 17))
TF_KEY = _at(
    "terraform/main.tf", 3, 'module.kv.module.keys["cmk"]', ("terraform/modules/key-vault/modules/key/main.tf", 18)
)
BICEP_ROOT = _at("bicep/main.bicep", 15)
BICEP_VAULT = _at("bicep/main.bicep", 4, "platform", ("bicep/modules/vault.bicep", 5))
BICEP_KEY = _at("bicep/main.bicep", 4, "platform.keys[0]", ("bicep/modules/key.bicep", 8))


def test_terraform_findings_in_nested_modules_are_at_the_outermost_call() -> None:
    assert _open(_report(FIX, "terraform")) == [
        ("KV-KEY-001", "kv-orders-prod/cmk", "FAIL", TF_KEY),
        ("KV-LIFE-001", "kv-orders-prod/cmk", "FAIL", TF_KEY),
        ("KV-LIFE-004", "kv-orders-prod/cmk", "FAIL", TF_KEY),
        ("KV-LOG-001", "kv-orders-local", "FAIL", TF_ROOT),
        ("KV-LOG-001", "kv-orders-prod", "FAIL", TF_VAULT),
        ("KV-NET-003", "kv-orders-local", "FAIL", TF_ROOT),
        ("KV-NET-003", "kv-orders-prod", "FAIL", TF_VAULT),
        ("KV-REC-003", "kv-orders-local", "FAIL", TF_ROOT),
        ("KV-REC-003", "kv-orders-prod", "FAIL", TF_VAULT),
    ]


def test_bicep_findings_in_nested_modules_are_at_the_outermost_call() -> None:
    assert _open(_report(FIX, "bicep")) == [
        ("KV-KEY-001", "kv-billing-prod/cmk", "FAIL", BICEP_KEY),
        ("KV-LIFE-001", "kv-billing-prod/cmk", "FAIL", BICEP_KEY),
        ("KV-LIFE-004", "kv-billing-prod/cmk", "FAIL", BICEP_KEY),
        ("KV-LOG-001", "kv-billing-local", "FAIL", BICEP_ROOT),
        ("KV-LOG-001", "kv-billing-prod", "FAIL", BICEP_VAULT),
        ("KV-NET-003", "kv-billing-local", "FAIL", BICEP_ROOT),
        ("KV-NET-003", "kv-billing-prod", "FAIL", BICEP_VAULT),
        ("KV-REC-003", "kv-billing-local", "FAIL", BICEP_ROOT),
        ("KV-REC-003", "kv-billing-prod", "FAIL", BICEP_VAULT),
    ]


def test_arm_nested_deployment_findings_are_at_the_deployment() -> None:
    nested = _at("arm/azuredeploy.json", 5, "shared-vault", ("arm/azuredeploy.json", 16))
    assert _open(_report(FIX, "arm")) == [
        ("KV-LOG-001", "kv-shared-prod", "FAIL", nested),
        ("KV-NET-003", "kv-shared-prod", "FAIL", nested),
        ("KV-REC-003", "kv-shared-prod", "FAIL", nested),
    ]


@pytest.mark.parametrize(
    ("unit", "rule", "name", "call", "declared"),
    [
        ("terraform", "KV-KEY-001", "kv-orders-prod/cmk", TF_KEY, "terraform/modules/key-vault/modules/key/main.tf"),
        ("bicep", "KV-KEY-001", "kv-billing-prod/cmk", BICEP_KEY, "bicep/modules/key.bicep"),
    ],
)
def test_sarif_relates_the_declaration_and_validates(unit: str, rule: str, name: str, call: dict, declared: str) -> None:
    report = _report(FIX, unit)
    log = to_sarif(report)
    validator = jsonschema.Draft7Validator(_official_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert [f"{e.json_path}: {e.message}" for e in validator.iter_errors(log)] == []
    assert github_problems(log) == []
    results = log["runs"][0]["results"]
    (result,) = [r for r in results if r["ruleId"] == rule and r["locations"][0]["logicalLocations"][0]["name"] == name]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": call["file"], "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": call["line"]},
    }
    line = call["declared"]["line"]
    assert result["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": declared, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": line},
            },
            "message": {"text": f"declared in {call['module']}"},
        }
    ]
    assert result["message"]["text"].endswith(f" (declared at [{declared}:{line}](1))")
    assert result["properties"]["kvaudit/module"] == call["module"]
    assert result["properties"]["kvaudit/source"] == unit
    # A resource of the root has no related location and no module.
    roots = [r for r in results if r["properties"]["kvaudit/module"] is None]
    assert roots and all("relatedLocations" not in r for r in roots)


def test_csv_carries_module_declaration_and_source() -> None:
    rows = list(csv.DictReader(io.StringIO(get_renderer("csv")(_report(FIX, "terraform")))))
    key = next(r for r in rows if r["rule_id"] == "KV-KEY-001")
    assert {k: key[k] for k in ("file", "line", "module", "declared_file", "declared_line", "source", "reach")} == {
        "file": "terraform/main.tf",
        "line": "3",
        "module": 'module.kv.module.keys["cmk"]',
        "declared_file": "terraform/modules/key-vault/modules/key/main.tf",
        "declared_line": "18",
        "source": "terraform",
        "reach": "",
    }
    local = next(r for r in rows if r["rule_id"] == "KV-REC-003" and r["resource_name"] == "kv-orders-local")
    assert (local["file"], local["line"], local["module"], local["declared_file"]) == ("terraform/main.tf", "13", "", "")


def test_moving_the_call_moves_the_location_not_the_fingerprint(tmp_path: Path) -> None:
    """Baselines, waivers and SARIF partialFingerprints key on rule + resource identity."""
    before = _report(FIX, "terraform")
    shutil.copytree(FIX / "terraform", tmp_path / "terraform")
    main = tmp_path / "terraform" / "main.tf"
    main.write_text("\n\n" + main.read_text(encoding="utf-8"), encoding="utf-8")
    after = _report(tmp_path, "terraform")

    def by_fingerprint(report: dict[str, Any]) -> dict[str, Any]:
        return {f["fingerprint"]: f["location"] for f in report["findings"] if f["status"] == "FAIL"}

    old, new = by_fingerprint(before), by_fingerprint(after)
    assert old.keys() == new.keys()
    assert {new[fp]["line"] - old[fp]["line"] for fp in old} == {2}
    assert {json.dumps(new[fp]["declared"]) for fp in old} == {json.dumps(old[fp]["declared"]) for fp in old}


REGISTRY_ROOT = """\
module "kv" {
  source  = "Azure/avm-res-keyvault-vault/azurerm"
  version = "0.9.1"

  name                = "kv-cached-prod"
  resource_group_name = "rg-cached"
}
"""


def _initialised(tmp_path: Path, manifest: str) -> Path:
    """A root whose registry module ``terraform init`` installed under .terraform/modules."""
    root = tmp_path / "env"
    installed = root / ".terraform" / "modules" / "kv"
    shutil.copytree(FIX / "terraform" / "modules" / "key-vault", installed)
    (root / "main.tf").write_text(REGISTRY_ROOT, encoding="utf-8")
    (root / ".terraform" / "modules" / "modules.json").write_text(manifest, encoding="utf-8")
    return root


MANIFEST = json.dumps(
    {
        "Modules": [
            {"Key": "", "Source": "", "Dir": "."},
            {
                "Key": "kv",
                "Source": "registry.terraform.io/Azure/avm-res-keyvault-vault/azurerm",
                "Version": "0.9.1",
                "Dir": ".terraform/modules/kv",
            },
        ]
    }
)


def test_a_registry_module_installed_by_init_is_read_and_shown_at_its_call(tmp_path: Path) -> None:
    _initialised(tmp_path, MANIFEST)
    vault = _at("env/main.tf", 1, "module.kv", ("env/.terraform/modules/kv/main.tf", 17))
    assert _open(_report(tmp_path, "env")) == [
        ("KV-LOG-001", "kv-cached-prod", "FAIL", vault),
        ("KV-NET-003", "kv-cached-prod", "FAIL", vault),
        ("KV-REC-003", "kv-cached-prod", "FAIL", vault),
    ]


def test_a_registry_module_without_init_is_not_guessed(tmp_path: Path) -> None:
    root = _initialised(tmp_path, MANIFEST)
    shutil.rmtree(root / ".terraform")
    assert _open(_report(tmp_path, "env")) == []


def test_a_broken_module_manifest_is_one_error_naming_the_file(tmp_path: Path) -> None:
    _initialised(tmp_path, '{"Modules": {"kv": 1}}')
    loaded = load_sources([str(tmp_path / "env")], root=tmp_path)
    assert [str(e) for e in loaded.errors] == [
        "env/.terraform/modules/modules.json: module manifest has no Modules list; installed modules are not read"
    ]
    assert len(loaded.inventory.tables["vaults"]) == 0
