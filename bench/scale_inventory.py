"""Generate a large synthetic inventory directly as columns (no per-row dicts), so that the
rule-evaluation benchmark measures the engine rather than the generator.

Default size: 5,000 vaults (100 of them Managed HSMs), 100,000 keys, 1,000,000 key versions,
200,000 role assignments, plus access policies, diagnostic settings, private endpoints and key
references in realistic proportions. Values are drawn from a seeded generator so that runs are
comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kvaudit.scanner.inventory import TABLES, Inventory, SourceInfo, conform


@dataclass(frozen=True)
class Scale:
    vaults: int = 5_000
    hsms: int = 100
    keys: int = 100_000
    versions: int = 1_000_000
    role_assignments: int = 200_000
    seed: int = 7


def _choice(rng: np.random.Generator, values: list, n: int, p: list[float] | None = None) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def generate(scale: Scale = Scale()) -> Inventory:
    rng = np.random.default_rng(scale.seed)
    nv = scale.vaults
    is_hsm = np.zeros(nv, dtype=bool)
    is_hsm[: scale.hsms] = True
    names = np.array([f"hsm-{i:05d}" if h else f"kv-{i:05d}" for i, h in enumerate(is_hsm)], dtype=object)
    kinds = np.where(is_hsm, "managed_hsm", "vault")
    provider = np.where(is_hsm, "managedhsms", "vaults")
    subs = np.array([f"{i % 40:08d}-0000-4000-8000-000000000000" for i in range(nv)], dtype=object)
    ids = np.array(
        [
            f"/subscriptions/{s}/resourcegroups/rg-{i % 300}/providers/microsoft.keyvault/{p}/{n}"
            for i, (s, p, n) in enumerate(zip(subs, provider, names, strict=True))
        ],
        dtype=object,
    )
    vaults = pd.DataFrame(
        {
            "id": ids,
            "display_id": ids,
            "name": names,
            "kind": kinds,
            "subscription_id": subs,
            "sku": np.where(is_hsm, "Standard_B1", _choice(rng, ["standard", "premium"], nv)),
            "soft_delete_enabled": rng.random(nv) > 0.02,
            "soft_delete_retention_days": _choice(rng, [7, 30, 90], nv, [0.1, 0.2, 0.7]),
            "purge_protection_enabled": rng.random(nv) > 0.3,
            "public_network_access": _choice(rng, ["Enabled", "Disabled", None], nv, [0.4, 0.55, 0.05]),
            "network_default_action": _choice(rng, ["Allow", "Deny"], nv),
            "network_bypass": _choice(rng, ["AzureServices", "None"], nv),
            "rbac_authorization_enabled": np.where(is_hsm, None, rng.random(nv) > 0.4),
            "security_domain_activated": np.where(is_hsm, rng.random(nv) > 0.05, None),
            "source": "bench",
        }
    )
    nk = scale.keys
    key_vault = rng.integers(0, nv, nk)
    key_names = np.array([f"key-{i:06d}" for i in range(nk)], dtype=object)
    key_ids = ids[key_vault] + "/keys/" + key_names
    vault_is_hsm = is_hsm[key_vault]
    kty = np.where(
        vault_is_hsm,
        _choice(rng, ["RSA-HSM", "EC-HSM", "oct-HSM", "OKP-HSM"], nk),
        _choice(rng, ["RSA", "RSA-HSM", "EC", "EC-HSM"], nk),
    )
    curve = np.where(np.char.startswith(kty.astype(str), "EC"), _choice(rng, ["P-256", "P-384", "P-256K"], nk), None)
    curve = np.where(np.char.startswith(kty.astype(str), "OKP"), "Ed25519", curve)
    size = np.where(np.char.startswith(kty.astype(str), "RSA"), _choice(rng, [2048, 3072, 4096], nk), None)
    size = np.where(np.char.startswith(kty.astype(str), "oct"), 256, size)
    ops_sets = [
        ["sign", "verify"],
        ["wrapKey", "unwrapKey"],
        ["encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify"],
    ]
    key_ops = _choice(rng, ops_sets, nk)
    now = pd.Timestamp("2026-11-23T00:00:00Z")
    expires = pd.Series(now + pd.to_timedelta(rng.integers(-30, 900, nk), unit="D"))
    expires[rng.random(nk) < 0.3] = pd.NaT
    keys = pd.DataFrame(
        {
            "id": key_ids,
            "vault_id": ids[key_vault],
            "vault_name": names[key_vault],
            "name": key_names,
            "current_version": np.array([f"v{i:06d}-9" for i in range(nk)], dtype=object),
            "kty": kty,
            "key_size": size,
            "curve": curve,
            "key_ops": key_ops,
            "enabled": rng.random(nk) > 0.05,
            "expires": expires,
            "created": now - pd.Timedelta(days=400),
            "exportable": False,
            "rotation_policy_present": rng.random(nk) > 0.5,
            "rotation_actions": _choice(rng, [["Rotate", "Notify"], ["Notify"]], nk),
            "managed": False,
            "source": "bench",
        }
    )
    nver = scale.versions
    per_key = nver // nk
    version_key = np.repeat(np.arange(nk), per_key)
    ordinal = np.tile(np.arange(per_key), nk)
    version_names = np.char.add(
        np.char.add(np.char.add("v", np.char.zfill(version_key.astype(str), 6)), "-"), ordinal.astype(str)
    )
    version_names = np.where(
        ordinal == per_key - 1,
        np.char.add(np.char.add("v", np.char.zfill(version_key.astype(str), 6)), "-9"),
        version_names,
    ).astype(object)
    key_versions = pd.DataFrame(
        {
            "id": key_ids[version_key] + "/versions/" + version_names,
            "key_id": key_ids[version_key],
            "vault_id": ids[key_vault][version_key],
            "key_name": key_names[version_key],
            "version": version_names,
            "kty": kty[version_key],
            "enabled": rng.random(len(version_key)) > 0.3,
            "expires": now + pd.to_timedelta(rng.integers(-200, 700, len(version_key)), unit="D"),
            "created": now - pd.to_timedelta(rng.integers(0, 800, len(version_key)), unit="D"),
            "source": "bench",
        }
    )
    nra = scale.role_assignments
    hsm_idx = np.flatnonzero(is_hsm)
    local = rng.random(nra) < 0.5
    target = np.where(local, hsm_idx[rng.integers(0, len(hsm_idx), nra)], rng.integers(0, nv, nra))
    scope_local = _choice(rng, ["/", "/keys", "/keys/key-000001"], nra, [0.1, 0.2, 0.7])
    scope_azure = np.where(rng.random(nra) < 0.2, "/subscriptions/" + subs[target], ids[target])
    role_names = np.where(
        local,
        _choice(rng, ["Managed HSM Crypto User", "Managed HSM Crypto Officer", "Managed HSM Administrator"], nra),
        _choice(rng, ["Key Vault Crypto User", "Key Vault Administrator", "Owner", "Reader"], nra),
    )
    role_assignments = pd.DataFrame(
        {
            "id": np.char.add(
                np.char.add(ids[target].astype(str), "/roleassignments/ra-"), np.arange(nra).astype(str)
            ).astype(object),
            "plane": np.where(local, "managed_hsm", "azure"),
            "name": np.char.add("ra-", np.arange(nra).astype(str)).astype(object),
            "vault_id": ids[target],
            "scope": np.where(local, scope_local, scope_azure),
            "principal_id": np.char.add("p-", rng.integers(0, 20_000, nra).astype(str)).astype(object),
            "principal_type": _choice(
                rng, ["User", "ServicePrincipal", "Group", "Unknown"], nra, [0.3, 0.5, 0.15, 0.05]
            ),
            "role_name": role_names,
            "source": "bench",
        }
    )
    diag_vaults = np.flatnonzero(rng.random(nv) < 0.7)
    diagnostic_settings = pd.DataFrame(
        {
            "id": ids[diag_vaults] + "/providers/microsoft.insights/diagnosticsettings/audit",
            "target_id": ids[diag_vaults],
            "name": "audit",
            "logs": [[{"category": None, "category_group": "audit", "enabled": True}]] * len(diag_vaults),
            "workspace_id": "/subscriptions/x/resourcegroups/y/providers/microsoft.operationalinsights/workspaces/w",
            "source": "bench",
        }
    )
    pe_vaults = np.flatnonzero(rng.random(nv) < 0.5)
    private_endpoints = pd.DataFrame(
        {
            "id": ids[pe_vaults] + "/privateendpointconnections/pe",
            "target_id": ids[pe_vaults],
            "name": "pe",
            "connection_state": _choice(rng, ["Approved", "Pending"], len(pe_vaults), [0.9, 0.1]),
            "source": "bench",
        }
    )
    ap_vaults = np.flatnonzero((~is_hsm) & (rng.random(nv) < 0.4))
    access_policies = pd.DataFrame(
        {
            "id": ids[ap_vaults] + "/accesspolicies/app",
            "vault_id": ids[ap_vaults],
            "object_id": "app",
            "key_permissions": _choice(rng, [["get", "list", "sign"], ["all"], ["get", "purge"]], len(ap_vaults)),
            "source": "bench",
        }
    )
    nref = nk // 2
    ref_key = rng.integers(0, nk, nref)
    pinned = rng.random(nref) < 0.5
    key_references = pd.DataFrame(
        {
            "id": np.char.add("/consumers/c-", np.arange(nref).astype(str)).astype(object),
            "consumer_id": np.char.add("/consumers/c-", np.arange(nref).astype(str)).astype(object),
            "consumer_type": "Microsoft.Compute/diskEncryptionSets",
            "key_uri": key_ids[ref_key],
            "vault_id": ids[key_vault][ref_key],
            "key_id": key_ids[ref_key],
            "key_name": key_names[ref_key],
            "key_version": np.where(
                pinned, np.char.add(np.char.add("v", np.char.zfill(ref_key.astype(str), 6)), "-9"), None
            ),
            "pinned": pinned,
            "purpose": _choice(rng, ["wrap", "sign"], nref),
            "source": "bench",
        }
    )
    frames = {
        "vaults": vaults,
        "keys": keys,
        "key_versions": key_versions,
        "role_assignments": role_assignments,
        "diagnostic_settings": diagnostic_settings,
        "private_endpoints": private_endpoints,
        "access_policies": access_policies,
        "key_references": key_references,
    }
    tables = {name: conform(name, frames[name]) if name in frames else conform(name, pd.DataFrame()) for name in TABLES}
    return Inventory(tables=tables, sources=[SourceInfo("bench", f"synthetic {scale}")])
