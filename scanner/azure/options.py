"""Options of a live Azure scan, their command-line flags and their environment variables.

The CLI owns the parser; this module only adds the ``--azure`` group to it and turns the parsed
namespace into an :class:`AzureOptions`, so every live-collection knob is defined once.
Precedence is: command-line flag, then environment variable, then default.

Environment variables (each equivalent to the flag named next to it):

=================================  ============================
``KVAUDIT_SUBSCRIPTIONS``          ``--subscription`` (comma or space separated)
``KVAUDIT_MANAGEMENT_GROUP``       ``--management-group``
``KVAUDIT_TENANT``                 ``--tenant``
``KVAUDIT_CLOUD``                  ``--cloud``
``KVAUDIT_ARM_ENDPOINT``           ``--arm-endpoint``
``KVAUDIT_AUTHORITY_HOST``         ``--authority-host``
``KVAUDIT_KEYVAULT_DNS_SUFFIX``    ``--keyvault-dns-suffix``
``KVAUDIT_MANAGEDHSM_DNS_SUFFIX``  ``--managedhsm-dns-suffix``
``KVAUDIT_RESOURCE_GRAPH_ENDPOINT`` ``--resource-graph-endpoint``
``KVAUDIT_LOGANALYTICS_ENDPOINT``  ``--loganalytics-endpoint``
``KVAUDIT_CA_BUNDLE``              ``--ca-bundle``
``KVAUDIT_WORKSPACES``             ``--workspace`` (comma or space separated)
``KVAUDIT_SHARD``                  ``--shard``
``KVAUDIT_VAULT_RPS``              ``--vault-rps``
``KVAUDIT_SUBSCRIPTION_RPS``       ``--subscription-rps``
``KVAUDIT_MAX_IN_FLIGHT``          ``--max-in-flight``
``KVAUDIT_TIMEOUT``                ``--timeout``
``KVAUDIT_RETRY_TOTAL``            ``--retry-total``
``KVAUDIT_RETRY_BACKOFF``          ``--retry-backoff``
``KVAUDIT_RETRY_BACKOFF_MAX``      ``--retry-backoff-max``
``KVAUDIT_USAGE_DAYS``             ``--usage-days``
``KVAUDIT_WORKERS``                ``--workers``
=================================  ============================
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kvaudit.scanner.azure.clouds import CLOUD_NAMES, Cloud, resolve_cloud
from kvaudit.scanner.errors import UsageError

#: Key Vault allows ~2000 requests per 10 s per vault for key reads; a nightly job shares that
#: budget with production, so it takes a small slice by default.
DEFAULT_VAULT_RPS = 50.0
#: ARM reads per subscription and region refill at ~25/s; stay under it.
DEFAULT_SUBSCRIPTION_RPS = 20.0
#: Requests in flight bound the sockets and the scan's speed: at 20 ms a call, 32 in flight cap a
#: scan at 1,600 calls per second, below what the service's own limits allow an estate of a
#: thousand vaults; the per-vault and per-subscription windows are what protect the service.
DEFAULT_MAX_IN_FLIGHT = 64
DEFAULT_TIMEOUT = 30.0
#: Retries with exponential backoff 0, 2, 4, 8, 16, 32 s (capped at 60 s) cover Key Vault's
#: 10-second throttling window several times over; azure-core's default of three status
#: retries (about 5 s in all) does not.
DEFAULT_RETRY_TOTAL = 6
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_RETRY_BACKOFF_MAX = 60.0
DEFAULT_USAGE_DAYS = 90

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``; the index counts from 0, as a Kubernetes indexed Job's
    ``JOB_COMPLETION_INDEX`` does, so ``--shard $JOB_COMPLETION_INDEX/4`` works unchanged."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass
class AzureOptions:
    """Everything a live scan needs besides the credential, which comes from the environment."""

    subscriptions: list[str] = field(default_factory=list)
    management_group: str | None = None
    tenant: str | None = None
    cloud: Cloud | None = None  # None: the public cloud
    ca_bundle: str | None = None
    workspaces: list[str] = field(default_factory=list)
    shard: Shard | None = None
    vault_rps: float = DEFAULT_VAULT_RPS
    subscription_rps: float = DEFAULT_SUBSCRIPTION_RPS
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    timeout: float = DEFAULT_TIMEOUT
    retry_total: int = DEFAULT_RETRY_TOTAL
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_backoff_max: float = DEFAULT_RETRY_BACKOFF_MAX
    usage_days: int = DEFAULT_USAGE_DAYS
    workers: int | None = None  # None: one per core (see scanner.azure.workers.worker_count)

    def resolved_cloud(self) -> Cloud:
        return self.cloud or resolve_cloud("public")


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``; the index runs from 0 to count - 1."""
    match = _SHARD.match(text or "")
    if not match:
        raise UsageError(f"--shard must look like I/N (for example 0/4), got {text!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--shard {text}: need 0 <= I < N (shards count from 0)")
    return Shard(index, count)


