"""Verdicts that used to be made up from unread data, each with its exact result now.

Every case runs real rules through the engine over a small live-style inventory in which one
read failed (a ``collection_errors`` row) or one value was never observed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.engine import evaluate
from kvaudit.rules.model import Remediation, Rule, Severity
from tests.rules.builders import (
    NOW,
    RG,
    SUB,
    azure_role,
    diag,
    inventory,
    key,
    ref,
    results,
    vault,
    version,
)

KV, KV2 = vault("kv1"), vault("kv2")
WORKSPACE = "/subscriptions/x/resourcegroups/m/providers/microsoft.operationalinsights/workspaces/w"
OTHER_WORKSPACE = "/subscriptions/x/resourcegroups/m/providers/microsoft.operationalinsights/workspaces/other"
SIGNER = "5e0f7a11-0000-4000-8000-000000000001"


def unread(scope: str, *tables: str, vault_id: str | None = None) -> dict[str, Any]:
    """A collection_errors row: ``tables`` could not be read at ``scope``."""
    return {
        "id": scope,
        "vault_id": vault_id,
        "operation": f"{tables[0]}.list",
        "affects": list(tables),
        "status_code": 403,
        "error": "Forbidden",
    }


def gaps_of(rule_id: str, inv: Any) -> list[tuple[str, str, str | None]]:
    """(resource name, status, gap) per result, to show which gap a result names."""
    from kvaudit.rules.registry import get

    out = evaluate(inv, now=NOW, rules=[get(rule_id)]).outcomes[0].results
    gap = out["gap"] if "gap" in out else pd.Series(None, index=out.index)
    return sorted(zip(out["resource_name"], out["status"], gap.where(gap.notna(), None), strict=True))


# --- KV-ACC-004: grants inherited from a resource group or a subscription -----------------------


def _signer_estate(**extra: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """kv1 (RBAC) whose keys could not be listed; a signing consumer; a grant that decrypts."""
    return {
        "vaults": [KV],
        "key_references": [ref("signer", key(KV, "k"), "v2", "sign", principal=SIGNER)],
        "collection_errors": [unread(KV["id"], "keys", vault_id=KV["id"])],
        **extra,
    }


def test_acc004_resource_group_grant_over_unread_keys_is_unknown() -> None:
    inv = inventory(**_signer_estate(role_assignments=[azure_role(RG, "rg-user", "Key Vault Crypto User", SIGNER)]))
    assert gaps_of("KV-ACC-004", inv) == [
        (f"Key Vault Crypto User@{RG}", "UNKNOWN", "keys.list: Forbidden"),
        ("kv1", "UNKNOWN", "keys.list: Forbidden"),
    ]


def test_acc004_subscription_grant_over_unread_keys_is_unknown() -> None:
    scope = f"/subscriptions/{SUB}"
    inv = inventory(**_signer_estate(role_assignments=[azure_role(scope, "sub-user", "Key Vault Crypto User", SIGNER)]))
    assert results("KV-ACC-004", inv) == [
        (f"Key Vault Crypto User@{scope}", "UNKNOWN"),
        ("kv1", "UNKNOWN"),
    ]


def test_acc004_grant_elsewhere_keeps_its_verdict() -> None:
    """A grant on another resource group reaches none of the unread keys: its PASS stands."""
    other = f"/subscriptions/{SUB}/resourceGroups/other"
    inv = inventory(
        **_signer_estate(
            vaults=[KV, vault("kv9", id=f"{other}/providers/microsoft.keyvault/vaults/kv9".lower())],
            role_assignments=[azure_role(other, "other-user", "Key Vault Crypto User", SIGNER)],
        )
    )
    assert results("KV-ACC-004", inv) == [(f"Key Vault Crypto User@{other}", "PASS"), ("kv1", "UNKNOWN")]


# --- KV-VER-002: the vault holding the pinned key could not be read -------------------------------


def test_ver002_unread_vault_is_unknown_not_a_deleted_key() -> None:
    inv = inventory(
        vaults=[KV],
        key_references=[ref("pinned", key(KV, "k"), "v1", "wrap")],
        collection_errors=[unread(KV["id"], "keys", "key_versions", vault_id=KV["id"])],
    )
    assert gaps_of("KV-VER-002", inv) == [
        ("kv1", "UNKNOWN", "keys.list: Forbidden"),
        ("pinned", "UNKNOWN", "keys.list: Forbidden"),
    ]


def test_ver002_vault_missing_from_an_unread_subscription_is_unknown() -> None:
    inv = inventory(
        key_references=[ref("pinned", key(KV, "k"), "v1", "wrap")],
        collection_errors=[unread(f"/subscriptions/{SUB}", "vaults", "keys", "key_versions")],
    )
    assert results("KV-VER-002", inv) == [(SUB, "UNKNOWN"), ("pinned", "UNKNOWN")]


def test_ver002_a_key_really_gone_still_fails() -> None:
    inv = inventory(
        vaults=[KV],
        keys=[key(KV, "other")],
        key_versions=[version(key(KV, "other"), "v2")],
        key_references=[ref("pinned", key(KV, "k"), "v1", "wrap")],
    )
    assert results("KV-VER-002", inv) == [("pinned", "FAIL")]


# --- KV-VER-001: applicability from a profile that was never read ---------------------------------


def test_ver001_profile_of_an_unread_key_is_unknown() -> None:
    refs = [ref("wrapper", key(KV, "k"), None, "wrap"), ref("signer", key(KV, "s"), None, "sign")]
    # The key was not read (its vault's keys failed): whether its profile requires pinning is unknown.
    # The signer must pin whatever its key's profile says.
    inv = inventory(vaults=[KV], key_references=refs, collection_errors=[unread(KV["id"], "keys", vault_id=KV["id"])])
    assert results("KV-VER-001", inv) == [("kv1", "UNKNOWN"), ("signer", "UNKNOWN"), ("wrapper", "UNKNOWN")]
    # No failed read recorded, but the key is not in the inventory: still unknown, except where the
    # purpose alone decides.
    inv = inventory(vaults=[KV], key_references=refs)
    assert results("KV-VER-001", inv) == [("signer", "FAIL"), ("wrapper", "UNKNOWN")]


def test_ver001_read_key_without_pinning_profile_is_not_applicable() -> None:
    # An aes-kek key (inferred from oct-HSM): its profile does not require pinning. (A key with no
    # declared purpose has the default profile, which does, from consumers that do not auto-rotate.)
    k = key(KV, "k", kty="oct-HSM", key_size=256)
    inv = inventory(vaults=[KV], keys=[k], key_references=[ref("wrapper", k, None, "wrap")])
    assert results("KV-VER-001", inv) == [("wrapper", "NOT_APPLICABLE")]


# --- KV-LOG-003: diagnostic settings or audit events not read -------------------------------------


def test_log003_unread_diagnostic_settings_are_unknown() -> None:
    inv = inventory(
        vaults=[KV],
        collection_errors=[unread(KV["id"], "diagnostic_settings", vault_id=KV["id"])],
    )
    assert gaps_of("KV-LOG-003", inv) == [("kv1", "UNKNOWN", "diagnostic_settings.list: Forbidden")]


def test_log003_setting_with_unread_categories_is_unknown() -> None:
    inv = inventory(vaults=[KV, KV2], diagnostic_settings=[diag(KV, "d", logs=None)])
    assert results("KV-LOG-003", inv) == [("kv1", "UNKNOWN"), ("kv2", "NOT_APPLICABLE")]


def _usage(v: dict[str, Any], last_event: str | None, **props: Any) -> dict[str, Any]:
    row = {
        "id": f"{v['id']}/keys/k",
        "key_id": f"{v['id']}/keys/k",
        "vault_id": v["id"],
        "last_event": last_event,
        "window_days": 30,
        "event_count": 1 if last_event else 0,
        "source": "azure",
    }
    row.update(props)
    return row


def test_log003_reads_usage_whatever_log_table_filled_it() -> None:
    """Usage rows for one vault from AzureDiagnostics (old) and a resource-specific table
    (recent) are one vault's events: the newest decides."""
    inv = inventory(
        vaults=[KV],
        diagnostic_settings=[diag(KV, "d", workspace_id=WORKSPACE)],
        key_usage=[
            _usage(KV, "2026-09-01T00:00:00Z", id=f"{KV['id']}/keys/k#azurediagnostics"),
            _usage(KV, "2026-11-22T00:00:00Z", id=f"{KV['id']}/keys/k#azkvauditlogs"),
        ],
    )
    assert results("KV-LOG-003", inv) == [("kv1", "PASS")]


