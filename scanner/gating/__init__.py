"""Gating: suppressions (baseline, waivers, inline comments) and change-only gating (--diff-base).

This is a report hook of :mod:`scanner.cli`: ``add_arguments`` adds the options to ``scan``
and ``demo``, and ``process`` marks findings as suppressed right after the report is built,
before renderers and exit codes see it. Suppressed findings stay in the report, marked, and a
report-level ``exceptions`` register lists every waiver, inline comment, baseline and diff base
with what it matched, so an auditor can see what was accepted and what has lapsed.

The submodules are imported only when ``process`` runs, so ``kvaudit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("suppressions and gating")
    group.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="suppress findings whose fingerprint is in this baseline (only new findings fail)",
    )
    group.add_argument(
        "--baseline-create",
        type=Path,
        metavar="FILE",
        help="write a baseline of this run's failing findings to FILE (first_seen kept from an existing FILE)",
    )
    group.add_argument(
        "--waivers",
        type=Path,
        metavar="FILE",
        help="waivers file (TOML): rule and resource or fingerprint, justification, approver, expires",
    )
    group.add_argument(
        "--diff-base",
        metavar="REF",
        help="fail only on findings the change introduces: findings that already failed with the SOURCE "
        "paths at this git revision are marked pre-existing (e.g. origin/main)",
    )


def _evaluation_date(report: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.Timestamp(report["scan"]["evaluated_at"]).tz_convert("UTC").date()


def _diff_base(report: dict[str, Any], args: argparse.Namespace) -> Any:
    import pandas as pd

    from kvaudit.scanner.errors import UsageError
    from kvaudit.scanner.gating.diffbase import failures_at
    from kvaudit.scanner.policy import Policy, load

    if getattr(args, "azure", False):
        raise UsageError("--diff-base cannot be combined with --azure: live Azure has no git revision to compare")
    sources = getattr(args, "sources", None)
    if not sources:
        raise UsageError("--diff-base needs SOURCE paths in a git repository (scan IaC or snapshot files)")
    policy = load(args.policy) if args.policy else Policy()
    return failures_at(args.diff_base, list(sources), policy, pd.Timestamp(report["scan"]["evaluated_at"]))


def process(report: dict[str, Any], inventory: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Apply every suppression to ``report`` (in place) and return it."""
    from kvaudit.rules.registry import all_rules
    from kvaudit.scanner.gating.baseline import load_baseline, write_baseline
    from kvaudit.scanner.gating.suppress import Sources, apply_suppressions
    from kvaudit.scanner.gating.waivers import load_waivers

    sources = Sources(inline=list(getattr(inventory, "suppressions", []) or []))
    if args.waivers is not None:
        sources.waivers = load_waivers(args.waivers, {r.id for r in all_rules()})
    if args.baseline is not None:
        sources.baseline = load_baseline(args.baseline)
    if args.diff_base is not None:
        sources.diff_base = _diff_base(report, args)
    report = apply_suppressions(report, sources, _evaluation_date(report))
    for notice in report["exceptions"]["notices"]:
        print(f"kvaudit: notice: {notice}", file=sys.stderr)
    if args.baseline_create is not None:
        count = write_baseline(report, args.baseline_create)
        print(f"kvaudit: wrote baseline {args.baseline_create} with {count} entries", file=sys.stderr)
    return report
