"""``kvaudit merge SNAPSHOT... [--snapshot OUT] [-o FORMAT:PATH]...``: combine shard snapshots.

Each shard of a sharded nightly job (``kvaudit collect --azure --shard I/N``) writes its own
snapshot; merge joins them into one inventory (re-resolving key references that cross shards)
and either saves it, evaluates it into reports, or both.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kvaudit.scanner.cli import add_report_options

    parser.add_argument("snapshots", nargs="+", type=Path, metavar="SNAPSHOT", help="shard snapshots to merge")
    parser.add_argument("--snapshot", type=Path, metavar="FILE", help="also write the merged snapshot here")
    add_report_options(parser, "high")


def run(args: argparse.Namespace) -> int:
    from kvaudit.scanner import snapshot
    from kvaudit.scanner.azure.shard import merge_snapshots
    from kvaudit.scanner.cli import evaluate_and_report

    started = datetime.now(UTC)
    merged = merge_snapshots(snapshot.load(path) for path in args.snapshots)
    if args.snapshot:
        snapshot.save(merged, args.snapshot, created=started)
    return evaluate_and_report(merged, args, started)
