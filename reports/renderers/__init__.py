"""Renderers: each turns the canonical report into one output format, reading nothing else.

A renderer is a function ``render(report: dict) -> str``; add one by listing it here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

#: format name -> "module:function" (imported lazily so unused renderers cost no start-up time).
RENDERERS: dict[str, str] = {
    "json": "kvaudit.reports.renderers.json_report:render",
    "html": "kvaudit.reports.renderers.html_report:render",
    "sarif": "kvaudit.reports.renderers.sarif:render",
    "junit": "kvaudit.reports.renderers.junit:render",
    "markdown": "kvaudit.reports.renderers.markdown:render",
    "csv": "kvaudit.reports.renderers.csv_report:render",
    "csv-controls": "kvaudit.reports.renderers.csv_report:render_controls",
}


def get_renderer(name: str) -> Callable[[dict[str, Any]], str]:
    module_name, func = RENDERERS[name].split(":")
    return getattr(importlib.import_module(module_name), func)
