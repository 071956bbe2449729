"""Application settings of declared consumers -> key references, for ARM, Bicep, azapi and Terraform.

A signer in a Container App or an App Service app is often configured with the vault URL, the
key name and an optional key version as three settings, not as one key URI. Where each consumer
keeps its settings is a fact of the reference table (:data:`scanner.reference.CONSUMERS`); how
a group of settings becomes a reference is :mod:`scanner.keyrefs`, shared with Kubernetes
manifests and the live Container Apps template. This module only walks a resource body to the
settings, turns each value into a string or "unresolved", and asks the caller's mapping to place
the vault (a declared vault, by host or by a symbolic reference to it).

A value that cannot be evaluated (a parameter without a default, a ``secretRef``, an App Service
Key Vault reference, an attribute known only after apply) is an existing setting with an unknown
value: the reference it belongs to gets unknown columns, never a guess and never "absent".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kvaudit.scanner.keyrefs import Text, find_in_settings, locate, reference_path, reference_row, settings_at
from kvaudit.scanner.reference import Settings

#: Finds the declared vault of a reference: (the raw vault setting, its host or None) -> vault id.
VaultOf = Callable[[Any, str | None], str | None]


def references(
    body: Any,
    locations: tuple[Settings, ...],
    *,
    text: Text,
    vault_of: VaultOf,
    consumer_id: str,
    consumer_type: str,
    consumer_name: str | None,
) -> list[dict[str, Any]]:
    """``key_references`` rows (without provenance) for the settings groups of one consumer."""
    rows: list[dict[str, Any]] = []
    for where in locations:
        for path, values, raw in settings_at(body, where, text):
            for index, ref in enumerate(find_in_settings(values)):
                row = reference_row(
                    ref,
                    consumer_id=consumer_id,
                    consumer_type=consumer_type,
                    consumer_name=consumer_name,
                    path=reference_path(path, ref, index),
                )
                locate(row, vault_of(raw.get(ref.settings[0]), ref.host))
                rows.append(row)
    return rows
