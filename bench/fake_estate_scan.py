"""A whole `kvaudit scan --azure` of the tests' default fake estate: wall time and API calls.

    python -m bench.fake_estate_scan [--runs 3]

The fake Azure (tests/fakeazure) runs in this process; kvaudit runs as a subprocess with only
documented options and the fake's managed-identity environment, exactly as in the tests.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

from bench.common import header, median
from tests.azure.test_cli_azure import azure_args
from tests.conftest import run_kvaudit
from tests.fakeazure import FakeAzure, Faults, build_estate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    walls: list[float] = []
    planes: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            with FakeAzure(build_estate.default(), faults=Faults()) as fake:
                started = time.monotonic()
                done = run_kvaudit(
                    *azure_args(fake, "--fail-on", "none", "-o", f"json:{Path(tmp) / 'r.json'}"), env=fake.env()
                )
                walls.append(time.monotonic() - started)
                planes = collections.Counter(r.plane for r in fake.requests)
            if done.returncode != 0:
                raise SystemExit(f"scan failed: {done.stderr[-500:]}")
    header(
        "kvaudit scan --azure of the default fake estate (whole process)",
        f"tests.fakeazure default estate; {args.runs} runs",
    )
    print(f"wall time: median {median(walls):.2f} s (runs: {', '.join(f'{w:.2f}' for w in walls)})")
    print(f"requests:  {sum(planes.values())} ({', '.join(f'{k} {v}' for k, v in sorted(planes.items()))})")


if __name__ == "__main__":
    main()
