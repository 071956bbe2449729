"""Inline suppressions from IaC: honoured with a reason, reported but not honoured without."""

from __future__ import annotations

import json
from pathlib import Path

from kvaudit.reports.model import fingerprint
from kvaudit.reports.schema import validate_report
from kvaudit.scanner.inventory import InlineSuppression
from tests.conftest import FIXED_NOW, run_kvaudit
from tests.gating.helpers import failing, fp, read, save_estate, suppressed, unsuppressed, vault, vault_id


def _scan(source: Path, out: Path, cwd: Path | None = None):
    return run_kvaudit("scan", str(source), "--fail-on", "low", "--now", FIXED_NOW, "-o", f"json:{out}", cwd=cwd)


def test_snapshot_inline_suppressions(tmp_path: Path) -> None:
    snap = save_estate(
        tmp_path / "estate.json",
        [
            vault("kv-a", purge_protection_enabled=False),
            vault("kv-b", purge_protection_enabled=False, public_network_access="Enabled"),
            vault("kv-c", purge_protection_enabled=False),
        ],
        [
            InlineSuppression("KV-REC-003", vault_id("kv-a").upper(), "Recreated nightly (CHG-1)", "a.tf", 3),
            InlineSuppression("*", vault_id("kv-b"), "Sandbox vault, no data (CHG-2)", "b.tf", 7),
            InlineSuppression("KV-REC-003", vault_id("kv-c"), None, "c.tf", 11),
            InlineSuppression("KV-NET-001", vault_id("kv-a"), "Fixed since", "a.tf", 4),
        ],
    )
    out = tmp_path / "r.json"
    result = _scan(snap, out)
    assert result.returncode == 1
    report = read(out)
    validate_report(report)
    assert suppressed(report, "inline") == {
        fp("KV-REC-003", "kv-a"),
        fp("KV-REC-003", "kv-b"),
        fp("KV-NET-001", "kv-b"),
    }
    assert unsuppressed(report) == {fp("KV-REC-003", "kv-c")}
    assert failing(report)[fp("KV-REC-003", "kv-c")]["suppression"] == {
        "kind": "inline",
        "active": False,
        "justification": None,
        "approver": None,
        "expires": None,
        "expired": False,
        "file": "c.tf",
        "line": 11,
    }
    assert failing(report)[fp("KV-REC-003", "kv-a")]["suppression"]["justification"] == "Recreated nightly (CHG-1)"
    register = report["exceptions"]
    assert [(i["rule_id"], i["honoured"], i["matched"]) for i in register["inline"]] == [
        ("KV-REC-003", True, 1),
        ("*", True, 2),
        ("KV-REC-003", False, 1),
        ("KV-NET-001", True, 0),
    ]
    assert register["suppressed"] == {"baseline": 0, "waiver": 0, "inline": 3}
    assert register["notices"] == [
        f"inline suppression of KV-REC-003 on {vault_id('kv-c')} (c.tf:11) has no reason and is not honoured",
        f"inline suppression of KV-NET-001 on {vault_id('kv-a')} (a.tf:4) matches no failing finding",
    ]


TERRAFORM = """\
# kvaudit:ignore KV-REC-003 Vault is recreated by the legacy pipeline (CHG-42)
resource "azurerm_key_vault" "legacy" {
  name                          = "kv-legacy"
  location                      = "westeurope"
  resource_group_name           = "rg-app"
  tenant_id                     = "72f988bf-86f1-41af-91ab-2d7cd011db47"
  sku_name                      = "premium"
  purge_protection_enabled      = false
  public_network_access_enabled = true # kvaudit:ignore KV-NET-001
}
"""


def _iac_id(name: str) -> str:
    """The id of a vault declared in the root module at the scan root (unit ".")."""
    return f"/subscriptions/iac~./resourcegroups/rg-app/providers/microsoft.keyvault/vaults/{name}"


def test_terraform_comments(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(TERRAFORM)
    out = tmp_path / "r.json"
    result = _scan(tmp_path / "main.tf", out, cwd=tmp_path)
    assert result.returncode == 1
    report = read(out)
    purge, public = fingerprint("KV-REC-003", _iac_id("kv-legacy")), fingerprint("KV-NET-001", _iac_id("kv-legacy"))
    assert suppressed(report) == {purge}
    assert failing(report)[purge]["suppression"] == {
        "kind": "inline",
        "active": True,
        "justification": "Vault is recreated by the legacy pipeline (CHG-42)",
        "approver": None,
        "expires": None,
        "expired": False,
        "file": "main.tf",
        "line": 1,
    }
    assert public in unsuppressed(report)
    assert failing(report)[public]["suppression"]["active"] is False
    notice = f"inline suppression of KV-NET-001 on {_iac_id('kv-legacy')} (main.tf:9) has no reason and is not honoured"
    assert report["exceptions"]["notices"] == [notice]
    assert f"kvaudit: notice: {notice}" in result.stderr.splitlines()


def test_arm_metadata(tmp_path: Path) -> None:
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "kv-arm",
                "location": "westeurope",
                "metadata": {"kvaudit": {"ignore": [{"rule": "KV-REC-003", "reason": "Test vault (CHG-7)"}]}},
                "properties": {
                    "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                    "sku": {"family": "A", "name": "premium"},
                    "enablePurgeProtection": False,
                },
            }
        ],
    }
    (tmp_path / "azuredeploy.json").write_text(json.dumps(template, indent=2))
    out = tmp_path / "r.json"
    _scan(tmp_path / "azuredeploy.json", out, cwd=tmp_path)
    report = read(out)
    purge = fingerprint(
        "KV-REC-003",
        "/subscriptions/iac~azuredeploy.json/resourcegroups/iac/providers/microsoft.keyvault/vaults/kv-arm",
    )
    assert purge in suppressed(report, "inline")
    assert failing(report)[purge]["suppression"]["justification"] == "Test vault (CHG-7)"
