"""``azapi_resource`` blocks: raw ARM bodies inside Terraform, mapped by the ARM mapping.

An azapi resource is an ARM resource in everything but syntax (``type = "Microsoft.KeyVault/
vaults@2023-07-01"``, ``parent_id``, ``body = { properties = ... }``), so rather than a third
property-to-row mapping it is converted into the ARM loader's :class:`Declared` and handed to
:func:`scanner.iac.arm.mapping.map_declared`. Terraform's UNKNOWN becomes the ARM loader's
``Unknown`` so "unresolvable is null" holds on both sides.
"""

from __future__ import annotations

import json
from typing import Any

from kvaudit.scanner.iac.common import UNKNOWN_SCOPE
from kvaudit.scanner.iac.terraform.module import Instance
from kvaudit.scanner.iac.terraform.values import UNKNOWN, EncodedJson, KeyRef

AZAPI_TYPES = {"azapi_resource"}
_EXTENSION_NAMESPACES = ("microsoft.insights/", "microsoft.authorization/")


def _to_arm(value: Any) -> Any:
    """Terraform values -> ARM loader values (UNKNOWN and KeyRef become ``Unknown``)."""
    from kvaudit.scanner.iac.arm.values import UNKNOWN as ARM_UNKNOWN

    if value is UNKNOWN or isinstance(value, KeyRef | EncodedJson):
        return ARM_UNKNOWN
    if isinstance(value, dict):
        return {k: _to_arm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_arm(v) for v in value]
    return value


def _scope_of(parent_id: str | None) -> tuple[str | None, str | None]:
    """(subscription, resource group) named by a parent id; the ``iac`` placeholder is None."""
    if not parent_id:
        return None, None
    parts = parent_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    sub = parts[lowered.index("subscriptions") + 1] if "subscriptions" in lowered[:1] and len(parts) > 1 else None
    group = (
        parts[lowered.index("resourcegroups") + 1]
        if "resourcegroups" in lowered and lowered.index("resourcegroups") + 1 < len(parts)
        else None
    )
    return (None if sub == UNKNOWN_SCOPE else sub), (None if group == UNKNOWN_SCOPE else group)


def body_of(values: dict[str, Any]) -> Any:
    """An azapi ``body``: an object (azapi 2.x), or JSON text or ``jsonencode`` (1.x); ``{}`` when
    absent, UNKNOWN when it cannot be read."""
    body = values.get("body")
    if isinstance(body, EncodedJson):
        body = body.value
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return UNKNOWN
    if body is None:
        return {}
    return body if isinstance(body, dict) else UNKNOWN


def declared_from(inst: Instance) -> Any:
    """The ARM :class:`Declared` for one azapi resource, or None when its type is unknown."""
    from kvaudit.scanner.iac.arm.functions import DeploymentScope
    from kvaudit.scanner.iac.arm.resources import Declared

    v = inst.values
    type_text = v.get("type")
    if not isinstance(type_text, str) or "/" not in type_text:
        return None
    rtype, _, api_version = type_text.partition("@")
    body = body_of(v)
    if not isinstance(body, dict):
        body = {"properties": UNKNOWN}
    body = dict(body)
    for attr in ("location", "tags", "identity"):
        if attr in v and attr not in body:
            body[attr] = v[attr]
    parent_id = v.get("parent_id") if isinstance(v.get("parent_id"), str) else None
    subscription, group = _scope_of(parent_id)
    segments = len(rtype.split("/")) - 1
    name = v.get("name", UNKNOWN)
    names: list[Any] = [name]
    scope = None
    if segments > 1:
        # A child resource: its parent id ends with .../<type>/<name> for every parent segment.
        tail = parent_id.rstrip("/").split("/")[-2 * (segments - 1) :] if parent_id else []
        parents = tail[1::2] if len(tail) == 2 * (segments - 1) else [UNKNOWN] * (segments - 1)
        names = [*parents, name]
    elif parent_id and "/providers/" in parent_id.lower() and rtype.lower().startswith(_EXTENSION_NAMESPACES):
        scope = parent_id  # diagnostic settings, role assignments: extension of their parent
    return Declared(
        type=rtype,
        names=_to_arm(names),
        body=_to_arm(body),
        deployment=DeploymentScope(subscription_id=subscription, resource_group=group),
        source="terraform",
        file=inst.file or "",
        line=inst.line,
        api_version=api_version or None,
        scope=scope,
    )
