"""SARIF 2.1.0 for code scanning (GitHub, Azure DevOps): the rule catalogue and the open results.

Design choices, each for how code-scanning services consume SARIF:

- ``tool.driver.rules`` holds the *whole* catalogue with stable ids, so a rule keeps its alert
  history across runs even in a run where it found nothing.
- FAIL results use the level of their severity. UNKNOWN results have kind ``review`` (a human
  must look: the data could not be read) and level ``none``, as SARIF 2.1.0 §3.27.10 requires
  for any kind but ``fail``. PASS and NOT_APPLICABLE are left out, since code scanning would
  show them as alerts.
- GitHub ranks alerts by the *rule's* ``security-severity`` (a result cannot override it), so
  an UNKNOWN result under a high-severity rule would be listed as a high-severity security
  alert. UNKNOWN results therefore report against a companion rule ``<rule id>/unknown``
  ("Not evaluated: ...") that has no ``security-severity`` and level ``note``, related to its
  rule; each rule has its companion, so the catalogue is stable from run to run.
- A resource declared in a module is reported at the module call in the scanned root (what the
  root's author edits); the resource's own file and line is a ``relatedLocations`` entry, linked
  from the message as GitHub expects, and the module path is in the properties.
- ``partialFingerprints["kvaudit/v1"]`` is the report fingerprint (rule + resource identity, no
  line numbers), so moving a resource in a file does not reopen its alert.
- Every result carries a file relative to the repository root (``uriBaseId`` ``%SRCROOT%``,
  the git top level, whatever directory kvaudit ran in) and a start line, because code
  scanning places an alert only on a file of the repository. A result without such a file
  (live Azure and snapshot findings, or a file outside the repository) is left out, and a
  notification in the run says how many and why; the JSON and HTML reports keep them. Each
  result also carries a logical location naming the Azure resource.
- Suppressed findings (waived, baselined, inline, pre-existing at the diff base) are left out
  by default: code scanning does not dismiss an alert because it carries ``suppressions``, so
  sending them would open alerts for accepted risk. ``SarifOptions(include_suppressed=True)``
  (``--sarif-suppressed``) keeps them with a ``suppressions`` entry (``inSource`` for inline
  comments, ``external`` otherwise). An expired waiver is *not* a suppression (the alert must
  reopen) and is described in the result's properties instead.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from kvaudit.reports import indented_json
from kvaudit.reports.renderers.common import is_suppressed
from kvaudit.rules.model import SECURITY_SEVERITY
from kvaudit.scanner.textsafe import sarif_text, visible_multiline

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "kvaudit/v1"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
#: GitHub's ``problem.severity`` vocabulary for rules without a security-severity consumer.
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}
SRCROOT = "%SRCROOT%"
#: Why an open finding is not sent to code scanning -> what its run notification says after the count.
OMISSIONS = {
    "no-file": "have no file in the repository (live Azure or snapshot findings); code scanning places "
    "alerts only on files of the repository, so they are left out (the JSON and HTML reports list them)",
    "outside-repository": "are in files outside the repository, where code scanning cannot place them; "
    "they are left out (the JSON and HTML reports list them)",
    "suppressed": "are suppressed (waiver, baseline, inline comment or diff base) and left out, because code "
    "scanning would open alerts for them; --sarif-suppressed sends them marked as suppressed",
}


@dataclass(frozen=True)
class SarifOptions:
    """How report paths map to the repository, and whether suppressed findings are sent.

    Report locations are relative to the directory kvaudit ran in (``working_directory``);
    code scanning needs them relative to the repository root (``repository_root``, the git top
    level). Without both, report paths are taken as already relative to the root.
    """

    working_directory: PurePath | None = None
    repository_root: PurePath | None = None
    include_suppressed: bool = False


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


#: Suffix of the companion rule UNKNOWN results are reported against.
UNKNOWN_SUFFIX = "/unknown"


def _unknown_descriptor(rule: dict[str, Any], index: int) -> dict[str, Any]:
    """The rule UNKNOWN results of ``rule`` report against: no security-severity, so code
    scanning does not rank "could not be evaluated" as a security alert of the rule's severity."""
    why = (
        f"kvaudit could not evaluate {rule['id']} ({rule['title']}) for this resource: a value it depends on "
        "could not be read or evaluated. The result's message names what is missing; supply it (a parameter "
        "value, read access, a module that can be followed) so the rule can pass or fail."
    )
    return {
        "id": rule["id"] + UNKNOWN_SUFFIX,
        "name": rule["id"].replace("-", "") + "Unknown",
        "shortDescription": {"text": f"Not evaluated: {rule['title']}"},
        "fullDescription": {"text": why},
        "help": {"text": why, "markdown": why},
        "defaultConfiguration": {"level": "note"},
        "relationships": [{"target": {"id": rule["id"], "index": index}, "kinds": ["relevant"]}],
        "properties": {
            "problem.severity": "recommendation",
            "precision": "high",
            "tags": ["azure-key-vault", rule["domain"], "not-evaluated"],
            "kvaudit/severity": rule["severity"],
        },
    }


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


