"""The canonical JSON report, written with stable key order so that runs diff cleanly."""

from __future__ import annotations

import json
from typing import Any


def render(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