def _split(values: list[str] | str | None) -> list[str]:
    """Flags may repeat and environment variables hold lists: accept commas and spaces in both."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else values
    return [part for item in items for part in re.split(r"[,\s]+", item) if part]


def _positive(name: str, convert: Callable[[str], Any]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        try:
            number = convert(value)
        except (TypeError, ValueError):
            raise UsageError(f"--{name} must be a positive number, got {value!r}") from None
        if number <= 0:
            raise UsageError(f"--{name} must be a positive number, got {value!r}")
        return number

    return parse


# flag name -> (environment variable, help)
_FLAGS: dict[str, tuple[str, str]] = {
    "subscription": ("KVAUDIT_SUBSCRIPTIONS", "subscription id to scan (repeatable; default: all visible)"),
    "management-group": ("KVAUDIT_MANAGEMENT_GROUP", "scan every subscription under this management group"),
    "tenant": ("KVAUDIT_TENANT", "tenant id for the credential"),
    "cloud": ("KVAUDIT_CLOUD", "public (default), usgov, china or custom"),
    "arm-endpoint": ("KVAUDIT_ARM_ENDPOINT", "Resource Manager endpoint (required for --cloud custom)"),
    "authority-host": ("KVAUDIT_AUTHORITY_HOST", "Microsoft Entra authority host"),
    "keyvault-dns-suffix": ("KVAUDIT_KEYVAULT_DNS_SUFFIX", "Key Vault DNS suffix, e.g. vault.azure.net"),
    "managedhsm-dns-suffix": ("KVAUDIT_MANAGEDHSM_DNS_SUFFIX", "Managed HSM DNS suffix"),
    "resource-graph-endpoint": ("KVAUDIT_RESOURCE_GRAPH_ENDPOINT", "Resource Graph endpoint (default: ARM)"),
    "loganalytics-endpoint": ("KVAUDIT_LOGANALYTICS_ENDPOINT", "Log Analytics query endpoint"),
    "ca-bundle": ("KVAUDIT_CA_BUNDLE", "PEM file of CA certificates to trust for every endpoint"),
    "workspace": ("KVAUDIT_WORKSPACES", "Log Analytics workspace (id or ARM id) to read key usage from"),
    "shard": ("KVAUDIT_SHARD", "scan shard I of N of the subscriptions, I from 0 (for example 0/4)"),
    "vault-rps": ("KVAUDIT_VAULT_RPS", f"requests per second per vault (default {DEFAULT_VAULT_RPS:g})"),
    "subscription-rps": (
        "KVAUDIT_SUBSCRIPTION_RPS",
        f"ARM requests per second per subscription (default {DEFAULT_SUBSCRIPTION_RPS:g})",
    ),
    "max-in-flight": ("KVAUDIT_MAX_IN_FLIGHT", f"requests in flight at once (default {DEFAULT_MAX_IN_FLIGHT})"),
    "timeout": ("KVAUDIT_TIMEOUT", f"seconds to wait for a connection or a response (default {DEFAULT_TIMEOUT:g})"),
    "retry-total": ("KVAUDIT_RETRY_TOTAL", f"retries per request (default {DEFAULT_RETRY_TOTAL})"),
    "retry-backoff": ("KVAUDIT_RETRY_BACKOFF", f"exponential backoff factor, s (default {DEFAULT_RETRY_BACKOFF:g})"),
    "retry-backoff-max": (
        "KVAUDIT_RETRY_BACKOFF_MAX",
        f"longest wait between retries, s (default {DEFAULT_RETRY_BACKOFF_MAX:g})",
    ),
    "usage-days": ("KVAUDIT_USAGE_DAYS", f"days of audit logs to read for key usage (default {DEFAULT_USAGE_DAYS})"),
    "workers": (
        "KVAUDIT_WORKERS",
        "processes that read vaults in parallel, sharing the pacing budgets (default: one per core)",
    ),
}
_REPEATABLE = {"subscription", "workspace"}


def environment_variables() -> dict[str, str]:
    """Namespace dest of each live-Azure flag -> its environment variable (for the config layer)."""
    return {_dest(flag): env for flag, (env, _) in _FLAGS.items()}


def _dest(flag: str) -> str:
    return "azure_" + flag.replace("-", "_")


def add_azure_arguments(parser: argparse.ArgumentParser, switch: bool = True) -> argparse._ArgumentGroup:
    """Add the live-Azure flags as a group; ``switch`` adds ``--azure`` itself (``args.azure``).

    Defaults are ``None`` so that :func:`options_from_args` can tell "not given" from a value and
    fall back to the environment.
    """
    group = parser.add_argument_group(
        "live Azure",
        "Credentials come from the environment (DefaultAzureCredential). "
        "Each flag has a KVAUDIT_* environment variable.",
    )
    if switch:
        group.add_argument("--azure", action="store_true", help="scan live Azure (Resource Graph discovery)")
    for flag, (env, help_text) in _FLAGS.items():
        dest = _dest(flag)
        kwargs: dict[str, Any] = {
            "dest": dest,
            "default": None,
            "help": f"{help_text} [{env}]",
            "metavar": flag.upper().replace("-", "_"),
        }
        if flag in _REPEATABLE:
            kwargs.update(action="append", metavar="ID")
        elif flag == "cloud":
            kwargs.update(choices=CLOUD_NAMES)
        group.add_argument(f"--{flag}", **kwargs)
    return group


def options_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> AzureOptions:
    """Build options from parsed flags, then ``KVAUDIT_*`` variables; invalid values raise UsageError."""
    env = os.environ if environ is None else environ

    def get(flag: str) -> Any:
        value = getattr(args, _dest(flag), None)
        if value is None or value == []:
            value = env.get(_FLAGS[flag][0]) or None
        return value

    subscriptions = [s.lower() for s in _split(get("subscription"))]
    for sub in subscriptions:
        if not _GUID.match(sub):
            raise UsageError(f"--subscription {sub!r} is not a subscription id (a GUID)")
    cloud_name = get("cloud") or ("custom" if get("arm-endpoint") else "public")
    if cloud_name not in CLOUD_NAMES:
        raise UsageError(f"unknown cloud {cloud_name!r}: expected one of {', '.join(CLOUD_NAMES)}")
    cloud = resolve_cloud(
        cloud_name,
        arm_endpoint=get("arm-endpoint"),
        authority_host=get("authority-host"),
        keyvault_dns_suffix=get("keyvault-dns-suffix"),
        managedhsm_dns_suffix=get("managedhsm-dns-suffix"),
        resource_graph_endpoint=get("resource-graph-endpoint"),
        loganalytics_endpoint=get("loganalytics-endpoint"),
    )
    ca_bundle = get("ca-bundle")
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise UsageError(f"--ca-bundle {ca_bundle}: no such file")
    shard = get("shard")
    options = AzureOptions(
        subscriptions=subscriptions,
        management_group=get("management-group"),
        tenant=get("tenant"),
        cloud=cloud,
        ca_bundle=ca_bundle,
        workspaces=_split(get("workspace")),
        shard=parse_shard(shard) if shard else None,
    )
    numeric: dict[str, tuple[str, Callable[[str], Any]]] = {
        "vault-rps": ("vault_rps", float),
        "subscription-rps": ("subscription_rps", float),
        "max-in-flight": ("max_in_flight", int),
        "timeout": ("timeout", float),
        "retry-backoff": ("retry_backoff", float),
        "retry-backoff-max": ("retry_backoff_max", float),
        "usage-days": ("usage_days", int),
        "workers": ("workers", int),
    }
    for flag, (attr, convert) in numeric.items():
        value = get(flag)
        if value is not None:
            setattr(options, attr, _positive(flag, convert)(value))
    retry_total = get("retry-total")
    if retry_total is not None:
        try:
            options.retry_total = int(retry_total)
        except ValueError:
            raise UsageError(f"--retry-total must be a whole number, got {retry_total!r}") from None
        if options.retry_total < 0:
            raise UsageError(f"--retry-total must not be negative, got {retry_total!r}")
    return options
