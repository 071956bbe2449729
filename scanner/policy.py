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

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import PolicyError
from scanner.jsonio import decode_text, digest_bytes

_RULE_RESERVED = {"severity", "enabled"}
_SEVERITIES = {"critical", "high", "medium", "low", "info"}


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

    def params_for(self, rule_id: str, defaults: dict[str, Any]) -> dict[str, Any]:
        """The rule's defaults overlaid with what the policy file says."""
        return {**defaults, **self.rule_params.get(rule_id, {})}

    def validate(self, catalogue: dict[str, set[str]]) -> None:
        """Refuse rule ids and parameter names that do not exist: a typo must not silently
        leave a threshold at its default."""
        for rule_id in set(self.rule_params) | set(self.severity_overrides) | self.disabled:
            if rule_id not in catalogue:
                raise PolicyError(self.origin, f"unknown rule id {rule_id!r} in [rules]")
        for rule_id, params in self.rule_params.items():
            unknown = set(params) - catalogue[rule_id]
            if unknown:
                allowed = ", ".join(sorted(catalogue[rule_id])) or "none"
                raise PolicyError(
                    self.origin, f"rule {rule_id} has no parameter {sorted(unknown)[0]!r} (parameters: {allowed})"
                )


def parse(text: str, origin: str, digest: str | None = None) -> Policy:
    """Parse policy TOML; structural problems become one-line :class:`PolicyError`s."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(origin, f"invalid TOML: {exc}") from None
    policy = Policy(origin=origin, digest=digest)
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


def load(path: Path) -> Policy:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(str(path), exc.strerror or str(exc)) from None
    return parse(decode_text(data, str(path)), str(path), digest_bytes(data))
