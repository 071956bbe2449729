"""The canonical report: one JSON document that every renderer reads and nothing else.

Building it is the only place where results become per-finding dicts, so large estates pay
for materialisation once, and only for what the report includes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kvaudit.reports.catalogue import catalogue
from kvaudit.reports.messages import format_message, missing_fields, unknown_message
from kvaudit.reports.posture import compliance_section, finding_controls, refresh, vault_facts, vault_summaries
from kvaudit.rules.engine import Evaluation, status_counts
from kvaudit.rules.mappings import control_scope, controls_by_rule
from kvaudit.rules.model import SEVERITY_RANK, Rule, Status
from kvaudit.rules.registry import RULESET_VERSION
from kvaudit.scanner import __version__
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

SCHEMA_VERSION = "1.3.0"

DEFAULT_MESSAGES = {
    Status.FAIL.value: "{resource_name}: {title}",
    Status.PASS.value: "{resource_name} complies",
    Status.NOT_APPLICABLE.value: "{resource_name}: not applicable",
    Status.ERROR.value: "rule {resource_name} failed to evaluate: {error}",
}


def fingerprint(rule_id: str, resource_id: str) -> str:
    """Stable identity of a finding: rule id + normalised resource id, never line numbers,
    so moving a resource in a file or re-collecting it keeps the same fingerprint."""
    identity = f"{rule_id}|{str(resource_id).strip().rstrip('/').lower()}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


#: Values that are already JSON as they are (exact types: numpy's subclasses take the long way).
_ALREADY_PLAIN = frozenset((str, int, bool))


def _plain(value: Any) -> Any:
    """JSON-safe, human-meaningful evidence values (null stays null: unknown)."""
    if type(value) in _ALREADY_PLAIN:
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass
class ReportOptions:
    """What to include; large estates omit PASS rows but keep them in the counts."""

    include_passed: bool = True
    include_not_applicable: bool = False


def result_severity(own: Any, rule_severity: str) -> str:
    """A result's severity: the one its key's profile gave it (a rule's ``severity`` column, set
    for the ``default`` profile's low-severity checks), else the rule's effective severity."""
    value = _plain(own)
    return value if isinstance(value, str) and value in SEVERITY_RANK else rule_severity


def _findings_for(
    outcome: Any,
    options: ReportOptions,
    mappings: list[dict[str, str]],
    facts: dict[str, dict[str, Any]] | None = None,
) -> Iterable[dict[str, Any]]:
    rule: Rule = outcome.rule
    df: pd.DataFrame = outcome.results
    if df.empty:
        return
    keep = pd.Series(True, index=df.index)
    if not options.include_passed:
        keep &= df["status"] != Status.PASS.value
    if not options.include_not_applicable:
        keep &= df["status"] != Status.NOT_APPLICABLE.value
    df = df[keep.to_numpy(dtype=bool)]
    ev_cols = [c for c in df.columns if c.startswith("ev:")]
    raw_params = dict(outcome.params)
    scoped = any(control_scope(m["framework"], m["control"]) for m in mappings)
    for record in df.to_dict(orient="records"):
        observed = {c[3:]: record[c] for c in ev_cols}
        evidence = {name: _plain(value) for name, value in observed.items()}
        status = record["status"]
        gap = _plain(record.get("gap"))
        if gap and status == Status.UNKNOWN.value:
            evidence["coverage_gap"] = gap
        error = _plain(record.get("error"))
        resource_name = _plain(record.get("resource_name")) or _plain(record.get("resource_id"))
        values = {**raw_params, **observed, "resource_name": resource_name, "title": rule.title, "error": error}
        if gap and status == Status.UNKNOWN.value:
            message = f"{resource_name}: not evaluated because data could not be read ({gap})"
        elif status == Status.UNKNOWN.value:
            message = unknown_message(resource_name, rule.messages.get(status), values, missing_fields(evidence))
        else:
            template = rule.messages.get(status) or DEFAULT_MESSAGES[status]
            message = format_message(template, values)
        location = _location(record)
        resource_id = str(record["resource_id"])
        vault_id = _plain(record.get("vault_id"))
        yield {
            "rule_id": rule.id,
            "title": rule.title,
            "severity": result_severity(record.get("severity"), outcome.severity.value),
            "status": status,
            "suppression": None,
            "resource": {
                "id": resource_id,
                "type": _plain(record.get("resource_type")),
                "name": resource_name,
                "vault_id": str(vault_id).lower() if vault_id else None,
            },
            "location": location,
            "source": _plain(record.get("source")),
            "reach": _plain(record.get("reach")),
            "message": message,
            "evidence": evidence,
            "profile": _plain(record.get("profile")),
            "fingerprint": fingerprint(rule.id, resource_id),
            "compliance": finding_controls(mappings, vault_id, facts or {}) if scoped else mappings,
        }


def _location(record: dict[str, Any]) -> dict[str, Any] | None:
    """Where to fix the finding, and for a resource declared in a module, where it is written.

    ``file``/``line`` are the call in the scanned root (what the root's author edits); the
    module path and the declaration let a reader follow the call to the resource itself.
    """
    file = _plain(record.get("file"))
    if not file:
        return None
    declared_file = _plain(record.get("declared_file"))
    return {
        "file": file,
        "line": _plain(record.get("line")),
        "module": _plain(record.get("module")),
        "declared": {"file": declared_file, "line": _plain(record.get("declared_line"))} if declared_file else None,
    }


def rule_catalogue(outcomes: list[Any]) -> list[dict[str, Any]]:
    """The catalogue of the rules an evaluation ran, with the severity and parameters used."""
    return catalogue(
        (o.rule, o.severity, {name: _plain(value) for name, value in o.params.items()}) for o in outcomes
    )


def build_report(
    inventory: Inventory,
    evaluation: Evaluation,
    started: datetime,
    finished: datetime | None = None,
    options: ReportOptions | None = None,
) -> dict[str, Any]:
    """Assemble the canonical report (a plain dict that validates against the JSON Schema)."""
    options = options or ReportOptions()
    mapping = controls_by_rule()
    findings: list[dict[str, Any]] = []
    facts = vault_facts(inventory)
    for outcome in evaluation.outcomes:
        # Findings name their controls; the control titles live once, in the rule catalogue
        # (repeating them on every finding doubled the size of a 100,000-finding report).
        controls = [{"framework": m["framework"], "control": m["control"]} for m in mapping.get(outcome.rule.id, [])]
        findings.extend(_findings_for(outcome, options, controls, facts))
    findings.sort(key=lambda f: (-SEVERITY_RANK[f["severity"]], f["status"], f["rule_id"], f["resource"]["id"]))
    by_status = status_counts(evaluation)
    failing_by_severity = {sev: 0 for sev in SEVERITY_RANK}
    for outcome in evaluation.outcomes:
        df = outcome.results
        if not len(df):
            continue
        failed = df["status"] == Status.FAIL.value
        if "severity" not in df.columns:
            failing_by_severity[outcome.severity.value] += int(failed.sum())
            continue
        for value in df.loc[failed.to_numpy(dtype=bool), "severity"]:
            failing_by_severity[result_severity(value, outcome.severity.value)] += 1
    errors = inventory.tables["collection_errors"]
    coverage_errors = [
        {
            "resource_id": _plain(r["id"]),
            "vault_id": _plain(r["vault_id"]),
            "operation": _plain(r["operation"]),
            "status_code": _plain(r["status_code"]),
            "error": _plain(r["error"]),
            "affects": _plain(r["affects"]) or [],
            "source": _plain(r["source"]),
        }
        for r in errors.to_dict(orient="records")
    ]
    rule_errors = [o.rule.id for o in evaluation.outcomes if o.error]
    decided = by_status[Status.PASS.value] + by_status[Status.FAIL.value]
    finished = finished or datetime.now(UTC)
    policy = evaluation.policy
    report = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "kvaudit", "version": __version__},
        "scan": {
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "evaluated_at": evaluation.now.isoformat(),
            "ruleset_version": RULESET_VERSION,
            "sources": [{"kind": s.kind, "location": s.location, "digest": s.digest} for s in inventory.sources],
            "policy": {"origin": policy.origin, "digest": policy.digest},
            "scope": _plain(inventory.scope),
            "inventory": inventory.counts(),
            "rules_skipped": evaluation.skipped,
            "passed_included": options.include_passed,
        },
        "summary": {
            "by_status": by_status,
            "failing_by_severity": failing_by_severity,
            "pass_rate": round(by_status[Status.PASS.value] / decided, 4) if decided else None,
            "resources": {"vaults": int(len(inventory.tables["vaults"])), "keys": int(len(inventory.tables["keys"]))},
        },
        "coverage": {
            "complete": not coverage_errors and not rule_errors,
            "collection_errors": coverage_errors,
            "rule_errors": rule_errors,
        },
        "rules": rule_catalogue(evaluation.outcomes),
        "compliance": compliance_section(evaluation, inventory),
        "vaults": vault_summaries(inventory),
        "findings": findings,
    }
    return refresh(report)