def repository_path(path: str, options: SarifOptions) -> str | None:
    """``path`` as a POSIX path relative to the repository root, or None if it is not inside it."""
    posix = path.replace("\\", "/")
    absolute = bool(PureWindowsPath(path).drive) or posix.startswith("/")
    if options.working_directory is not None and options.repository_root is not None:
        root = posixpath.normpath(options.repository_root.as_posix())
        full = posix if absolute else posixpath.join(options.working_directory.as_posix(), posix)
        relative = posixpath.relpath(posixpath.normpath(full), root)
    elif absolute:
        return None
    else:
        relative = posixpath.normpath(posix)
    if relative == "." or relative == ".." or relative.startswith("../"):
        return None
    return relative


def _physical(uri: str, line: Any) -> dict[str, Any]:
    return {
        "artifactLocation": {"uri": quote(uri), "uriBaseId": SRCROOT},
        "region": {"startLine": max(int(line or 1), 1)},
    }


def _location(finding: dict[str, Any], uri: str) -> dict[str, Any]:
    resource = finding["resource"]
    logical = {"fullyQualifiedName": resource["id"], "kind": "resource"}
    if resource.get("name"):
        logical["name"] = str(resource["name"])
    line = (finding.get("location") or {}).get("line")
    return {"physicalLocation": _physical(uri, line), "logicalLocations": [logical]}


def _declared(finding: dict[str, Any], options: SarifOptions) -> tuple[dict[str, Any], str] | None:
    """The related location of a resource declared in a module, with its ``path:line`` text
    (None when there is none, or when its file is outside the repository, where code scanning
    cannot link to it)."""
    location = finding.get("location") or {}
    declared = location.get("declared") or {}
    path = repository_path(str(declared["file"]), options) if declared.get("file") else None
    if path is None:
        return None
    module = location.get("module")
    text = f"declared in {module}" if module else "declared here"
    physical = _physical(path, declared.get("line"))
    related = {"id": 1, "physicalLocation": physical, "message": {"text": sarif_text(text)}}
    return related, f"{path}:{physical['region']['startLine']}"


