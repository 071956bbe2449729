"""The unread meta-test: no rule gives PASS, FAIL or NOT_APPLICABLE about a resource it could not see.

For every table and every scope that table can be read at (a vault, a Managed HSM, a resource
group, a subscription, a management group, a Log Analytics workspace), the demo estate is
rebuilt with that table's rows under the scope removed and a ``collection_errors`` row saying so.
Then, for every rule:

- if the engine recorded that the rule read the table, each result about a resource under the
  scope is UNKNOWN;
- if it did not, the rule's results are exactly those of the complete estate (a rule whose
  results move when a table's rows go did read that table, and the record missed it).

"About a resource under the scope" is worked out here from the results alone: the result's
resource, its vault, or the scope a grant reaches lies under the unread scope (or, for a grant,
above it); for a workspace, the vaults whose diagnostic settings send there.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from kvaudit.rules.engine import Evaluation, evaluate
from kvaudit.scanner.demo import demo_inventory, demo_policy_path
from kvaudit.scanner.inventory import TABLES, Inventory
from kvaudit.scanner.policy import Policy, parse
from tests.rules.builders import NOW, azure_role

MG = "/providers/Microsoft.Management/managementGroups/mg-northwind"

#: Columns that place a row of each table somewhere in the ARM hierarchy.
LOCATION: dict[str, tuple[str, ...]] = {
    "vaults": ("id",),
    "keys": ("id", "vault_id"),
    "key_versions": ("id", "key_id", "vault_id"),
    "role_assignments": ("id", "vault_id", "scope"),
    "access_policies": ("id", "vault_id"),
    "diagnostic_settings": ("id", "target_id"),
    "private_endpoints": ("id", "target_id"),
    "key_references": ("id", "consumer_id", "vault_id", "key_id"),
    "key_usage": ("id", "key_id", "vault_id"),
}
#: Scope kinds each table is read at; audit events are the only rows read from workspaces.
KINDS = ("vault", "managed_hsm", "resource_group", "subscription", "management_group")
SCOPES_OF = {table: KINDS + (("workspace",) if table == "key_usage" else ()) for table in LOCATION}


def _norm(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.lower()
    return text if text == "/" else text.rstrip("/")


def _under(child: str | None, parent: str) -> bool:
    return child is not None and (parent == "/" or child == parent or child.startswith(parent + "/"))


def _hits(values: pd.Series, places: list[str], either_way: bool = False) -> pd.Series:
    """Which ids lie under one of ``places`` (or, ``either_way``, above one)."""
    ids = [_norm(v) for v in values.astype(object).tolist()]
    found = [any(_under(v, p) or (either_way and v is not None and _under(p, v)) for p in places) for v in ids]
    return pd.Series(found, index=values.index, dtype=bool)


def _base() -> Inventory:
    """The demo estate plus grants inherited from a resource group and a management group."""
    inv = demo_inventory()
    vaults = inv.tables["vaults"]
    payments = vaults.loc[vaults["name"].eq("kv-nw-payments").to_numpy(dtype=bool), "id"].iloc[0]
    rg = payments.split("/providers/")[0]
    signer = "5e0f7a11-2222-4b6c-8d9e-000000000012"
    extra = Inventory.from_records(
        {
            "role_assignments": [
                azure_role(rg, "rg-crypto-user", "Key Vault Crypto User", signer, source="demo"),
                azure_role(MG, "mg-admin", "Key Vault Administrator", signer, source="demo"),
            ]
        }
    )
    return inv.merge(extra)


BASE = _base()
POLICY: Policy = parse(demo_policy_path().read_text(encoding="utf-8"), "policy.toml")


def _scopes(inv: Inventory) -> dict[str, str]:
    vaults = inv.tables["vaults"]
    vault = vaults.loc[vaults["name"].eq("kv-nw-payments").to_numpy(dtype=bool), "id"].iloc[0]
    hsm = vaults.loc[vaults["name"].eq("hsm-nw-platform").to_numpy(dtype=bool), "id"].iloc[0]
    workspace = _norm(inv.tables["diagnostic_settings"]["workspace_id"].dropna().iloc[0])
    assert workspace is not None
    return {
        "vault": vault,
        "managed_hsm": hsm,
        "resource_group": vault.split("/providers/")[0],
        "subscription": "/".join(hsm.split("/")[:3]),
        "management_group": "/",
        "workspace": workspace,
    }


SCOPES = _scopes(BASE)


def _logging_to(inv: Inventory, workspace: str) -> set[str]:
    ds = inv.tables["diagnostic_settings"]
    return {str(_norm(t)) for t, w in zip(ds["target_id"], ds["workspace_id"], strict=True) if _norm(w) == workspace}


def _located_under(inv: Inventory, table: str, kind: str) -> pd.Series:
    """Rows of ``table`` under the scope of ``kind``."""
    df = inv.tables[table]
    scope = SCOPES[kind]
    places = [scope] if kind != "workspace" else sorted(_logging_to(inv, scope))
    hit = pd.Series(False, index=df.index)
    for column in LOCATION[table]:
        hit |= _hits(df[column], places)
    return hit


def _unread(table: str, kind: str) -> Inventory:
    """The base estate with ``table`` unread under the scope of ``kind``."""
    scope = SCOPES[kind]
    tables = {name: df.copy() for name, df in BASE.tables.items()}
    tables[table] = tables[table][~_located_under(BASE, table, kind).to_numpy(dtype=bool)].reset_index(drop=True)
    error = {
        "id": MG if kind == "management_group" else scope,
        "vault_id": scope if kind in ("vault", "managed_hsm") else None,
        "operation": f"{table}.list",
        "affects": [table],
        "status_code": 403,
        "error": "Forbidden",
    }
    tables["collection_errors"] = Inventory.from_records({"collection_errors": [error]}).tables["collection_errors"]
    return Inventory(tables=tables, sources=BASE.sources, scope=BASE.scope)


def _about(results: pd.DataFrame, kind: str, inv: Inventory) -> pd.Series:
    """Results about a resource under the scope of ``kind``."""
    scope = SCOPES[kind]
    places = [scope] if kind != "workspace" else sorted(_logging_to(inv, scope))
    hit = pd.Series(False, index=results.index)
    for column in ("resource_id", "vault_id"):
        hit |= _hits(results[column], places)
    if "reach" in results:
        hit |= _hits(results["reach"], places, either_way=True)
    if kind in ("vault", "managed_hsm", "resource_group", "subscription", "workspace"):
        return hit
    return pd.Series(True, index=results.index)  # a management group holds the whole estate


def _by_rule(evaluation: Evaluation) -> dict[str, list[tuple[str, str]]]:
    return {
        o.rule.id: sorted(zip(o.results["resource_id"].astype(str), o.results["status"].astype(str), strict=True))
        for o in evaluation.outcomes
    }


COMPLETE = _by_rule(evaluate(BASE, POLICY, now=NOW))
CASES = [(table, kind) for table in LOCATION for kind in SCOPES_OF[table]]


def test_every_table_is_covered() -> None:
    assert set(LOCATION) == set(TABLES) - {"collection_errors"}


@pytest.mark.parametrize(("table", "kind"), CASES, ids=[f"{t}@{k}" for t, k in CASES])
def test_no_verdict_about_unread_data(table: str, kind: str) -> None:
    inv = _unread(table, kind)
    evaluation = evaluate(inv, POLICY, now=NOW)
    assert [(o.rule.id, o.error) for o in evaluation.outcomes if o.error] == []
    readers = 0
    for outcome in evaluation.outcomes:
        results = outcome.results
        if table not in outcome.reads.tables:
            assert (
                _by_rule(Evaluation([outcome], evaluation.profiles, NOW, POLICY))[outcome.rule.id]
                == (COMPLETE[outcome.rule.id])
            ), f"{outcome.rule.id} changed without reading {table}"
            continue
        readers += 1
        about = _about(results, kind, inv).to_numpy(dtype=bool)
        verdicts = results[about & results["status"].isin(["PASS", "FAIL", "NOT_APPLICABLE"]).to_numpy(dtype=bool)]
        assert verdicts.empty, (outcome.rule.id, verdicts[["resource_name", "status"]].to_dict("records"))
        assert (about & results["status"].eq("UNKNOWN").to_numpy(dtype=bool)).any(), outcome.rule.id
    assert readers, f"no rule reads {table}"
