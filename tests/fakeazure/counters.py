"""Request counters by operation and status, cheap enough to keep on for a million requests.

The request log keeps every header and body, which a benchmark of a large estate cannot afford
(``--no-record``); a benchmark still needs to know how many calls of each kind the scanner made
and how many were throttled.  The counters answer that: ``operation_of`` names the operation of
a request the way the cost model of a live scan counts it (one list page, one key version, one
rotation policy...), and the running fake serves the totals at ``GET /_fakeazure/counters``.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

#: Path of the counters endpoint on the ARM port (answered without authentication, not counted).
COUNTERS_PATH = "/_fakeazure/counters"

_DATA_PLANE = (
    (re.compile(r"/providers/Microsoft\.Authorization/roleAssignments", re.I), "hsm.role_assignments"),
    (re.compile(r"/providers/Microsoft\.Authorization/roleDefinitions", re.I), "hsm.role_definitions"),
    (re.compile(r"^/keys/?$", re.I), "keys.list"),
    (re.compile(r"^/keys/[^/]+/versions/?$", re.I), "keys.list_versions"),
    (re.compile(r"^/keys/[^/]+/rotationpolicy/?$", re.I), "keys.rotation_policy"),
    (re.compile(r"^/keys/[^/]+(/[^/]*)?/?$", re.I), "keys.get"),
)
_ARM = (
    (re.compile(r"/providers/Microsoft\.ResourceGraph/resources", re.I), "graph.query"),
    (re.compile(r"^/v1/", re.I), "loganalytics.query"),
    (re.compile(r"/providers/Microsoft\.Authorization/roleAssignments", re.I), "arm.role_assignments"),
    (re.compile(r"/providers/Microsoft\.Authorization/roleDefinitions", re.I), "arm.role_definitions"),
    (re.compile(r"/providers/Microsoft\.Insights/diagnosticSettings", re.I), "arm.diagnostic_settings"),
    (re.compile(r"/managedHSMs/[^/]+/keys", re.I), "arm.managed_hsm_keys"),
    (re.compile(r"/privateEndpointConnections", re.I), "arm.private_endpoints"),
    (re.compile(r"/providers/Microsoft\.KeyVault/(vaults|managedHSMs)/[^/]+/?$", re.I), "arm.vault_get"),
    (re.compile(r"/providers/Microsoft\.KeyVault/(vaults|managedHSMs)/?$", re.I), "arm.vault_list"),
    (re.compile(r"^/subscriptions(/[^/]+)?/?$", re.I), "arm.subscriptions"),
    (re.compile(r"/providers/Microsoft\.App/containerApps/?$", re.I), "arm.container_apps"),
)


def operation_of(plane: str, method: str, path: str) -> str:
    """The operation a request belongs to, e.g. ``keys.get`` or ``arm.diagnostic_settings``."""
    if plane == "identity":
        return "identity.token"
    table = _DATA_PLANE if plane == "vault" else _ARM
    for pattern, name in table:
        if pattern.search(path):
            return name if method == "GET" or name.endswith(".query") else f"{name}.{method.lower()}"
    return f"{plane}.other"


class RequestCounters:
    """Thread-safe counts of (operation, status); ``snapshot`` is the JSON the endpoint serves."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def add(self, plane: str, method: str, path: str, status: int) -> None:
        key = (operation_of(plane, method, path), status)
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{"operations": {operation: {status: count}}, "total": n}`` (statuses as strings, for JSON)."""
        with self._lock:
            items = list(self._counts.items())
        operations: dict[str, dict[str, int]] = {}
        for (operation, status), count in sorted(items):
            operations.setdefault(operation, {})[str(status)] = count
        return {"operations": operations, "total": sum(c for _, c in items)}
