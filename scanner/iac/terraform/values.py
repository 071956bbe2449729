"""The values Terraform expressions evaluate to, including the two that JSON lacks.

``UNKNOWN`` is a value the configuration does not determine (a variable without a default, an
attribute computed at apply time). It is distinct from ``None``, which is HCL ``null`` and
means "not set, provider default applies". :class:`KeyRef` stands for a key id whose text is
only known after apply but whose identity (which key, pinned or not) is known now; it is what
lets a consumer's ``azurerm_key_vault_key.k.id`` become a key reference row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class _Unknown:
    """Singleton marker for a value that cannot be determined from the configuration."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; test `is UNKNOWN` first")


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class KeyRef:
    """A reference to a key whose URI text is computed at apply time.

    ``pinned`` is True for ``azurerm_key_vault_key.k.id`` (the current version, fixed at
    apply) and False for ``versionless_id``; ``version`` stays None because no version exists
    yet in the configuration.
    """

    key_id: str | None  # inventory key id (<vault id>/keys/<name>)
    vault_id: str | None
    vault_host: str | None
    key_name: str | None
    pinned: bool
    version: str | None = None


@dataclass(frozen=True)
class EncodedJson:
    """``jsonencode(x)`` where ``x`` holds unknowns: no text yet, but the structure is known.

    azapi 1.x bodies are written this way, and a single unknown ``tenantId`` must not hide
    every other property of the vault.
    """

    value: Any


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def contains_unknown(value: Any) -> bool:
    """True if ``value`` or anything nested in it is UNKNOWN (such a list is not trusted)."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False
