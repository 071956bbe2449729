"""The data-plane DNS suffixes of every Azure cloud: kept as an import path for old callers.

The table itself lives in :mod:`scanner.reference`, with the rest of kvaudit's Azure reference
data; this module only re-exports it.
"""

from __future__ import annotations

from kvaudit.scanner.reference import DATA_PLANE_SUFFIXES, kind_for_host

__all__ = ["DATA_PLANE_SUFFIXES", "kind_for_host"]
