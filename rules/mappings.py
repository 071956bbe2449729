"""Compliance-framework mappings, kept as data (rules/data/mappings.json) so that auditors can
review them without reading code, and so one rule can satisfy several frameworks.

A control may carry a ``scope``: the vault facts a result's vault must have for the result to
count toward that control. CIS 8.3.1 (keys in vaults using RBAC) and 8.3.2 (keys in vaults using
access policies) are the same check, KV-LIFE-001, on two disjoint sets of vaults. Where a fact
the scope names is unknown (the permission model was not observed), whether the result belongs
to the control is unknown, so it counts as unknown for every control it may belong to: an
auditor sees that the key needs a look, and no control claims a pass it cannot show.
"""

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


def control_scope(framework: str, control: str) -> dict[str, Any] | None:
    """The vault facts a result must have to count toward the control, or None (every result)."""
    scope = frameworks().get(framework, {}).get("controls", {}).get(control, {}).get("scope")
    return dict(scope) if isinstance(scope, dict) else None


def in_scope(scope: dict[str, Any] | None, facts: dict[str, Any] | None) -> bool | None:
    """Does a result on a resource of a vault with ``facts`` ({vault_kind, rbac_authorization_enabled,
    ...}) belong to a control with ``scope``? None when a fact the answer needs is unknown (a
    known mismatch on another fact still says no)."""
    if not scope:
        return True
    answer: bool | None = True
    for name, wanted in scope.items():
        value = (facts or {}).get(name)
        if value is None:
            answer = None
        elif value != wanted:
            return False
    return answer
