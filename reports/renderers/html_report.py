"""A self-contained HTML report for auditors: one file, no network, every value escaped.

Safety model (the report shows names an attacker may choose, e.g. a Terraform resource name):

- the page is static HTML rendered by jinja2 with autoescape, except the findings table;
- findings travel as JSON in a ``<script type="application/json">`` block, with ``<``, ``>`` and
  ``&`` written as ``\\u003c`` / ``\\u003e`` / ``\\u0026`` so no value can close the block, and
  the inline script builds rows with ``textContent`` only;
- a Content-Security-Policy meta tag allows exactly the inline stylesheet and script by their
  SHA-256 hashes and nothing else (no network, no other script, no inline event handlers).

Scale: only findings (never the inventory) are embedded, as compact arrays that reference the
rule catalogue and the per-vault summaries by index; the browser filters, sorts and pages them,
drawing one page at a time. A vault's page (``#vault=N``) and a control's resource list
(``#control=FRAMEWORK/CONTROL``) are drawn by the script from the same data on demand.
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

from kvaudit.reports.messages import human_time
from kvaudit.reports.renderers import svg
from kvaudit.reports.renderers.common import (
    MATRIX_COLUMNS,
    SEVERITIES,
    STATUSES,
    control_matrix,
    controls_by_framework,
    failing,
    framework_summary,
    percent,
    suppressed_counts,
)

#: Suppressed findings listed in the exceptions register itself; the rest are in the table.
SUPPRESSED_LISTED = 500
#: Vault groups drawn in the fix-first list; the JSON report carries every group.
FIX_FIRST_LISTED = 50
#: Actions drawn per fix-first group.
ACTIONS_LISTED = 10


def when(value: Any, seconds: bool = False) -> str:
    """An ISO time as a reader writes it (``2026-11-23 00:00 UTC``); anything else unchanged."""
    if not value:
        return ""
    try:
        return human_time(value, seconds)
    except (ValueError, TypeError):
        return str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kvaudit.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["percent"] = percent
    env.filters["when"] = when
    env.globals["plural"] = plural
    return env


def plural(count: int, noun: str) -> str:
    """'1 key', '2 keys'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@cache
def asset(name: str) -> str:
    return files("kvaudit.reports").joinpath("templates", name).read_text(encoding="utf-8")


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


def _vault_entry(vault: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": vault["id"],
        "display_id": vault["display_id"],
        "name": vault["name"],
        "kind": vault["kind"],
        "source": vault.get("source"),
        "file": vault.get("file"),
        "properties": vault["properties"],
        "keys": vault["keys"],
        "consumers": vault["consumers"],
    }


def _own_controls(finding: dict[str, Any], rule: dict[str, Any]) -> list[dict[str, str]] | None:
    """The controls a finding counts toward when they differ from its rule's mapping (a scoped
    control such as CIS 8.3.1 holds only the keys of RBAC vaults); None when they are the same,
    which is almost always, so the page carries the rule's list once."""
    own = [{"framework": m["framework"], "control": m["control"]} for m in finding.get("compliance", [])]
    for mapping, source in zip(own, finding.get("compliance", []), strict=True):
        if source.get("scope"):
            mapping["scope"] = source["scope"]
    return None if own == rule["compliance"] else own


def page_data(report: dict[str, Any]) -> dict[str, Any]:
    """The findings browser's data: rules and vaults once, findings as positional arrays
    that reference them by index (see report.js)."""
    vaults = [_vault_entry(v) for v in report.get("vaults", [])]
    vault_index = {v["id"]: i for i, v in enumerate(vaults)}
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
        declared = location.get("declared") or {}
        resource = f["resource"]
        # Provenance a reader opens a finding for, after the fixed fields; trailing nulls are
        # left off (most findings have no module and no reach) to keep large reports small.
        provenance = [
            location.get("module"),
            declared.get("file"),
            declared.get("line"),
            f.get("source"),
            f.get("reach"),
            _own_controls(f, rules[index[f["rule_id"]]]),
        ]
        while provenance and provenance[-1] is None:
            provenance.pop()
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
                vault_index.get(resource.get("vault_id") or ""),
                *provenance,
            ]
        )
    controls = [
        [
            c["framework"],
            c["control"],
            c["title"],
            c["assessed"],
            c["passing"],
            c["failing"],
            c["unknown"],
            c["suppressed"],
        ]
        for c in (report.get("compliance") or {}).get("controls", [])
    ]
    return {
        "rules": rules,
        "vaults": vaults,
        "controls": controls,
        "passed_included": report["scan"].get("passed_included", True),
        "findings": rows,
    }


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
    vault_index = {v["id"]: i for i, v in enumerate(report.get("vaults", []))}
    fix_groups = [{**g, "index": vault_index.get(g["vault_id"] or "")} for g in report.get("fix_first", [])]
    by_vault = {g["vault_id"]: g for g in fix_groups if g["vault_id"]}
    vault_rows = [{**v, "index": i, "fix": by_vault.get(v["id"])} for i, v in enumerate(report.get("vaults", []))]
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
        "frameworks": framework_summary(report),
        "compliance_by_framework": controls_by_framework(report),
        "fix_first": fix_groups[:FIX_FIRST_LISTED],
        "fix_first_more": max(0, len(fix_groups) - FIX_FIRST_LISTED),
        "actions_listed": ACTIONS_LISTED,
        "vault_rows": vault_rows,
        "has_posture": "compliance" in report and "fix_first" in report,
        "before_posture": "This report predates report schema 1.2.0, which added per-control resource counts, "
        "vault summaries and the fix-first list: see the findings and the result matrix.",
        "matrix_by_framework": [(fw, list(rows)) for fw, rows in groupby(matrix, key=lambda r: r["framework"])],
        "matrix_columns": MATRIX_COLUMNS,
        "severity_chart": svg.bar_chart(
            "Failing results by severity", [(s, summary["failing_by_severity"].get(s, 0)) for s in SEVERITIES]
        ),
        "status_chart": svg.stacked_bar("Results by status", [(s, summary["by_status"].get(s, 0)) for s in STATUSES]),
    }
    return environment().get_template("report.html.j2").render(**context)