def _link_text(text: str) -> str:
    """Text inside an embedded link: SARIF §3.11.6 escapes its square brackets with ``\\``."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


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


def _result(finding: dict[str, Any], rule_index: dict[str, int], uri: str, options: SarifOptions) -> dict[str, Any]:
    kind = "fail" if finding["status"] == "FAIL" else "review"
    rule_id = finding["rule_id"] if kind == "fail" else finding["rule_id"] + UNKNOWN_SUFFIX
    message = sarif_text(finding["message"])
    declared = _declared(finding, options)
    if declared is not None:
        message += f" (declared at [{_link_text(sarif_text(declared[1]))}](1))"
    location = finding.get("location") or {}
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": rule_index[rule_id],
        "kind": kind,
        "level": LEVELS[finding["severity"]] if kind == "fail" else "none",
        "message": {"text": message},
        "locations": [_location(finding, uri)],
        "partialFingerprints": {FINGERPRINT_KEY: finding["fingerprint"]},
        "properties": {
            "kvaudit/status": finding["status"],
            "kvaudit/severity": finding["severity"],
            "kvaudit/profile": finding.get("profile"),
            "kvaudit/source": finding.get("source"),
            "kvaudit/reach": finding.get("reach"),
            "kvaudit/module": location.get("module"),
            "kvaudit/evidence": finding["evidence"],
        },
    }
    if declared is not None:
        result["relatedLocations"] = [declared[0]]
    suppressions = _suppressions(finding)
    if suppressions:
        result["suppressions"] = suppressions
    elif finding.get("suppression"):
        result["properties"]["kvaudit/lapsed-suppression"] = finding["suppression"]
    return result


def _omission(reason: str, count: int) -> dict[str, Any]:
    text = f"{count} open finding{'s' if count != 1 else ''} {OMISSIONS[reason]}"
    return {"level": "note", "message": {"text": text}, "descriptor": {"id": f"kvaudit/omitted/{reason}"}}


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


def _select(report: dict[str, Any], options: SarifOptions) -> tuple[list[tuple[dict[str, Any], str]], Counter[str]]:
    """The open findings code scanning can place, each with its repository path, and why the
    others are left out."""
    chosen: list[tuple[dict[str, Any], str]] = []
    omitted: Counter[str] = Counter()
    for finding in report["findings"]:
        if finding["status"] not in ("FAIL", "UNKNOWN"):
            continue
        if is_suppressed(finding) and not options.include_suppressed:
            omitted["suppressed"] += 1
            continue
        file = (finding.get("location") or {}).get("file")
        if not file:
            omitted["no-file"] += 1
            continue
        path = repository_path(str(file), options)
        if path is None:
            omitted["outside-repository"] += 1
            continue
        chosen.append((finding, path))
    return chosen, omitted


def to_sarif(report: dict[str, Any], options: SarifOptions | None = None) -> dict[str, Any]:
    """The SARIF log as a dict (tests validate it against the official schema)."""
    options = options or SarifOptions()
    rules = report["rules"]
    descriptors = [_descriptor(rule) for rule in rules]
    descriptors += [_unknown_descriptor(rule, i) for i, rule in enumerate(rules)]
    rule_index = {descriptor["id"]: i for i, descriptor in enumerate(descriptors)}
    chosen, omitted = _select(report, options)
    results = [_result(finding, rule_index, path, options) for finding, path in chosen]
    scan = report["scan"]
    invocation: dict[str, Any] = {
        "executionSuccessful": bool(report["coverage"]["complete"]),
        "startTimeUtc": scan["started"],
        "endTimeUtc": scan["finished"],
    }
    notifications = _notifications(report) + [_omission(r, omitted[r]) for r in OMISSIONS if omitted[r]]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    properties: dict[str, Any] = {
        "kvaudit/schema_version": report["schema_version"],
        "kvaudit/ruleset_version": scan["ruleset_version"],
        "kvaudit/evaluated_at": scan["evaluated_at"],
        "kvaudit/policy": scan["policy"],
        "kvaudit/sources": scan["sources"],
        "kvaudit/omitted": {reason: omitted[reason] for reason in OMISSIONS},
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
                        "rules": descriptors,
                        "properties": {"ruleset_version": scan["ruleset_version"]},
                    }
                },
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "the root of the git repository kvaudit scanned"}}
                },
                "invocations": [invocation],
                "results": results,
                "columnKind": "unicodeCodePoints",
                "properties": properties,
            }
        ],
    }


def render(report: dict[str, Any], options: SarifOptions | None = None) -> str:
    return indented_json.dumps(_neutralised(to_sarif(report, options))) + "\n"


def _neutralised(value: Any) -> Any:
    """Every string of the log with control, bidi and zero-width characters made visible:
    resource names reach properties and logical locations too, not only message texts."""
    if isinstance(value, str):
        return visible_multiline(value)
    if isinstance(value, dict):
        return {key: _neutralised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_neutralised(item) for item in value]
    return value
