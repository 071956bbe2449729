"""The embedded demo estate, so that a new user sees a real report without an Azure account."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from scanner.inventory import Inventory


def demo_estate_path() -> Path:
    return Path(str(resources.files("scanner").joinpath("demo/estate.json")))


def demo_policy_path() -> Path:
    """The demo's policy: shows parameters, profile assignment and a dedicated HSM."""
    return Path(str(resources.files("scanner").joinpath("demo/policy.toml")))


def demo_inventory() -> Inventory:
    from scanner import snapshot

    inventory = snapshot.load(demo_estate_path())
    inventory.sources[0].location = "kvaudit demo estate (Northwind Robotics)"
    return inventory
