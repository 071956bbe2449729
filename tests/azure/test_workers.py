"""``workers=N``: the vaults split across processes give the same inventory as one process."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from kvaudit.scanner.azure.discovery import Discovered
from kvaudit.scanner.azure.options import AzureOptions
from kvaudit.scanner.azure.workers import partition, worker_count, worker_options
from tests.azure.conftest import scan
from tests.azure.expected_inventory import canonical, vault_ports
from tests.fakeazure import FakeAzure, Faults, build_estate


def _vault(name: str, kind: str = "vault") -> Discovered:
    return Discovered(id=f"/subscriptions/s/resourcegroups/rg/providers/x/{name}", kind=kind,
                      subscription_id="s", resource_group="rg", name=name)  # fmt: skip


def test_worker_count() -> None:
    assert worker_count(4, 3) == 3  # never more workers than vaults
    assert worker_count(2, 100) == 2
    assert worker_count(None, 10) == 1  # the default starts no process for a small estate
    assert worker_count(None, 10_000) >= 1


def test_budgets_are_split_so_their_sum_holds() -> None:
    base = AzureOptions(subscription_rps=20.0, max_in_flight=32, vault_rps=50.0)
    share = worker_options(base, 3)
    assert (share.subscription_rps * 3, share.max_in_flight, share.vault_rps, share.workers) == (20.0, 11, 50.0, 1)


def test_partition_deals_hsms_first_round_robin() -> None:
    vaults = [_vault(f"kv-{i}") for i in range(5)] + [_vault(f"hsm-{i}", "managed_hsm") for i in range(2)]
    shares = partition(vaults, 2)
    assert [[d.name for d in s] for s in shares] == [
        ["hsm-0", "kv-0", "kv-2", "kv-4"],
        ["hsm-1", "kv-1", "kv-3"],
    ]


def test_two_workers_equal_one(monkeypatch: pytest.MonkeyPatch) -> None:
    now = 1_790_000_000
    estate = build_estate.default(now)
    with FakeAzure(estate, faults=Faults()) as fake:
        one = scan(fake, monkeypatch, workers=1)
        before = len(fake.requests)
        two = scan(fake, monkeypatch, workers=2)
        ports = vault_ports(fake, estate)
        first, requests = fake.requests[:before], fake.requests[before:]
    assert two.inventory.scope["workers"] == 2 and one.inventory.scope["workers"] == 1
    got, expected = (json.dumps(canonical(s.inventory, now, ports), sort_keys=True) for s in (two, one))
    assert got == expected
    # each vault's data plane was read by one worker only: one 401 challenge per vault host
    challenges = Counter(r.target for r in requests if r.plane == "vault" and r.status == 401)
    assert set(challenges.values()) == {1} and len(challenges) == 8
    # the same data-plane reads, each made once
    assert _reads(requests) == _reads(first)
    assert set(_reads(requests).values()) == {1}


def _reads(requests: list[Any]) -> Counter[tuple[str, str, str]]:
    """Successful data-plane reads by vault, path and query."""
    return Counter(
        (r.target, r.path, json.dumps(r.query, sort_keys=True))
        for r in requests
        if r.plane == "vault" and r.status == 200
    )
