"""Live collection at estate scale: ``kvaudit collect --azure`` against the local fake Azure.

    python -m bench.live_collection [--runs 3] [--workers-list 1,N] [--scale 1.0]
        [--vaults 1000 --keys 50 --versions 3 --hsms 20 --hsm-keys 200] [--latency 0.02]
        [--baseline-sample 0.1] [--no-baseline] [--max-in-flight N] [--vault-rps R] [--cpu-samples 300]

The fake runs in its own process (``python -m tests.fakeazure``) with the service's throttling:
per vault and HSM 4,000 requests per 10 s, per subscription 20,000 data-plane requests per 10 s
(five times the vault limit) and 250 ARM reads per 10 s, Resource Graph 15 per 5 s per caller;
every call waits ``--latency``. kvaudit runs as a subprocess with documented flags only and the
fake's managed-identity environment, once per run for each worker count of ``--workers-list``
(default: 1 and the number of cores).

Reported for each worker count: API calls by operation against the minimum the cost model needs
(derived from what was collected); the wall time against the **service-limit lower bound**
(computed from the estate and the documented limits alone, whatever kvaudit's flags) and against
kvaudit's own pacing bound; the scanner's CPU (user + system of the process and its workers),
CPU per call and calls per second per core; the fake's CPU over the same run (so a run held back
by the fake shows as such); 429s received and collection errors left; peak memory (the largest
sum of RSS over the scanner's process tree, sampled every 0.2 s). Then CPU per call for each
operation, measured in this process through kvaudit's own clients, and optionally a naive
baseline (:mod:`bench.naive_baseline`) on a sample of the same fake's vaults, scaled up.

Targets: scanner CPU at most 60 s, wall time at most 90 s on 2 cores, no 429 left unretried (no
collection errors), peak memory under 1 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, header, median

#: Service limits the fake enforces (see the module docstring); strings as the fake parses them.
SERVICE_LIMITS = {
    "--vault-rate": "4000/10",
    "--vault-subscription-rate": "20000/10",
    "--arm-rate": "250/10",
    "--graph-rate": "15/5",
}
KEYS_PAGE = 25


# -- the fake -----------------------------------------------------------------------------------


def start_fake(estate: str, latency: float, workdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ready_file = workdir / "ready.json"
    limits = [x for pair in SERVICE_LIMITS.items() for x in pair]
    command = [sys.executable, "-m", "tests.fakeazure", "--estate", estate, "--latency", str(latency), *limits]
    command += ["--no-record", "--ready-file", str(ready_file)]
    log = (workdir / "fake.log").open("wb")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not ready_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the fake did not start; see {workdir / 'fake.log'}")
        time.sleep(0.1)
    return proc, json.loads(ready_file.read_text(encoding="utf-8"))


def counters(ready: dict[str, Any]) -> dict[str, dict[str, int]]:
    context = ssl.create_default_context(cafile=ready["ca_bundle"])
    with urllib.request.urlopen(ready["arm_endpoint"] + "/_fakeazure/counters", context=context) as answer:
        return json.load(answer)["operations"]


def difference(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for op, statuses in after.items():
        for status, count in statuses.items():
            n = count - before.get(op, {}).get(status, 0)
            if n:
                out.setdefault(op, {})[status] = n
    return out


# -- the scanner --------------------------------------------------------------------------------


def kvaudit_command(ready: dict[str, Any], snapshot: Path, extra: list[str]) -> list[str]:
    """``kvaudit collect`` when that subcommand exists, else ``kvaudit scan --azure`` to JSON."""
    endpoint = ready["arm_endpoint"]
    flags = [
        "--cloud", "custom", "--arm-endpoint", endpoint, "--loganalytics-endpoint", endpoint,
        "--keyvault-dns-suffix", "vault.azure.net", "--managedhsm-dns-suffix", "managedhsm.azure.net",
        "--ca-bundle", ready["ca_bundle"], *extra,
    ]  # fmt: skip
    if (ROOT / "scanner" / "commands" / "collect.py").exists():
        return [sys.executable, "-m", "kvaudit.scanner", "collect", "--azure", "--snapshot", str(snapshot), *flags]
    return [
        sys.executable,
        "-m",
        "scanner",
        "scan",
        "--azure",
        *flags,
        "-o",
        f"json:{snapshot.with_suffix('.report.json')}",
    ]


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (the scanner and its workers), in MB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += _rss_kb(current)
        stack += _children(current)
    return total / 1024


def process_cpu(pid: int) -> float:
    """User + system seconds of a running process (the fake), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_kvaudit(
    ready: dict[str, Any], snapshot: Path, extra: list[str], workdir: Path, fake_pid: int
) -> dict[str, Any]:
    """One scanner process: wall seconds, exit code, CPU (with its workers, from ``wait4``),
    peak RSS of its process tree and the fake's CPU over the same interval."""
    env = {**os.environ, **ready["env"], "PYTHONPATH": str(ROOT)}
    err_path = workdir / "kvaudit.stderr"
    peak = [0.0]
    with err_path.open("wb") as err:
        fake_before = process_cpu(fake_pid)
        started = time.perf_counter()
        proc = subprocess.Popen(kvaudit_command(ready, snapshot, extra), cwd=ROOT, env=env, stdout=err, stderr=err)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], tree_rss_mb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        fake_cpu = process_cpu(fake_pid) - fake_before
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": seconds,
        "exit": proc.returncode,
        "peak_mb": max(peak[0], usage.ru_maxrss / 1024),
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "fake_cpu_s": fake_cpu,
        "stderr": err_path.read_text(errors="replace")[-1500:],
    }


