"""Diagnostic settings of each vault and HSM (azure-mgmt-monitor 6.0.2, 2021-05-01-preview).

azure-mgmt-monitor 7.x dropped the diagnostic-settings operations, which is why 6.0.2 is pinned.
"""

from __future__ import annotations

from typing import Any

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.faults import ErrorLog
from kvaudit.scanner.azure.records import diagnostic_setting_record
from kvaudit.scanner.azure.session import AzureSession
from kvaudit.scanner.azure.usage import log_table
from kvaudit.scanner.azure.util import collect_list, rest_dict

API = API_VERSIONS["monitor_diagnostic_settings"]


async def diagnostic_settings(
    session: AzureSession, errors: ErrorLog, vault: dict[str, Any]
) -> list[tuple[dict[str, Any], str]]:
    """Each setting's row, with the Log Analytics table its events land in (see
    :func:`scanner.azure.usage.log_table`)."""
    client = session.monitor(vault["subscription_id"])
    ok, settings = await errors.guard(
        lambda: collect_list(client.diagnostic_settings.list(vault["display_id"])),
        vault["id"],
        "diagnostic_settings.list",
        ("diagnostic_settings", "key_usage"),
        vault_id=vault["id"],
        api_version=API,
    )
    bodies = [rest_dict(s) for s in settings or []]
    return [(diagnostic_setting_record(vault["id"], b, API), log_table(b)) for b in bodies]