def test_log003_failed_usage_query_is_unknown_for_the_vaults_of_that_workspace() -> None:
    inv = inventory(
        vaults=[KV, KV2],
        diagnostic_settings=[diag(KV, "d", workspace_id=WORKSPACE), diag(KV2, "d", workspace_id=OTHER_WORKSPACE)],
        key_usage=[_usage(KV2, "2026-11-22T00:00:00Z")],
        collection_errors=[unread(WORKSPACE, "key_usage")],
    )
    assert results("KV-LOG-003", inv) == [("kv1", "UNKNOWN"), ("kv2", "PASS"), ("w", "UNKNOWN")]


def test_log003_failed_usage_query_for_one_vault_is_unknown() -> None:
    inv = inventory(
        vaults=[KV],
        diagnostic_settings=[diag(KV, "d", workspace_id=WORKSPACE)],
        collection_errors=[unread(KV["id"], "key_usage", vault_id=KV["id"])],
    )
    assert results("KV-LOG-003", inv) == [("kv1", "UNKNOWN")]


def test_log003_iac_vault_is_not_applicable_from_the_field_table() -> None:
    inv = inventory(vaults=[vault("kv1", source="bicep")], diagnostic_settings=[diag(KV, "d", source="bicep")])
    assert results("KV-LOG-003", inv) == [("kv1", "NOT_APPLICABLE")]


