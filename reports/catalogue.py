"""The rule catalogue as reports and ``kvaudit rules`` print it: each rule's own metadata with
the severity and parameters it runs with, and the compliance controls it maps to.

Kept apart from :mod:`kvaudit.reports.model` because listing the catalogue needs no inventory
and no evaluation, so it must not import pandas (``kvaudit rules`` is on the IaC gate's path).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kvaudit.rules.mappings import controls_by_rule
from kvaudit.rules.model import Rule, Severity


def catalogue(settings: Iterable[tuple[Rule, Severity, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One entry per ``(rule, effective severity, effective parameters)``, in the given order;
    parameter values must already be JSON-safe."""
    mapping = controls_by_rule()
    entries = []
    for rule, severity, params in settings:
        entry = rule.describe()
        entry["severity"] = severity.value
        entry["default_severity"] = rule.severity.value
        entry["params"] = [{**p, "value": params.get(p["name"])} for p in entry["params"]]
        entry["compliance"] = mapping.get(rule.id, [])
        entries.append(entry)
    return entries