# -- the cost model and the lower bound --------------------------------------------------------


def pages(n: int, size: int = KEYS_PAGE) -> int:
    """List calls for ``n`` items: an empty list still costs one call."""
    return max(1, math.ceil(n / size))


def cost_model(snapshot: Path, processes: int = 1) -> dict[str, Any]:
    """The minimum calls per operation for what was collected, and per vault / per subscription.

    Derived from the snapshot (the estate as read), so the model holds for any estate: per key
    its versions' pages, ``get_key`` for the current version and for each other version a
    consumer pins, one rotation policy; per vault one data-plane challenge. Each of the
    ``processes`` (the parent and its workers) gets its own identity tokens.
    """
    from kvaudit.scanner import snapshot as snapshots

    inv = snapshots.load(snapshot)
    vaults, keys, versions = inv.vaults, inv.keys, inv.key_versions
    keys_per_vault = keys.groupby("vault_id").size().to_dict()
    versions_per_key = versions.groupby("key_id").size()
    refs = inv.key_references
    pinned = refs[refs["pinned"].fillna(False).astype(bool) & refs["key_id"].notna()]
    current = dict(zip(keys["id"], keys["current_version"].astype("string").str.lower(), strict=True))
    extra_pins = {
        (k, str(v).lower()) for k, v in zip(pinned["key_id"], pinned["key_version"], strict=True)
        if k in current and str(v).lower() != current[k]
    }  # fmt: skip
    pins_per_vault: dict[str, int] = defaultdict(int)
    for key_id, _ in extra_pins:
        pins_per_vault[key_id.split("/keys/")[0]] += 1
    version_pages_per_vault = versions_per_key.map(pages).groupby(versions.groupby("key_id")["vault_id"].first()).sum()
    oct_hsm = keys[keys["kty"].astype("string").str.startswith("oct", na=False)]
    oct_per_vault = oct_hsm.groupby("vault_id").size().to_dict()
    azure_ra = inv.role_assignments[inv.role_assignments["plane"] == "azure"]
    definitions = azure_ra["role_definition_id"].dropna().str.rsplit("/", n=1).str[-1].str.lower().nunique()

    minimum: dict[str, int] = defaultdict(int)
    data_plane: dict[str, int] = {}  # vault id -> data-plane calls
    arm_per_sub: dict[str, int] = defaultdict(int)
    for vault in vaults.itertuples():
        vid, hsm = vault.id, vault.kind == "managed_hsm"
        n_keys = int(keys_per_vault.get(vid, 0))
        calls = {
            "keys.list": pages(n_keys),
            "keys.list_versions": int(version_pages_per_vault.get(vid, 0)),
            "keys.get": n_keys + pins_per_vault.get(vid, 0),
            "keys.rotation_policy": n_keys,
            "challenge (401)": 1,  # one per vault host: keys and HSM local RBAC share a pipeline
            "hsm.role_definitions": 1 if hsm else 0,
            "hsm.role_assignments": (2 + n_keys) if hsm else 0,  # /, /keys, /keys/<name>
        }
        arm = {
            "arm.vault_get": 1,
            "arm.diagnostic_settings": 1,
            "arm.role_assignments": 1,
            "arm.managed_hsm_keys": int(oct_per_vault.get(vid, 0)) if hsm else 0,
        }
        for op, n in (calls | arm).items():
            minimum[op] += n
        data_plane[vid] = sum(calls.values())
        arm_per_sub[str(vault.subscription_id)] += sum(arm.values())
    minimum["arm.role_definitions"] = int(definitions)
    minimum["graph.query"] = pages(len(vaults), 1000) + 1  # vault discovery + key consumers
    audiences = 1 + (vaults["kind"] == "vault").any() + (vaults["kind"] == "managed_hsm").any()
    minimum["identity.token"] = int(audiences) * processes  # ARM, vault, HSM: per process
    keys_pages = max((pages(int(keys_per_vault.get(v, 0))) for v in vaults["id"]), default=1)
    data_per_sub: dict[str, int] = defaultdict(int)
    for vault in vaults.itertuples():
        data_per_sub[str(vault.subscription_id)] += data_plane[vault.id]
    return {
        "minimum": dict(minimum),
        "data_plane": data_plane,
        "arm_per_sub": dict(arm_per_sub),
        "data_per_sub": dict(data_per_sub),
        "graph_calls": minimum["graph.query"],
        "chain": keys_pages + 3,  # sequential round trips: key pages, then versions, get, RBAC
        "rows": inv.counts(),
        "collection_errors": inv.collection_errors.to_dict("records"),
    }


