"""Small estates and report queries shared by the gating tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from kvaudit.reports.model import fingerprint
from kvaudit.scanner import snapshot
from kvaudit.scanner.inventory import InlineSuppression, Inventory, SourceInfo

SUB = "0f0e0d0c-0000-4000-8000-00000000abcd"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
WORKSPACE = f"/subscriptions/{SUB}/resourceGroups/rg-mon/providers/Microsoft.OperationalInsights/workspaces/law"


def vault_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourcegroups/rg-app/providers/microsoft.keyvault/vaults/{name}"


def vault(name: str, **props: Any) -> dict[str, Any]:
    """A vault row that passes the vault rules unless ``props`` breaks something."""
    row = {
        "id": vault_id(name),
        "display_id": vault_id(name).replace("resourcegroups", "resourceGroups"),
        "name": name,
        "kind": "vault",
        "subscription_id": SUB,
        "resource_group": "rg-app",
        "location": "westeurope",
        "tenant_id": TENANT,
        "sku": "premium",
        "uri": f"https://{name}.vault.azure.net/",
        "soft_delete_enabled": True,
        "soft_delete_retention_days": 90,
        "purge_protection_enabled": True,
        "public_network_access": "Disabled",
        "network_default_action": "Deny",
        "network_bypass": "None",
        "ip_rules": [],
        "virtual_network_rules": [],
        "rbac_authorization_enabled": True,
        "tags": {},
        "source": "snapshot",
    }
    row.update(props)
    return row


def estate(vaults: list[dict[str, Any]], suppressions: list[InlineSuppression] = ()) -> Inventory:
    """Vaults plus, for each, an audit diagnostic setting and an approved private endpoint."""
    diagnostics = [
        {
            "id": f"{v['id']}/providers/microsoft.insights/diagnosticsettings/audit",
            "target_id": v["id"],
            "name": "audit",
            "logs": [{"category_group": "audit", "enabled": True}],
            "workspace_id": WORKSPACE,
        }
        for v in vaults
    ]
    endpoints = [
        {
            "id": f"{v['id']}/privateendpointconnections/pe",
            "target_id": v["id"],
            "name": "pe",
            "private_endpoint_id": f"/subscriptions/{SUB}/resourcegroups/rg-net/providers/microsoft.network/privateendpoints/pe-{v['name']}",
            "connection_state": "Approved",
            "provisioning_state": "Succeeded",
        }
        for v in vaults
    ]
    return Inventory.from_records(
        {"vaults": vaults, "diagnostic_settings": diagnostics, "private_endpoints": endpoints},
        sources=[SourceInfo("snapshot", "test")],
        suppressions=suppressions,
    )


def save_estate(path: Path, vaults: list[dict[str, Any]], suppressions: list[InlineSuppression] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save(estate(vaults, list(suppressions)), path)
    return path


def fp(rule_id: str, vault_name: str) -> str:
    return fingerprint(rule_id, vault_id(vault_name))


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def failing(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["fingerprint"]: f for f in report["findings"] if f["status"] == "FAIL"}


def unsuppressed(report: dict[str, Any]) -> set[str]:
    return {k for k, f in failing(report).items() if not (f["suppression"] and f["suppression"]["active"])}


def suppressed(report: dict[str, Any], kind: str | None = None) -> set[str]:
    return {
        k
        for k, f in failing(report).items()
        if f["suppression"] and f["suppression"]["active"] and kind in (None, f["suppression"]["kind"])
    }


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity, independent of the user's configuration."""
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=kvaudit tests",
            "-c",
            "user.email=tests@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout
