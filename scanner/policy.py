"""The policy file (TOML): rule parameters, severity overrides, disabled rules and profile
assignment. One file lets a security team state its own thresholds without forking rules.

```toml
[rules.KV-REC-002]
min_retention_days = 90
severity = "critical"        # override the default severity
enabled = true

[profiles]
tag = "kvaudit-profile"      # key tag that names a profile
[[profiles.assign]]
vault = "hsm-platform*"      # fnmatch patterns, case-insensitive
key = "bootstrap*"
profile = "ed25519-signer"

[managed_hsm]
dedicated = ["hsm-kek"]      # HSMs that serve a single workload
```
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvaudit.scanner.containment import read_bounded
from kvaudit.scanner.errors import PolicyError
from kvaudit.scanner.jsonio import decode_text, digest_bytes

_RULE_RESERVED = {"severity", "enabled"}
_SEVERITIES = {"critical", "high", "medium", "low", "info"}
_MAX_BYTES = 4 * 1024 * 1024
_STRINGS = {"type": "array", "items": {"type": "string"}}

#: The policy file's structure. Unknown tables and keys are errors, so a typo (``[rule.X]``,
#: ``min_retention_dys``) can never silently leave a threshold at its default. Rule parameters
#: are typed by their defaults in :meth:`Policy.validate`, against the rule catalogue.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "rules": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "severity": {"enum": sorted(_SEVERITIES | {s.upper() for s in _SEVERITIES})},
                    "enabled": {"type": "boolean"},
                },
            },
        },
        "profiles": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "tag": {"type": "string"},
                "assign": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["profile"],
                        "properties": {
                            "profile": {"type": "string"},
                            "vault": {"type": "string"},
                            "key": {"type": "string"},
                        },
                    },
                },
                "custom": {"type": "object", "additionalProperties": {"type": "object"}},
            },
        },
        "managed_hsm": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"dedicated": _STRINGS},
        },
    },
}


def _toml_line(text: str, path: list[str]) -> int | None:
    """The line of a TOML table or key, found by scanning the text (tomllib keeps no
    positions): the deepest ``[table]`` header on ``path``, then the key below it."""

    def part(name: str) -> str:
        return rf"""(?:{re.escape(name)}|"{re.escape(name)}"|'{re.escape(name)}')"""

    offset, line = 0, None
    for depth in range(len(path), 0, -1):
        header = r"\s*\.\s*".join(part(p) for p in path[:depth])
        match = re.search(rf"^[ \t]*\[\[?[ \t]*{header}[ \t]*[\].]", text, re.MULTILINE)
        if match:
            offset, line = match.start(), text.count("\n", 0, match.start()) + 1
            rest = path[depth:]
            break
    else:
        rest = path
    if rest:
        keys = r"\s*\.\s*".join(part(p) for p in rest)
        match = re.compile(rf"^[ \t]*{keys}[ \t]*=", re.MULTILINE).search(text, offset)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return line


def _schema_check(doc: dict[str, Any], text: str, origin: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is None:
        return
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path = [*path, unknown[0]] if unknown else path
        where = ".".join(path[:-1])
        message = f"unknown {'key' if where else 'table'} {path[-1]!r}" + (f" in [{where}]" if where else "")
    else:
        message = f"{'.'.join(path) or '(top level)'}: {error.message[:160]}"
    raise PolicyError(origin, message, _toml_line(text, path))


def _param_type_problem(value: Any, default: Any) -> str | None:
    """Why ``value`` cannot stand for a parameter whose default is ``default``, or None."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        return None
    if isinstance(default, str):
        return None if isinstance(value, str) else "must be a string"
    if isinstance(default, list):
        return None if isinstance(value, list) else "must be an array"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "must be a table"
    return None


@dataclass
class ProfileAssignment:
    """A policy-file rule that gives keys matching these patterns a profile."""

    profile: str
    vault: str = "*"
    key: str = "*"


