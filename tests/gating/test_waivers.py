"""Waivers: approved, expiring exceptions; malformed ones are configuration errors (exit 2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kvaudit.reports.schema import validate_report
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.gating.waivers import Waiver, parse_waivers
from tests.conftest import FIXED_NOW, run_kvaudit
from tests.gating.helpers import fp, read, save_estate, suppressed, unsuppressed, vault, vault_id

RULES = {"KV-REC-003", "KV-NET-001"}

GOOD = """\
version = 1

[[waivers]]
id = "W-legacy"
rule = "KV-REC-003"
resource = "/subscriptions/*/resourceGroups/rg-app/providers/Microsoft.KeyVault/vaults/kv-legacy*"
justification = "Legacy app redeploys its vault nightly (CHG-1234)"
approver = "jane.doe@example.com"
expires = 2027-03-31

[[waivers]]
fingerprint = "0123456789abcdef0123456789abcdef"
justification = "Accepted by the risk board"
approver = "risk-board@example.com"
expires = "2026-12-01"
"""


def test_parse_valid_file() -> None:
    first, second = parse_waivers(GOOD, "waivers.toml", RULES)
    assert first == Waiver(
        id="W-legacy",
        file="waivers.toml",
        line=3,
        rule_id="KV-REC-003",
        resource="/subscriptions/*/resourcegroups/rg-app/providers/microsoft.keyvault/vaults/kv-legacy*",
        fingerprint=None,
        justification="Legacy app redeploys its vault nightly (CHG-1234)",
        approver="jane.doe@example.com",
        expires=date(2027, 3, 31),
    )
    assert (second.id, second.line, second.fingerprint, second.expires) == (
        "waiver 2",
        11,
        "0123456789abcdef0123456789abcdef",
        date(2026, 12, 1),
    )
    assert first.matches("KV-REC-003", vault_id("kv-legacy-2").upper(), "f" * 32)
    assert not first.matches("KV-NET-001", vault_id("kv-legacy"), "f" * 32)
    assert not first.matches("KV-REC-003", vault_id("kv-app"), "f" * 32)
    assert second.matches("KV-NET-001", vault_id("kv-app"), "0123456789abcdef0123456789abcdef")


def test_expiry_is_inclusive() -> None:
    waiver = parse_waivers(GOOD, "w.toml", RULES)[0]
    assert not waiver.expired(date(2027, 3, 31))
    assert waiver.expired(date(2027, 4, 1))


ENTRY = 'rule = "KV-REC-003"\nresource = "*"\njustification = "j"\napprover = "a"\nexpires = 2027-01-01\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY.replace('justification = "j"\n', ""), "w.toml:9: waiver 2 (W-2): missing justification"),
        (
            ENTRY.replace('justification = "j"', 'justification = "  "'),
            "w.toml:9: waiver 2 (W-2): missing justification",
        ),
        (ENTRY.replace('approver = "a"\n', ""), "w.toml:9: waiver 2 (W-2): missing approver"),
        (ENTRY.replace("expires = 2027-01-01\n", ""), "w.toml:9: waiver 2 (W-2): missing expires"),
        (
            ENTRY.replace("2027-01-01", '"next year"'),
            "w.toml:9: waiver 2 (W-2): expires must be a date like 2027-03-31, not 'next year'",
        ),
        (ENTRY.replace('resource = "*"\n', ""), "w.toml:9: waiver 2 (W-2): needs rule and resource, or fingerprint"),
        (
            ENTRY.replace("KV-REC-003", "KV-REC-033"),
            "w.toml:9: waiver 2 (W-2): unknown rule id 'KV-REC-033'",
        ),
        (
            ENTRY + 'approvr = "x"\n',
            "w.toml:9: waiver 2 (W-2): unknown field 'approvr' (fields: approver, expires, fingerprint, id, "
            "justification, resource, rule)",
        ),
        (
            ENTRY.replace('resource = "*"', 'fingerprint = "abc"'),
            "w.toml:9: waiver 2 (W-2): fingerprint must be 32 hexadecimal characters",
        ),
        (
            ENTRY.replace('approver = "a"', "approver = 7"),
            "w.toml:9: waiver 2 (W-2): approver must be a string, not int",
        ),
    ],
)
def test_invalid_entries_name_file_line_and_entry(text: str, message: str) -> None:
    doc = f'[[waivers]]\nid = "W-1"\n{ENTRY}\n[[waivers]]\nid = "W-2"\n{text}'
    with pytest.raises(InputError) as info:
        parse_waivers(doc, "w.toml", RULES)
    assert str(info.value) == message


def test_duplicate_ids_and_bad_toml() -> None:
    entry = f'[[waivers]]\nid = "W"\n{ENTRY}'
    with pytest.raises(InputError, match=r"^w.toml:8: duplicate waiver id 'W'$"):
        parse_waivers(entry + entry, "w.toml", RULES)
    with pytest.raises(InputError, match=r"^w.toml: invalid TOML: "):
        parse_waivers("[[waivers]\n", "w.toml", RULES)
    with pytest.raises(
        InputError, match=r"^w.toml: unknown top-level key 'waiver' \(expected \[\[waivers\]\] entries\)$"
    ):
        parse_waivers("[[waiver]]\n" + ENTRY, "w.toml", RULES)


def _estate(tmp_path: Path) -> Path:
    return save_estate(
        tmp_path / "estate.json",
        [
            vault("kv-legacy-1", purge_protection_enabled=False),
            vault("kv-legacy-2", purge_protection_enabled=False, public_network_access="Enabled"),
            vault("kv-app"),
        ],
    )


def _scan(tmp_path: Path, waivers: str, now: str = FIXED_NOW):
    path = tmp_path / "waivers.toml"
    path.write_text(waivers, encoding="utf-8")
    out = tmp_path / "r.json"
    result = run_kvaudit(
        "scan", str(_estate(tmp_path)), "--waivers", str(path), "--fail-on", "low", "--now", now, "-o", f"json:{out}"
    )
    return result, (read(out) if out.exists() else None), path


WAIVE_PURGE = """\
[[waivers]]
id = "W-purge"
rule = "KV-REC-003"
resource = "*/vaults/kv-legacy-*"
justification = "Legacy apps recreate their vaults (CHG-1234)"
approver = "jane.doe@example.com"
expires = 2027-03-31

