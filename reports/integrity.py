"""Integrity evidence for the JSON report: a digest of its canonical form, optionally signed.

What each proves, and what it does not:

- The **digest** (SHA-256 of the canonical form) shows that the report has not changed by
  *accident* since it was written: a truncated copy, a transfer that mangled bytes, a tool that
  re-saved it and altered a value. It covers every member except ``integrity`` itself, in one
  canonical serialisation, so pretty-printing or key order do not matter while any change of a
  value does. It does **not** show tampering: anyone who edits the report can recompute the
  digest, because it needs no secret.
- A **signature** (``--sign-with``, see :mod:`reports.signing`) over the digest, made with a
  Key Vault or Managed HSM key, is what detects a deliberate edit: only whoever can use that
  key can produce it, and ``kvaudit verify`` checks it against the key's public half.

This is a report hook of :mod:`scanner.cli` (``add_arguments`` and ``process``), run after the
suppressions so that the digest covers the final findings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from typing import Any

ALGORITHM = "sha256"
#: Recorded in the report so that a verifier in another language can reproduce the bytes.
CANONICALIZATION = (
    "kvaudit-c14n-1: the report object without its 'integrity' member, serialised as JSON with "
    "object keys sorted, separators ',' and ':', no insignificant whitespace, non-ASCII characters "
    "unescaped (Python json.dumps sort_keys=True, separators=(',', ':'), ensure_ascii=False), "
    "encoded as UTF-8"
)


def canonical_bytes(report: dict[str, Any]) -> bytes:
    """The exact bytes the digest (and a signature) covers."""
    body = {k: v for k, v in report.items() if k != "integrity"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def digest(report: dict[str, Any]) -> str:
    """Hex SHA-256 of the canonical form."""
    return hashlib.sha256(canonical_bytes(report)).hexdigest()


def seal(report: dict[str, Any]) -> dict[str, Any]:
    """Add (or replace) the ``integrity`` member; returns the same dict for chaining."""
    report.pop("integrity", None)
    report["integrity"] = {"algorithm": ALGORITHM, "canonicalization": CANONICALIZATION, "digest": digest(report)}
    return report


@dataclass(frozen=True)
class DigestCheck:
    """Outcome of recomputing the digest: ``ok`` only when present, well-formed and equal."""

    ok: bool
    reason: str
    expected: str | None = None
    actual: str | None = None


def check_digest(report: Any) -> DigestCheck:
    """Recompute the digest of a loaded report and compare it with the recorded one."""
    if not isinstance(report, dict):
        return DigestCheck(False, "not a kvaudit report (the document is not a JSON object)")
    integrity = report.get("integrity")
    if not isinstance(integrity, dict):
        return DigestCheck(False, "the report carries no integrity digest")
    if integrity.get("algorithm") != ALGORITHM:
        return DigestCheck(False, f"unsupported digest algorithm {integrity.get('algorithm')!r}")
    expected = integrity.get("digest")
    if not isinstance(expected, str):
        return DigestCheck(False, "the integrity digest is missing or not a string")
    try:
        actual = digest(report)
    except ValueError as exc:  # NaN or infinity cannot be canonicalised
        return DigestCheck(False, f"the report cannot be canonicalised: {exc}")
    if actual != expected.lower():
        return DigestCheck(False, "digest mismatch: the report was modified after it was written", expected, actual)
    return DigestCheck(True, "digest matches", expected, actual)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("report integrity")
    group.add_argument(
        "--sign-with",
        metavar="KEY_ID",
        help="sign the report digest with this Key Vault or Managed HSM key "
        "(https://<vault>/keys/<name>[/<version>]); signing is the only data-plane POST kvaudit sends",
    )


def process(report: dict[str, Any], inventory: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Seal the finished report; sign the digest when ``--sign-with`` is given."""
    seal(report)
    key_id = getattr(args, "sign_with", None)
    if key_id:
        from kvaudit.reports.signing import sign_report

        sign_report(report, key_id, ca_bundle=getattr(args, "azure_ca_bundle", None))
    return report
