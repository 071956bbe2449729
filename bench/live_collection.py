"""Live collection at estate scale: ``kvaudit collect --azure`` against the local fake Azure.

    python -m bench.live_collection [--runs 3] [--vaults 1000 --keys 50 --versions 3 --hsms 20
        --hsm-keys 200] [--latency 0.02] [--baseline-sample 0.1] [--max-in-flight N] [--vault-rps R]

The fake runs in its own process (``python -m tests.fakeazure``) with the service's throttling:
per vault and HSM 4,000 requests per 10 s, per subscription 20,000 data-plane requests per 10 s
(five times the vault limit) and 250 ARM reads per 10 s (ARM's 25/s refill), Resource Graph
15 per 5 s per caller; every call waits ``--latency``. kvaudit runs as a subprocess with
documented flags only and the fake's managed-identity environment.

Reported per run and as medians: API calls by operation against the minimum the cost model needs
(derived from what was collected: pages of 25 keys and versions, one read per version, one
rotation policy per key, per vault one ARM GET, one diagnostic-settings list and one
role-assignment list, HSM local RBAC per scope, discovery); the wall time against a lower bound
(formula printed); 429s received and collection errors left; peak RSS of the scanner process
(``ru_maxrss`` from ``wait4``). Then a naive baseline (:mod:`bench.naive_baseline`) on a sample
of the same fake's vaults, scaled up to the whole estate, and the ratio.

Targets: wall time within 1.5x of the lower bound, no 429 left unretried (no collection errors),
peak memory under 1 GB.
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
        return [sys.executable, "-m", "scanner", "collect", "--azure", "--snapshot", str(snapshot), *flags]
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


def run_kvaudit(ready: dict[str, Any], snapshot: Path, extra: list[str], workdir: Path) -> dict[str, Any]:
    """One scanner process: wall seconds, exit code, peak RSS and CPU from ``wait4``."""
    env = {**os.environ, **ready["env"], "PYTHONPATH": str(ROOT)}
    err_path = workdir / "kvaudit.stderr"
    with err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(kvaudit_command(ready, snapshot, extra), cwd=ROOT, env=env, stdout=err, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": seconds,
        "exit": proc.returncode,
        "peak_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "stderr": err_path.read_text(errors="replace")[-1500:],
    }


# -- the cost model and the lower bound --------------------------------------------------------


def pages(n: int, size: int = KEYS_PAGE) -> int:
    """List calls for ``n`` items: an empty list still costs one call."""
    return max(1, math.ceil(n / size))


def cost_model(snapshot: Path) -> dict[str, Any]:
    """The minimum calls per operation for what was collected, and per vault / per subscription.

    Derived from the snapshot (the estate as read), so the model holds for any estate.
    """
    from scanner import snapshot as snapshots

    inv = snapshots.load(snapshot)
    vaults, keys, versions = inv.vaults, inv.keys, inv.key_versions
    keys_per_vault = keys.groupby("vault_id").size().to_dict()
    versions_per_key = versions.groupby("key_id").size()
    versions_per_vault = versions.groupby("vault_id").size().to_dict()
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
            "keys.get": int(versions_per_vault.get(vid, 0)),
            "keys.rotation_policy": n_keys,
            "challenge (401)": 1 + (1 if hsm else 0),  # one per data-plane client
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
    minimum["identity.token"] = 2 if (vaults["kind"] == "managed_hsm").any() else 1  # one per audience
    return {
        "minimum": dict(minimum),
        "data_plane": data_plane,
        "arm_per_sub": dict(arm_per_sub),
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


def report(
    args: argparse.Namespace,
    runs: list[dict[str, Any]],
    model: dict,
    bound: dict,
    baseline: dict | None,
    settings: dict[str, float],
) -> dict[str, Any]:
    rows = model["rows"]
    header(
        "live collection at estate scale (kvaudit collect --azure against the fake Azure)",
        f"scale:{args.vaults},{args.keys},{args.versions},{args.hsms},{args.hsm_keys} = {rows['vaults']:,} vaults "
        f"and HSMs, {rows['keys']:,} keys, {rows['key_versions']:,} key versions, 10 subscriptions; latency "
        f"{args.latency * 1000:g} ms per call; service limits {', '.join(f'{k[2:]} {v}' for k, v in SERVICE_LIMITS.items())}; "
        f"kvaudit pacing {settings['vault_rps']:g} req/s per vault, {settings['sub_rps']:g} ARM req/s per "
        f"subscription, {settings['in_flight']} in flight; {len(runs)} runs",
    )
    minimum = model["minimum"]
    made = by_operation(runs[-1]["calls"])
    print("\nAPI calls (last run; 'made' counts every answer, retries included):")
    print(f"  {'operation':26} {'minimum':>9} {'made':>9} {'429':>6} {'extra':>7}")
    ops = sorted(set(minimum) | set(made))
    total_made = total_429 = 0
    for op in ops:
        statuses = made.get(op, {})
        n = sum(statuses.values())
        throttled = statuses.get("429", 0)
        total_made, total_429 = total_made + n, total_429 + throttled
        print(f"  {op:26} {minimum.get(op, 0):>9,} {n:>9,} {throttled:>6,} {n - minimum.get(op, 0):>+7,}")
    print(
        f"  {'total':26} {bound['total_minimum']:>9,} {total_made:>9,} {total_429:>6,} {total_made - bound['total_minimum']:>+7,}"
    )
    b = bound["bounds"]
    walls = [r["seconds"] for r in runs]
    wall = median(walls)
    ratio = wall / bound["lower_bound"]
    print("\nwall time lower bound = max(A, B, C):")
    print(
        f"  A in-flight cap:   minimum calls x latency / in-flight = {bound['total_minimum']:,} x {args.latency:g} s / {settings['in_flight']} = {b['in_flight']:.1f} s"
    )
    print(
        f"  B per-vault pacing: busiest vault's data-plane calls n through a limiter that holds each slot from start to 1 s after the response: (ceil(n / {settings['vault_rps']:g}) - 1) x (1 s + latency) + latency = {b['vault_pacing']:.1f} s"
    )
    print(
        f"  C per-subscription ARM pacing: same with the busiest subscription's ARM calls at {settings['sub_rps']:g}/s = {b['arm_pacing']:.1f} s"
    )
    print(f"  lower bound: {bound['lower_bound']:.1f} s")
    print(
        f"wall time:   median {wall:.1f} s (runs: {', '.join(f'{w:.1f}' for w in walls)}); {ratio:.2f}x the lower bound; target <= 1.5x: {_ok(ratio <= 1.5)}"
    )
    cpu = median([r["cpu_s"] for r in runs])
    print(f"scanner CPU: median {cpu:.1f} s user+system ({cpu / wall:.0%} of one core over the wall time)")
    errors = max(len(r["errors"]) for r in runs)
    received = [sum(s.get("429", 0) for s in r["calls"].values()) for r in runs]
    print(
        f"429s received: {', '.join(map(str, received))} per run; collection errors: {errors} (exit codes {', '.join(str(r['exit']) for r in runs)}); target: every 429 retried: {_ok(errors == 0)}"
    )
    peak = max(r["peak_mb"] for r in runs)
    print(f"peak memory: {peak:.0f} MB (scanner process, max over runs); target < 1024 MB: {_ok(peak < 1024)}")
    result: dict[str, Any] = {
        "runs": runs,
        "minimum": minimum,
        "bound": bound,
        "wall_median": wall,
        "ratio": ratio,
        "peak_mb": peak,
    }
    if baseline:
        est = baseline["estimate_s"]
        sample = f"{baseline['vaults_walked']} of {baseline['vaults_total']} vaults and {baseline['hsms_walked']} of {baseline['hsms_total']} HSMs"
        how = (
            "measured on all"
            if baseline["scaled"] == 1
            else f"measured on {sample}, scaled up linearly (vaults are walked one after the other)"
        )
        print(
            f"\nnaive baseline ({args.baseline_threads} threads, sync KeyClient: list keys, list versions, get_key per version; no rotation, RBAC or diagnostics):"
        )
        print(f"  {baseline['measured_s']:.1f} s {how}: {est:.0f} s for the estate; failures {baseline['failures']}")
        print(
            f"  kvaudit is {est / wall:.1f}x faster while reading more (rotation policies, RBAC, diagnostic settings)"
        )
        result["baseline"] = baseline
    return result


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


def main() -> None:
    from scanner.azure.options import DEFAULT_MAX_IN_FLIGHT, DEFAULT_SUBSCRIPTION_RPS, DEFAULT_VAULT_RPS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
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
    parser.add_argument("--scale", type=float, default=1.0, help="multiply --vaults and --hsms (smaller estates)")
    args = parser.parse_args()
    args.vaults = max(1, round(args.vaults * args.scale)) if args.vaults else 0
    args.hsms = max(1, round(args.hsms * args.scale)) if args.hsms else 0
    settings = {
        "in_flight": args.max_in_flight or DEFAULT_MAX_IN_FLIGHT,
        "vault_rps": args.vault_rps or DEFAULT_VAULT_RPS,
        "sub_rps": DEFAULT_SUBSCRIPTION_RPS,
    }
    extra = [f"--max-in-flight={settings['in_flight']}", f"--vault-rps={settings['vault_rps']:g}"]
    estate = f"scale:{args.vaults},{args.keys},{args.versions},{args.hsms},{args.hsm_keys}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kvaudit-live-bench-") as tmp:
        workdir = Path(tmp)
        fake, ready = start_fake(estate, args.latency, workdir)
        try:
            runs, model = [], None
            for i in range(args.runs):
                snapshot = workdir / f"snapshot-{i}.json"
                before = counters(ready)
                run = run_kvaudit(ready, snapshot, extra, workdir)
                run["calls"] = difference(counters(ready), before)
                if run["exit"] not in (0, 3):
                    raise RuntimeError(f"kvaudit failed (exit {run['exit']}):\n{run['stderr']}")
                model = cost_model(snapshot)
                run["errors"] = model.pop("collection_errors")
                runs.append(run)
                print(
                    f"run {i + 1}: {run['seconds']:.1f} s, peak {run['peak_mb']:.0f} MB, exit {run['exit']}",
                    file=sys.stderr,
                )
                time.sleep(2)  # let the service's sliding windows drain between runs
            assert model is not None
            bound = lower_bound(model, args.latency, settings["in_flight"], settings["vault_rps"], settings["sub_rps"])
            baseline = None if args.no_baseline else run_baseline(workdir / "ready.json", ready, args)
        finally:
            fake.terminate()
            fake.wait(30)
        result = report(args, runs, model, bound, baseline, settings)
    out = RESULTS / "live-collection.json"
    out.write_text(json.dumps({"args": vars(args), **result}, indent=1, default=str), encoding="utf-8")
    print(f"\nraw figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
