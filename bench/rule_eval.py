"""Rule evaluation at scale: load a snapshot with 1,000,000 key versions, 100,000 keys, 5,000
vaults and 200,000 role assignments, and evaluate the whole catalogue.

    python -m bench.rule_eval [--runs 3]

Each run is a fresh process (so peak memory is that of load + evaluate alone). Targets on a
2-core machine: evaluation under 10 s, peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from bench.common import RESULTS, header, median, run_python

SNAPSHOT = RESULTS / "scale-snapshot.json"


def _child(path: Path) -> None:
    """One measured run: load, evaluate, report timings and peak RSS as JSON."""
    import pandas as pd

    from kvaudit.rules.engine import evaluate, status_counts
    from kvaudit.scanner import snapshot

    started = time.perf_counter()
    inventory = snapshot.load(path)
    loaded = time.perf_counter()
    evaluation = evaluate(inventory, now=pd.Timestamp("2026-11-23T00:00:00Z"))
    evaluated = time.perf_counter()
    print(
        json.dumps(
            {
                "load_s": loaded - started,
                "evaluate_s": evaluated - loaded,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rules": len(evaluation.outcomes),
                "results": sum(status_counts(evaluation).values()),
                "errors": [o.rule.id for o in evaluation.outcomes if o.error],
                "rows": inventory.counts(),
            }
        )
    )


def _series(runs: list[dict], key: str) -> str:
    return ", ".join(f"{r[key]:.2f}" for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not SNAPSHOT.exists():
        print("generating the scale snapshot (once) ...", file=sys.stderr)
        run_python(
            [
                "-c",
                "from bench.scale_inventory import generate; from scanner import snapshot; from pathlib import Path; "
                f"snapshot.save(generate(), Path({str(SNAPSHOT)!r}))",
            ]
        )
    runs = [
        json.loads(run_python(["-m", "bench.rule_eval", "--child", str(SNAPSHOT)]).strip().splitlines()[-1])
        for _ in range(args.runs)
    ]
    rows = runs[0]["rows"]
    header(
        "rule evaluation at scale",
        f"{rows['vaults']:,} vaults, {rows['keys']:,} keys, {rows['key_versions']:,} key versions, "
        f"{rows['role_assignments']:,} role assignments; snapshot {SNAPSHOT.stat().st_size / 1e6:.0f} MB; {args.runs} runs",
    )
    load = median([r["load_s"] for r in runs])
    evaluate_s = median([r["evaluate_s"] for r in runs])
    peak = max(r["peak_mb"] for r in runs)
    print(
        f"rules evaluated: {runs[0]['rules']} ({runs[0]['results']:,} results); rule errors: {runs[0]['errors'] or 'none'}"
    )
    print(f"snapshot load:   median {load:.2f} s  (runs: {_series(runs, 'load_s')})")
    print(
        f"evaluation:      median {evaluate_s:.2f} s  (runs: {_series(runs, 'evaluate_s')})  target < 10 s: {'met' if evaluate_s < 10 else 'NOT met'}"
    )
    print(f"peak memory:     {peak:.0f} MB (load + evaluate)  target < 2048 MB: {'met' if peak < 2048 else 'NOT met'}")


if __name__ == "__main__":
    main()
