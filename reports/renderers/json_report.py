"""The canonical JSON report, written with stable key order so that runs diff cleanly."""

from __future__ import annotations

from typing import Any

from kvaudit.reports import indented_json


def render(report: dict[str, Any]) -> str:
    return indented_json.dumps(report) + "\n"
