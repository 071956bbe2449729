"""``kvaudit baseline create REPORT.json -o baseline.json``: accept today's findings as debt.

Creating the baseline from a finished JSON report (rather than re-scanning) means the
baseline records exactly what a reviewed report showed, and works for live-Azure reports too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kvaudit.scanner.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="write a baseline of a JSON report's failing findings")
    create.add_argument("report", type=Path, metavar="REPORT", help="a kvaudit JSON report (-o json:FILE)")
    create.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="baseline file to write; if it exists, first_seen dates of findings still failing are kept",
    )


def _read_report(path: Path) -> dict:
    from kvaudit.scanner.jsonio import load_json_bytes

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read report: {exc.strerror or exc}") from None
    report = load_json_bytes(data, str(path))
    if not isinstance(report, dict) or report.get("tool", {}).get("name") != "kvaudit":
        raise InputError(str(path), "not a kvaudit JSON report")
    findings = report.get("findings")
    if not isinstance(findings, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("fingerprint"), str)
        and isinstance(f.get("rule_id"), str)
        and isinstance(f.get("resource"), dict)
        and isinstance(f["resource"].get("id"), str)
        for f in findings
    ):
        raise InputError(str(path), "findings must be a list of findings with fingerprint, rule_id and resource id")
    return report


def run(args: argparse.Namespace) -> int:
    from kvaudit.scanner.gating.baseline import write_baseline

    report = _read_report(args.report)
    count = write_baseline(report, args.output)
    print(f"kvaudit: wrote baseline {args.output} with {count} entries", file=sys.stderr)
    return 0
