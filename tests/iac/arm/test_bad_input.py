"""Hostile ARM input: each bad file is one one-line InputError, and the other files still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvaudit.scanner.iac.arm import load_arm

ROOT = Path(__file__).resolve().parents[3]
GOOD = ROOT / "examples" / "iac" / "arm" / "compliant" / "keyvault.json"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


def _load_with(tmp_path: Path, name: str, data: bytes):
    bad = tmp_path / name
    bad.write_bytes(data)
    inv, errors = load_arm([bad, GOOD], ROOT if tmp_path.is_relative_to(ROOT) else tmp_path)
    assert len(inv.tables["vaults"]) == 1  # the good file is still scanned
    assert len(errors) == 1
    message = str(errors[0])
    assert "\n" not in message and name in message
    return errors[0]


def test_invalid_json_has_line_and_column(tmp_path: Path) -> None:
    error = _load_with(tmp_path, "broken.json", b'{\n  "$schema": "x",\n  "resources": [\n}')
    assert (error.line, error.column) == (4, 1)
    assert error.problem.startswith("invalid JSON")


def test_huge_file_is_refused(tmp_path: Path) -> None:
    body = b'{"$schema": "' + SCHEMA.encode() + b'", "resources": [], "pad": "' + b"x" * (15 * 1024 * 1024) + b'"}'
    error = _load_with(tmp_path, "huge.json", body)
    assert "larger than" in error.problem


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    error = _load_with(tmp_path, "deep.json", b"[" * 10_000 + b"]" * 10_000)
    assert "nesting deeper" in error.problem


def test_latin1_bytes_are_refused(tmp_path: Path) -> None:
    error = _load_with(tmp_path, "latin.json", '{"$schema": "x", "n": "caf\xe9"}'.encode("latin-1"))
    assert "not valid UTF-8" in error.problem


def test_bad_expression_drops_only_that_resource(tmp_path: Path) -> None:
    text = (
        '{"$schema": "' + SCHEMA + '", "contentVersion": "1.0.0.0", "resources": [\n'
        '{"type": "Microsoft.KeyVault/vaults", "name": "[concat(\'a\']", "apiVersion": "2023-07-01"},\n'
        '{"type": "Microsoft.KeyVault/vaults", "name": "ok", "apiVersion": "2023-07-01"}\n]}'
    )
    path = tmp_path / "expr.json"
    path.write_text(text)
    inv, errors = load_arm([path], tmp_path)
    assert [str(e) for e in errors] == ["expr.json:2: cannot evaluate resource: unexpected end of expression"]
    assert list(inv.tables["vaults"]["name"]) == ["ok"]


@pytest.mark.parametrize("name", ["kv-ünïcødé", "kv\u200b-zero-width", "kv-😀"])
def test_odd_unicode_names_are_kept_verbatim(tmp_path: Path, name: str) -> None:
    text = (
        '{"$schema": "' + SCHEMA + '", "contentVersion": "1.0.0.0", "resources": [\n'
        '{"type": "Microsoft.KeyVault/vaults", "name": "' + name + '", "apiVersion": "2023-07-01"}]}'
    )
    path = tmp_path / "uni.json"
    path.write_text(text, encoding="utf-8")
    inv, errors = load_arm([path], tmp_path)
    assert errors == []
    assert list(inv.tables["vaults"]["name"]) == [name]
    assert list(inv.tables["vaults"]["line"]) == [2]


def test_non_arm_json_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_text('{"name": "x", "version": "1.0.0"}')
    inv, errors = load_arm([path], tmp_path)
    assert errors == [] and inv.counts()["vaults"] == 0
