"""Shared fixtures: one running fake (default estate) per module, and credentials that use it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from unittest import mock

import pytest

from tests.fakeazure import FakeAzure, build_estate

NOW = 1_750_000_000  # fixed so that planted expiries are stable across runs


@pytest.fixture(scope="module")
def estate() -> dict:
    return build_estate.default(now=NOW)


@pytest.fixture(scope="module")
def fake(estate: dict) -> Iterator[FakeAzure]:
    with FakeAzure(estate) as running:
        yield running


@pytest.fixture(scope="module")
def fake_env(fake: FakeAzure) -> Iterator[dict[str, str]]:
    """The process environment a collector subprocess would get (mock.patch.dict restores it)."""
    with mock.patch.dict(os.environ, fake.env()):
        yield fake.env()


@pytest.fixture
def credential(fake_env: dict[str, str]):
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True)
