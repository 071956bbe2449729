"""``kvaudit diff OLD.json NEW.json [-o FORMAT[:PATH]]... [--fail-on SEV]``: drift between two runs.

Prints a one-line summary on stderr, writes the drift as JSON, Markdown or HTML (Markdown to
stdout when no output is given, ready for a CI step summary), and exits 1 when the newer run
has new, unsuppressed FAIL findings at or above ``--fail-on``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DRIFT_FORMATS = ("json", "markdown", "html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kvaudit.reports.outputs import output_type

    parser.add_argument("old", type=Path, metavar="OLD.json", help="the earlier JSON report")
    parser.add_argument("new", type=Path, metavar="NEW.json", help="the later JSON report")
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        type=output_type(DRIFT_FORMATS),
        metavar="FORMAT[:PATH]",
        help=f"write the drift ({', '.join(DRIFT_FORMATS)}); repeatable; no PATH writes to stdout "
        "(default: markdown to stdout)",
    )
    parser.add_argument(
        "--fail-on",
        choices=("critical", "high", "medium", "low", "info", "none"),
        default="high",
        help="exit 1 when a new, unsuppressed FAIL at or above this severity appears (default: high)",
    )


def run(args: argparse.Namespace) -> int:
    from kvaudit.reports.diff import diff_reports, gate
    from kvaudit.reports.loading import load_report
    from kvaudit.reports.outputs import write_outputs
    from kvaudit.reports.renderers.drift import RENDERERS

    old, new = load_report(args.old), load_report(args.new)
    drift = diff_reports(old, new, str(args.old), str(args.new))
    write_outputs(args.output or [("markdown", None)], RENDERERS, drift)
    blocking = gate(drift, args.fail_on)
    s = drift["summary"]
    print(
        f"kvaudit: drift: {s['new']} new, {s['resolved']} resolved, {s['unchanged']} unchanged; "
        f"{len(blocking)} new at or above {args.fail_on}",
        file=sys.stderr,
    )
    return 1 if blocking else 0
