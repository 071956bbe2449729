"""Bicep loader: the same misconfiguration in ARM and Bicep gives identical inventory values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvaudit.scanner.iac.arm import load_arm
from kvaudit.scanner.iac.bicep import load_bicep
from kvaudit.scanner.iac.identity import ID_COLUMNS
from kvaudit.scanner.inventory import LOCATION_COLUMNS, TABLES, InlineSuppression

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "examples" / "iac"
LEGACY = (
    "/subscriptions/iac~examples%2fiac%2fbicep%2fmisconfigured%2fmain.bicep/resourcegroups/iac"
    "/providers/microsoft.keyvault/vaults/kv-legacy"
)
PROVENANCE = ["source", *LOCATION_COLUMNS, "api_version"]


def _values(inv, table: str, unit: str) -> list[dict]:
    """Rows without provenance, with the unit in every id written as ``~UNIT``."""
    df = inv.tables[table].drop(columns=PROVENANCE).sort_values("id").reset_index(drop=True)
    tag = re.compile(re.escape("~" + unit.replace("/", "%2f")), re.IGNORECASE)
    for column in ID_COLUMNS[table]:
        df[column] = df[column].str.replace(tag, "~UNIT", regex=True)
    return df.astype(object).where(df.notna(), None).to_dict("records")


@pytest.mark.parametrize(
    ("arm", "bicep"),
    [
        ("arm/compliant/keyvault.json", "bicep/compliant/main.bicep"),
        ("arm/misconfigured/azuredeploy.json", "bicep/misconfigured/main.bicep"),
    ],
)
def test_bicep_matches_arm(arm: str, bicep: str) -> None:
    arm_inv, arm_errors = load_arm([FIX / arm], ROOT)
    bicep_inv, bicep_errors = load_bicep([FIX / bicep], ROOT)
    assert arm_errors == [] and bicep_errors == []
    for table in TABLES:
        assert _values(bicep_inv, table, f"examples/iac/{bicep}") == _values(arm_inv, table, f"examples/iac/{arm}")
    assert sum(bicep_inv.counts().values()) >= 6


def test_bicep_provenance_follows_modules() -> None:
    inv, errors = load_bicep([FIX / "bicep/compliant/main.bicep"], ROOT)
    assert errors == []
    vault = inv.tables["vaults"].iloc[0]
    # Shown at the module call in the entry file; the module's own line is the related location.
    assert (vault["source"], vault["file"], vault["line"]) == ("bicep", "examples/iac/bicep/compliant/main.bicep", 11)
    assert (vault["module"], vault["declared_file"], vault["declared_line"]) == (
        "vault",
        "examples/iac/bicep/compliant/vault.bicep",
        6,
    )
    assert [s.location for s in inv.sources] == [
        "examples/iac/bicep/compliant/main.bicep",
        "examples/iac/bicep/compliant/vault.bicep",
    ]
    keys = inv.tables["keys"]
    assert list(zip(keys["name"], keys["line"], keys["declared_line"], strict=True)) == [("cmk", 11, 29)]
    diag = inv.tables["diagnostic_settings"].iloc[0]  # declared in the entry file itself: unchanged
    assert diag["file"] == "examples/iac/bicep/compliant/main.bicep"
    assert diag[["module", "declared_file", "declared_line"]].isna().all()


def test_comment_suppression() -> None:
    inv, _ = load_bicep([FIX / "bicep/misconfigured/main.bicep"], ROOT)
    assert inv.suppressions == [
        InlineSuppression(
            "KV-NET-001",
            LEGACY,
            "legacy vault, migration ticket OPS-42",
            "examples/iac/bicep/misconfigured/main.bicep",
            14,
        )
    ]


def test_parse_error_is_one_line_with_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bicep"
    bad.write_text("resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {\n  name: \n}\n")
    good = FIX / "bicep/compliant/vault.bicep"
    inv, errors = load_bicep([bad, good], tmp_path)
    assert len(errors) == 1
    assert (errors[0].origin, errors[0].line) == ("bad.bicep", 2)
    assert errors[0].problem == "invalid Bicep: expected an expression, found end of line"
    assert "\n" not in str(errors[0])
    assert len(inv.tables["vaults"]) == 1


def test_latin1_bicep(tmp_path: Path) -> None:
    bad = tmp_path / "latin.bicep"
    bad.write_bytes("param x string = 'caf\xe9'\n".encode("latin-1"))
    _, errors = load_bicep([bad], tmp_path)
    assert [e.problem for e in errors] == ["not valid UTF-8 (byte 0xe9 at offset 21)"]


def test_interpolation_loops_and_unknown_params(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        "param env string\n"
        "var names = [\n  'a'\n  'b'\n]\n"
        "resource kvs 'Microsoft.KeyVault/vaults@2023-07-01' = [for (n, i) in names: {\n"
        "  name: 'kv-${n}-${i}'\n"
        "  properties: {\n    enablePurgeProtection: (env == 'prod')\n  }\n"
        "}]\n"
    )
    inv, errors = load_bicep([tmp_path / "main.bicep"], tmp_path)
    assert errors == []
    vaults = inv.tables["vaults"]
    assert list(vaults["name"]) == ["kv-a-0", "kv-b-1"]
    assert vaults["purge_protection_enabled"].isna().all()  # depends on an unknown param
