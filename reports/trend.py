"""Trends over a history directory (see :mod:`reports.history`): open findings over time and
how long findings stay open.

Each run contributes only its open findings (FAIL or UNKNOWN, as in the diff), read into one
pandas frame, so the questions are group-bys: open findings per severity per run, and for each
fingerprint the *episodes* during which it was open (consecutive runs; a finding that is fixed
and comes back opens a new episode). An episode is resolved at the first run where the finding
is no longer open; an episode still open in the last run has no resolution time yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from kvaudit.reports.history import list_runs, run_time
from kvaudit.reports.loading import load_report
from kvaudit.reports.renderers.common import OPEN_STATUSES, SEVERITIES, is_suppressed
from kvaudit.scanner.errors import UsageError

RUN_COLUMNS = ["run", "fingerprint", "rule_id", "severity", "status", "suppressed", "resource_id", "resource_name"]


def load_history(directory: Path) -> tuple[list[pd.Timestamp], pd.DataFrame]:
    """(run times oldest first, one row per open finding per run)."""
    runs = list_runs(directory)
    if not runs:
        raise UsageError(f"{directory}: no run reports (expected files named like 20261123T020000Z.json)")
    times: list[pd.Timestamp] = []
    rows: list[dict[str, Any]] = []
    for path in runs:
        report = load_report(path)
        when = pd.Timestamp(run_time(path))
        times.append(when)
        for f in report["findings"]:
            if f["status"] in OPEN_STATUSES:
                rows.append(
                    {
                        "run": when,
                        "fingerprint": f["fingerprint"],
                        "rule_id": f["rule_id"],
                        "severity": f["severity"],
                        "status": f["status"],
                        "suppressed": is_suppressed(f),
                        "resource_id": f["resource"]["id"],
                        "resource_name": f["resource"].get("name"),
                    }
                )
    return times, pd.DataFrame(rows, columns=RUN_COLUMNS)


def severity_over_time(times: list[pd.Timestamp], frame: pd.DataFrame) -> pd.DataFrame:
    """Open, unsuppressed findings per run (rows) and severity (columns), zeros included."""
    active = frame[~frame["suppressed"].astype(bool)]
    table = active.groupby(["run", "severity"]).size().unstack("severity", fill_value=0)
    table = table.reindex(index=pd.Index(times, name="run"), columns=list(SEVERITIES), fill_value=0)
    table["total"] = table.sum(axis=1)
    return table.astype("int64")


def resolution_times(times: list[pd.Timestamp], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per episode: fingerprint, rule, severity, resource, first_seen, resolved, days_open."""
    columns = ["fingerprint", "rule_id", "severity", "resource_id", "resource_name", "first_seen", "last_seen"]
    if frame.empty:
        return pd.DataFrame(columns=[*columns, "resolved", "days_open"])
    position = {t: i for i, t in enumerate(times)}
    data = frame.assign(pos=frame["run"].map(position)).sort_values(["fingerprint", "pos"])
    # A new episode starts wherever a fingerprint skips a run (or at its first run).
    step = data.groupby("fingerprint")["pos"].diff()
    data["episode"] = (step.isna() | (step != 1)).cumsum()
    grouped = data.groupby("episode")
    episodes = grouped.agg(
        fingerprint=("fingerprint", "first"),
        rule_id=("rule_id", "last"),
        severity=("severity", "last"),
        resource_id=("resource_id", "last"),
        resource_name=("resource_name", "last"),
        first_pos=("pos", "min"),
        last_pos=("pos", "max"),
    )
    # Position len(times) is "after the last run": not resolved yet (NaT).
    run_index = pd.DatetimeIndex([*times, pd.NaT]).tz_convert("UTC")

    def at(positions: pd.Series) -> pd.Series:
        return pd.Series(run_index[positions.to_numpy()], index=positions.index)

    episodes["first_seen"] = at(episodes["first_pos"])
    episodes["last_seen"] = at(episodes["last_pos"])
    episodes["resolved"] = at((episodes["last_pos"] + 1).clip(upper=len(times)))
    episodes["days_open"] = ((episodes["resolved"] - episodes["first_seen"]).dt.total_seconds() / 86400).round(2)
    result = episodes[[*columns, "resolved", "days_open"]].reset_index(drop=True)
    return result.sort_values(["resolved", "first_seen", "fingerprint"], na_position="last").reset_index(drop=True)


def summarise(times: list[pd.Timestamp], frame: pd.DataFrame) -> dict[str, Any]:
    """The trend document the renderers use."""
    by_severity = severity_over_time(times, frame)
    episodes = resolution_times(times, frame)
    resolved = episodes.dropna(subset=["resolved"])
    per_severity = resolved.groupby("severity")["days_open"].median() if not resolved.empty else pd.Series()
    return {
        "runs": [t.isoformat() for t in times],
        "by_severity": by_severity,
        "episodes": episodes,
        "resolved_count": int(len(resolved)),
        "open_count": int(episodes["resolved"].isna().sum()) if not episodes.empty else 0,
        "median_days_to_resolve": float(resolved["days_open"].median()) if not resolved.empty else None,
        "median_days_by_severity": {s: float(per_severity[s]) for s in SEVERITIES if s in per_severity.index},
    }
