"""Baseline files: the fingerprints of findings a team has accepted as "already there".

A baseline lets a repository adopt kvaudit without fixing every old finding first: findings
whose fingerprint is in the baseline are reported but suppressed, so only new ones fail the
gate. Fingerprints hash the rule and resource identity, never line numbers, so editing or
reformatting a file does not make old findings look new.

Format (JSON)::

    {"format": "kvaudit-baseline", "version": 1, "created": "2026-11-23T00:00:00+00:00",
     "tool": {"name": "kvaudit", "version": "0.1.0"},
     "entries": [{"fingerprint": "...", "rule_id": "KV-NET-001", "resource_id": "/subscriptions/...",
                  "first_seen": "2026-11-23T00:00:00+00:00"}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kvaudit.scanner import __version__
from kvaudit.scanner.errors import InputError, UsageError
from kvaudit.scanner.jsonio import load_json_bytes

FORMAT = "kvaudit-baseline"
VERSION = 1
_FINGERPRINT = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    rule_id: str
    resource_id: str
    first_seen: str | None


@dataclass
class Baseline:
    """A parsed baseline; ``entries`` is keyed by fingerprint."""

    file: str
    created: str | None
    entries: dict[str, BaselineEntry]


def _entry(raw: Any, index: int, origin: str) -> BaselineEntry:
    if not isinstance(raw, dict):
        raise InputError(origin, f"entry {index}: must be an object")
    fp = raw.get("fingerprint")
    if not isinstance(fp, str) or not _FINGERPRINT.match(fp):
        raise InputError(origin, f"entry {index}: fingerprint must be 32 lower-case hexadecimal characters")
    for key in ("rule_id", "resource_id"):
        if not isinstance(raw.get(key), str):
            raise InputError(origin, f"entry {index}: {key} must be a string")
    first_seen = raw.get("first_seen")
    if first_seen is not None and not isinstance(first_seen, str):
        raise InputError(origin, f"entry {index}: first_seen must be a string or null")
    return BaselineEntry(fp, raw["rule_id"], raw["resource_id"], first_seen)


def parse_baseline(doc: Any, origin: str) -> Baseline:
    """Check a decoded baseline document; problems are one-line :class:`InputError`s."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(origin, f'not a kvaudit baseline (expected "format": "{FORMAT}")')
    if doc.get("version") != VERSION:
        raise InputError(origin, f"unsupported baseline version {doc.get('version')!r} (this kvaudit reads {VERSION})")
    entries = doc.get("entries")
    if not isinstance(entries, list):
        raise InputError(origin, "entries must be an array")
    created = doc.get("created")
    parsed = [_entry(raw, i, origin) for i, raw in enumerate(entries, start=1)]
    return Baseline(origin, created if isinstance(created, str) else None, {e.fingerprint: e for e in parsed})


def load_baseline(path: Path) -> Baseline:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read baseline: {exc.strerror or exc}") from None
    return parse_baseline(load_json_bytes(data, str(path)), str(path))


def baseline_document(
    findings: Iterable[dict[str, Any]], created: str, previous: Baseline | None = None
) -> dict[str, Any]:
    """The baseline of every FAIL finding (suppressed or not: the baseline records what fails).

    ``previous`` keeps each still-failing finding's original ``first_seen``, so that
    refreshing a baseline does not make old debt look new.
    """
    known = previous.entries if previous else {}
    entries: dict[str, dict[str, Any]] = {}
    for finding in findings:
        if finding.get("status") != "FAIL":
            continue
        fp = finding["fingerprint"]
        old = known.get(fp)
        entries[fp] = {
            "fingerprint": fp,
            "rule_id": finding["rule_id"],
            "resource_id": finding["resource"]["id"],
            "first_seen": (old.first_seen if old and old.first_seen else created),
        }
    ordered = sorted(entries.values(), key=lambda e: (e["rule_id"], e["resource_id"], e["fingerprint"]))
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": created,
        "tool": {"name": "kvaudit", "version": __version__},
        "entries": ordered,
    }


def write_baseline(report: dict[str, Any], path: Path) -> int:
    """Write the baseline for ``report`` to ``path``; returns the number of entries.

    An existing baseline at ``path`` is read first (to keep ``first_seen``); one that cannot
    be read is an error rather than silently overwritten history.
    """
    previous = load_baseline(path) if path.exists() else None
    created = report.get("scan", {}).get("evaluated_at") or report.get("scan", {}).get("finished")
    doc = baseline_document(report.get("findings", []), str(created), previous)
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None
    return len(doc["entries"])
