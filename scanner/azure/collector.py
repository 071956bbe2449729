"""The live scan: discovery, then every vault in parallel (paced), then consumers and usage.

Per vault: the ARM body (properties, access policies, private endpoints), diagnostic settings,
Azure RBAC, keys with every version, and for a managed HSM its local RBAC. A failed read
becomes a ``collection_errors`` row and the scan goes on. With ``--workers N`` the per-vault part
runs in worker processes (:mod:`scanner.azure.workers`) and this process merges their rows;
discovery, consumers and key usage are read here, once.

A vault that discovery listed but whose ARM GET answers 404 was deleted mid-scan. It is kept
as a collection error (status 404, every vault table affected) rather than dropped: the scan
cannot prove the vault is gone for good (a soft-deleted vault can be recovered), and a report
should not silently shrink.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.diagnostics import diagnostic_settings
from kvaudit.scanner.azure.discovery import ALL_VAULT_TABLES, Discovered, Discovery, discover, graph_query
from kvaudit.scanner.azure.faults import READ_FAILURES, ErrorLog, is_not_found
from kvaudit.scanner.azure.keys import KeyCollector
from kvaudit.scanner.azure.options import AzureOptions
from kvaudit.scanner.azure.progress import Progress
from kvaudit.scanner.azure.rbac import AzureRbacCollector, hsm_local_rbac
from kvaudit.scanner.azure.records import arm_parts, vault_records
from kvaudit.scanner.azure.references import (
    host_of,
    kql,
    merge_consumers,
    pins_by_host,
    reference_records,
    settings_consumers,
    settings_subscriptions,
)
from kvaudit.scanner.azure.session import AzureSession
from kvaudit.scanner.azure.shard import in_shard, select
from kvaudit.scanner.azure.usage import LOG_TABLES, key_usage
from kvaudit.scanner.azure.workers import run_workers, worker_count
from kvaudit.scanner.inventory import TABLES, Inventory, SourceInfo, frame, normalise_id

MGMT_API = API_VERSIONS["keyvault_mgmt"]


@dataclass
class VaultRows:
    """What scanning a set of vaults produced; picklable, so a worker process can return it.

    ``rows`` holds the vault rows, which the parent reads to resolve consumers and key usage;
    every other table comes as a typed frame (``frames``). A frame pickles to a fraction of
    the size of its rows as dicts, and the worker drops each table's dicts as soon as its frame
    exists, so neither the worker nor the parent ever holds a whole estate's rows as dicts.
    """

    rows: dict[str, list[dict[str, Any]]]
    errors: list[dict[str, Any]]
    workspaces: dict[str, dict[str, list[str]]]
    requests: int = 0
    frames: dict[str, Any] = field(default_factory=dict)


class Scan:
    """One process's share of a live scan: the rows, errors and log coverage it collected."""

    def __init__(self, session: AzureSession, options: AzureOptions, progress: Progress) -> None:
        self.session = session
        self.options = options
        self.progress = progress
        self.errors = ErrorLog()
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.rbac = AzureRbacCollector(session, self.errors)
        # Vault tasks in parallel: as many as requests in flight, so that the in-flight budget
        # stays busy while each vault waits out its own pacing window (a vault sends at most
        # its rate per second, so half as many vaults left the budget half idle at estate
        # scale). One slow vault still cannot hold every connection: the per-vault limiter
        # caps what it has in flight.
        self._vault_slots = asyncio.Semaphore(max(1, options.max_in_flight))
        # workspace -> vault id -> the tables that vault's events land in there
        self.workspaces: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.pins: dict[str, dict[str, set[str]]] = {}
        self.frames: dict[str, list[Any]] = defaultdict(list)  # tables as workers returned them

    async def discover(self) -> tuple[Discovery, list[dict[str, Any]]]:
        """The vaults in scope, and the key consumers (one Resource Graph query run meanwhile):
        the versions consumers pin are the only old versions whose material is read."""
        consumers = asyncio.create_task(self._consumers())
        found = await discover(self.session, self.options, self.errors)
        resources = await consumers
        subscriptions = [
            s for s in settings_subscriptions(resources, found.subscriptions) if in_shard(s, self.options.shard)
        ]
        listed = await settings_consumers(self.session, subscriptions, self.errors)
        return found, merge_consumers(resources, listed)

    async def scan_vaults(self, vaults: list[Discovered]) -> None:
        self.progress.start(len(vaults))
        # Managed HSMs first: they hold the most keys and the most sequential steps (key pages,
        # then local RBAC per key), so starting them last would leave them alone at the end,
        # each paced at its own vault rate while the rest of the request budget sits idle.
        ordered = sorted(vaults, key=lambda d: d.kind != "managed_hsm")
        await asyncio.gather(*(self._vault(d) for d in ordered))

    async def finish(self, resources: list[dict[str, Any]]) -> None:
        """Key usage of every vault read (by any worker) and the consumers of this shard."""
        vault_ids = [v["id"] for v in self.rows["vaults"]]
        for workspace in self.options.workspaces:
            for vid in vault_ids:  # how events reach a named workspace is unknown: read both tables
                self.workspaces[workspace][vid].update(LOG_TABLES)
        self.rows["key_usage"] = await key_usage(
            self.session, self.errors, {w: dict(c) for w, c in self.workspaces.items()}, self.options.usage_days
        )
        # Each consumer belongs to the shard of its own subscription, like the vaults.
        mine = [r for r in resources if in_shard(arm_parts(str(r.get("id") or ""))[0] or "", self.options.shard)]
        self.rows["key_references"] = self.resolve_references(mine)

    def absorb(self, part: VaultRows) -> None:
        """Add one worker's rows, frames, errors and workspace coverage to this scan."""
        for table, rows in part.rows.items():
            self.rows[table].extend(rows)
        for table, df in part.frames.items():
            self.frames[table].append(df)
        self.errors.rows.extend(part.errors)
        for workspace, coverage in part.workspaces.items():
            for vid, tables in coverage.items():
                self.workspaces[workspace][vid].update(tables)

    def take(self) -> VaultRows:
        """This scan's rows, errors and workspace coverage, handed to the parent process: the
        vault rows as dicts, every other table as a frame (built table by table, each table's
        dicts dropped once its frame exists)."""
        coverage = {w: {v: sorted(t) for v, t in c.items()} for w, c in self.workspaces.items()}
        frames = {name: frame(name, _unique(self.rows.pop(name))) for name in list(self.rows) if name != "vaults"}
        return VaultRows(dict(self.rows), self.errors.rows, coverage, frames=frames)

    def table(self, name: str) -> Any:
        """One table of the scan: this process's rows and the workers' frames, first row per id."""
        own = frame(name, _unique(self.rows.pop(name, [])))
        parts = [df for df in [*self.frames.pop(name, []), own] if len(df)]
        if len(parts) < 2:
            return parts[0] if parts else own
        import pandas as pd

        merged = pd.concat(parts, ignore_index=True)
        return merged[~merged["id"].duplicated(keep="first")].reset_index(drop=True)

    async def _vault(self, found: Discovered) -> None:
        async with self._vault_slots:
            try:
                await self._scan_vault(found)
            finally:
                self.progress.advance()

    async def _arm_body(self, found: Discovered) -> dict[str, Any] | None:
        if found.body is not None:
            return found.body
        client = self.session.keyvault_mgmt(found.subscription_id)
        operation = "vaults.get" if found.kind == "vault" else "managed_hsms.get"
        vid = normalise_id(found.id)
        try:
            if found.kind == "vault":
                model = await client.vaults.get(found.resource_group, found.name)
            else:
                model = await client.managed_hsms.get(found.resource_group, found.name)
        except READ_FAILURES as exc:
            gone = is_not_found(exc)
            self.errors.record(
                vid,
                operation,
                ALL_VAULT_TABLES,
                exc,
                vault_id=vid,
                api_version=MGMT_API,
                error="deleted after discovery: listed, then 404 on GET" if gone else None,
            )
            return None
        if model is None:  # ManagedHsms_Get answers 204 for an HSM that is gone
            self.errors.record(
                vid,
                operation,
                ALL_VAULT_TABLES,
                vault_id=vid,
                status_code=204,
                api_version=MGMT_API,
                error="deleted after discovery: listed, then 204 on GET",
            )
            return None
        return model.as_dict()

    async def _scan_vault(self, found: Discovered) -> None:
        body = await self._arm_body(found)
        if body is None:
            return
        records = vault_records(body, MGMT_API)
        for table, rows in records.items():
            self.rows[table].extend(rows)
        vault = records["vaults"][0]
        diag, azure_rbac, keys = await asyncio.gather(
            diagnostic_settings(self.session, self.errors, vault),
            self.rbac.for_vault(vault),
            self._keys(vault),
        )
        for setting, table in diag:
            self.rows["diagnostic_settings"].append(setting)
            if setting["workspace_id"]:
                self.workspaces[setting["workspace_id"]][vault["id"]].add(table)
        self.rows["role_assignments"].extend(azure_rbac)
        key_rows, version_rows = keys or ([], [])
        self.rows["keys"].extend(key_rows)
        self.rows["key_versions"].extend(version_rows)
        if vault["kind"] == "managed_hsm" and vault["uri"]:
            names = [k["name"] for k in key_rows]
            self.rows["role_assignments"].extend(await hsm_local_rbac(self.session, self.errors, vault, names))
        if vault["uri"]:
            await self.session.close_data_plane(vault["uri"])

    async def _keys(self, vault: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        if not vault["uri"]:
            self.errors.record(
                vault["id"],
                "keys.list",
                ("keys", "key_versions"),
                vault_id=vault["id"],
                error="the vault has no data-plane URI",
                api_version=MGMT_API,
            )
            return None
        pins = self.pins.get(host_of(vault["uri"]), {})
        return await KeyCollector(self.session, self.errors, vault, pins).collect()

    async def _consumers(self) -> list[dict[str, Any]]:
        try:
            resources = await graph_query(self.session, self.options, kql())
        except READ_FAILURES as exc:
            self.errors.record(
                "resourcegraph:key-consumers",
                "resource_graph.resources",
                ("key_references",),
                exc,
                api_version=API_VERSIONS["resource_graph"],
            )
            return []
        return resources

    def resolve_references(self, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        hosts = {host_of(v["uri"]): v["id"] for v in self.rows["vaults"] if v.get("uri")}
        return reference_records(resources, hosts)


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First row per id: an assignment inherited from a subscription reaches every vault in it,
    and each vault's ``list_for_scope`` returns it again."""
    seen: dict[Any, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row.get("id"), row)
    return list(seen.values())


def _scoped(options: AzureOptions) -> AzureOptions:
    """Options whose subscription list is already cut down to this shard."""
    if options.subscriptions and options.shard:
        return replace(options, subscriptions=select(options.subscriptions, options.shard))
    return options


async def scan(options: AzureOptions, progress: Progress) -> Inventory:
    scoped = _scoped(options)
    cloud = scoped.resolved_cloud()
    scope: dict[str, Any] = {
        "source": "azure",
        "cloud": cloud.name,
        "arm_endpoint": cloud.arm_endpoint,
        "tenant": scoped.tenant,
        "management_group": scoped.management_group,
        "shard": str(scoped.shard) if scoped.shard else None,
        "subscriptions": list(scoped.subscriptions),
    }
    if options.subscriptions and not scoped.subscriptions:
        # Every named subscription belongs to other shards: scan nothing rather than everything.
        return Inventory.from_records({}, sources=[SourceInfo("azure", cloud.arm_endpoint)], scope=scope)
    async with AzureSession(scoped) as session:
        job = Scan(session, scoped, progress)
        try:
            found, resources = await job.discover()
            pins = pins_by_host(resources)
            workers = worker_count(scoped.workers, len(found.vaults))
            requests = 0  # made by worker processes
            if workers == 1:
                job.pins = pins
                await job.scan_vaults(found.vaults)
            else:
                for part in await run_workers(scoped, found.vaults, pins, workers):
                    job.absorb(part)
                    requests += part.requests
            await job.finish(resources)
        finally:
            progress.stop()
        scope.update(found.meta(), requests=session.pacer.requests + requests, workers=workers)
    # Table by table, dropping each table's row dicts once its frame exists: at a million key
    # versions the dicts and the frames together would double the peak memory.
    tables = {"collection_errors": frame("collection_errors", job.errors.rows)}
    for name in [*job.rows, *(t for t in job.frames if t not in job.rows)]:
        tables[name] = job.table(name)
    return Inventory(
        tables={t: tables[t] if t in tables else frame(t) for t in TABLES},
        sources=[SourceInfo("azure", cloud.arm_endpoint)],
        scope=scope,
    )
