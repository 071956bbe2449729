"""A self-contained HTML report: inline CSS, no network, every value escaped by jinja2."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: dict[str, Any]) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(report=report, rules={r["id"]: r for r in report["rules"]})