@dataclass
class Policy:
    """A parsed policy; ``digest`` identifies it in the report's scan metadata."""

    rule_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    severity_overrides: dict[str, str] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    profile_tag: str = "kvaudit-profile"
    assignments: list[ProfileAssignment] = field(default_factory=list)
    custom_profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    dedicated_hsms: list[str] = field(default_factory=list)
    origin: str = "(built-in defaults)"
    digest: str | None = None
    text: str = field(default="", repr=False)

    def params_for(self, rule_id: str, defaults: dict[str, Any]) -> dict[str, Any]:
        """The rule's defaults overlaid with what the policy file says."""
        return {**defaults, **self.rule_params.get(rule_id, {})}

    def validate(self, catalogue: dict[str, set[str]]) -> None:
        """Refuse rule ids and parameter names that do not exist, and parameter values of the
        wrong type (``min_retention_days = true`` must not become a threshold of one day)."""
        for rule_id in set(self.rule_params) | set(self.severity_overrides) | self.disabled:
            if rule_id not in catalogue:
                raise PolicyError(
                    self.origin, f"unknown rule id {rule_id!r} in [rules]", self._line(["rules", rule_id])
                )
        for rule_id, params in self.rule_params.items():
            unknown = set(params) - catalogue[rule_id]
            if unknown:
                allowed = ", ".join(sorted(catalogue[rule_id])) or "none"
                name = sorted(unknown)[0]
                raise PolicyError(
                    self.origin,
                    f"rule {rule_id} has no parameter {name!r} (parameters: {allowed})",
                    self._line(["rules", rule_id, name]),
                )
        defaults = _parameter_defaults()
        for rule_id, params in self.rule_params.items():
            for name, value in params.items():
                problem = _param_type_problem(value, defaults.get((rule_id, name)))
                if problem is not None:
                    raise PolicyError(
                        self.origin,
                        f"[rules.{rule_id}] {name} {problem}, not {value!r}"[:200],
                        self._line(["rules", rule_id, name]),
                    )

    def _line(self, path: list[str]) -> int | None:
        return _toml_line(self.text, path) if self.text else None


def parse(text: str, origin: str, digest: str | None = None) -> Policy:
    """Parse policy TOML; structural problems become one-line :class:`PolicyError`s."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(origin, f"invalid TOML: {exc}") from None
    _schema_check(doc, text, origin)
    policy = Policy(origin=origin, digest=digest, text=text)
    rules = doc.get("rules", {})
    if not isinstance(rules, dict):
        raise PolicyError(origin, "[rules] must be a table")
    for rule_id, table in rules.items():
        if not isinstance(table, dict):
            raise PolicyError(origin, f"[rules.{rule_id}] must be a table")
        severity = table.get("severity")
        if severity is not None:
            if str(severity).lower() not in _SEVERITIES:
                raise PolicyError(
                    origin, f"[rules.{rule_id}] severity {severity!r} is not one of {sorted(_SEVERITIES)}"
                )
            policy.severity_overrides[rule_id] = str(severity).lower()
        if table.get("enabled") is False:
            policy.disabled.add(rule_id)
        params = {k: v for k, v in table.items() if k not in _RULE_RESERVED}
        if params:
            policy.rule_params[rule_id] = params
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict):
        raise PolicyError(origin, "[profiles] must be a table")
    policy.profile_tag = str(profiles.get("tag", policy.profile_tag))
    for entry in profiles.get("assign", []):
        if not isinstance(entry, dict) or "profile" not in entry:
            raise PolicyError(origin, "each [[profiles.assign]] needs a profile")
        policy.assignments.append(
            ProfileAssignment(
                profile=str(entry["profile"]), vault=str(entry.get("vault", "*")), key=str(entry.get("key", "*"))
            )
        )
    custom = profiles.get("custom", {})
    if not isinstance(custom, dict):
        raise PolicyError(origin, "[profiles.custom] must be a table of profiles")
    policy.custom_profiles = {str(k): dict(v) for k, v in custom.items()}
    hsm = doc.get("managed_hsm", {})
    policy.dedicated_hsms = [str(x).lower() for x in hsm.get("dedicated", [])]
    return policy


def _parameter_defaults() -> dict[tuple[str, str], Any]:
    from kvaudit.rules.registry import all_rules

    return {(rule.id, param.name): param.default for rule in all_rules() for param in rule.params}


def load(path: Path) -> Policy:
    data = read_bounded(path, str(path), _MAX_BYTES, contained=False)
    return parse(decode_text(data, str(path)), str(path), digest_bytes(data))