def paced(calls: int, rate: float, latency: float) -> float:
    """Shortest time for ``calls`` through kvaudit's limiter of ``rate`` per 1-s window.

    A request holds its slot from its start until 1 s after its response, so each batch of
    ``rate`` requests takes (1 s + latency) and the last batch only its latency.
    """
    batches = math.ceil(calls / rate)
    return (batches - 1) * (1.0 + latency) + latency


#: The documented limits (Key Vault service limits: 4,000 GETs per 10 s per vault, five times that
#: per subscription; ARM: per subscription a bucket of 250 reads refilled at 25/s; Resource
#: Graph: 15 requests per 5 s per caller), as (requests, window seconds) or (burst, refill/s).
LIMITS = {"vault": (4000, 10.0), "vault_subscription": (20000, 10.0), "arm": (250, 25.0), "graph": (15, 5.0)}


def windowed(calls: int, capacity: int, window: float) -> float:
    """Shortest time for ``calls`` under at most ``capacity`` per sliding ``window``."""
    return (math.ceil(calls / capacity) - 1) * window if calls else 0.0


def service_bound(model: dict[str, Any], latency: float) -> dict[str, Any]:
    """The wall-time lower bound the service's documented limits impose on this estate.

    Independent of kvaudit's flags: the minimum calls, the limits and the latency only.
    """
    bucket, refill = LIMITS["arm"]
    bounds = {
        "per vault": max((windowed(n, *LIMITS["vault"]) for n in model["data_plane"].values()), default=0.0),
        "per subscription (data plane)": max(
            (windowed(n, *LIMITS["vault_subscription"]) for n in model["data_per_sub"].values()), default=0.0
        ),
        "per subscription (ARM)": max(
            (max(0, n - bucket) / refill for n in model["arm_per_sub"].values()), default=0.0
        ),
        "Resource Graph": windowed(model["graph_calls"], *LIMITS["graph"]),
        "round trips": model["chain"] * latency,
    }
    return {"bounds": bounds, "lower_bound": max(bounds.values())}


