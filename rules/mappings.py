"""Compliance-framework mappings, kept as data (rules/data/mappings.json) so that auditors can
review them without reading code, and so one rule can satisfy several frameworks."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def frameworks() -> dict[str, dict[str, Any]]:
    """framework id -> {title, version, controls: {control id: {title, rules: [rule ids]}}}."""
    text = resources.files("kvaudit.rules").joinpath("data/mappings.json").read_text(encoding="utf-8")
    return json.loads(text)["frameworks"]


@cache
def unmapped_reasons() -> dict[str, str]:
    """Rules that deliberately map to no control, with the reason (checked by a meta-test)."""
    text = resources.files("kvaudit.rules").joinpath("data/mappings.json").read_text(encoding="utf-8")
    return json.loads(text).get("unmapped", {})


@cache
def controls_by_rule() -> dict[str, list[dict[str, str]]]:
    """rule id -> [{framework, control, title}], in framework order."""
    out: dict[str, list[dict[str, str]]] = {}
    for fw_id, fw in frameworks().items():
        for control_id, control in fw["controls"].items():
            for rule_id in control["rules"]:
                out.setdefault(rule_id, []).append(
                    {"framework": fw_id, "control": control_id, "title": control["title"]}
                )
    return out


@cache
def not_assessed() -> list[dict[str, str]]:
    """Controls of the mapped frameworks that kvaudit does not assess (rules/data/not_assessed.json),
    as [{framework, control, title, reason}] in file order, so reports can list the gap."""
    text = resources.files("kvaudit.rules").joinpath("data/not_assessed.json").read_text(encoding="utf-8")
    return [
        {"framework": fw_id, "control": control_id, "title": entry["title"], "reason": entry["reason"]}
        for fw_id, controls in json.loads(text)["frameworks"].items()
        for control_id, entry in controls.items()
    ]
