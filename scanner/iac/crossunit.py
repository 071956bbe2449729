"""Join a key reference written in one unit to the key another unit declares.

A consumer is often configured far from the key it uses: a Kubernetes manifest or Helm values
file names ``https://<vault>.vault.azure.net`` and a key name, while the vault and the key are
declared in Terraform or a second Bicep entry file. Each unit is mapped on its own
(:mod:`scanner.iac.identity`), so such a reference has a vault host and a key name but no vault
or key id, and every rule that judges it by its key's profile (KV-TIER-004, KV-VER-001) cannot.

Vault and Managed HSM names are globally unique DNS labels within a cloud, so the host of a
data-plane URI names one vault. This pass joins a reference to the key only when the inventory
holds exactly one vault that can have that host and that vault declares the key by that name:
two units declaring the same vault name (dev and prod) are ambiguous, and a key the inventory
does not declare may well exist in Azure, so in both cases the reference stays unjoined and what
depends on its key stays UNKNOWN rather than being guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kvaudit.scanner.iac.common import synth_key_id
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.lazy import lazy
from kvaudit.scanner.reference import kind_for_host

if TYPE_CHECKING:
    import pandas as pd
else:
    pd = lazy("pandas")


def _host_of(uri: object) -> str | None:
    if not isinstance(uri, str) or not uri:
        return None
    try:
        host = urlsplit(uri).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def _vault_index(vaults: pd.DataFrame) -> tuple[dict[str, set[str]], dict[tuple[str, str], set[str]]]:
    """Vault ids by exact data-plane host, and by (name, kind) for vaults whose URI IaC leaves
    unwritten (Bicep and ARM do not state it; the name and the resource type fix it)."""
    by_host: dict[str, set[str]] = {}
    by_name: dict[tuple[str, str], set[str]] = {}
    for vault_id, name, kind, uri in zip(vaults["id"], vaults["name"], vaults["kind"], vaults["uri"], strict=True):
        if not isinstance(vault_id, str):
            continue
        host = _host_of(uri)
        if host is not None:
            by_host.setdefault(host, set()).add(vault_id)
        elif isinstance(name, str) and isinstance(kind, str) and "{" not in name and "$" not in name:
            by_name.setdefault((name.lower(), kind), set()).add(vault_id)
    return by_host, by_name


def _candidates(host: str, by_host: dict[str, set[str]], by_name: dict[tuple[str, str], set[str]]) -> set[str]:
    label = host.split(".", 1)[0]
    return by_host.get(host, set()) | by_name.get((label, kind_for_host(host)), set())


def _declared_keys(keys: pd.DataFrame) -> set[str]:
    return {k.lower() for k in keys["id"] if isinstance(k, str)}


def join_references_by_host(inventory: Inventory) -> Inventory:
    """The inventory with each unjoined key reference tied to the one declared key it names."""
    refs = inventory.tables["key_references"]
    if refs.empty:
        return inventory
    open_rows = (refs["vault_id"].isna() & refs["vault_host"].notna() & refs["key_name"].notna()).to_numpy(dtype=bool)
    if not open_rows.any():
        return inventory
    by_host, by_name = _vault_index(inventory.tables["vaults"])
    declared = _declared_keys(inventory.tables["keys"])
    vault_ids: list[object] = list(refs["vault_id"])
    key_ids: list[object] = list(refs["key_id"])
    changed = False
    for position in _positions(open_rows):
        host, key_name = str(refs["vault_host"].iat[position]), str(refs["key_name"].iat[position])
        found = _candidates(host.lower(), by_host, by_name)
        if len(found) != 1:
            continue  # not declared here, or two units declare that name: ambiguous
        (vault_id,) = found
        key_id = synth_key_id(vault_id, key_name)
        if key_id not in declared:
            continue  # the vault is declared but not this key: it may exist in Azure
        vault_ids[position], key_ids[position] = vault_id, key_id
        changed = True
    if not changed:
        return inventory
    joined = refs.copy()
    joined["vault_id"] = pd.array(vault_ids, dtype=refs["vault_id"].dtype)
    joined["key_id"] = pd.array(key_ids, dtype=refs["key_id"].dtype)
    tables = {**inventory.tables, "key_references": joined}
    return Inventory(
        tables=tables, sources=inventory.sources, scope=inventory.scope, suppressions=inventory.suppressions
    )


def _positions(mask: Iterable[bool]) -> Iterable[int]:
    return (index for index, hit in enumerate(mask) if hit)
