"""A self-contained HTML report for auditors: one file, no network, every value escaped.

Safety model (the report shows names an attacker may choose, e.g. a Terraform resource name):

- the page is static HTML rendered by jinja2 with autoescape, except the findings table;
- findings travel as JSON in a ``<script type="application/json">`` block, with ``<``, ``>`` and
  ``&`` written as ``\\u003c`` / ``\\u003e`` / ``\\u0026`` so no value can close the block, and
  the inline script builds rows with ``textContent`` only;
- a Content-Security-Policy meta tag allows exactly the inline stylesheet and script by their
  SHA-256 hashes and nothing else (no network, no other script, no inline event handlers).

Scale: only findings (never the inventory) are embedded, as compact arrays that reference the
rule catalogue by index; the browser filters, sorts and pages them, drawing one page at a time.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib.resources import files
from itertools import groupby
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from reports.renderers import svg
from reports.renderers.common import (
    MATRIX_COLUMNS,
    SEVERITIES,
    STATUSES,
    control_matrix,
    failing,
    framework_summary,
    percent,
    suppressed_counts,
)

#: Suppressed findings listed in the exceptions register itself; the rest are in the table.
SUPPRESSED_LISTED = 500


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["percent"] = percent
    return env


@cache
def asset(name: str) -> str:
    return files("reports").joinpath("templates", name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline element content."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(css: str, js: str) -> str:
    return (
        f"default-src 'none'; style-src {csp_hash(css)}; script-src {csp_hash(js)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def script_json(value: Any) -> Markup:
    """JSON that is safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _rule_entry(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rule["id"],
        "title": rule["title"],
        "severity": rule["severity"],
        "rationale": rule["rationale"],
        "remediation": rule["remediation"],
        "compliance": [{"framework": m["framework"], "control": m["control"]} for m in rule.get("compliance", [])],
    }


def page_data(report: dict[str, Any]) -> dict[str, Any]:
    """The findings browser's data: rules once, findings as positional arrays (see report.js)."""
    rules = [_rule_entry(r) for r in report["rules"]]
    index = {r["id"]: i for i, r in enumerate(rules)}
    for finding in report["findings"]:
        if finding["rule_id"] not in index:  # a finding of a rule missing from the catalogue
            index[finding["rule_id"]] = len(rules)
            rules.append(
                {
                    "id": finding["rule_id"],
                    "title": finding["title"],
                    "severity": finding["severity"],
                    "rationale": "",
                    "remediation": {},
                    "compliance": finding.get("compliance", []),
                }
            )
    rows = []
    for f in report["findings"]:
        location = f.get("location") or {}
        resource = f["resource"]
        rows.append(
            [
                f["severity"],
                f["status"],
                index[f["rule_id"]],
                resource.get("name"),
                resource["id"],
                resource.get("type"),
                f["message"],
                f["evidence"],
                f.get("profile"),
                f["fingerprint"],
                location.get("file"),
                location.get("line"),
                f.get("suppression"),
            ]
        )
    return {"rules": rules, "findings": rows}


def _scope_name(scan: dict[str, Any]) -> str | None:
    scope = scan.get("scope") or {}
    for key in ("estate", "name", "management_group", "tenant"):
        if isinstance(scope.get(key), str):
            return scope[key]
    return None


def render(report: dict[str, Any]) -> str:
    css, js = asset("report.css"), asset("report.js")
    summary = report["summary"]
    matrix = control_matrix(report)
    suppressed = suppressed_counts(report)
    suppressed_findings = [f for f in report["findings"] if f.get("suppression")]
    context = {
        "report": report,
        "scan": report["scan"],
        "summary": summary,
        "integrity": report.get("integrity"),
        "exceptions": report.get("exceptions"),
        "scope_name": _scope_name(report["scan"]),
        "csp": content_security_policy(css, js),
        "css": Markup(css),
        "js": Markup(js),
        "data": script_json(page_data(report)),
        "severities": SEVERITIES,
        "statuses": STATUSES,
        "open_failures": len(failing(report["findings"])),
        "pass_rate": percent(summary["pass_rate"]),
        "suppressed": suppressed,
        "suppressed_total": suppressed["baseline"] + suppressed["waiver"] + suppressed["inline"],
        "suppressed_rows": suppressed_findings[:SUPPRESSED_LISTED],
        "suppressed_more": max(0, len(suppressed_findings) - SUPPRESSED_LISTED),
        "frameworks": framework_summary(matrix),
        "matrix_by_framework": [(fw, list(rows)) for fw, rows in groupby(matrix, key=lambda r: r["framework"])],
        "matrix_columns": MATRIX_COLUMNS,
        "severity_chart": svg.bar_chart(
            "Failing results by severity", [(s, summary["failing_by_severity"].get(s, 0)) for s in SEVERITIES]
        ),
        "status_chart": svg.stacked_bar("Results by status", [(s, summary["by_status"].get(s, 0)) for s in STATUSES]),
    }
    return environment().get_template("report.html.j2").render(**context)
