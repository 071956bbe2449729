"""The report's versioned JSON Schema, shipped with the package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def report_schema() -> dict[str, Any]:
    text = resources.files("kvaudit.reports").joinpath("schema/report.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_report(report: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when ``report`` does not match the schema."""
    import jsonschema

    jsonschema.Draft202012Validator(report_schema(), format_checker=jsonschema.FormatChecker()).validate(report)
