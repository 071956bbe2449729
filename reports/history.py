"""Run history for the nightly job: every report kept, and the drift since the previous run.

``kvaudit scan --azure ... --history DIR`` (or ``demo``/``merge`` with ``--history``) writes,
after the report is complete (suppressions applied, digest sealed):

```
DIR/
  20261123T020000Z.json     one canonical JSON report per run, named by its UTC finish time
                            (by the evaluation time when --now fixes it)
  20261124T020000Z.json     (a second run in the same second gets a "-1", "-2" suffix)
  latest-diff.json          drift from the previous run to this one (new / resolved / unchanged)
  latest-diff.md            the same as Markdown, for a chat message or a CI step summary
```

Names sort chronologically, so "the previous run" is the last name before this one, and
``kvaudit trend DIR`` reads the whole directory. Files are written atomically (temporary file
and rename), so a concurrent reader never sees half a report. The first run writes no diff.
Keep the directory on durable storage (an Azure Files share, a pipeline artifact restored each
night); kvaudit never deletes old runs, so prune with the retention your audit policy requires.

The exit code of the scan is unchanged: gate nightly runs with ``kvaudit diff PREV NEW
--fail-on high`` or read ``latest-diff.json`` (its ``summary.new_by_severity``).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUN_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<seq>\d+))?\.json$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("history")
    group.add_argument(
        "--history",
        type=Path,
        metavar="DIR",
        help="keep this run as DIR/<UTC time>.json (the --now time if given) and write "
        "DIR/latest-diff.{json,md} against the previous run",
    )


def _run_key(path: Path) -> tuple[str, int]:
    match = RUN_NAME.match(path.name)
    assert match is not None
    return match.group("stamp"), int(match.group("seq") or 0)


def list_runs(directory: Path) -> list[Path]:
    """The run reports in ``directory``, oldest first (other files are ignored)."""
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if RUN_NAME.match(p.name) and p.is_file()), key=_run_key)


def run_time(path: Path) -> datetime:
    """The UTC time a run file is named after."""
    stamp, _ = _run_key(path)
    return datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)


def _new_run_path(directory: Path, finished: datetime) -> Path:
    stamp = finished.astimezone(UTC).strftime(STAMP_FORMAT)
    path, seq = directory / f"{stamp}.json", 0
    while path.exists():
        seq += 1
        path = directory / f"{stamp}-{seq}.json"
    return path


def record_run(
    report: dict[str, Any], directory: Path, named_by_evaluation: bool = False
) -> tuple[Path, dict[str, Any] | None]:
    """Write ``report`` into the history and the drift since the previous run.

    The run is named by its finish time, or by its evaluation time when ``named_by_evaluation``
    (``--now``): a replayed or back-filled run then sorts where it belongs, not at today.
    Returns the new run's path and the drift document (None on the first run).
    """
    from kvaudit.reports.diff import diff_reports
    from kvaudit.reports.loading import load_report
    from kvaudit.reports.outputs import write_atomic
    from kvaudit.reports.renderers.drift import render_json, render_markdown
    from kvaudit.reports.renderers.json_report import render

    previous = list_runs(directory)
    stamp = report["scan"]["evaluated_at" if named_by_evaluation else "finished"]
    path = _new_run_path(directory, datetime.fromisoformat(stamp))
    write_atomic(path, render(report))
    if not previous:
        return path, None
    drift = diff_reports(load_report(previous[-1]), report, previous[-1].name, path.name)
    write_atomic(directory / "latest-diff.json", render_json(drift))
    write_atomic(directory / "latest-diff.md", render_markdown(drift))
    return path, drift


def process(report: dict[str, Any], inventory: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Report hook: record the run when ``--history`` is given; the report is not changed."""
    directory = getattr(args, "history", None)
    if directory is None:
        return report
    path, drift = record_run(report, directory, named_by_evaluation=getattr(args, "now", None) is not None)
    if drift is None:
        print(f"kvaudit: history: wrote {path} (first run, no diff)", file=sys.stderr)
    else:
        s = drift["summary"]
        print(
            f"kvaudit: history: wrote {path}; since {drift['old_run']['label']}: "
            f"{s['new']} new, {s['resolved']} resolved, {s['unchanged']} unchanged",
            file=sys.stderr,
        )
    return report
