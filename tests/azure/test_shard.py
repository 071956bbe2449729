"""Shard selection is a stable partition; merging shard inventories gives one inventory."""

from __future__ import annotations

from kvaudit.scanner.azure import merge_snapshots
from kvaudit.scanner.azure.options import Shard
from kvaudit.scanner.azure.shard import select, shard_of
from kvaudit.scanner.inventory import Inventory

SUBS = [f"{i:08d}-0000-4000-8000-{i:012d}" for i in range(40)]


def test_shards_partition_the_subscriptions() -> None:
    parts = [select(SUBS, Shard(i, 4)) for i in range(4)]
    assert sorted(s for p in parts for s in p) == sorted(SUBS)
    assert all(parts), "40 subscriptions over 4 shards leave no shard empty"
    assert select(SUBS, None) == SUBS


def test_shard_is_case_insensitive_and_stable() -> None:
    # SHA-256 based, so the value is the same on every machine and every run.
    assert shard_of(SUBS[3], 7) == shard_of(SUBS[3].upper(), 7)
    assert [shard_of(s, 5) for s in SUBS[:6]] == [shard_of(s, 5) for s in SUBS[:6]]


def test_merge_snapshots_combines_rows_and_scope() -> None:
    a = Inventory.from_records(
        {"vaults": [{"id": "/subscriptions/a/v1", "name": "v1"}]}, scope={"subscriptions": ["a"], "shard": "0/2"}
    )
    b = Inventory.from_records(
        {
            "vaults": [{"id": "/subscriptions/b/v2", "name": "v2"}],
            "collection_errors": [{"id": "x", "operation": "keys.list"}],
        },
        scope={"subscriptions": ["b"], "shard": "1/2"},
    )
    merged = merge_snapshots([a, b])
    assert list(merged.vaults["name"]) == ["v1", "v2"]
    assert len(merged.collection_errors) == 1
    assert merged.scope["subscriptions"] == ["a", "b"]
    assert merged.scope["shards"] == ["0/2", "1/2"]
    assert merged.scope["shard"] is None


def test_merge_resolves_key_references_across_shards() -> None:
    vault = "/subscriptions/b/resourcegroups/r/providers/microsoft.keyvault/vaults/kv"
    a = Inventory.from_records(
        {
            "key_references": [
                {
                    "id": "/subscriptions/a/c#/p",
                    "key_uri": "https://kv.vault.azure.net/keys/k1",
                    "vault_host": "kv.vault.azure.net",
                    "key_name": "K1",
                    "pinned": False,
                }
            ]
        }
    )
    b = Inventory.from_records({"vaults": [{"id": vault, "uri": "https://kv.vault.azure.net/"}]})
    [ref] = merge_snapshots([a, b]).key_references.to_dict(orient="records")
    assert (ref["vault_id"], ref["key_id"]) == (vault, vault + "/keys/k1")
