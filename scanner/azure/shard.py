"""Split subscriptions across shards and merge the shards' inventories.

A shard is chosen by a stable hash of the subscription id, so every shard of a Kubernetes
indexed Job or CI matrix agrees on the split without talking to the others, and a subscription
stays in the same shard from night to night (so diffs between runs compare like with like).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pandas as pd

from kvaudit.scanner.azure.options import Shard
from kvaudit.scanner.inventory import Inventory


def shard_of(subscription_id: str, count: int) -> int:
    """The shard (0 .. count-1) that owns a subscription: SHA-256 of the lower-cased id mod count.

    Python's ``hash()`` is salted per process, so it cannot be used across machines.
    """
    digest = hashlib.sha256(subscription_id.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def in_shard(subscription_id: str, shard: Shard | None) -> bool:
    return shard is None or shard_of(subscription_id, shard.count) == shard.index


def select(subscriptions: Iterable[str], shard: Shard | None) -> list[str]:
    """The subscriptions of ``shard``, in their original order (all of them when unsharded)."""
    return [s for s in subscriptions if in_shard(s, shard)]


def merge_snapshots(inventories: Iterable[Inventory]) -> Inventory:
    """One inventory from the shards' inventories, for one report over the whole estate.

    Scope lists (subscriptions, shards) are concatenated; rows merge by id via Inventory.merge.
    """
    items = list(inventories)
    if not items:
        return Inventory()
    merged = items[0]
    for other in items[1:]:
        merged = merged.merge(other)
    subs: list[str] = []
    shards: list[str] = []
    for inv in items:
        subs += [s for s in inv.scope.get("subscriptions") or [] if s not in subs]
        shard = inv.scope.get("shard")
        if shard and shard not in shards:
            shards.append(shard)
    merged.tables["key_references"] = resolve_references(merged)
    merged.scope = {**merged.scope, "subscriptions": subs}
    if shards:
        merged.scope["shard"] = None
        merged.scope["shards"] = shards
    return merged


def resolve_references(inventory: Inventory) -> pd.DataFrame:
    """Key references whose vault was scanned by another shard, resolved against all vaults.

    Each shard resolves a consumer's key URI only against its own vaults; after the merge every
    vault is known, so the unresolved ones are matched by host again.
    """
    from kvaudit.scanner.azure.references import host_of

    refs = inventory.tables["key_references"].copy()
    vaults = inventory.tables["vaults"]
    hosts = {host_of(str(u)): v for u, v in zip(vaults["uri"], vaults["id"], strict=True) if pd.notna(u)}
    for i in refs.index[refs["vault_id"].isna()]:
        vault_id = hosts.get(str(refs.at[i, "vault_host"]))
        if vault_id is not None:
            refs.at[i, "vault_id"] = vault_id
            refs.at[i, "key_id"] = f"{vault_id}/keys/{str(refs.at[i, 'key_name']).lower()}"
    return refs
