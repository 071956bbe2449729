"""Fixture loader shared by the Terraform tests."""

from __future__ import annotations

import pytest

from kvaudit.scanner.iac.terraform import load_terraform
from kvaudit.scanner.inventory import Inventory

from .helpers import FIXTURES, REPO


@pytest.fixture
def load():
    """Load one fixture directory and insist it loads without errors."""

    def _load(name: str) -> Inventory:
        inv, errors = load_terraform([FIXTURES / name], REPO)
        assert [str(e) for e in errors] == []
        return inv

    return _load
