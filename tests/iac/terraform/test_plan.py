"""The plan front-end gives the same inventory values as the HCL front-end."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kvaudit.scanner.iac.identity import ID_COLUMNS
from kvaudit.scanner.iac.terraform import is_terraform_plan, load_terraform, load_terraform_plan
from kvaudit.scanner.inventory import TABLES

from .helpers import FIXTURES, REPO, row

PLAN = FIXTURES / "plan_equivalent" / "plan.json"
#: The plan file is its own unit; the root module directory is the HCL front-end's unit.
PLAN_UNIT = "~examples%2fiac%2fterraform%2fplan_equivalent%2fplan.json"
HCL_UNIT = "~examples%2fiac%2fterraform%2fplan_equivalent"
KV = f"/subscriptions/iac{PLAN_UNIT}/resourcegroups/rg-fabrikam/providers/microsoft.keyvault/vaults/kv-fabrikam"


def test_plan_and_hcl_give_identical_values():
    hcl, hcl_errors = load_terraform([FIXTURES / "plan_equivalent"], REPO)
    plan, plan_errors = load_terraform_plan([PLAN], REPO)
    assert hcl_errors == [] and plan_errors == []
    compared = 0
    for table in TABLES:
        left = hcl.tables[table].drop(columns=["source", "file", "line"])
        right = plan.tables[table].drop(columns=["source", "file", "line"])
        for column in ID_COLUMNS[table]:
            right[column] = right[column].str.replace(PLAN_UNIT, HCL_UNIT, regex=False)
        pd.testing.assert_frame_equal(left, right, check_dtype=True)
        compared += len(left)
    assert compared == 6  # vault, key, diagnostic setting, role assignment and two consumers


def test_plan_rows_carry_plan_provenance():
    plan, _ = load_terraform_plan([PLAN], REPO)
    vault = row(plan, "vaults", id=KV)
    assert (vault["source"], vault["file"], vault["line"]) == (
        "terraform-plan",
        "examples/iac/terraform/plan_equivalent/plan.json",
        29,
    )
    # public_network_access_enabled=true was filled by the provider, not configured: a default.
    assert vault["defaults"] == ["public_network_access", "soft_delete_enabled", "soft_delete_retention_days"]
    assert [s.kind for s in plan.sources] == ["terraform-plan"]


def test_plan_unknown_references_resolve_through_configuration():
    plan, _ = load_terraform_plan([PLAN], REPO)
    des = row(plan, "key_references", consumer_name="des-fabrikam")
    assert (des["key_id"], des["pinned"], des["key_version"]) == (KV + "/keys/tde", True, None)
    tde = row(plan, "key_references", consumer_name="sql-fabrikam")
    assert (tde["key_uri"], tde["pinned"]) == ("https://kv-fabrikam.vault.azure.net/keys/tde", False)
    assert tde["consumer_id"] == (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-sql/providers/microsoft.sql/servers/sql-fabrikam"
    )
    assert tde["consumer_type"] == "Microsoft.Sql/servers/encryptionProtector"
    ra = row(plan, "role_assignments", plane="azure")
    assert (ra["scope"], ra["vault_id"]) == (KV, KV)


def test_is_terraform_plan():
    assert is_terraform_plan(json.loads(PLAN.read_text()))
    assert not is_terraform_plan({"$schema": "https://schema.management.azure.com/", "resources": []})
    assert not is_terraform_plan([1, 2])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format_version": "1.2"', "invalid JSON"),
        (b'{"resources": []}', "not a Terraform plan"),
        (b"\xff\xfe\x00", "invalid UTF-16"),
        (b"[" * 500 + b"]" * 500, "nesting deeper than"),
    ],
)
def test_bad_plan_files_are_one_line_errors_and_others_still_load(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    inv, errors = load_terraform_plan([bad, PLAN], tmp_path.parent)
    assert len(errors) == 1
    assert message in str(errors[0]) and "bad.json" in str(errors[0]) and "\n" not in str(errors[0])
    assert len(inv.tables["vaults"]) == 1
