"""The REST api-versions every live read uses, pinned.

Every row names the api-version it was read with, and a new SDK release cannot silently change
what a scan observes. This module imports nothing, so pure mapping code can use it too.
"""

from __future__ import annotations

API_VERSIONS: dict[str, str] = {
    "keyvault_mgmt": "2026-05-15",
    "authorization": "2022-04-01",
    "monitor_diagnostic_settings": "2021-05-01-preview",
    "resource_graph": "2021-03-01",
    "keyvault_data": "2025-07-01",
    "loganalytics": "v1",
    "loganalytics_workspace": "2023-09-01",
    "resources": "2022-09-01",
    "container_apps": "2024-03-01",
}
