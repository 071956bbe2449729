"""The cloud table: every endpoint and DNS suffix that differs between Azure clouds.

This is the only place that names a public, US Government or China endpoint; the data-plane
DNS suffixes come from :mod:`scanner.reference`, which the IaC sources and rules share. Everything else
reads a :class:`Cloud`, so a custom cloud (Azure Stack, an air-gapped region, the local fake)
works by overriding fields rather than by editing code. The authority hosts come from
``azure.identity.AzureAuthorityHosts`` and are looked up only when a cloud is resolved, so that
importing this module (the CLI does, to build its parser) does not import the Azure SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from kvaudit.scanner.errors import UsageError
from kvaudit.scanner.reference import cloud_suffixes

CLOUD_NAMES: tuple[str, ...] = ("public", "usgov", "china", "custom")


@dataclass(frozen=True)
class Cloud:
    """Endpoints of one Azure cloud; ``None`` means the cloud does not define it."""

    name: str
    arm_endpoint: str
    authority_host: str | None
    keyvault_dns_suffix: str | None
    managedhsm_dns_suffix: str | None
    resource_graph_endpoint: str | None  # usually the ARM endpoint
    loganalytics_endpoint: str | None
    arm_audience: str | None = None  # token audience for ARM when it differs from the endpoint

    @property
    def arm_scope(self) -> str:
        """OAuth scope for ARM: the audience (or endpoint) plus ``/.default``."""
        return (self.arm_audience or self.arm_endpoint).rstrip("/") + "/.default"

    @property
    def graph_endpoint(self) -> str:
        return self.resource_graph_endpoint or self.arm_endpoint


def _authority_hosts() -> Any:
    from azure.identity import AzureAuthorityHosts

    return AzureAuthorityHosts


def named_cloud(name: str) -> Cloud:
    """The documented endpoints of a named cloud (``custom`` starts empty but for its name)."""
    hosts = _authority_hosts()
    if name == "public":
        return Cloud(
            name="public",
            arm_endpoint="https://management.azure.com",
            authority_host=hosts.AZURE_PUBLIC_CLOUD,
            keyvault_dns_suffix=cloud_suffixes("public").keyvault,
            managedhsm_dns_suffix=cloud_suffixes("public").managedhsm,
            resource_graph_endpoint=None,
            loganalytics_endpoint="https://api.loganalytics.io",
        )
    if name == "usgov":
        return Cloud(
            name="usgov",
            arm_endpoint="https://management.usgovcloudapi.net",
            authority_host=hosts.AZURE_GOVERNMENT,
            keyvault_dns_suffix=cloud_suffixes("usgov").keyvault,
            managedhsm_dns_suffix=cloud_suffixes("usgov").managedhsm,
            resource_graph_endpoint=None,
            loganalytics_endpoint="https://api.loganalytics.us",
        )
    if name == "china":
        return Cloud(
            name="china",
            arm_endpoint="https://management.chinacloudapi.cn",
            authority_host=hosts.AZURE_CHINA,
            keyvault_dns_suffix=cloud_suffixes("china").keyvault,
            managedhsm_dns_suffix=cloud_suffixes("china").managedhsm,
            resource_graph_endpoint=None,
            loganalytics_endpoint="https://api.loganalytics.azure.cn",
        )
    if name == "custom":
        return Cloud(
            name="custom",
            arm_endpoint="",
            authority_host=None,
            keyvault_dns_suffix=None,
            managedhsm_dns_suffix=None,
            resource_graph_endpoint=None,
            loganalytics_endpoint=None,
        )
    raise UsageError(f"unknown cloud {name!r}: expected one of {', '.join(CLOUD_NAMES)}")


def resolve_cloud(name: str, **overrides: str | None) -> Cloud:
    """A named cloud with any non-empty override applied; a custom cloud needs an ARM endpoint.

    Overrides are field names of :class:`Cloud`. Endpoints lose a trailing slash so that URL
    joins and host comparisons behave the same whatever the user typed.
    """
    cloud = named_cloud(name)
    given = {k: v.rstrip("/") if k.endswith("endpoint") else v for k, v in overrides.items() if v}
    cloud = replace(cloud, **given)
    if not cloud.arm_endpoint:
        raise UsageError("--cloud custom needs --arm-endpoint (or KVAUDIT_ARM_ENDPOINT)")
    for field_name in ("arm_endpoint", "resource_graph_endpoint", "loganalytics_endpoint"):
        value = getattr(cloud, field_name)
        if value and not value.lower().startswith("https://"):
            raise UsageError(f"{field_name.replace('_', '-')} must be an https:// URL, got {value!r}")
    return cloud
