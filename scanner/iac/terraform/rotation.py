"""Rotation policies declared apart from their key, joined to the key they configure.

azurerm gives a vault key its rotation policy as a block (``rotation_policy`` on
``azurerm_key_vault_key``) but a Managed HSM key's as a resource of its own,
``azurerm_key_vault_managed_hardware_security_module_key_rotation_policy``, which names the key
by ``managed_hsm_key_id``. The policy is a fact about the key, so it fills the key's rotation
columns through the one rotation mapping (:func:`scanner.fields.rotation_columns`); it is not a
consumer of the key, and must not become a key reference.

When a policy's key cannot be resolved, any HSM key of the scan may be the one it configures:
every HSM key without a policy of its own then has unknown rotation, never "no policy".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kvaudit.scanner.fields import MISSING
from kvaudit.scanner.iac.terraform.azure import HSM_KEY
from kvaudit.scanner.iac.terraform.module import Instance
from kvaudit.scanner.iac.terraform.values import UNKNOWN

HSM_KEY_ROTATION_POLICY = "azurerm_key_vault_managed_hardware_security_module_key_rotation_policy"


def as_rotation_block(values: dict[str, Any]) -> dict[str, Any]:
    """The flat HSM policy resource in the shape of the key's ``rotation_policy`` block.

    The resource requires exactly one of ``time_after_creation`` and ``time_before_expiry``, so
    it always rotates automatically (the block's ``automatic``); it has no notify action, and
    ``expire_after`` is the expiry, as in the block.
    """
    return {
        "expire_after": values.get("expire_after"),
        "automatic": {
            "time_after_creation": values.get("time_after_creation"),
            "time_before_expiry": values.get("time_before_expiry"),
        },
    }


class SeparatePolicies:
    """The separately declared rotation policies of one scan, by the key id they configure."""

    def __init__(self, instances: list[Instance], resolve: Callable[[Any], dict[str, Any] | None]):
        #: key id -> the policy in block shape.
        self.by_key: dict[str, dict[str, Any]] = {}
        #: a policy whose key could not be resolved: it may belong to any HSM key.
        self.unplaced = False
        for inst in instances:
            if inst.type != HSM_KEY_ROTATION_POLICY or inst.mode != "managed":
                continue
            target = resolve(inst.values.get("managed_hsm_key_id"))
            key_id = target.get("key_id") if target else None
            if isinstance(key_id, str) and key_id:
                self.by_key[key_id.lower()] = as_rotation_block(inst.values)
            else:
                self.unplaced = True

    def policy_for(self, rtype: str, key_id: str) -> Any:
        """What :func:`rotation_columns` reads for this key: its separate policy, UNKNOWN if an
        unplaced policy may be its own, or MISSING to read the key's own body."""
        if rtype != HSM_KEY:
            return MISSING
        policy = self.by_key.get(key_id.lower())
        if policy is not None:
            return policy
        return UNKNOWN if self.unplaced else MISSING
