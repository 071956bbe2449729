"""Run the real collectors (real SDK clients, real HTTPS) against the local fake Azure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kvaudit.scanner.azure import AzureOptions, collect
from kvaudit.scanner.azure.clouds import resolve_cloud
from kvaudit.scanner.inventory import Inventory
from tests.fakeazure import FakeAzure, Faults, build_estate

#: Fast retries for tests; the backoff shape is the product's, only the factor is smaller.
FAST_RETRY = {"retry_backoff": 0.05, "retry_backoff_max": 2.0}


@dataclass
class Scanned:
    fake: FakeAzure
    inventory: Inventory
    seconds: float


def options_for(fake: FakeAzure, **overrides: Any) -> AzureOptions:
    cloud = resolve_cloud(
        "custom",
        arm_endpoint=fake.arm_endpoint,
        loganalytics_endpoint=fake.arm_endpoint,
        keyvault_dns_suffix="vault.azure.net",
        managedhsm_dns_suffix="managedhsm.azure.net",
    )
    return AzureOptions(cloud=cloud, ca_bundle=fake.ca_bundle, **{**FAST_RETRY, **overrides})


def scan(fake: FakeAzure, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Scanned:
    """One full scan with the fake's managed identity in the environment."""
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    inventory = collect(options_for(fake, **overrides), progress=False)
    return Scanned(fake, inventory, time.monotonic() - started)


@pytest.fixture(scope="module")
def estate() -> dict[str, Any]:
    return build_estate.default()


@pytest.fixture(scope="module")
def clean(estate: dict[str, Any]) -> Iterator[Scanned]:
    """The default estate scanned once without faults, shared by the read-only assertions."""
    with FakeAzure(estate, faults=Faults()) as fake, pytest.MonkeyPatch.context() as mp:
        yield scan(fake, mp)
