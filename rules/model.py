"""Rule metadata and result vocabulary shared by the engine, the catalogue and the renderers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from kvaudit.rules.context import RuleContext
    from kvaudit.scanner.policy import Policy


class Status(StrEnum):
    """Outcome of one rule on one resource. UNKNOWN is never counted as compliant."""

    PASS = "PASS"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    ERROR = "ERROR"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; used by ``--fail-on`` and for sorting."""
        return SEVERITY_RANK[self.value]


SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

#: SARIF ``security-severity`` scores (GitHub code scanning buckets them by these ranges).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


@dataclass(frozen=True)
class Param:
    """A policy parameter a rule reads, with the default used when the policy is silent."""

    name: str
    default: Any
    description: str


@dataclass(frozen=True)
class Remediation:
    """How to fix a failure, for each way people manage Key Vault."""

    cli: str
    arm_bicep: str
    terraform: str


@dataclass(frozen=True)
class Rule:
    """A registered rule: metadata plus a pure, vectorised check over the inventory."""

    id: str
    title: str
    severity: Severity
    domain: str
    resource_type: str
    rationale: str
    remediation: Remediation
    check: Callable[[RuleContext], pd.DataFrame]
    references: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    messages: dict[str, str] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def settings(self, policy: Policy) -> tuple[Severity, dict[str, Any]]:
        """The severity and parameters this rule runs with under ``policy``: one definition for
        the engine and for ``kvaudit rules``, which lists them without evaluating anything."""
        severity = Severity(policy.severity_overrides.get(self.id, self.severity.value))
        return severity, policy.params_for(self.id, self.defaults())

    def describe(self) -> dict[str, Any]:
        """The rule's catalogue entry as it appears in reports and ``kvaudit rules``."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "domain": self.domain,
            "resource_type": self.resource_type,
            "rationale": self.rationale,
            "remediation": {
                "cli": self.remediation.cli,
                "arm_bicep": self.remediation.arm_bicep,
                "terraform": self.remediation.terraform,
            },
            "references": list(self.references),
            "params": [{"name": p.name, "default": p.default, "description": p.description} for p in self.params],
        }