# --- a rule is judged on what it really read -----------------------------------------------------


def _reads_diagnostics(ctx: RuleContext) -> pd.DataFrame:
    """Passes every vault that has any diagnostic setting (it reads two tables)."""
    v = ctx.vaults
    targets = set(ctx.diagnostic_settings["target_id"].str.lower())
    return verdict(v, fail=~v["id"].isin(targets), evidence=[], resource_type="Microsoft.KeyVault/vaults")


UNDECLARED = Rule(
    id="KV-TEST-001",
    title="Reads diagnostic settings without saying so",
    severity=Severity.LOW,
    domain="test",
    resource_type="vault",
    rationale="r",
    remediation=Remediation("a", "b", "c"),
    check=_reads_diagnostics,
)


def test_the_table_a_rule_really_read_decides_its_gaps() -> None:
    inv = inventory(
        vaults=[KV, KV2],
        diagnostic_settings=[diag(KV, "d"), diag(KV2, "d")],
        collection_errors=[unread(KV["id"], "diagnostic_settings", vault_id=KV["id"])],
    )
    outcome = evaluate(inv, now=NOW, rules=[UNDECLARED]).outcomes[0]
    assert outcome.reads.tables == {"vaults", "diagnostic_settings"}
    assert sorted(zip(outcome.results["resource_name"], outcome.results["status"], strict=True)) == [
        ("kv1", "UNKNOWN"),
        ("kv2", "PASS"),
    ]


# --- a child's own FAIL stands; verdicts about the whole scope do not --------------------------


def test_unread_hsm_role_listing_keeps_a_read_assignment_fail_and_voids_the_count() -> None:
    from tests.rules.builders import HSM_ADMIN, HSM_USER, hsm_role

    hsm = vault("hsm1", hsm=True)
    inv = inventory(
        vaults=[hsm],
        role_assignments=[
            hsm_role(hsm, "root", "/", HSM_USER, "p1"),
            hsm_role(hsm, "scoped", "/keys/k", HSM_USER, "p2"),
            hsm_role(hsm, "admin", "/", HSM_ADMIN, "p3"),
        ],
        collection_errors=[unread(hsm["id"], "role_assignments", vault_id=hsm["id"])],
    )
    # The root assignment was read and is too broad whatever else is missing. A PASS or
    # NOT_APPLICABLE from a partial listing is not trusted; the HSM stands for unlisted rows.
    assert results("KV-ACC-001", inv) == [
        ("hsm1", "UNKNOWN"),
        ("hsm1:/:admin", "UNKNOWN"),
        ("hsm1:/:root", "FAIL"),
        ("hsm1:/keys/k:scoped", "UNKNOWN"),
    ]
    # How many administrators an HSM has cannot be counted from a partial listing.
    assert results("KV-ACC-002", inv) == [("hsm1", "UNKNOWN")]


def test_a_management_group_gap_reaches_every_vault() -> None:
    inv = inventory(
        vaults=[
            KV,
            vault(
                "far",
                subscription_id="other",
                id="/subscriptions/other/resourcegroups/r/providers/microsoft.keyvault/vaults/far",
            ),
        ],
        collection_errors=[unread("/providers/Microsoft.Management/managementGroups/root-mg", "private_endpoints")],
    )
    assert results("KV-NET-003", inv) == [("far", "UNKNOWN"), ("kv1", "UNKNOWN"), ("root-mg", "UNKNOWN")]