[[waivers]]
id = "W-unused"
rule = "KV-NET-001"
resource = "*/vaults/kv-app"
justification = "Was public during migration"
approver = "jane.doe@example.com"
expires = 2027-03-31
"""


def test_active_waiver_suppresses_exactly_its_findings(tmp_path: Path) -> None:
    result, report, path = _scan(tmp_path, WAIVE_PURGE)
    assert result.returncode == 1, result.stderr
    validate_report(report)
    assert suppressed(report, "waiver") == {fp("KV-REC-003", "kv-legacy-1"), fp("KV-REC-003", "kv-legacy-2")}
    assert unsuppressed(report) == {fp("KV-NET-001", "kv-legacy-2")}
    finding = next(f for f in report["findings"] if f["fingerprint"] == fp("KV-REC-003", "kv-legacy-1"))
    assert finding["suppression"] == {
        "kind": "waiver",
        "active": True,
        "id": "W-purge",
        "justification": "Legacy apps recreate their vaults (CHG-1234)",
        "approver": "jane.doe@example.com",
        "expires": "2027-03-31",
        "expired": False,
        "file": str(path),
        "line": 1,
    }
    register = report["exceptions"]
    assert [(w["id"], w["matched"], w["expired"]) for w in register["waivers"]] == [
        ("W-purge", 2, False),
        ("W-unused", 0, False),
    ]
    assert register["suppressed"] == {"baseline": 0, "waiver": 2, "inline": 0}
    assert register["notices"] == [f"waiver W-unused ({path}:9) matches no failing finding; remove it or correct it"]
    assert f"kvaudit: notice: waiver W-unused ({path}:9) matches no failing finding" in result.stderr


def test_waiver_for_the_last_failure_turns_exit_1_into_0(tmp_path: Path) -> None:
    waivers = WAIVE_PURGE.replace(
        'rule = "KV-NET-001"\nresource = "*/vaults/kv-app"', 'rule = "KV-NET-001"\nresource = "*/kv-legacy-2"'
    )
    result, report, _ = _scan(tmp_path, waivers)
    assert result.returncode == 0, result.stderr
    assert unsuppressed(report) == set()


def test_expired_waiver_stops_suppressing_and_the_report_says_so(tmp_path: Path) -> None:
    result, report, path = _scan(tmp_path, WAIVE_PURGE, now="2027-04-01T00:00:00Z")
    assert result.returncode == 1
    assert suppressed(report) == set()
    finding = next(f for f in report["findings"] if f["fingerprint"] == fp("KV-REC-003", "kv-legacy-2"))
    assert (finding["suppression"]["kind"], finding["suppression"]["active"], finding["suppression"]["expired"]) == (
        "waiver",
        False,
        True,
    )
    assert report["exceptions"]["waivers"][0]["expired"] is True
    assert report["exceptions"]["notices"][0] == (
        f"waiver W-purge ({path}:1) expired on 2027-03-31 and no longer suppresses its 2 finding(s)"
    )


def test_fingerprint_waiver(tmp_path: Path) -> None:
    target = fp("KV-NET-001", "kv-legacy-2")
    waivers = f'[[waivers]]\nfingerprint = "{target}"\njustification = "j"\napprover = "a"\nexpires = 2027-01-01\n'
    result, report, _ = _scan(tmp_path, waivers)
    assert suppressed(report) == {target}
    assert report["exceptions"]["waivers"][0]["id"] == "waiver 1"


def test_waiver_without_approver_is_exit_2_in_one_line(tmp_path: Path) -> None:
    result, report, path = _scan(
        tmp_path,
        WAIVE_PURGE.replace('approver = "jane.doe@example.com"\nexpires = 2027-03-31\n\n', "expires = 2027-03-31\n\n"),
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"kvaudit: error: {path}:1: waiver 1 (W-purge): missing approver"]
    assert report is None


def test_missing_waivers_file_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = run_kvaudit("demo", "--waivers", str(missing), "--now", FIXED_NOW)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"kvaudit: error: {missing}: cannot read waivers file: No such file or directory"
    ]
