"""The data-plane DNS suffixes of every Azure cloud, and what kind of service each names.

One table for every place that must tell a Managed HSM host from a standard vault host from a
key URI alone (IaC consumers, rules' fallback when a URI does not resolve to a vault). Never
assume the public cloud only; a custom cloud's hosts are "unknown", not guessed.
"""

from __future__ import annotations

DATA_PLANE_SUFFIXES: dict[str, str] = {
    "vault.azure.net": "vault",  # public
    "managedhsm.azure.net": "managed_hsm",
    "vault.usgovcloudapi.net": "vault",  # US Government
    "managedhsm.usgovcloudapi.net": "managed_hsm",
    "vault.azure.cn": "vault",  # China (21Vianet)
    "managedhsm.azure.cn": "managed_hsm",
    "vault.microsoftazure.de": "vault",  # Germany (retired, still seen in old templates)
    "managedhsm.microsoftazure.de": "managed_hsm",
}


def kind_for_host(host: str) -> str:
    """``vault``/``managed_hsm`` from the DNS suffix, ``unknown`` for a custom cloud or typo."""
    host = host.lower().rstrip(".")
    for suffix, kind in DATA_PLANE_SUFFIXES.items():
        if host.endswith("." + suffix):
            return kind
    return "unknown"
