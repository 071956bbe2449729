"""One misconfiguration, three formats, one set of findings: rules are written once.

The same vault and key (7-day retention, no purge protection, public access with the firewall
open, no diagnostic setting, no private endpoint, an RSA 2048 key with no expiry and no rotation)
is declared in ARM, Bicep and Terraform under tests/iac/parity/<format>/; each is scanned through
the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXED_NOW, run_kvaudit

PARITY = Path(__file__).with_name("parity")
EXPECTED = [
    ("KV-KEY-001", "kv-parity/signing"),
    ("KV-LIFE-001", "kv-parity/signing"),
    ("KV-LIFE-004", "kv-parity/signing"),
    ("KV-LOG-001", "kv-parity"),
    ("KV-NET-001", "kv-parity"),
    ("KV-NET-002", "kv-parity"),
    ("KV-NET-003", "kv-parity"),
    ("KV-REC-002", "kv-parity"),
    ("KV-REC-003", "kv-parity"),
    # The key has no declared purpose: the default profile fails a software key (low), and the
    # standard-SKU vault holding no HSM-purpose key is an info finding.
    ("KV-TIER-002", "kv-parity/signing"),
    ("KV-TIER-006", "kv-parity"),
]


@pytest.mark.parametrize("kind", ["arm", "bicep", "terraform"])
def test_every_format_gives_the_same_findings(kind: str, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = run_kvaudit("scan", str(PARITY / kind), "--now", FIXED_NOW, "--fail-on", "none", "-o", f"json:{out}")
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    fails = sorted((f["rule_id"], f["resource"]["name"]) for f in report["findings"] if f["status"] == "FAIL")
    assert fails == EXPECTED
    assert [f for f in report["findings"] if f["status"] in ("UNKNOWN", "ERROR")] == []
