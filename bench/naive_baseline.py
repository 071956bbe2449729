"""The naive way to read every key version: one vault at a time, a small thread pool, sync SDK.

    python -m bench.naive_baseline --ready READY_FILE [--vaults N] [--hsms N] [--threads 4]

This is what common scripts and tools do: for each vault in turn, ``list_properties_of_keys``,
then for each key (on a pool of ``--threads`` threads) ``list_properties_of_key_versions`` and
``get_key`` per version. It reads less than kvaudit (no rotation policies, RBAC, diagnostic
settings or HSM local RBAC) and gets the vault list for free from the fake's ready file, so the
comparison favours it. It exists to give kvaudit's wall time a reference point.

Prints one JSON object: seconds spent on standard vaults and on HSMs (so a caller can scale a
sample up to the whole estate: vaults are walked one after the other, so time adds up), the
numbers walked, versions read and read failures.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def _walk_vault(uri: str, credential: Any, ca_bundle: str, threads: int) -> tuple[int, int]:
    """(versions read, failures) for one vault."""
    from azure.core.exceptions import AzureError
    from azure.keyvault.keys import KeyClient

    client = KeyClient(uri, credential, verify_challenge_resource=False, connection_verify=ca_bundle)

    def one_key(name: str) -> tuple[int, int]:
        read = failed = 0
        for props in client.list_properties_of_key_versions(name):
            try:
                client.get_key(name, props.version)
                read += 1
            except AzureError:
                failed += 1
        return read, failed

    with client, ThreadPoolExecutor(threads) as pool:
        names = [p.name for p in client.list_properties_of_keys()]
        results = list(pool.map(one_key, names))
    return sum(r for r, _ in results), sum(f for _, f in results)


def walk(vaults: dict[str, str], ca_bundle: str, threads: int) -> tuple[float, int, int]:
    """Walk ``vaults`` (name -> URI) one at a time: (seconds, versions read, failures)."""
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    started = time.perf_counter()
    read = failed = 0
    for uri in vaults.values():
        r, f = _walk_vault(uri, credential, ca_bundle, threads)
        read, failed = read + r, failed + f
    return time.perf_counter() - started, read, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ready", type=Path, required=True, help="the fake's ready file")
    parser.add_argument("--vaults", type=int, default=None, help="walk only the first N standard vaults")
    parser.add_argument("--hsms", type=int, default=None, help="walk only the first N managed HSMs")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    ready = json.loads(args.ready.read_text(encoding="utf-8"))
    names = sorted(ready["vaults"])
    hsm_names = [n for n in names if n.startswith("mhsm-")]
    vault_names = [n for n in names if not n.startswith("mhsm-")]
    chosen_v = vault_names[: args.vaults] if args.vaults is not None else vault_names
    chosen_h = hsm_names[: args.hsms] if args.hsms is not None else hsm_names
    v_s, v_read, v_failed = walk({n: ready["vaults"][n] for n in chosen_v}, ready["ca_bundle"], args.threads)
    h_s, h_read, h_failed = walk({n: ready["vaults"][n] for n in chosen_h}, ready["ca_bundle"], args.threads)
    print(
        json.dumps(
            {
                "vault_seconds": v_s,
                "hsm_seconds": h_s,
                "vaults_walked": len(chosen_v),
                "hsms_walked": len(chosen_h),
                "vaults_total": len(vault_names),
                "hsms_total": len(hsm_names),
                "versions_read": v_read + h_read,
                "failures": v_failed + h_failed,
            }
        )
    )


if __name__ == "__main__":
    main()
