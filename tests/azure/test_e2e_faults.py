"""Faults injected by the fake: throttling, server errors, 403, deletion mid-scan, truncated pages,
timeouts and a Resource Graph outage. The scan always completes; what it could not read becomes
``collection_errors`` rows naming the scope and the tables left incomplete."""

from __future__ import annotations

from typing import Any

import pytest

from kvaudit.scanner.azure import merge_snapshots
from kvaudit.scanner.azure.options import Shard
from tests.azure.conftest import Scanned, scan
from tests.azure.test_e2e_estate import rows
from tests.fakeazure import Delay, FakeAzure, Faults, RateLimit, ServerError, Throttle, build_estate
from tests.fakeazure.build_estate import SUB_DEV, SUB_PROD

VAULT_TABLES = [
    "access_policies",
    "diagnostic_settings",
    "key_usage",
    "key_versions",
    "keys",
    "private_endpoints",
    "role_assignments",
    "vaults",
]


@pytest.fixture(scope="module")
def estate() -> dict[str, Any]:
    return build_estate.default()


def run(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch, faults: Faults, **options: Any) -> Scanned:
    with FakeAzure(estate, faults=faults) as fake:
        return scan(fake, monkeypatch, **options)


def names(scanned: Scanned, table: str, column: str = "name") -> set[str]:
    return {r[column] for r in rows(scanned, table)}


def errors(scanned: Scanned) -> list[tuple[str, str, int | None]]:
    return sorted(
        (r["id"].rsplit("/", 1)[-1], r["operation"], r["status_code"]) for r in rows(scanned, "collection_errors")
    )


