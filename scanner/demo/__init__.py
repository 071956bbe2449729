"""The embedded demo estate, so that a new user sees a real report without an Azure account.

The estate is ``estate.toml``, a row file (see :mod:`scanner.rowdata`) written and commented by
hand; it is the only copy, read by ``kvaudit demo``, the tests and the benchmarks alike.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from kvaudit.scanner.inventory import Inventory

#: How the demo estate file is named in reports, instead of wherever the package is installed.
DEMO_LOCATION = "kvaudit demo estate (Northwind Robotics)"


def demo_estate_path() -> Path:
    return Path(str(resources.files("kvaudit.scanner").joinpath("demo/estate.toml")))


def demo_policy_path() -> Path:
    """The demo's policy: shows parameters, profile assignment and a dedicated HSM."""
    return Path(str(resources.files("kvaudit.scanner").joinpath("demo/policy.toml")))


def demo_inventory() -> Inventory:
    from kvaudit.scanner import rowdata

    inventory = rowdata.load(demo_estate_path())
    inventory.sources[0].location = DEMO_LOCATION
    return inventory
