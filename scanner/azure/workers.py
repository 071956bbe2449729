"""``--workers N``: vaults split across processes, each with its own event loop and pools.

One Python process saturates one core long before the service's limits are reached (every
request costs azure-core, aiohttp and TLS work), so the per-vault reads run in N processes. The
parent discovers (Resource Graph: its limit is per caller, so one process asks), hands each
worker a share of the vaults, merges what they return, and then reads key usage and resolves
consumers over the whole result, so the snapshot is the same as with one worker.

How the service's budgets hold across workers, without any traffic between them per request:

- **Per vault**: each vault belongs to exactly one worker, so its whole budget (``--vault-rps``)
  lives in that worker's limiter, exactly as in a single process.
- **Per subscription (ARM)**: every worker gets ``--subscription-rps / N`` for every
  subscription, so the sum over workers never exceeds the budget. Vaults are dealt out round
  robin (Managed HSMs first), so each worker holds about 1/N of every subscription's vaults and
  uses its share evenly.
- **In flight**: ``--max-in-flight`` is split the same way, so the bound on open requests
  still holds for the scan as a whole.

Sharding across machines (``--shard``) is unchanged: it selects subscriptions before discovery,
and workers split what one shard discovered.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kvaudit.scanner.azure.options import AzureOptions

if TYPE_CHECKING:
    from kvaudit.scanner.azure.collector import VaultRows
    from kvaudit.scanner.azure.discovery import Discovered

#: A worker process costs about a second of CPU to start (imports); below this many vaults per
#: worker the default does not start more of them.
VAULTS_PER_WORKER = 25


def worker_count(requested: int | None, vaults: int) -> int:
    """Workers to use: as asked (at most one per vault), or by default one per core, but no
    more than one per :data:`VAULTS_PER_WORKER` vaults."""
    if requested is None:
        return max(1, min(os.cpu_count() or 1, vaults // VAULTS_PER_WORKER))
    return max(1, min(requested, vaults))


def worker_options(options: AzureOptions, workers: int) -> AzureOptions:
    """One worker's options: its share of the subscription and in-flight budgets."""
    return replace(
        options,
        subscription_rps=options.subscription_rps / workers,
        max_in_flight=max(1, math.ceil(options.max_in_flight / workers)),
        workers=1,
    )


def partition(vaults: list[Discovered], workers: int) -> list[list[Discovered]]:
    """Round robin, Managed HSMs first, so every worker gets a like share of each kind."""
    ordered = sorted(vaults, key=lambda d: (d.kind != "managed_hsm", d.id.lower()))
    return [ordered[i::workers] for i in range(workers)]


def _scan_share(options: AzureOptions, vaults: list[Discovered], pins: dict[str, Any]) -> VaultRows:
    """A worker process: its own event loop, session, pools and limiters."""
    from kvaudit.scanner.azure.eventloop import run

    return run(_scan(options, vaults, pins))


async def _scan(options: AzureOptions, vaults: list[Discovered], pins: dict[str, Any]) -> VaultRows:
    from kvaudit.scanner.azure.collector import Scan
    from kvaudit.scanner.azure.progress import Progress
    from kvaudit.scanner.azure.session import AzureSession

    async with AzureSession(options) as session:
        job = Scan(session, options, Progress(False))
        job.pins = pins
        await job.scan_vaults(vaults)
        part = job.take()
        part.requests = session.pacer.requests
        return part


async def run_workers(
    options: AzureOptions, vaults: list[Discovered], pins: dict[str, dict[str, set[str]]], workers: int
) -> list[VaultRows]:
    """Scan ``vaults`` in ``workers`` processes and return each one's rows."""
    shares = [s for s in partition(vaults, workers) if s]
    share_options = worker_options(options, len(shares))
    # spawn, not fork: a process with threads (a test's fake Azure, a credential's executor)
    # may hold a lock at fork time that the child then waits on forever.
    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    # One task per worker, and the worker exits as soon as it has handed its share over: a
    # worker kept alive until the last one finishes holds its whole share's memory while the
    # parent already holds the copy it sent (the two-worker peak went just over 1 GB).
    with ProcessPoolExecutor(max_workers=len(shares), mp_context=context, max_tasks_per_child=1) as pool:
        futures = [loop.run_in_executor(pool, _scan_share, share_options, share, pins) for share in shares]
        return list(await asyncio.gather(*futures))