def lower_bound(model: dict[str, Any], latency: float, in_flight: int, vault_rps: float, sub_rps: float) -> dict:
    total = sum(model["minimum"].values())
    bounds = {
        "in_flight": total * latency / in_flight,
        "vault_pacing": max(paced(n, vault_rps, latency) for n in model["data_plane"].values()),
        "arm_pacing": max(paced(n, sub_rps, latency) for n in model["arm_per_sub"].values()),
    }
    return {"bounds": bounds, "lower_bound": max(bounds.values()), "total_minimum": total}


# -- report -------------------------------------------------------------------------------------


def by_operation(calls: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The fake's counts with every data-plane 401 moved to one "challenge (401)" row: the first
    request of each Key Vault client is sent without a token to learn the challenge."""
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for op, statuses in calls.items():
        for status, n in statuses.items():
            target = "challenge (401)" if status == "401" and not op.startswith(("arm.", "graph.")) else op
            out[target][status] = out[target].get(status, 0) + n
    return dict(out)


def _ok(flag: bool) -> str:
    return "met" if flag else "NOT met"


def report_workers(
    args: argparse.Namespace, workers: int, runs: list[dict[str, Any]], model: dict, settings: dict[str, float]
) -> dict[str, Any]:
    """Print and return the figures of the runs with one worker count."""
    minimum = model["minimum"]
    made = by_operation(runs[-1]["calls"])
    print(f"\n-- {workers} worker{'s' if workers > 1 else ''} ({len(runs)} run{'s' if len(runs) > 1 else ''})")
    print("API calls (last run; 'made' counts every answer, retries included):")
    print(f"  {'operation':26} {'minimum':>9} {'made':>9} {'429':>6} {'extra':>7}")
    total_made = total_429 = 0
    for op in sorted(set(minimum) | set(made)):
        statuses = made.get(op, {})
        n = sum(statuses.values())
        throttled = statuses.get("429", 0)
        total_made, total_429 = total_made + n, total_429 + throttled
        print(f"  {op:26} {minimum.get(op, 0):>9,} {n:>9,} {throttled:>6,} {n - minimum.get(op, 0):>+7,}")
    total_min = sum(minimum.values())
    print(f"  {'total':26} {total_min:>9,} {total_made:>9,} {total_429:>6,} {total_made - total_min:>+7,}")
    service = service_bound(model, args.latency)
    own = lower_bound(model, args.latency, settings["in_flight"], settings["vault_rps"], settings["sub_rps"])
    walls = [r["seconds"] for r in runs]
    wall = median(walls)
    cpu = median([r["cpu_s"] for r in runs])
    fake_cpu = median([r["fake_cpu_s"] for r in runs])
    calls = total_made
    peak = max(r["peak_mb"] for r in runs)
    errors = max(len(r["errors"]) for r in runs)
    received = [sum(s.get("429", 0) for s in r["calls"].values()) for r in runs]
    print(
        f"wall time:    median {wall:.1f} s (runs: {', '.join(f'{w:.1f}' for w in walls)}); "
        f"{wall / service['lower_bound']:.1f}x the service bound ({service['lower_bound']:.1f} s), "
        f"{wall / own['lower_bound']:.1f}x kvaudit's own pacing bound ({own['lower_bound']:.1f} s); "
        f"target <= 90 s: {_ok(wall <= 90)}"
    )
    print(
        f"scanner CPU:  median {cpu:.1f} s user+system over all its processes; {1000 * cpu / calls:.2f} ms per call; "
        f"{calls / cpu:,.0f} calls per second per core; target <= 60 s (goal 30 s): {_ok(cpu <= 60)}"
    )
    print(
        f"fake CPU:     median {fake_cpu:.1f} s over the same runs "
        f"({fake_cpu / wall:.0%} of one core: {'the fake may be what holds the run back' if fake_cpu / wall > 0.8 else 'not the bottleneck'})"
    )
    print(
        f"429s:         {', '.join(map(str, received))} received per run; collection errors: {errors} "
        f"(exit codes {', '.join(str(r['exit']) for r in runs)}); target: every 429 retried: {_ok(errors == 0)}"
    )
    print(f"peak memory:  {peak:.0f} MB (scanner process tree, max over runs); target < 1024 MB: {_ok(peak < 1024)}")
    return {
        "workers": workers,
        "runs": runs,
        "minimum": minimum,
        "service_bound": service,
        "own_bound": own,
        "wall_median": wall,
        "cpu_median": cpu,
        "fake_cpu_median": fake_cpu,
        "cpu_per_call_ms": 1000 * cpu / calls,
        "calls_per_core_s": calls / cpu,
        "peak_mb": peak,
    }


def print_bounds(model: dict, args: argparse.Namespace, settings: dict[str, float]) -> None:
    service = service_bound(model, args.latency)
    own = lower_bound(model, args.latency, settings["in_flight"], settings["vault_rps"], settings["sub_rps"])
    print("\nservice-limit lower bound (the estate and the documented limits only, whatever kvaudit's flags):")
    print(
        f"  limits: per vault {LIMITS['vault'][0]:,}/{LIMITS['vault'][1]:g} s; per subscription data plane "
        f"{LIMITS['vault_subscription'][0]:,}/{LIMITS['vault_subscription'][1]:g} s; ARM per subscription burst "
        f"{LIMITS['arm'][0]} then {LIMITS['arm'][1]:g}/s; Resource Graph {LIMITS['graph'][0]}/{LIMITS['graph'][1]:g} s"
    )
    for name, value in service["bounds"].items():
        print(f"  {name:32} {value:6.1f} s")
    print(f"  lower bound (the largest):       {service['lower_bound']:6.1f} s")
    b = own["bounds"]
    print(
        f"kvaudit's own pacing bound (its flags: {settings['vault_rps']:g} req/s per vault, {settings['sub_rps']:g} "
        f"ARM req/s per subscription, {settings['in_flight']} in flight): in-flight {b['in_flight']:.1f} s, "
        f"per vault {b['vault_pacing']:.1f} s, per subscription {b['arm_pacing']:.1f} s -> {own['lower_bound']:.1f} s"
    )


# -- CPU per call, per operation ----------------------------------------------------------------


def cpu_per_operation(ready: dict[str, Any], samples: int) -> dict[str, float]:
    """CPU milliseconds per call for each kind of read, through kvaudit's own clients, measured
    in this process (which runs nothing else meanwhile), ``samples`` calls each, 16 at a time, on
    the event loop a scan runs on."""
    import asyncio

    from kvaudit.scanner.azure.apiversions import API_VERSIONS
    from kvaudit.scanner.azure.clouds import resolve_cloud
    from kvaudit.scanner.azure.eventloop import run
    from kvaudit.scanner.azure.options import AzureOptions
    from kvaudit.scanner.azure.rest import get_json
    from kvaudit.scanner.azure.session import AzureSession
    from kvaudit.scanner.azure.util import collect_list

    os.environ.update(ready["env"])
    cloud = resolve_cloud(
        "custom", arm_endpoint=ready["arm_endpoint"], loganalytics_endpoint=ready["arm_endpoint"],
        keyvault_dns_suffix="vault.azure.net", managedhsm_dns_suffix="managedhsm.azure.net",
    )  # fmt: skip
    options = AzureOptions(cloud=cloud, ca_bundle=ready["ca_bundle"], vault_rps=300.0, subscription_rps=20.0)
    api = API_VERSIONS["keyvault_data"]

    async def measure() -> dict[str, float]:
        async with AzureSession(options) as session:
            graph = session.resource_graph()
            from azure.mgmt.resourcegraph.models import QueryRequest

            found = (
                await graph.resources(
                    QueryRequest(
                        query="resources | where type in~ ('microsoft.keyvault/vaults', 'microsoft.keyvault/managedhsms')"
                    )
                )
            ).data
            vault = next(r for r in found if r["type"] == "microsoft.keyvault/vaults")
            hsm = next((r for r in found if r["type"] == "microsoft.keyvault/managedhsms"), None)
            sub, rg = vault["subscriptionId"], vault["resourceGroup"]
            mgmt, monitor, authz = session.keyvault_mgmt(sub), session.monitor(sub), session.authorization(sub)
            body = await mgmt.vaults.get(rg, vault["name"])
            base = body.properties.vault_uri.rstrip("/")
            client = session.data_plane(base + "/")
            keys = [
                k["kid"].rsplit("/", 1)[-1] for k in (await get_json(client, f"{base}/keys?api-version={api}"))["value"]
            ]
            ops: dict[str, Any] = {
                "keys.list (page)": lambda i: get_json(client, f"{base}/keys?api-version={api}"),
                "keys.list_versions (page)": lambda i: get_json(
                    client, f"{base}/keys/{keys[i % len(keys)]}/versions?api-version={api}"
                ),
                "keys.get": lambda i: get_json(client, f"{base}/keys/{keys[i % len(keys)]}?api-version={api}"),
                "keys.rotation_policy": lambda i: get_json(
                    client, f"{base}/keys/{keys[i % len(keys)]}/rotationpolicy?api-version={api}"
                ),
                "arm.vault_get (SDK)": lambda i: mgmt.vaults.get(rg, vault["name"]),
                "arm.diagnostic_settings (SDK)": lambda i: collect_list(monitor.diagnostic_settings.list(vault["id"])),
                "arm.role_assignments (SDK)": lambda i: collect_list(
                    authz.role_assignments.list_for_scope(vault["id"])
                ),
            }
            bare, ops["floor: bare aiohttp keys.get"] = await _bare_get(session, base, keys, api)
            if hsm is not None:
                hbody = await session.keyvault_mgmt(hsm["subscriptionId"]).managed_hsms.get(
                    hsm["resourceGroup"], hsm["name"]
                )
                hbase = hbody.properties.hsm_uri.rstrip("/")
                hclient = session.data_plane(hbase + "/")
                ops["hsm.role_assignments (page)"] = lambda i: get_json(
                    hclient, f"{hbase}/keys/providers/Microsoft.Authorization/roleAssignments?api-version={api}"
                )
            out: dict[str, float] = {}
            for name, call in ops.items():
                n = samples if not name.startswith("arm.") else max(10, samples // 5)  # ARM: 250 reads per 10 s
                await call(0)  # warm: token, challenge, connection
                gate = asyncio.Semaphore(16)

                async def one(i: int, call: Any = call, gate: asyncio.Semaphore = gate) -> None:
                    async with gate:
                        await call(i)

                started = time.process_time()
                await asyncio.gather(*(one(i) for i in range(n)))
                out[name] = 1000 * (time.process_time() - started) / n
                if name.startswith("arm."):
                    await asyncio.sleep(n / 25)  # let the ARM budget refill
            await bare.close()
            return out

    return run(measure())


async def _bare_get(session: Any, base: str, keys: list[str], api: str) -> tuple[Any, Any]:
    """``GET /keys/{name}`` straight through aiohttp on the scan's TLS context and loop, with a
    token attached and nothing else: no pipeline, retries, pacing or JSON decoding. It is the
    floor any collector built on aiohttp pays per call, so the gap to ``keys.get`` is what
    kvaudit's own layers cost. Returns the aiohttp session (to close) and the call."""
    import aiohttp

    scope = f"https://{session.cloud.keyvault_dns_suffix}/.default"
    headers = {"Authorization": "Bearer " + (await session.credential.get_token(scope)).token}
    bare = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16, ssl=session._ssl))

    async def get(i: int) -> None:
        async with bare.get(f"{base}/keys/{keys[i % len(keys)]}?api-version={api}", headers=headers) as answer:
            await answer.read()

    return bare, get


