"""Reading a JSON report back (diff, trend, verify): hostile input gives one-line InputErrors.

Only the shape these commands rely on is checked (full schema validation of 100,000 findings
would cost seconds per file and is the job of the tests); everything else is passed through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.jsonio import load_json_bytes

#: Finding members that diff and trend read.
FINDING_KEYS = ("fingerprint", "rule_id", "severity", "status", "resource")


def read_report_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, not a report file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None


def parse_report(data: bytes, origin: str) -> Any:
    """Parse without depth scanning: a report is shallow, and the C decoder guards recursion."""
    return load_json_bytes(data, origin, max_depth=None)


def check_shape(report: Any, origin: str) -> dict[str, Any]:
    if not isinstance(report, dict) or "findings" not in report or "scan" not in report:
        raise InputError(origin, "not a kvaudit JSON report (expected an object with 'scan' and 'findings')")
    if not isinstance(report["findings"], list) or not isinstance(report["scan"], dict):
        raise InputError(origin, "not a kvaudit JSON report ('findings' must be a list, 'scan' an object)")
    for index, finding in enumerate(report["findings"]):
        if not isinstance(finding, dict) or any(k not in finding for k in FINDING_KEYS):
            raise InputError(origin, f"finding {index} lacks one of {', '.join(FINDING_KEYS)}")
        if not isinstance(finding["resource"], dict) or "id" not in finding["resource"]:
            raise InputError(origin, f"finding {index} has no resource id")
    return report


def load_report(path: Path) -> dict[str, Any]:
    """Read, parse and shape-check a report file."""
    return check_shape(parse_report(read_report_bytes(path), str(path)), str(path))
