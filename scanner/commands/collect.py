"""``kvaudit collect --azure ... --snapshot FILE``: collect once, evaluate many times.

A nightly job (or each shard of one) saves the inventory; ``kvaudit scan FILE`` or
``kvaudit merge`` then evaluates it with any policy or rule set, without touching Azure again.
Exit codes: 0 everything was read, 3 some reads failed (recorded in the snapshot), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from kvaudit.scanner.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kvaudit.scanner.azure.options import add_azure_arguments

    parser.add_argument("--azure", action="store_true", required=True, help="collect from live Azure (required)")
    parser.add_argument("--snapshot", type=Path, required=True, metavar="FILE", help="where to write the snapshot")
    add_azure_arguments(parser, switch=False)


def run(args: argparse.Namespace) -> int:
    from kvaudit.scanner import snapshot
    from kvaudit.scanner.azure import collect
    from kvaudit.scanner.azure.options import options_from_args

    inventory = collect(options_from_args(args))
    try:
        if args.snapshot.parent != Path(""):
            args.snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save(inventory, args.snapshot, created=datetime.now(UTC))
    except OSError as exc:
        raise UsageError(f"{args.snapshot}: cannot write snapshot: {exc.strerror or exc}") from None
    counts = inventory.counts()
    errors = counts["collection_errors"]
    print(
        f"kvaudit: collected {counts['vaults']} vaults and HSMs, {counts['keys']} keys, "
        f"{counts['key_versions']} key versions, {counts['role_assignments']} role assignments; "
        f"{errors} collection errors -> {args.snapshot}",
        file=sys.stderr,
    )
    return 3 if errors else 0