def test_throttling_with_retry_after_is_waited_out(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults(throttle=[Throttle(r"^GET kv-prod-payments/keys$", count=2, retry_after=1)])
    scanned = run(estate, monkeypatch, faults)
    assert errors(scanned) == []
    assert len(names(scanned, "keys")) == 14
    attempts = [r for r in scanned.fake.requests if r.route == "GET kv-prod-payments/keys" and r.status != 401]
    assert [r.status for r in attempts] == [429, 429, 200]
    assert attempts[1].time - attempts[0].time >= 0.95  # Retry-After: 1 honoured
    assert attempts[2].time - attempts[1].time >= 0.95


def test_throttling_of_a_read_after_the_challenge_is_waited_out(
    estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads after a host's first go straight to its pool (scanner.azure.dataplane); a 429 there
    is waited out by its Retry-After, then the pipeline's retries take over."""
    route = "GET kv-prod-payments/keys/payments-rsa/rotationpolicy"
    faults = Faults(throttle=[Throttle(f"^{route}$", count=2, retry_after=1)])
    scanned = run(estate, monkeypatch, faults)
    assert errors(scanned) == []
    key = next(r for r in rows(scanned, "keys") if r["name"] == "payments-rsa")
    assert key["rotation_policy_present"] is True
    attempts = [r for r in scanned.fake.requests if r.route == route]
    assert [r.status for r in attempts] == [429, 429, 200]
    assert attempts[1].time - attempts[0].time >= 0.95  # Retry-After: 1, on the direct path
    assert attempts[2].time - attempts[1].time >= 0.95  # and in the pipeline's retry


def test_a_401_on_a_later_read_is_handed_to_the_challenge_policy(
    estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 on a read after the first (a token the service no longer accepts) is never final on
    the direct path: the read goes to the Key Vault challenge policy, which answers it as the SDK
    does (here, by sending it again with its token)."""
    route = "GET kv-prod-payments/keys/payments-rsa/rotationpolicy"
    faults = Faults(errors=[ServerError(f"^{route}$", count=1, status=401)])
    scanned = run(estate, monkeypatch, faults)
    assert errors(scanned) == []
    attempts = [r.status for r in scanned.fake.requests if r.route == route]
    assert attempts[0] == 401 and attempts[-1] == 200


def test_throttling_without_retry_after_backs_off(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults(
        throttle=[
            Throttle(r"^GET mhsm-prod-kek/keys/skr-cvm/", count=3, retry_after=None),
            Throttle(r"^POST arm/providers/Microsoft.ResourceGraph", count=1, retry_after=None),
        ]
    )
    scanned = run(estate, monkeypatch, faults)
    assert errors(scanned) == []
    assert "skr-cvm" in names(scanned, "keys")
    assert scanned.inventory.scope["discovery"] == "resource-graph"  # the POST was retried, no fallback
    assert sum(1 for r in scanned.fake.requests if r.status == 429) == 4


def test_server_errors_are_retried(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults(
        errors=[
            ServerError(r"^GET arm/.*/vaults/kv-dev-01$", count=2, status=500),
            ServerError(r"^GET kv-dev-01/keys$", count=1, status=503),
        ]
    )
    scanned = run(estate, monkeypatch, faults)
    assert errors(scanned) == []
    assert "kv-dev-01" in names(scanned, "vaults") and "dev-key" in names(scanned, "keys")


def test_forbidden_vault_is_a_collection_error_and_others_complete(
    estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned = run(estate, monkeypatch, Faults(forbidden=["kv-prod-payments", "mhsm-prod-kek"]))
    assert errors(scanned) == [
        ("keys", "hsm.role_assignments.list", 403),  # the HSM's /keys scope
        ("kv-prod-payments", "keys.list", 403),
        ("mhsm-prod-kek", "hsm.role_assignments.list", 403),
        ("mhsm-prod-kek", "hsm.role_definitions.list", 403),
        ("mhsm-prod-kek", "keys.list", 403),
    ]
    by_op = {(r["vault_id"].rsplit("/", 1)[-1], r["operation"]): r for r in rows(scanned, "collection_errors")}
    denied = by_op[("kv-prod-payments", "keys.list")]
    assert denied["affects"] == ["key_versions", "keys"]
    assert denied["error"].startswith("HTTP 403")
    # the vault's ARM-side rows are complete; only its keys are missing
    assert "kv-prod-payments" in names(scanned, "vaults")
    keys = {r["vault_name"] for r in rows(scanned, "keys")}
    assert "kv-prod-payments" not in keys and "mhsm-prod-kek" not in keys
    assert {"kv-dev-01", "kv-dev-02", "mhsm-prod-signing", "kv-prod-apps", "kv-prod-legacy"} <= keys


def test_vault_deleted_between_list_and_get(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    gone = next(r["id"] for r in estate["resources"] if r["name"] == "kv-dev-01")
    scanned = run(estate, monkeypatch, Faults(vanish=[gone, "kv-prod-payments/keys/eth-signer"]))
    by_id = {r["id"]: r for r in rows(scanned, "collection_errors")}
    vault_error = by_id[gone.lower()]
    assert (vault_error["operation"], vault_error["status_code"], vault_error["affects"]) == (
        "vaults.get",
        404,
        VAULT_TABLES,
    )
    assert vault_error["error"] == "deleted after discovery: listed, then 404 on GET"
    assert "kv-dev-01" not in names(scanned, "vaults")
    key_error = [r for r in rows(scanned, "collection_errors") if r["id"].endswith("/keys/eth-signer")]
    assert [(r["operation"], r["status_code"], r["affects"]) for r in key_error] == [
        ("keys.list_versions", 404, ["key_versions", "keys"])
    ]
    assert "eth-signer" not in names(scanned, "keys") and "payments-rsa" in names(scanned, "keys")
    assert len(rows(scanned, "collection_errors")) == 2


def test_truncated_page_is_a_collection_error(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults(truncate=[r"^GET kv-prod-payments/keys$"], truncate_status=500)
    scanned = run(estate, monkeypatch, faults, retry_total=2)
    assert errors(scanned) == [("kv-prod-payments", "keys.list", 500)]
    assert "kv-prod-payments" not in {r["vault_name"] for r in rows(scanned, "keys")}


def test_timeout_is_a_collection_error(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults(delays=[Delay(r"^GET kv-dev-02/keys$", seconds=2.5)])
    scanned = run(estate, monkeypatch, faults, timeout=0.5, retry_total=1)
    [error] = rows(scanned, "collection_errors")
    assert (error["operation"], error["status_code"], error["vault_id"].rsplit("/", 1)[-1]) == (
        "keys.list",
        None,
        "kv-dev-02",
    )
    assert "timeout" in error["error"].lower() or "timed out" in error["error"].lower()
    assert "sql-tde" not in names(scanned, "keys") and "dev-key" in names(scanned, "keys")


def test_resource_graph_outage_falls_back_to_arm(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults(errors=[ServerError(r"^POST arm/providers/Microsoft.ResourceGraph", count=10_000, status=500)])
    scanned = run(estate, monkeypatch, faults, retry_total=1)
    assert scanned.inventory.scope["discovery"] == "arm"
    assert scanned.inventory.scope["subscriptions"] == [SUB_PROD, SUB_DEV]
    assert len(names(scanned, "vaults")) == 8 and len(names(scanned, "keys")) == 14
    # consumers are only discoverable through Resource Graph: that table is reported incomplete
    assert [(r["operation"], r["affects"]) for r in rows(scanned, "collection_errors")] == [
        ("resource_graph.resources", ["key_references"])
    ]
    listed = {r.path.rsplit("/", 1)[-1] for r in scanned.fake.requests if r.plane == "arm" and r.method == "GET"}
    assert {"vaults", "managedHSMs"} <= listed


def test_pacing_keeps_every_vault_under_its_rate(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake throttles any vault above 5 requests/s; at --vault-rps 4 it never has to."""
    faults = Faults(vault_rate=RateLimit(5, 1.0))
    scanned = run(estate, monkeypatch, faults, vault_rps=4)
    assert errors(scanned) == []
    assert [r.route for r in scanned.fake.requests if r.status == 429] == []
    per_vault: dict[str, list[float]] = {}
    for r in scanned.fake.requests:
        if r.plane == "vault":
            per_vault.setdefault(r.target, []).append(r.time)
    busiest = 0
    for times in per_vault.values():
        times.sort()
        for i, start in enumerate(times):
            busiest = max(busiest, sum(1 for t in times[i:] if t < start + 0.95))
    assert busiest <= 4
    assert max(len(t) for t in per_vault.values()) > 8  # the limit was actually exercised


def test_management_group_scope_and_paging(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAzure(estate, faults=Faults(), page_size=2) as fake:
        scanned = scan(fake, monkeypatch, management_group="mg-contoso")
    assert errors(scanned) == []
    assert len(names(scanned, "vaults")) == 8 and len(rows(scanned, "key_versions")) == 20
    assert len(rows(scanned, "key_references")) == 8
    # nextLinks were followed on every paged list: keys, versions, role assignments
    followed = [r for r in scanned.fake.requests if "$skiptoken" in r.query and r.status == 200]
    assert {r.path.rsplit("/", 1)[-1] for r in followed} >= {"keys", "versions", "roleAssignments"}
    assert scanned.inventory.scope["management_group"] == "mg-contoso"


def test_shards_partition_and_merge(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAzure(estate, faults=Faults()) as fake:
        shards = [scan(fake, monkeypatch, shard=Shard(i, 2)).inventory for i in range(2)]
        full = scan(fake, monkeypatch).inventory
    subs = [s.scope["subscriptions"] for s in shards]
    assert sorted(x for s in subs for x in s) == sorted([SUB_PROD, SUB_DEV])
    assert all(len(s) == 1 for s in subs)
    merged = merge_snapshots(shards)
    for table in ("vaults", "keys", "key_versions", "access_policies", "diagnostic_settings", "private_endpoints"):
        assert sorted(merged.tables[table]["id"]) == sorted(full.tables[table]["id"]), table
    assert sorted(merged.scope["shards"]) == ["0/2", "1/2"]
    # consumers are split by their own subscription; cross-shard key URIs resolve after the merge
    shard_refs = [set(s.tables["key_references"]["id"]) for s in shards]
    assert not shard_refs[0] & shard_refs[1]
    columns = ["id", "vault_id", "key_id", "pinned"]
    assert (
        merged.tables["key_references"][columns]
        .sort_values("id")
        .reset_index(drop=True)
        .equals(full.tables["key_references"][columns].sort_values("id").reset_index(drop=True))
    )


def test_subscription_pacing(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """ARM reads per subscription stay under --subscription-rps: the fake (6/s) never throttles."""
    scanned = run(estate, monkeypatch, Faults(arm_rate=RateLimit(6, 1.0)), subscription_rps=5)
    assert errors(scanned) == []
    assert [r.route for r in scanned.fake.requests if r.status == 429] == []
