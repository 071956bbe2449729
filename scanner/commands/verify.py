"""``kvaudit verify REPORT.json [--public-key FILE] [--require-signature]``: was the report changed?

The digest shows only that the report did not change by accident (anyone who edits it on
purpose can recompute the digest); a valid signature shows that nobody without the signing key
changed it. The verdict line says which of the two was shown.

Exit codes: 0 the digest (and the signature, if there is one) checks out; 1 it does not (the
report was modified, the signature is invalid, or a required signature is missing); 2 the
report cannot be read or the public key cannot be obtained.

A signed report is checked against the public half of the signing key: from ``--public-key``
(a PEM or JWK file the auditor received out of band, no network needed) or, without it,
fetched with ``get_key`` using DefaultAzureCredential. ``--digest-only`` skips the signature.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_OK, EXIT_MISMATCH = 0, 1
#: What an unsigned match proves, and what it cannot.
DIGEST_ONLY = (
    "the report has not changed by accident since it was written; a digest cannot show that it was "
    "not edited on purpose (anyone can recompute one): only a signature (--sign-with) shows that"
)
SIGNED = "not changed by anyone without the signing key"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", type=Path, metavar="REPORT.json", help="a JSON report written by kvaudit")
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="FILE",
        help="verify the signature offline with this public key (PEM, or a JWK as JSON)",
    )
    parser.add_argument("--require-signature", action="store_true", help="fail (exit 1) when the report is not signed")
    parser.add_argument("--digest-only", action="store_true", help="check the digest and ignore any signature")
    parser.add_argument("--ca-bundle", type=Path, metavar="FILE", help="CA certificates for fetching the key")


def run(args: argparse.Namespace) -> int:
    from kvaudit.reports.integrity import check_digest
    from kvaudit.reports.loading import parse_report, read_report_bytes

    origin = str(args.report)
    report = parse_report(read_report_bytes(args.report), origin)
    check = check_digest(report)
    if not check.ok:
        detail = f" (recorded {check.expected}, computed {check.actual})" if check.actual else ""
        print(f"{origin}: FAILED: {check.reason}{detail}")
        return EXIT_MISMATCH
    signature = report["integrity"].get("signature")
    if args.digest_only or (signature is None and not args.require_signature):
        print(
            f"{origin}: OK: sha256 digest {check.actual} matches"
            + (" (unsigned)" if signature is None else " (signature not checked)")
            + f": {DIGEST_ONLY}"
        )
        return EXIT_OK
    if signature is None:
        print(f"{origin}: FAILED: the digest matches but the report is not signed")
        return EXIT_MISMATCH
    from kvaudit.reports.signing import fetch_public_key, load_public_key, verify_signature

    if args.public_key:
        public_key = load_public_key(args.public_key)
    else:
        public_key = fetch_public_key(signature.get("key_id", ""), ca_bundle=args.ca_bundle)
    result = verify_signature(report, public_key)
    if not result.ok:
        print(f"{origin}: FAILED: {result.reason}")
        return EXIT_MISMATCH
    print(f"{origin}: OK: {SIGNED}: sha256 digest {check.actual} matches; {result.reason}")
    return EXIT_OK
