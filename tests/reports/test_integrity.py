"""The report digest: canonical form, sealing by the CLI, and ``kvaudit verify`` exit codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from kvaudit.reports.integrity import ALGORITHM, CANONICALIZATION, canonical_bytes, check_digest, seal
from kvaudit.reports.renderers import get_renderer
from kvaudit.scanner.cli import main
from tests.reports.fixtures import demo_report


@pytest.fixture()
def sealed() -> dict[str, Any]:
    return seal(demo_report())


def _write(tmp_path: Path, report: dict[str, Any], name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(get_renderer("json")(report), encoding="utf-8")
    return path


def test_digest_is_sha256_of_the_canonical_form_without_integrity(sealed: dict[str, Any]) -> None:
    body = {k: v for k, v in sealed.items() if k != "integrity"}
    expected = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert canonical_bytes(sealed) == expected
    assert sealed["integrity"] == {
        "algorithm": ALGORITHM,
        "canonicalization": CANONICALIZATION,
        "digest": hashlib.sha256(expected).hexdigest(),
    }
    assert list(sealed)[-1] == "integrity"


def test_digest_ignores_formatting_and_key_order(sealed: dict[str, Any]) -> None:
    reordered = json.loads(json.dumps(sealed, indent=4, sort_keys=True))
    assert check_digest(reordered).ok
    compact = json.loads(json.dumps(sealed, separators=(",", ":"), ensure_ascii=True))
    assert check_digest(compact).ok


def test_digest_detects_value_changes(sealed: dict[str, Any]) -> None:
    edited = json.loads(json.dumps(sealed))
    edited["findings"][0]["status"] = "PASS" if edited["findings"][0]["status"] != "PASS" else "FAIL"
    check = check_digest(edited)
    assert (check.ok, check.reason) == (False, "digest mismatch: the report was modified after it was written")
    assert check.expected == sealed["integrity"]["digest"] and check.actual != check.expected


def test_verify_ok_then_one_byte_edit_is_caught(
    tmp_path: Path, sealed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, sealed)
    assert main(["verify", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: OK: sha256 digest {sealed['integrity']['digest']} matches (unsigned): the report has not "
        "changed by accident since it was written; a digest cannot show that it was not edited on purpose "
        "(anyone can recompute one): only a signature (--sign-with) shows that\n"
    )
    data = bytearray(path.read_bytes())
    offset = data.index(b'"message": "') + len(b'"message": "')
    data[offset] = ord("X") if data[offset] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: FAILED: digest mismatch: the report was modified after it was written (recorded ")


def test_verify_missing_digest_and_required_signature(
    tmp_path: Path, sealed: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--require-signature", str(_write(tmp_path, sealed))]) == 1
    assert capsys.readouterr().out.endswith("FAILED: the digest matches but the report is not signed\n")
    unsealed = {k: v for k, v in sealed.items() if k != "integrity"}
    path = _write(tmp_path, unsealed, "plain.json")
    assert main(["verify", str(path)]) == 1
    assert capsys.readouterr().out == f"{path}: FAILED: the report carries no integrity digest\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"{not json", "invalid JSON: Expecting property name enclosed in double quotes"),
        (b"\xff\xfe\xfa", "invalid UTF-16"),
    ],
)
def test_verify_unreadable_is_exit_2_one_line(
    tmp_path: Path, content: bytes | None, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kvaudit: error: {path}") and problem in err and err.count("\n") == 1


def test_demo_writes_a_sealed_report_that_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "demo.json"
    code = main(["demo", "--now", "2025-06-01T00:00:00Z", "-o", f"json:{path}"])
    report = json.loads(path.read_text(encoding="utf-8"))
    assert code == (0 if report["coverage"]["complete"] else 3)  # demo gates on nothing but completeness
    assert check_digest(report).ok
    assert main(["verify", str(path)]) == 0


def test_schema_describes_integrity(sealed: dict[str, Any]) -> None:
    """The optional integrity member validates, and a malformed one does not."""
    from importlib.resources import files

    import jsonschema

    schema = json.loads(files("kvaudit.reports").joinpath("schema/report.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(sealed)
    signed = json.loads(json.dumps(sealed))
    signed["integrity"]["signature"] = {
        "key_id": "https://kv.vault.azure.net/keys/k/1",
        "algorithm": "ES256",
        "value": "AQ",
    }
    validator.validate(signed)
    broken = json.loads(json.dumps(sealed))
    broken["integrity"]["digest"] = "not-hex"
    assert not validator.is_valid(broken)
