"""A key reference in one unit joins the key another unit declares, only when that is certain."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kvaudit.scanner.iac.crossunit import join_references_by_host
from kvaudit.scanner.inventory import Inventory

HSM = "/subscriptions/iac~main.tf/resourcegroups/rg/providers/microsoft.keyvault/managedhsms/signing-hsm"
KV = "/subscriptions/iac~kv.bicep/resourcegroups/iac/providers/microsoft.keyvault/vaults/app-kv"
KV_PROD = "/subscriptions/iac~prod.bicep/resourcegroups/iac/providers/microsoft.keyvault/vaults/app-kv"


def _vault(vault_id: str, name: str, kind: str, uri: str | None = None) -> dict[str, Any]:
    return {"id": vault_id, "name": name, "kind": kind, "uri": uri}


def _key(vault_id: str, name: str) -> dict[str, Any]:
    return {"id": f"{vault_id}/keys/{name}", "vault_id": vault_id, "name": name}


def _ref(host: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"kubernetes:deploy.yaml/{host}/{key}",
        "consumer_id": "kubernetes:deploy.yaml",
        "vault_host": host,
        "key_name": key,
        "key_uri": f"https://{host}/keys/{key}",
        **extra,
    }


def _joined(vaults: list[dict], keys: list[dict], refs: list[dict]) -> list[tuple[Any, Any]]:
    inventory = Inventory.from_records({"vaults": vaults, "keys": keys, "key_references": refs})
    out = join_references_by_host(inventory).tables["key_references"]
    return [(_value(v), _value(k)) for v, k in zip(out["vault_id"], out["key_id"], strict=True)]


def _value(cell: Any) -> Any:
    return None if pd.isna(cell) else cell


def test_a_manifest_reference_joins_the_key_a_terraform_unit_declares_by_its_uri() -> None:
    vaults = [_vault(HSM, "signing-hsm", "managed_hsm", "https://signing-hsm.managedhsm.azure.net/")]
    got = _joined(vaults, [_key(HSM, "bootstrap")], [_ref("signing-hsm.managedhsm.azure.net", "bootstrap")])
    assert got == [(HSM, f"{HSM}/keys/bootstrap")]


def test_a_vault_without_a_written_uri_is_found_by_its_name_and_kind() -> None:
    got = _joined([_vault(KV, "app-kv", "vault")], [_key(KV, "cmk")], [_ref("app-kv.vault.azure.net", "cmk")])
    assert got == [(KV, f"{KV}/keys/cmk")]


def test_the_host_s_kind_must_match_the_vault_s() -> None:
    got = _joined([_vault(KV, "app-kv", "vault")], [_key(KV, "cmk")], [_ref("app-kv.managedhsm.azure.net", "cmk")])
    assert got == [(None, None)]


def test_two_units_declaring_the_same_vault_name_leave_the_reference_unjoined() -> None:
    vaults = [_vault(KV, "app-kv", "vault"), _vault(KV_PROD, "app-kv", "vault")]
    keys = [_key(KV, "cmk"), _key(KV_PROD, "cmk")]
    assert _joined(vaults, keys, [_ref("app-kv.vault.azure.net", "cmk")]) == [(None, None)]


def test_a_key_the_vault_does_not_declare_is_not_invented() -> None:
    got = _joined([_vault(KV, "app-kv", "vault")], [_key(KV, "cmk")], [_ref("app-kv.vault.azure.net", "other")])
    assert got == [(None, None)]


def test_a_vault_whose_name_is_unknown_joins_nothing() -> None:
    unknown = KV.replace("app-kv", "{parameters('name')}")
    got = _joined(
        [_vault(unknown, "{parameters('name')}", "vault")], [_key(unknown, "cmk")], [_ref("x.vault.azure.net", "cmk")]
    )
    assert got == [(None, None)]


def test_a_reference_its_own_unit_already_joined_is_left_as_it_is() -> None:
    mine = "/subscriptions/iac~other/resourcegroups/iac/providers/microsoft.keyvault/vaults/app-kv"
    refs = [_ref("app-kv.vault.azure.net", "cmk", vault_id=mine, key_id=f"{mine}/keys/cmk")]
    got = _joined([_vault(KV, "app-kv", "vault")], [_key(KV, "cmk")], refs)
    assert got == [(mine, f"{mine}/keys/cmk")]
