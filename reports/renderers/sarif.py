"""SARIF 2.1.0 for code scanning (GitHub, Azure DevOps): the rule catalogue and the open results.

Design choices, each for how code-scanning services consume SARIF:

- ``tool.driver.rules`` holds the *whole* catalogue with stable ids, so a rule keeps its alert
  history across runs even in a run where it found nothing.
- FAIL results use the level of their severity; UNKNOWN results are ``note`` with kind
  ``review`` (a human must look: the data could not be read); PASS and NOT_APPLICABLE are left
  out, since code scanning would show them as alerts.
- ``partialFingerprints["kvaudit/v1"]`` is the report fingerprint (rule + resource identity, no
  line numbers), so moving a resource in a file does not reopen its alert.
- IaC results carry the repo-relative file (``uriBaseId`` ``%SRCROOT%``) and line; every result
  also carries a logical location naming the Azure resource, which is all a live result has.
- An active suppression becomes a SARIF ``suppressions`` entry (``inSource`` for inline comments,
  ``external`` for waivers and baselines) with its justification; an expired waiver is *not* a
  suppression (the alert must reopen) and is described in the result's properties instead.
"""

from __future__ import annotations

import json
from pathlib import PureWindowsPath
from typing import Any
from urllib.parse import quote

from reports.renderers.common import is_suppressed
from rules.model import SECURITY_SEVERITY

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "kvaudit/v1"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub's ``problem.severity`` vocabulary for rules without a security-severity consumer.
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}
SRCROOT = "%SRCROOT%"


def _rule_help(rule: dict[str, Any]) -> dict[str, str]:
    """Help in text and markdown: the rationale, then remediation for each toolchain."""
    remediation = rule["remediation"]
    parts = [
        ("Azure CLI", remediation.get("cli", ""), "shell"),
        ("Bicep / ARM", remediation.get("arm_bicep", ""), "bicep"),
        ("Terraform", remediation.get("terraform", ""), "hcl"),
    ]
    text = [rule["rationale"], ""]
    markdown = [rule["rationale"], "", "**Remediation**", ""]
    for label, snippet, lang in parts:
        if snippet:
            text.append(f"{label}: {snippet}")
            fence = "````" if "```" in snippet else "```"
            markdown += [f"{label}:", "", f"{fence}{lang}", snippet, fence, ""]
    controls = [f"{m['framework']} {m['control']}" for m in rule.get("compliance", [])]
    if controls:
        text.append("Controls: " + ", ".join(controls))
        markdown.append("**Controls:** " + ", ".join(controls))
    if rule.get("references"):
        markdown += ["", "**References:** " + ", ".join(f"<{r}>" for r in rule["references"])]
    return {"text": "\n".join(text).strip(), "markdown": "\n".join(markdown).strip()}


def _descriptor(rule: dict[str, Any]) -> dict[str, Any]:
    tags = ["security", "azure-key-vault", rule["domain"]]
    tags += [f"{m['framework']}/{m['control']}" for m in rule.get("compliance", [])]
    descriptor: dict[str, Any] = {
        "id": rule["id"],
        "name": rule["id"].replace("-", ""),
        "shortDescription": {"text": rule["title"]},
        "fullDescription": {"text": rule["rationale"]},
        "help": _rule_help(rule),
        "defaultConfiguration": {"level": LEVELS[rule["severity"]]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule["severity"]],
            "problem.severity": PROBLEM_SEVERITY[LEVELS[rule["severity"]]],
            "precision": "high",
            "tags": tags,
            "kvaudit/severity": rule["severity"],
        },
    }
    if rule.get("references"):
        descriptor["helpUri"] = rule["references"][0]
    return descriptor


def artifact_uri(path: str) -> tuple[str, str | None]:
    """(uri, uriBaseId) for a location file: repo-relative paths are relative to %SRCROOT%."""
    posix = path.replace("\\", "/")
    if PureWindowsPath(path).drive:
        return "file:///" + quote(posix), None
    if posix.startswith("/"):
        return "file://" + quote(posix), None
    return quote(posix.removeprefix("./")), SRCROOT


