"""CSV exports (through pandas): every finding, and the framework × control matrix.

Auditors open these in spreadsheets, and a resource name in a template is attacker-chosen, so
text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
even after leading blanks) are prefixed with an apostrophe (the OWASP CSV-injection advice),
and control, bidi and zero-width characters are shown as escapes.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from kvaudit.reports.renderers.common import MATRIX_COLUMNS, control_matrix
from kvaudit.scanner.textsafe import csv_cell

FINDING_COLUMNS = [
    "fingerprint",
    "rule_id",
    "title",
    "severity",
    "status",
    "suppressed",
    "suppression_kind",
    "suppression_expired",
    "suppression_justification",
    "suppression_approver",
    "suppression_expires",
    "resource_id",
    "resource_type",
    "resource_name",
    "file",
    "line",
    "module",
    "declared_file",
    "declared_line",
    "source",
    "reach",
    "profile",
    "message",
    "evidence",
    "controls",
]
CONTROL_COLUMNS = ["framework", "control", "title", "verdict", *MATRIX_COLUMNS, "rules"]


def defuse(value: Any) -> Any:
    """Neutralise spreadsheet formulas and control characters in text cells (see
    :func:`scanner.textsafe.csv_cell`); numbers and empty cells pass unchanged."""
    return csv_cell(value)


def _finding_row(finding: dict[str, Any]) -> dict[str, Any]:
    suppression = finding.get("suppression") or {}
    location = finding.get("location") or {}
    declared = location.get("declared") or {}
    resource = finding["resource"]
    return {
        "fingerprint": finding["fingerprint"],
        "rule_id": finding["rule_id"],
        "title": finding["title"],
        "severity": finding["severity"],
        "status": finding["status"],
        "suppressed": bool(suppression.get("active")),
        "suppression_kind": suppression.get("kind"),
        "suppression_expired": suppression.get("expired") if suppression else None,
        "suppression_justification": suppression.get("justification"),
        "suppression_approver": suppression.get("approver"),
        "suppression_expires": suppression.get("expires"),
        "resource_id": resource["id"],
        "resource_type": resource.get("type"),
        "resource_name": resource.get("name"),
        "file": location.get("file"),
        "line": location.get("line"),
        "module": location.get("module"),
        "declared_file": declared.get("file"),
        "declared_line": declared.get("line"),
        "source": finding.get("source"),
        "reach": finding.get("reach"),
        "profile": finding.get("profile"),
        "message": finding["message"],
        "evidence": json.dumps(finding["evidence"], sort_keys=True, ensure_ascii=False),
        "controls": "; ".join(f"{m['framework']} {m['control']}" for m in finding.get("compliance", [])),
    }


def _to_csv(frame: pd.DataFrame) -> str:
    text_columns = frame.select_dtypes(include=["object", "string"]).columns
    for column in text_columns:
        frame[column] = frame[column].map(defuse)
    return frame.to_csv(index=False, lineterminator="\n")


def findings_frame(report: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame([_finding_row(f) for f in report["findings"]], columns=FINDING_COLUMNS)
    for column in ("line", "declared_line"):
        frame[column] = frame[column].astype("Int64")
    return frame


def controls_frame(report: dict[str, Any]) -> pd.DataFrame:
    rows = [{**row, "rules": " ".join(row["rules"])} for row in control_matrix(report)]
    return pd.DataFrame(rows, columns=CONTROL_COLUMNS)


def render(report: dict[str, Any]) -> str:
    """``-o csv:PATH``: one row per finding."""
    return _to_csv(findings_frame(report))


def render_controls(report: dict[str, Any]) -> str:
    """``-o csv-controls:PATH``: one row per (framework, control) with result counts."""
    return _to_csv(controls_frame(report))
