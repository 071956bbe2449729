"""JUnit XML for CI test dashboards: one testsuite per rule, one testcase per resource.

CI systems already know how to show, trend and gate on JUnit, so each rule becomes a suite
and each resource it judged becomes a case: FAIL is a ``failure``, ERROR an ``error``, and
UNKNOWN / NOT_APPLICABLE are ``skipped`` with the reason (an unknown is not a pass). An actively
suppressed FAIL is ``skipped`` too, naming the suppression, so it does not break the build while
staying visible; an expired waiver no longer suppresses and fails again.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from kvaudit.reports.renderers.common import is_suppressed, where
from kvaudit.scanner.textsafe import xml_text as safe_xml_text


def xml_text(value: Any) -> str:
    """Attacker-chosen text made safe for XML and for the CI log that shows it."""
    return safe_xml_text(value)


def _details(finding: dict[str, Any], rule: dict[str, Any] | None) -> str:
    lines = [f"resource: {finding['resource']['id']}"]
    location = where(finding)
    if location:
        lines.append(f"location: {location}")
    if finding.get("source"):
        lines.append(f"source: {finding['source']}")
    if finding.get("reach"):
        lines.append(f"reach: {finding['reach']}")
    if finding.get("profile"):
        lines.append(f"profile: {finding['profile']}")
    lines.append("evidence: " + json.dumps(finding["evidence"], sort_keys=True, ensure_ascii=False))
    if rule:
        lines.append(f"remediation (az): {rule['remediation'].get('cli', '')}")
    return xml_text("\n".join(lines))


def _suppression_note(suppression: dict[str, Any]) -> str:
    note = f"suppressed by {suppression['kind']}"
    if suppression.get("id"):
        note += f" {suppression['id']}"
    if suppression.get("justification"):
        note += f": {suppression['justification']}"
    if suppression.get("expires"):
        note += f" (expires {suppression['expires']})"
    return note


def _testcase(finding: dict[str, Any], rule: dict[str, Any] | None) -> ET.Element:
    name = finding["resource"].get("name") or finding["resource"]["id"]
    case = ET.Element("testcase", {"classname": finding["rule_id"], "name": xml_text(name), "time": "0"})
    status = finding["status"]
    message = xml_text(finding["message"])
    if status == "FAIL" and is_suppressed(finding):
        ET.SubElement(case, "skipped", {"message": xml_text(_suppression_note(finding["suppression"]))})
    elif status == "FAIL":
        failure = ET.SubElement(case, "failure", {"message": message, "type": finding["severity"]})
        failure.text = _details(finding, rule)
    elif status == "ERROR":
        error = ET.SubElement(case, "error", {"message": message, "type": "rule-error"})
        error.text = _details(finding, rule)
    elif status in ("UNKNOWN", "NOT_APPLICABLE"):
        ET.SubElement(case, "skipped", {"message": xml_text(f"{status}: {finding['message']}")})
    return case


def to_junit(report: dict[str, Any]) -> ET.Element:
    rules = {rule["id"]: rule for rule in report["rules"]}
    by_rule: dict[str, list[dict[str, Any]]] = {rule_id: [] for rule_id in rules}
    for finding in report["findings"]:
        by_rule.setdefault(finding["rule_id"], []).append(finding)
    root = ET.Element("testsuites", {"name": "kvaudit", "timestamp": report["scan"]["evaluated_at"]})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rule_id, findings in by_rule.items():
        if not findings:
            continue
        rule = rules.get(rule_id)
        title = rule["title"] if rule else findings[0]["title"]
        suite = ET.SubElement(root, "testsuite", {"name": xml_text(f"{rule_id} {title}"), "time": "0"})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for finding in findings:
            case = _testcase(finding, rule)
            suite.append(case)
            counts["tests"] += 1
            for child, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
                if case.find(child) is not None:
                    counts[key] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        properties = ET.Element("properties")
        ET.SubElement(properties, "property", {"name": "severity", "value": findings[0]["severity"]})
        suite.insert(0, properties)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    return root


def render(report: dict[str, Any]) -> str:
    root = to_junit(report)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
