"""``kvaudit trend DIR [-o html:PATH] [-o csv:PATH] [-o csv-resolution:PATH]``: findings over time.

DIR is a history directory written by ``--history`` (see reports/history.py). ``csv`` is the
open findings per run and severity; ``csv-resolution`` one row per finding episode with the
time from first seen to resolved. Without ``-o`` the per-run table is printed as CSV.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TREND_FORMATS = ("html", "csv", "csv-resolution")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kvaudit.reports.outputs import output_type

    parser.add_argument("directory", type=Path, metavar="DIR", help="history directory (kvaudit ... --history DIR)")
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        type=output_type(TREND_FORMATS),
        metavar="FORMAT[:PATH]",
        help=f"write the trend ({', '.join(TREND_FORMATS)}); repeatable; no PATH writes to stdout",
    )


def run(args: argparse.Namespace) -> int:
    from kvaudit.reports.outputs import write_outputs
    from kvaudit.reports.renderers.trend import RENDERERS
    from kvaudit.reports.trend import load_history, summarise

    times, frame = load_history(args.directory)
    trend = summarise(times, frame)
    write_outputs(args.output or [("csv", None)], RENDERERS, trend)
    median = trend["median_days_to_resolve"]
    print(
        f"kvaudit: trend: {len(times)} runs; {trend['resolved_count']} findings resolved"
        + (f" (median {median:.2f} days open)" if median is not None else "")
        + f", {trend['open_count']} still open",
        file=sys.stderr,
    )
    return 0
