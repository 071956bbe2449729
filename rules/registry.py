"""The one registry that holds every rule, whatever the source of the inventory.

Rules register themselves with :func:`rule` when their module under ``rules/checks`` is
imported; :func:`all_rules` imports those modules once and returns the catalogue in id order.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from kvaudit.rules.model import Param, Remediation, Rule, Severity

if TYPE_CHECKING:
    import pandas as pd

    from kvaudit.rules.context import RuleContext

#: Bumped whenever a rule is added, removed or changes meaning; reported as the rule-set version.
RULESET_VERSION = "2026.12.1"

_REGISTRY: dict[str, Rule] = {}
_LOADED = False


def rule(
    *,
    id: str,
    title: str,
    severity: str,
    domain: str,
    resource_type: str,
    rationale: str,
    remediation: Remediation,
    references: Iterable[str] = (),
    params: Iterable[Param] = (),
    messages: dict[str, str] | None = None,
) -> Callable[[Callable[[RuleContext], pd.DataFrame]], Callable[[RuleContext], pd.DataFrame]]:
    """Register ``check`` under ``id``; a duplicate id is a programming error."""

    def register(check: Callable[[RuleContext], pd.DataFrame]) -> Callable[[RuleContext], pd.DataFrame]:
        if id in _REGISTRY:
            raise ValueError(f"duplicate rule id {id}")
        _REGISTRY[id] = Rule(
            id=id,
            title=title,
            severity=Severity(severity),
            domain=domain,
            resource_type=resource_type,
            rationale=" ".join(rationale.split()),
            remediation=remediation,
            check=check,
            references=tuple(references),
            params=tuple(params),
            messages=dict(messages or {}),
        )
        return check

    return register


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    import kvaudit.rules.checks as checks

    for module in sorted(pkgutil.iter_modules(checks.__path__), key=lambda m: m.name):
        importlib.import_module(f"kvaudit.rules.checks.{module.name}")
    _LOADED = True


def all_rules() -> list[Rule]:
    """Every registered rule, sorted by id."""
    _load()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get(rule_id: str) -> Rule:
    _load()
    return _REGISTRY[rule_id]
