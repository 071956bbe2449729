"""The auditor's view of a report: resources per control, a compact summary per vault or HSM,
and the "fix first" list.

Two facts come from the evaluation and the inventory, because the findings alone cannot give
them: how many resources each control assessed (PASS results may be left out of the findings
with ``--omit-passed``), and what depends on each vault (its keys and their consumers). The rest
is derived from the findings by :func:`refresh`, which runs when the report is built and again
whenever suppressions change a finding, so that a waived failure stops counting as failing.

A resource's state for one control combines every result of every rule mapped to the control
on that resource: **failing** if any result is an unsuppressed FAIL; else **unknown** if any is
UNKNOWN or ERROR; else **suppressed** if any is a suppressed FAIL; else **passing**. Resources
whose every result is NOT_APPLICABLE are not assessed. The share passing is passing / assessed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kvaudit.reports.renderers.common import SEVERITIES
from kvaudit.rules.mappings import control_scope, frameworks, in_scope, not_assessed
from kvaudit.rules.model import SEVERITY_RANK, Status
from kvaudit.scanner.inventory import Inventory

#: Vault properties shown on a vault's page: what an auditor checks first, never the inventory.
VAULT_PROPERTIES: tuple[str, ...] = (
    "sku",
    "location",
    "subscription_id",
    "resource_group",
    "soft_delete_enabled",
    "soft_delete_retention_days",
    "purge_protection_enabled",
    "public_network_access",
    "network_default_action",
    "network_bypass",
    "rbac_authorization_enabled",
    "security_domain_activated",
)
#: Properties that one kind does not have (a Managed HSM always uses its local RBAC; only an
#: HSM has a security domain), left out rather than shown as "not observed".
_NOT_OF_KIND: dict[str, frozenset[str]] = {
    "managed_hsm": frozenset({"rbac_authorization_enabled"}),
    "vault": frozenset({"security_domain_activated"}),
}

#: A resource's state for a control, most severe first (see the module docstring).
_FAILING, _UNKNOWN, _SUPPRESSED = 3, 2, 1


def _plain(value: Any) -> Any:
    from kvaudit.reports.model import _plain as plain

    return plain(value)


def vault_facts(inventory: Inventory | None) -> dict[str, dict[str, Any]]:
    """Lower-case vault id -> the facts control scopes test (rules/mappings.py)."""
    if inventory is None:
        return {}
    vaults = inventory.tables["vaults"]
    return {
        str(row["id"]).lower(): {
            "vault_kind": _plain(row.get("kind")),
            "rbac_authorization_enabled": _plain(row.get("rbac_authorization_enabled")),
        }
        for row in vaults.to_dict(orient="records")
    }


def finding_controls(
    controls: list[dict[str, str]], vault_id: Any, facts: dict[str, dict[str, Any]]
) -> list[dict[str, str]]:
    """The controls one result counts toward: every mapped control whose scope its vault meets;
    a control whose scope cannot be decided is listed with ``"scope": "unknown"``."""
    out = []
    for mapping in controls:
        scope = control_scope(mapping["framework"], mapping["control"])
        if scope is None:
            out.append(mapping)
            continue
        belongs = in_scope(scope, facts.get(str(vault_id).lower()) if vault_id else None)
        if belongs is None:
            out.append({**mapping, "scope": "unknown"})
        elif belongs:
            out.append(mapping)
    return out


def assessed_by_control(
    evaluation: Any, facts: dict[str, dict[str, Any]] | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(framework, control) -> (resources with at least one result that is not NOT_APPLICABLE,
    of which those whose belonging to a scoped control is unknown)."""
    resources_by_rule: dict[str, dict[str, Any]] = {}
    for outcome in evaluation.outcomes:
        df = outcome.results
        if df.empty:
            continue
        mask = (df["status"] != Status.NOT_APPLICABLE.value).to_numpy(dtype=bool)
        vault_ids = df["vault_id"] if "vault_id" in df.columns else [None] * len(df)
        seen = resources_by_rule.setdefault(outcome.rule.id, {})
        for resource, vault_id in zip(df.loc[mask, "resource_id"].astype(str), _masked(vault_ids, mask), strict=True):
            seen.setdefault(resource, vault_id)
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for fw_id, fw in frameworks().items():
        for control_id, control in fw["controls"].items():
            scope = control_scope(fw_id, control_id)
            union: dict[str, Any] = {}
            for rule_id in control["rules"]:
                union.update(resources_by_rule.get(rule_id, {}))
            if scope is None:
                counts[(fw_id, control_id)] = (len(union), 0)
                continue
            known = unknown = 0
            for vault_id in union.values():
                belongs = in_scope(scope, (facts or {}).get(str(vault_id).lower()) if vault_id else None)
                known += belongs is True
                unknown += belongs is None
            counts[(fw_id, control_id)] = (known + unknown, unknown)
    return counts


