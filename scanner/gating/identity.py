"""How gating compares resources: exactly as :func:`reports.model.fingerprint` does.

Waiver globs and inline suppressions match resource ids, so they must see the same
normalised form that fingerprints hash; otherwise a waiver written with the portal's
mixed-case id would silently miss the finding it was approved for.
"""

from __future__ import annotations


def normalise_resource(resource_id: str) -> str:
    """Lower case, no surrounding blanks, no trailing slash (the fingerprint's resource identity)."""
    return str(resource_id).strip().rstrip("/").lower()
