"""One declared resource, as both the ARM and the Bicep loader hand it to the row mapping.

Bicep is a language over ARM, so after evaluation both produce the same thing: an ARM resource
type, its name segments, its evaluated body (with unknowns) and where it lives. Keeping that
shape in one dataclass is what lets :mod:`scanner.iac.arm.mapping` be written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kvaudit.scanner.iac.arm.functions import DeploymentScope
from kvaudit.scanner.iac.arm.values import Partial, Unknown, join_strings, render
from kvaudit.scanner.iac.common import CallSite

#: Placeholder for a name piece that has no stable rendering at all.
UNNAMED = "{unknown}"


@dataclass
class Declared:
    """An evaluated resource declaration (ARM or Bicep) with provenance."""

    type: str  # full ARM type, e.g. Microsoft.KeyVault/vaults/keys
    names: list[Any]  # one evaluated name per type segment after the namespace
    body: dict[str, Any]  # the evaluated resource (properties, sku, location, tags, identity ...)
    deployment: DeploymentScope
    source: str  # arm | bicep
    file: str
    line: int | None
    api_version: str | None = None
    scope: Any = None  # evaluated extension scope (an id, relative or absolute), if any
    existing: bool = False
    suppressions: list[tuple[str, str | None]] = field(default_factory=list)
    #: The module call in the scanned root that declared it (None for the root's own resources).
    call: CallSite | None = None

    def __post_init__(self) -> None:
        if isinstance(self.body, dict):
            self.body = canonical_body(self.body)

    @property
    def type_lower(self) -> str:
        return self.type.lower()

    @property
    def properties(self) -> Any:
        return self.body.get("properties", {}) if isinstance(self.body, dict) else {}

    @property
    def name(self) -> Any:
        return self.names[-1] if self.names else None

    @property
    def id(self) -> str:
        """Lower-cased resource id, the join key of every inventory table."""
        return self.display_id.lower()

    @property
    def display_id(self) -> str:
        """The id as the template spells it: the scope's id + provider path + names."""
        namespace, *types = self.type.split("/")
        path = "".join(f"/{t}/{render_name(n)}" for t, n in zip(types, self.names, strict=False))
        if self.scope is not None:
            base = scope_id(self.scope, self.deployment)
        else:
            base = deployment_id(self.deployment)
        return f"{base}/providers/{namespace}{path}"


#: Top-level resource properties by their canonical spelling. ARM reads property names without
#: regard to case, so ``"Properties"`` is the resource's properties: a mapping that looked only
#: for ``"properties"`` would see a vault with no settings at all.
_CANONICAL = {
    name.lower(): name
    for name in ("properties", "sku", "location", "tags", "kind", "identity", "zones", "plan", "managedBy")
}


def canonical_body(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its top-level property names in canonical case (duplicates that differ
    only in case were already refused when the JSON was read)."""
    return {_CANONICAL.get(key.lower(), key): value for key, value in body.items()}


def render_name(value: Any) -> str:
    return render(value) or UNNAMED


def deployment_id(scope: DeploymentScope) -> str:
    if scope.level == "subscription":
        return scope.subscription_id_path
    if scope.level in ("tenant", "managementGroup"):
        return ""
    return scope.resource_group_id


def scope_id(value: Any, deployment: DeploymentScope) -> str:
    """An extension scope as an absolute id.

    Compiled Bicep writes scopes relative to the deployment (``Microsoft.KeyVault/vaults/kv``);
    hand-written ARM uses full ids. Both must name the same resource.
    """
    text = render(value) or UNNAMED
    if text.startswith("/"):
        return text.rstrip("/")
    return f"{deployment_id(deployment)}/providers/{text}".rstrip("/")


def split_name(value: Any) -> list[Any]:
    """Split an evaluated full name (``kv/key``) into segments, keeping unknown pieces whole."""
    if isinstance(value, str):
        return value.split("/")
    if isinstance(value, Partial):
        segments: list[list[Any]] = [[]]
        for part in value.parts:
            if isinstance(part, str):
                pieces = part.split("/")
                segments[-1].append(pieces[0])
                for piece in pieces[1:]:
                    segments.append([piece])
            else:
                segments[-1].append(part)
        return [join_strings(s) for s in segments]
    return [value]


_EXTENSION = re.compile(r"^(?P<base>[^/]+(?:/[^/]+)*?)/providers/(?P<ext>[^/]+(?:/[^/]+)*)$", re.I)


def split_extension_type(rtype: str, names: list[Any]) -> tuple[str, list[Any], str, list[Any]] | None:
    """Old-style extension resources: ``Microsoft.KeyVault/vaults/providers/diagnosticSettings``
    named ``kv/Microsoft.Insights/diag`` -> (base type, base names, extension type, ext names).
    """
    match = _EXTENSION.match(rtype)
    if not match:
        return None
    base_type = match.group("base")
    base_count = len(base_type.split("/")) - 1
    ext_segments = match.group("ext").split("/")
    if len(names) < base_count + 1:
        return None
    base_names = names[:base_count]
    namespace = names[base_count]
    ext_names = names[base_count + 1 :]
    if not isinstance(namespace, str):
        namespace = "Microsoft.Unknown"
    return base_type, base_names, "/".join([namespace, *ext_segments]), ext_names


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown | Partial)