def _masked(values: Any, mask: Any) -> list[Any]:
    """The masked values of a column (or list) as plain Python values."""
    items = list(values)
    return [_plain(v) for v, keep in zip(items, mask, strict=True) if keep]


def compliance_section(evaluation: Any, inventory: Inventory | None = None) -> dict[str, Any]:
    """The report's ``compliance`` member before :func:`refresh` fills in the states.

    A scoped control (CIS 8.3.1 and 8.3.2: keys of RBAC and of access-policy vaults) counts
    only results whose vault meets its scope; ``scope_unknown`` counts the resources whose
    vault's facts were not observed, which stay unknown for the control whatever their result."""
    assessed = assessed_by_control(evaluation, vault_facts(inventory))
    controls = []
    for fw_id, fw in frameworks().items():
        for control_id, control in fw["controls"].items():
            total, scope_unknown = assessed[(fw_id, control_id)]
            entry: dict[str, Any] = {
                "framework": fw_id,
                "control": control_id,
                "title": control["title"],
                "rules": list(control["rules"]),
                "assessed": total,
                "passing": 0,
                "failing": 0,
                "unknown": 0,
                "suppressed": 0,
                "pass_rate": None,
            }
            if "scope" in control:
                entry["scope"] = dict(control["scope"])
                entry["scope_unknown"] = scope_unknown
            controls.append(entry)
    return {"controls": controls, "not_assessed": not_assessed()}


def vault_summaries(inventory: Inventory) -> list[dict[str, Any]]:
    """One compact entry per vault or HSM: identity, key properties and what depends on it."""
    vaults = inventory.tables["vaults"]
    keys = inventory.tables["keys"]
    refs = inventory.tables["key_references"]
    key_counts = keys["vault_id"].astype("string").str.lower().value_counts().to_dict() if len(keys) else {}
    consumers: dict[str, int] = {}
    key_consumers: dict[str, dict[str, int]] = {}
    if len(refs):
        vault_ids = refs["vault_id"].astype("string").str.lower()
        consumers = refs.groupby(vault_ids)["consumer_id"].nunique().to_dict()
        per_key = refs.groupby([vault_ids, refs["key_id"].astype("string").str.lower()])["consumer_id"].nunique()
        for (vault_id, key_id), count in per_key.items():
            key_consumers.setdefault(str(vault_id), {})[str(key_id)] = int(count)
    out = []
    for row in vaults.to_dict(orient="records"):
        vault_id = str(row["id"]).lower()
        out.append(
            {
                "id": vault_id,
                "display_id": _plain(row.get("display_id")) or str(row["id"]),
                "name": _plain(row.get("name")),
                "kind": _plain(row.get("kind")),
                "source": _plain(row.get("source")),
                "file": _plain(row.get("file")),
                "properties": {
                    name: _plain(row.get(name))
                    for name in VAULT_PROPERTIES
                    if name not in _NOT_OF_KIND.get(str(row.get("kind")), frozenset())
                },
                "keys": int(key_counts.get(vault_id, 0)),
                "consumers": int(consumers.get(vault_id, 0)),
                "key_consumers": dict(sorted(key_consumers.get(vault_id, {}).items())),
            }
        )
    out.sort(key=lambda v: (str(v["name"]).lower(), v["id"]))
    return out


def _is_suppressed(finding: dict[str, Any]) -> bool:
    suppression = finding.get("suppression")
    return bool(suppression and suppression.get("active"))


def _state(finding: dict[str, Any]) -> int:
    status = finding["status"]
    if status == Status.FAIL.value:
        return _SUPPRESSED if _is_suppressed(finding) else _FAILING
    if status in (Status.UNKNOWN.value, Status.ERROR.value):
        return _UNKNOWN
    return 0


