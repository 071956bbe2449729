"""Run the fake standalone, for benchmarks and manual runs of the scanner.

    python -m tests.fakeazure --estate default|scale:V,K,N,H,HK|FILE [--latency 0.02] [--page-size N]
        [--vault-rate N/SECONDS|off] [--arm-rate N/SECONDS|off] [--graph-rate N/SECONDS|off]
        [--vault-subscription-rate N/SECONDS|off] [--no-record] [--ready-file F]

When every port listens, it writes (and prints) one JSON object: ``arm_endpoint``, ``ca_bundle``,
``env`` (the variables a scanner process needs) and ``vaults`` (name → data-plane URI).  It runs
until SIGINT or SIGTERM.  ``GET {arm_endpoint}/_fakeazure/counters`` answers the request counts
by operation and status (see ``counters.py``), also with ``--no-record``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from tests.fakeazure import build_estate
from tests.fakeazure.faults import Faults, RateLimit
from tests.fakeazure.server import FakeAzure


def parse_estate(spec: str) -> dict[str, Any]:
    """``default``, ``scale:V,K,N,H,HK`` (vaults, keys, versions, hsms, hsm keys) or a JSON file."""
    if spec == "default":
        return build_estate.default()
    if spec.startswith("scale"):
        numbers = [int(n) for n in spec.partition(":")[2].split(",") if n]
        names = ["vaults", "keys", "versions", "hsms", "hsm_keys"]
        return build_estate.scale(**dict(zip(names, numbers, strict=False)))
    return build_estate.load(spec)


def parse_rate(spec: str) -> RateLimit | None:
    if spec == "off":
        return None
    count, _, window = spec.partition("/")
    return RateLimit(int(count), float(window or 10))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeazure", description=__doc__.split("\n")[0])
    parser.add_argument("--estate", default="default")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every ARM/data-plane call")
    parser.add_argument("--page-size", type=int, default=None)
    parser.add_argument("--vault-rate", default="4000/10")
    parser.add_argument("--arm-rate", default="12000/3600")
    parser.add_argument("--graph-rate", default="15/5")
    parser.add_argument(
        "--vault-subscription-rate",
        default="off",
        help="data-plane requests per subscription across all its vaults (e.g. 20000/10)",
    )
    parser.add_argument("--no-record", action="store_true", help="do not keep the request log (long runs)")
    parser.add_argument("--ready-file", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        estate = parse_estate(args.estate)
        faults = Faults(
            vault_rate=parse_rate(args.vault_rate),
            arm_rate=parse_rate(args.arm_rate),
            graph_rate=parse_rate(args.graph_rate),
            vault_subscription_rate=parse_rate(args.vault_subscription_rate),
        )
    except (ValueError, OSError) as exc:
        print(f"fakeazure: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with FakeAzure(
        estate, faults=faults, latency=args.latency, page_size=args.page_size, record=not args.no_record
    ) as fake:
        assert fake.index is not None
        ready = {
            "arm_endpoint": fake.arm_endpoint,
            "ca_bundle": fake.ca_bundle,
            "env": fake.env(),
            "vaults": {o.name: o.uri for o in fake.index.owners_by_name.values()},
        }
        text = json.dumps(ready)
        if args.ready_file:
            tmp = args.ready_file.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(args.ready_file)  # readers never see a half-written file
        print(text, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
