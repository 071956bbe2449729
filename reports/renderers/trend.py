"""Renderers of the trend document (:func:`reports.trend.summarise`): HTML with an SVG chart, CSVs."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from markupsafe import Markup

from kvaudit.reports.renderers import svg
from kvaudit.reports.renderers.common import SEVERITIES
from kvaudit.reports.renderers.csv_report import defuse
from kvaudit.reports.renderers.html_report import asset, csp_hash, environment

#: Episodes listed in the HTML (the CSV has them all).
HTML_EPISODES = 2000


def _stamp(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%SZ")


def render_html(trend: dict[str, Any]) -> str:
    css = asset("report.css")
    table: pd.DataFrame = trend["by_severity"]
    labels = [pd.Timestamp(t).strftime("%m-%d %H:%M") for t in table.index]
    series = [(s, [int(v) for v in table[s]]) for s in SEVERITIES if table[s].any()] or [("total", [0] * len(labels))]
    episodes = []
    for record in trend["episodes"].head(HTML_EPISODES).to_dict(orient="records"):
        days = record["days_open"]
        episodes.append(
            {
                **record,
                "first_seen": _stamp(record["first_seen"]),
                "resolved": _stamp(record["resolved"]),
                "days_open": None if days is None or pd.isna(days) else days,
            }
        )
    return (
        environment()
        .get_template("trend.html.j2")
        .render(
            trend=trend,
            chart=svg.line_chart("Open findings by severity per run", labels, series),
            columns=list(table.columns),
            rows=[
                (_stamp(run), [int(v) for v in values])
                for run, values in zip(table.index, table.to_numpy(), strict=True)
            ],
            episodes=episodes,
            more=max(0, len(trend["episodes"]) - HTML_EPISODES),
            css=Markup(css),
            csp=f"default-src 'none'; style-src {csp_hash(css)}; base-uri 'none'; form-action 'none'",
        )
    )


def _csv(frame: pd.DataFrame) -> str:
    frame = frame.copy()
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        frame[column] = frame[column].map(defuse)
    return frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%SZ")


def render_csv(trend: dict[str, Any]) -> str:
    """Open findings per run and severity."""
    return _csv(trend["by_severity"].reset_index())


def render_resolution_csv(trend: dict[str, Any]) -> str:
    """One row per open episode of a finding, with first seen, resolved and days open."""
    return _csv(trend["episodes"])


RENDERERS = {"html": render_html, "csv": render_csv, "csv-resolution": render_resolution_csv}