def _refresh_controls(report: dict[str, Any]) -> None:
    compliance = report.get("compliance")
    if not compliance:
        return
    rule_controls: dict[str, list[tuple[str, str]]] = {}
    for rule in report["rules"]:
        rule_controls[rule["id"]] = [(m["framework"], m["control"]) for m in rule.get("compliance", [])]
    states: dict[tuple[str, str], dict[str, int]] = {}
    for finding in report["findings"]:
        state = _state(finding)
        if not state:
            continue
        resource = finding["resource"]["id"]
        # A finding lists the controls its own result counts toward (a scoped control only where
        # its vault meets the scope); one whose belonging is unknown is counted in scope_unknown.
        own = finding.get("compliance")
        keys = (
            [(m["framework"], m["control"]) for m in own if m.get("scope") != "unknown"]
            if isinstance(own, list)
            else rule_controls.get(finding["rule_id"], ())
        )
        for key in keys:
            per_control = states.setdefault(key, {})
            if per_control.get(resource, 0) < state:
                per_control[resource] = state
    for control in compliance["controls"]:
        counted = Counter(states.get((control["framework"], control["control"]), {}).values())
        control["failing"] = counted[_FAILING]
        control["unknown"] = counted[_UNKNOWN] + int(control.get("scope_unknown", 0))
        control["suppressed"] = counted[_SUPPRESSED]
        open_total = control["failing"] + control["unknown"] + control["suppressed"]
        control["assessed"] = max(control["assessed"], open_total)
        control["passing"] = control["assessed"] - open_total
        control["pass_rate"] = round(control["passing"] / control["assessed"], 4) if control["assessed"] else None


def _resource_consumers(resource_id: str, vault: dict[str, Any] | None) -> int:
    """Consumers that depend on a resource: a key's consumers, or the whole vault's."""
    if vault is None:
        return 0
    if resource_id.lower() == vault["id"]:
        return int(vault["consumers"])
    return int(vault.get("key_consumers", {}).get(resource_id.lower(), 0))


def fix_first(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Unsuppressed failures grouped by vault or HSM, most urgent group first.

    Groups rank by their most severe failure, then by what depends on the vault (keys plus
    consumers of its keys), then by how many failures they hold. Within a group each action is
    one rule to fix, ranked by severity, then by the consumers of the resources it affects.
    """
    vaults = {v["id"]: v for v in report.get("vaults", [])}
    groups: dict[str | None, dict[str, Any]] = {}
    for finding in report["findings"]:
        if finding["status"] != Status.FAIL.value or _is_suppressed(finding):
            continue
        vault_id = finding["resource"].get("vault_id")
        vault = vaults.get(vault_id) if vault_id else None
        key = vault_id if vault is not None else None
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "vault_id": key,
                "name": vault["name"] if vault else None,
                "kind": vault["kind"] if vault else None,
                "max_severity": finding["severity"],
                "failing": 0,
                "by_severity": dict.fromkeys(SEVERITIES, 0),
                "keys": int(vault["keys"]) if vault else 0,
                "consumers": int(vault["consumers"]) if vault else 0,
                "actions": {},
            }
        group["failing"] += 1
        group["by_severity"][finding["severity"]] += 1
        if SEVERITY_RANK[finding["severity"]] > SEVERITY_RANK[group["max_severity"]]:
            group["max_severity"] = finding["severity"]
        action = group["actions"].setdefault(
            finding["rule_id"],
            {
                "rule_id": finding["rule_id"],
                "title": finding["title"],
                "severity": finding["severity"],
                "resources": 0,
                "consumers": 0,
            },
        )
        action["resources"] += 1
        action["consumers"] += _resource_consumers(finding["resource"]["id"], vault)
        if SEVERITY_RANK[finding["severity"]] > SEVERITY_RANK[action["severity"]]:
            action["severity"] = finding["severity"]
    ranked = []
    for group in groups.values():
        group["actions"] = sorted(
            group["actions"].values(),
            key=lambda a: (-SEVERITY_RANK[a["severity"]], -a["consumers"], -a["resources"], a["rule_id"]),
        )
        ranked.append(group)
    ranked.sort(
        key=lambda g: (
            g["vault_id"] is None,
            -SEVERITY_RANK[g["max_severity"]],
            -(g["keys"] + g["consumers"]),
            -g["failing"],
            str(g["name"] or ""),
        )
    )
    return ranked


def refresh(report: dict[str, Any]) -> dict[str, Any]:
    """Recompute what depends on the findings' statuses and suppressions (in place)."""
    _refresh_controls(report)
    if "vaults" in report:
        report["fix_first"] = fix_first(report)
    return report