def _locations(finding: dict[str, Any]) -> dict[str, Any]:
    resource = finding["resource"]
    logical = {"fullyQualifiedName": resource["id"], "kind": "resource"}
    if resource.get("name"):
        logical["name"] = str(resource["name"])
    location: dict[str, Any] = {"logicalLocations": [logical]}
    where = finding.get("location")
    if where and where.get("file"):
        uri, base = artifact_uri(where["file"])
        artifact: dict[str, Any] = {"uri": uri}
        if base:
            artifact["uriBaseId"] = base
        physical: dict[str, Any] = {"artifactLocation": artifact}
        if where.get("line"):
            physical["region"] = {"startLine": int(where["line"])}
        location["physicalLocation"] = physical
    return location


def _suppressions(finding: dict[str, Any]) -> list[dict[str, Any]] | None:
    suppression = finding.get("suppression")
    if not suppression or not is_suppressed(finding):
        return None
    justification = suppression.get("justification") or f"suppressed by {suppression['kind']}"
    entry: dict[str, Any] = {
        "kind": "inSource" if suppression["kind"] == "inline" else "external",
        "status": "accepted",
        "justification": justification,
        "properties": {
            k: suppression[k] for k in ("kind", "id", "approver", "expires", "file", "line") if suppression.get(k)
        },
    }
    return [entry]


def _result(finding: dict[str, Any], rule_index: dict[str, int]) -> dict[str, Any]:
    unknown = finding["status"] == "UNKNOWN"
    result: dict[str, Any] = {
        "ruleId": finding["rule_id"],
        "ruleIndex": rule_index[finding["rule_id"]],
        "kind": "review" if unknown else "fail",
        "level": "note" if unknown else LEVELS[finding["severity"]],
        "message": {"text": finding["message"]},
        "locations": [_locations(finding)],
        "partialFingerprints": {FINGERPRINT_KEY: finding["fingerprint"]},
        "properties": {
            "kvaudit/status": finding["status"],
            "kvaudit/severity": finding["severity"],
            "kvaudit/profile": finding.get("profile"),
            "kvaudit/evidence": finding["evidence"],
        },
    }
    suppressions = _suppressions(finding)
    if suppressions:
        result["suppressions"] = suppressions
    elif finding.get("suppression"):
        result["properties"]["kvaudit/lapsed-suppression"] = finding["suppression"]
    return result


def _notifications(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Coverage gaps and rule errors, so code scanning shows that the run was incomplete."""
    notes = []
    for gap in report["coverage"]["collection_errors"]:
        text = f"could not read {gap.get('resource_id') or 'a resource'}"
        if gap.get("operation"):
            text += f" ({gap['operation']})"
        if gap.get("error"):
            text += f": {gap['error']}"
        notes.append({"level": "warning", "message": {"text": text}})
    for rule_id in report["coverage"]["rule_errors"]:
        notes.append(
            {
                "level": "error",
                "message": {"text": f"rule {rule_id} failed to evaluate"},
                "associatedRule": {"id": rule_id},
            }
        )
    return notes


def to_sarif(report: dict[str, Any]) -> dict[str, Any]:
    """The SARIF log as a dict (tests validate it against the official schema)."""
    rules = report["rules"]
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [_result(f, rule_index) for f in report["findings"] if f["status"] in ("FAIL", "UNKNOWN")]
    scan = report["scan"]
    invocation: dict[str, Any] = {
        "executionSuccessful": bool(report["coverage"]["complete"]),
        "startTimeUtc": scan["started"],
        "endTimeUtc": scan["finished"],
    }
    notifications = _notifications(report)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    properties: dict[str, Any] = {
        "kvaudit/schema_version": report["schema_version"],
        "kvaudit/ruleset_version": scan["ruleset_version"],
        "kvaudit/evaluated_at": scan["evaluated_at"],
        "kvaudit/policy": scan["policy"],
        "kvaudit/sources": scan["sources"],
    }
    if report.get("integrity"):
        properties["kvaudit/report_digest"] = report["integrity"].get("digest")
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kvaudit",
                        "version": report["tool"]["version"],
                        "semanticVersion": report["tool"]["version"],
                        "rules": [_descriptor(rule) for rule in rules],
                        "properties": {"ruleset_version": scan["ruleset_version"]},
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"description": {"text": "the directory kvaudit was run from"}}},
                "invocations": [invocation],
                "results": results,
                "columnKind": "unicodeCodePoints",
                "properties": properties,
            }
        ],
    }


def render(report: dict[str, Any]) -> str:
    return json.dumps(to_sarif(report), indent=1, ensure_ascii=False) + "\n"
