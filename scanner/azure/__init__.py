"""Live Azure collection: Key Vaults and Managed HSMs read through the Azure SDK (async).

Importing this package is cheap: the Azure SDK is imported only when :func:`collect` runs, so
the CLI can add the ``--azure`` flags without slowing every IaC scan down.

Entry points:

- :func:`add_azure_arguments`, :func:`options_from_args` and :class:`AzureOptions` (options);
- :func:`collect` (one scan -> one :class:`~scanner.inventory.Inventory` with source "azure");
- :func:`merge_snapshots` (shard inventories -> one inventory).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from kvaudit.scanner.azure.options import AzureOptions, add_azure_arguments, options_from_args

if TYPE_CHECKING:
    from kvaudit.scanner.inventory import Inventory


def collect(options: AzureOptions, progress: bool | None = None) -> Inventory:
    """Scan live Azure and return the inventory; failed reads are ``collection_errors`` rows.

    ``progress``: None shows a bar only on an interactive terminal outside CI.
    """
    from kvaudit.scanner.azure.collector import scan
    from kvaudit.scanner.azure.eventloop import run
    from kvaudit.scanner.azure.progress import Progress, wanted

    return run(scan(options, Progress(wanted(progress))))


def merge_snapshots(inventories: Iterable[Inventory]) -> Inventory:
    """Merge the inventories of several shards (see :mod:`scanner.azure.shard`)."""
    from kvaudit.scanner.azure.shard import merge_snapshots as merge

    return merge(inventories)


__all__ = ["AzureOptions", "add_azure_arguments", "collect", "merge_snapshots", "options_from_args"]
