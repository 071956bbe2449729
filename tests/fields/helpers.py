"""Load a few lines of IaC written by a test, and read verdicts off the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from kvaudit.rules.engine import evaluate
from kvaudit.scanner.iac.arm import load_arm
from kvaudit.scanner.iac.bicep import load_bicep
from kvaudit.scanner.iac.terraform import load_terraform, load_terraform_plan
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.policy import parse

NOW = pd.Timestamp("2026-11-23T12:00:00Z")
#: The release keys of these tests are secure-key-release keys, whose profile requires claims.
POLICY = parse('[[profiles.assign]]\nvault = "hsm-skr"\nkey = "cvm-release"\nprofile = "skr-release"\n', "policy.toml")


def arm_template(resources: list[dict[str, Any]], **sections: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        **sections,
        "resources": resources,
    }


def load(kind: str, root: Path, name: str, text: str | dict[str, Any]) -> Inventory:
    """Write one IaC file under ``root`` and load it with the ``kind`` loader, expecting no errors."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if isinstance(text, str) else json.dumps(text, indent=2))
    loader = {"arm": load_arm, "bicep": load_bicep, "terraform": load_terraform, "plan": load_terraform_plan}[kind]
    inventory, errors = loader([path.parent if kind == "terraform" else path], root)
    assert [str(e) for e in errors] == []
    return inventory


def one(inventory: Inventory, table: str) -> dict[str, Any]:
    [row] = inventory.tables[table].to_dict("records")
    return {k: (None if not isinstance(v, list | dict) and pd.isna(v) else v) for k, v in row.items()}


def verdicts(inventory: Inventory, *rule_ids: str) -> dict[tuple[str, str], str]:
    """(rule id, resource name) -> status, for the rules asked about."""
    out: dict[tuple[str, str], str] = {}
    for outcome in evaluate(inventory, POLICY, now=NOW).outcomes:
        if outcome.rule.id in rule_ids:
            for name, status in zip(outcome.results["resource_name"], outcome.results["status"], strict=True):
                out[(outcome.rule.id, name)] = status
    return out
