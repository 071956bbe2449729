"""Bicep entry files evaluated as Bicep deploys them: modules in their callers' context,
today's syntax, one unknown value never dropping a resource, and bounded, contained reading."""

from __future__ import annotations

from pathlib import Path

from kvaudit.scanner.iac.arm.values import Unknown, plain
from kvaudit.scanner.iac.bicep.loader import load_units

VAULT = "Microsoft.KeyVault/vaults@2023-07-01"


def _write(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def _load(tmp_path: Path, files: dict[str, str]):
    units, errors, _ = load_units(_write(tmp_path, files), tmp_path)
    return units, [str(e) for e in errors]


def _props(decl) -> dict:
    return decl.body["properties"]


def test_a_module_is_judged_in_its_callers_context_only(tmp_path: Path) -> None:
    units, errors = _load(
        tmp_path,
        {
            "main.bicep": (
                "module kv 'modules/vault.bicep' = {\n  name: 'kv'\n  params: {\n    name: 'kv-app'\n    purge: true\n  }\n}\n"
            ),
            "modules/vault.bicep": (
                "param name string\nparam purge bool\n"
                f"resource kv '{VAULT}' = {{\n  name: name\n  properties: {{\n    enablePurgeProtection: purge\n  }}\n}}\n"
            ),
        },
    )
    assert errors == []
    assert [u.entry for u in units] == ["main.bicep"]
    (decl,) = units[0].declared
    assert (decl.names, _props(decl), decl.file, decl.line) == (
        ["kv-app"],
        {"enablePurgeProtection": True},
        "modules/vault.bicep",
        3,
    )
    assert units[0].files == ["main.bicep", "modules/vault.bicep"]


def test_a_module_scanned_alone_leaves_parameters_without_defaults_unknown(tmp_path: Path) -> None:
    units, errors = _load(
        tmp_path,
        {
            "vault.bicep": (
                "param purge bool\nparam retention int = 90\n"
                f"resource kv '{VAULT}' = {{\n  name: 'kv'\n  properties: {{\n"
                "    enablePurgeProtection: purge\n    softDeleteRetentionInDays: retention\n  }\n}\n"
            )
        },
    )
    (decl,) = units[0].declared
    assert errors == []
    assert isinstance(_props(decl)["enablePurgeProtection"], Unknown)
    assert _props(decl)["softDeleteRetentionInDays"] == 90


def test_a_param_file_supplies_the_parameters_of_its_using_target(tmp_path: Path) -> None:
    units, errors = _load(
        tmp_path,
        {
            "main.bicep": (
                "param retention int\n"
                f"resource kv '{VAULT}' = {{\n  name: 'kv'\n  properties: {{\n    softDeleteRetentionInDays: retention\n  }}\n}}\n"
            ),
            "main.bicepparam": "using './main.bicep'\nparam retention = 7\n",
        },
    )
    assert errors == []
    assert [u.entry for u in units] == ["main.bicepparam"]
    assert _props(units[0].declared[0]) == {"softDeleteRetentionInDays": 7}


def test_operator_precedence_spread_lambdas_functions_and_imports(tmp_path: Path) -> None:
    units, errors = _load(
        tmp_path,
        {
            "shared.bicep": "@export()\nvar baseProps = {\n  enableSoftDelete: true\n}\n@export()\nfunc days(n int) int => n * 30\n",
            "main.bicep": (
                "import { baseProps, days } from './shared.bicep'\n"
                "param env string = 'prod'\n"
                "var names = map(filter(['a', 'b', 'c'], x => x != 'b'), x => 'kv-${x}')\n"
                f"resource kv '{VAULT}' = [for n in names: {{\n"
                "  name: n\n"
                "  properties: {\n"
                "    ...baseProps\n"
                "    enablePurgeProtection: env == 'prod' ? true : false\n"
                "    softDeleteRetentionInDays: 1 + days(3)\n"
                "    publicNetworkAccess: env == 'prod'\n"
                "      ? 'Disabled'\n"
                "      : 'Enabled'\n"
                "  }\n"
                "}]\n"
            ),
        },
    )
    assert errors == []
    (unit,) = units
    assert [d.names for d in unit.declared] == [["kv-a"], ["kv-c"]]
    assert _props(unit.declared[0]) == {
        "enableSoftDelete": True,
        "enablePurgeProtection": True,
        "softDeleteRetentionInDays": 91,
        "publicNetworkAccess": "Disabled",
    }


def test_one_value_that_cannot_be_evaluated_leaves_the_rest_of_the_resource(tmp_path: Path) -> None:
    units, errors = _load(
        tmp_path,
        {
            "main.bicep": (
                f"resource kv '{VAULT}' = {{\n  name: 'kv'\n  properties: {{\n"
                "    softDeleteRetentionInDays: 90 / 0\n    enablePurgeProtection: false\n"
                "    tenantId: undefinedFunction()\n  }\n}\n"
            )
        },
    )
    (decl,) = units[0].declared
    # The template is wrong (Azure would refuse it), so the user hears of it; the value is unknown.
    assert errors == ["main.bicep:4: cannot evaluate: division by zero"]
    props = _props(decl)
    assert isinstance(props["softDeleteRetentionInDays"], Unknown)
    assert props["enablePurgeProtection"] is False
    assert plain(props["tenantId"]) is None


def test_unknown_spread_makes_the_object_unknown_not_defaulted(tmp_path: Path) -> None:
    units, _ = _load(
        tmp_path,
        {
            "main.bicep": (
                "param extra object\n"
                f"resource kv '{VAULT}' = {{\n  name: 'kv'\n  properties: {{\n    ...extra\n    enablePurgeProtection: true\n  }}\n}}\n"
            )
        },
    )
    assert isinstance(_props(units[0].declared[0]), Unknown)


def test_nested_children_existing_parents_and_child_access(tmp_path: Path) -> None:
    units, errors = _load(
        tmp_path,
        {
            "main.bicep": (
                f"resource kv '{VAULT}' = {{\n  name: 'kv'\n"
                "  resource key 'keys' = {\n    name: 'cmk'\n    properties: {\n      kty: 'RSA-HSM'\n    }\n  }\n}\n"
                f"resource old '{VAULT}' existing = {{\n  name: 'old'\n}}\n"
                "resource k2 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {\n"
                "  parent: old\n  name: 'k2'\n  properties: {\n    keyUri: kv::key.id\n  }\n}\n"
            )
        },
    )
    assert errors == []
    got = [(d.type, d.names, d.api_version, d.existing, d.line) for d in units[0].declared]
    assert got == [
        ("Microsoft.KeyVault/vaults", ["kv"], "2023-07-01", False, 1),
        ("Microsoft.KeyVault/vaults/keys", ["kv", "cmk"], "2023-07-01", False, 3),
        ("Microsoft.KeyVault/vaults", ["old"], "2023-07-01", True, 10),
        ("Microsoft.KeyVault/vaults/keys", ["old", "k2"], "2023-07-01", False, 13),
    ]
    assert _props(units[0].declared[3])["keyUri"].endswith("/vaults/kv/keys/cmk")


def test_module_fan_out_parses_each_file_once(tmp_path: Path) -> None:
    module = f"param n string\nresource kv '{VAULT}' = {{\n  name: n\n}}\n"
    units, errors = _load(
        tmp_path,
        {
            "main.bicep": "module m 'm.bicep' = [for i in range(0, 50): {\n  name: 'm${i}'\n  params: {\n    n: 'kv${i}'\n  }\n}]\n",
            "m.bicep": module,
        },
    )
    _, _, read = load_units([tmp_path / "main.bicep"], tmp_path)
    assert errors == []
    assert len(units[0].declared) == 50
    assert sorted(p.origin for p in read) == ["m.bicep", "main.bicep"]


def test_module_cycles_and_paths_outside_the_root_are_errors(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bicep"
    outside.write_text(f"resource kv '{VAULT}' = {{\n  name: 'secret'\n}}\n")
    root = tmp_path / "repo"
    units, errors = _load(
        root,
        {
            "a.bicep": "module b 'b.bicep' = {\n  name: 'b'\n}\nmodule o '../outside.bicep' = {\n  name: 'o'\n}\n",
            "b.bicep": "module a 'a.bicep' = {\n  name: 'a'\n}\n",
        },
    )
    assert errors == [
        "b.bicep:1: module cycle through a.bicep",
        "a.bicep:4: module file is outside the scanned directory",
    ]
    assert all(d.names != ["secret"] for u in units for d in u.declared)


def test_a_syntax_error_is_one_positioned_line(tmp_path: Path) -> None:
    _, errors = _load(tmp_path, {"bad.bicep": "param x string\nresource r 'T@v' = 5\n"})
    assert errors == ["bad.bicep:2: invalid Bicep: expected '{', 'if' or '[for', found 5"]


def test_a_child_symbols_name_is_the_name_it_was_declared_with(tmp_path: Path) -> None:
    """Bicep gives ``child.name`` as written under ``parent:``, so the common versionless key URL
    ``'${kv.properties.vaultUri}keys/${cmk.name}'`` names key ``cmk``; a grandchild still gets
    its full name through ``parent:``."""
    units, errors = _load(
        tmp_path,
        {
            "main.bicep": (
                f"resource kv '{VAULT}' = {{\n  name: 'kv-app'\n}}\n"
                "resource cmk 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {\n  parent: kv\n  name: 'cmk'\n}\n"
                "resource acct 'Microsoft.Storage/storageAccounts@2023-01-01' = {\n  name: 'st'\n"
                "  properties: {\n    note: '${kv.properties.vaultUri}keys/${cmk.name}'\n    full: cmk.name\n  }\n}\n"
                "resource svc 'Microsoft.Storage/storageAccounts/blobServices@2023-01-01' = {\n  parent: acct\n"
                "  name: 'default'\n}\n"
                "resource box 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {\n"
                "  parent: svc\n  name: 'box'\n}\n"
            ),
        },
    )
    assert errors == []
    by_type = {d.type: d for d in units[0].declared}
    assert _props(by_type["Microsoft.Storage/storageAccounts"])["full"] == "cmk"
    assert by_type["Microsoft.Storage/storageAccounts/blobServices/containers"].names == ["st", "default", "box"]