def run_baseline(ready_file: Path, ready: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    n_vaults = max(1, math.ceil(args.vaults * args.baseline_sample)) if args.vaults else 0
    n_hsms = max(1, math.ceil(args.hsms * args.baseline_sample)) if args.hsms else 0
    command = [sys.executable, "-m", "bench.naive_baseline", "--ready", str(ready_file), "--vaults", str(n_vaults)]
    command += ["--hsms", str(n_hsms), "--threads", str(args.baseline_threads)]
    env = {**os.environ, **ready["env"], "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    v_scale = out["vaults_total"] / out["vaults_walked"] if out["vaults_walked"] else 0
    h_scale = out["hsms_total"] / out["hsms_walked"] if out["hsms_walked"] else 0
    out["measured_s"] = out["vault_seconds"] + out["hsm_seconds"]
    out["estimate_s"] = out["vault_seconds"] * v_scale + out["hsm_seconds"] * h_scale
    out["scaled"] = 1 if (v_scale in (0, 1) and h_scale in (0, 1)) else out["estimate_s"] / out["measured_s"]
    return out


def print_floor(per_op: dict[str, float], per_workers: list[tuple[int, list[dict[str, Any]], dict]]) -> None:
    """What the bare transport alone would cost for the calls the scan made, against the target."""
    floor = per_op.get("floor: bare aiohttp keys.get")
    if not floor or not per_workers:
        return
    workers, runs, _ = per_workers[0]
    calls = sum(sum(statuses.values()) for statuses in runs[-1]["calls"].values())
    cpu = median([r["cpu_s"] for r in runs])
    print(
        f"transport floor: {calls:,} calls x {floor:.2f} ms = {calls * floor / 1000:.0f} s of CPU before any pipeline, "
        f"retry, pacing or row; {workers} worker(s) used {cpu:.0f} s, {cpu / (calls * floor / 1000):.1f}x the floor; "
        f"60 s over these calls is {60_000 / calls:.2f} ms per call in all"
    )


def main() -> None:
    from kvaudit.scanner.azure.options import DEFAULT_MAX_IN_FLIGHT, DEFAULT_SUBSCRIPTION_RPS, DEFAULT_VAULT_RPS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers-list", default=f"1,{os.cpu_count() or 1}", help="worker counts to run (comma list)")
    parser.add_argument("--vaults", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--hsms", type=int, default=20)
    parser.add_argument("--hsm-keys", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--max-in-flight", type=int, default=None, help="passed to kvaudit (default: its own)")
    parser.add_argument("--vault-rps", type=float, default=None, help="passed to kvaudit (default: its own)")
    parser.add_argument("--baseline-sample", type=float, default=0.1, help="fraction of vaults the baseline walks")
    parser.add_argument("--baseline-threads", type=int, default=4)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--cpu-samples", type=int, default=300, help="calls per operation for CPU per call (0: skip)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply --vaults and --hsms (smaller estates)")
    args = parser.parse_args()
    args.vaults = max(1, round(args.vaults * args.scale)) if args.vaults else 0
    args.hsms = max(1, round(args.hsms * args.scale)) if args.hsms else 0
    worker_counts = [int(w) for w in str(args.workers_list).split(",") if w.strip()]
    settings = {
        "in_flight": args.max_in_flight or DEFAULT_MAX_IN_FLIGHT,
        "vault_rps": args.vault_rps or DEFAULT_VAULT_RPS,
        "sub_rps": DEFAULT_SUBSCRIPTION_RPS,
    }
    extra = [f"--max-in-flight={settings['in_flight']}", f"--vault-rps={settings['vault_rps']:g}"]
    estate = f"scale:{args.vaults},{args.keys},{args.versions},{args.hsms},{args.hsm_keys}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kvaudit-live-bench-") as tmp:
        workdir = Path(tmp)
        fake, ready = start_fake(estate, args.latency, workdir)
        try:
            per_workers: list[tuple[int, list[dict[str, Any]], dict]] = []
            model: dict | None = None
            for workers in worker_counts:
                runs = []
                for i in range(args.runs):
                    snapshot = workdir / f"snapshot-{workers}-{i}.json"
                    before = counters(ready)
                    run = run_kvaudit(ready, snapshot, [*extra, f"--workers={workers}"], workdir, fake.pid)
                    run["calls"] = difference(counters(ready), before)
                    if run["exit"] not in (0, 3):
                        raise RuntimeError(f"kvaudit failed (exit {run['exit']}):\n{run['stderr']}")
                    model = cost_model(snapshot, processes=1 + (workers if workers > 1 else 0))
                    run["errors"] = model.pop("collection_errors")
                    runs.append(run)
                    print(
                        f"{workers} worker(s), run {i + 1}: {run['seconds']:.1f} s, CPU {run['cpu_s']:.1f} s, "
                        f"fake CPU {run['fake_cpu_s']:.1f} s, peak {run['peak_mb']:.0f} MB, exit {run['exit']}",
                        file=sys.stderr,
                    )
                    time.sleep(10)  # let the service's sliding windows drain between runs
                per_workers.append((workers, runs, model))
            per_op = cpu_per_operation(ready, args.cpu_samples) if args.cpu_samples else {}
            baseline = None if args.no_baseline else run_baseline(workdir / "ready.json", ready, args)
        finally:
            fake.terminate()
            fake.wait(30)
    assert model is not None
    rows = model["rows"]
    header(
        "live collection at estate scale (kvaudit collect --azure against the fake Azure)",
        f"{estate} = {rows['vaults']:,} vaults and HSMs, {rows['keys']:,} keys, {rows['key_versions']:,} key versions, "
        f"{rows['key_references']:,} key references, 10 subscriptions; latency {args.latency * 1000:g} ms per call; "
        f"fake limits {', '.join(f'{k[2:]} {v}' for k, v in SERVICE_LIMITS.items())}; kvaudit pacing "
        f"{settings['vault_rps']:g} req/s per vault, {settings['sub_rps']:g} ARM req/s per subscription, "
        f"{settings['in_flight']} in flight; workers {', '.join(map(str, worker_counts))}; {args.runs} runs each",
    )
    print_bounds(model, args, settings)
    for workers, runs, wmodel in per_workers:
        results.append(report_workers(args, workers, runs, wmodel, settings))
    if per_op:
        print(f"\nCPU per call by operation ({args.cpu_samples} calls each, ARM a fifth of that; this process):")
        for name, ms in per_op.items():
            print(f"  {name:32} {ms:6.2f} ms  ({1000 / ms:,.0f} calls/s per core)")
        print_floor(per_op, per_workers)
    if baseline:
        est = baseline["estimate_s"]
        print(
            f"\nnaive baseline ({args.baseline_threads} threads, sync KeyClient: list keys, list versions, get_key per "
            f"version): {baseline['measured_s']:.1f} s measured, {est:.0f} s for the estate; failures {baseline['failures']}"
        )
    out = RESULTS / "live-collection.json"
    payload = {"args": vars(args), "results": results, "cpu_per_operation_ms": per_op, "baseline": baseline}
    out.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    print(f"\nraw figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
