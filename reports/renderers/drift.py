"""Renderers of the drift document (:mod:`reports.diff`): JSON, Markdown and HTML."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from kvaudit.reports import indented_json
from kvaudit.reports.renderers.common import SEVERITIES
from kvaudit.reports.renderers.html_report import asset, csp_hash, environment
from kvaudit.reports.renderers.markdown import table

#: Rows per group in Markdown (PR comments have a size limit) and HTML (the JSON has them all).
MARKDOWN_LIMIT = 25
HTML_LIMIT = 5000


def render_json(drift: dict[str, Any]) -> str:
    return indented_json.dumps(drift) + "\n"


def _rows(entries: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            e["severity"],
            e["rule_id"],
            e["resource"].get("name") or e["resource"]["id"],
            e.get("resolution") or e["status"],
            e["message"],
        ]
        for e in entries[:MARKDOWN_LIMIT]
    ]


def render_markdown(drift: dict[str, Any]) -> str:
    summary = drift["summary"]
    lines = [
        f"## kvaudit drift: {summary['new']} new, {summary['resolved']} resolved, {summary['unchanged']} still open",
        "",
    ]
    lines += table(
        ["Severity", "New", "Resolved", "Open now"],
        [
            [s, summary["new_by_severity"][s], summary["resolved_by_severity"][s], summary["open_by_severity"][s]]
            for s in SEVERITIES
        ],
    )
    for title, key in (("New findings", "new"), ("Resolved findings", "resolved")):
        entries = drift[key]
        if not entries:
            continue
        shown = min(len(entries), MARKDOWN_LIMIT)
        lines += ["", f"### {title} ({shown} of {len(entries)})", ""]
        lines += table(["Severity", "Rule", "Resource", "Now", "Message"], _rows(entries))
    if not drift["new"] and not drift["resolved"]:
        lines += ["", "No change in open findings."]
    return "\n".join(lines) + "\n"


def render_html(drift: dict[str, Any]) -> str:
    css = asset("report.css")
    groups = [
        ("New findings", "new", drift["new"]),
        ("Resolved findings", "resolved", drift["resolved"]),
        ("Still open", "unchanged", drift["unchanged"]),
    ]
    return (
        environment()
        .get_template("drift.html.j2")
        .render(
            drift=drift,
            groups=groups,
            severities=SEVERITIES,
            limit=HTML_LIMIT,
            css=Markup(css),
            csp=f"default-src 'none'; style-src {csp_hash(css)}; base-uri 'none'; form-action 'none'",
        )
    )


RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html}
