"""Property-based hostile input: generated ARM, Bicep, HCL, snapshot and policy files.

Each generated file is scanned beside the good misconfigured file of its language, through the
CLI's own ``main`` in this process (a subprocess per example would cost a second each; the
corpus test covers the subprocess path, with memory). Whatever is generated, the scan returns
an exit code of the contract, never raises, prints only one-line ``kvaudit:`` messages, never
exits 1 after an input error, and leaves the good file's findings exactly as they are alone.
The number of examples and the per-example deadline keep the suite bounded in CI.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvaudit.scanner.cli import main
from tests.hostile.runner import ARM_SCHEMA, GOOD, NOW

SETTINGS = settings(
    max_examples=10,
    deadline=20_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)

_BASELINES: dict[str, set[tuple[str, str]]] = {}


def _scan(language: str, bad: dict[str, str], policy: str | None = None) -> tuple[int, str, dict | None]:
    with tempfile.TemporaryDirectory(prefix="kvaudit-fuzz-") as tmp:
        root = Path(tmp)
        for rel, text in {**GOOD[language], **bad}.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        report = root / "report.json"
        argv = ["scan", str(root / "good"), *([str(root / "bad")] if bad else []), "--now", NOW]
        argv += ["-o", f"json:{report}"]
        if policy is not None:
            (root / "policy.toml").write_text(policy, encoding="utf-8")
            argv += ["--policy", str(root / "policy.toml")]
        err, out = io.StringIO(), io.StringIO()
        with redirect_stderr(err), redirect_stdout(out):
            code = main(argv)
        data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        shutil.rmtree(root, ignore_errors=True)
    return code, err.getvalue(), data


def _good_findings(report: dict | None) -> set[tuple[str, str]]:
    if report is None:
        return set()
    return {(f["rule_id"], f["status"]) for f in report["findings"] if f["resource"].get("name") == "kv-good"}


def _baseline(language: str) -> set[tuple[str, str]]:
    if language not in _BASELINES:
        _BASELINES[language] = _good_findings(_scan(language, {})[2])
    return _BASELINES[language]


def _check(language: str, bad: dict[str, str], policy: str | None = None) -> None:
    code, stderr, report = _scan(language, bad, policy)
    assert code in (0, 1, 2, 3)
    lines = stderr.splitlines()
    assert all(line.startswith("kvaudit: ") for line in lines), stderr
    assert "\x1b" not in stderr and "Traceback" not in stderr
    if any(line.startswith("kvaudit: error:") for line in lines):
        assert code in (2, 3), stderr
    if policy is None:
        assert _good_findings(report) == _baseline(language)


# --- generators ------------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_INTS = st.one_of(st.integers(-5, 5), st.sampled_from([0, 2**63 - 1, -(2**63), 10**40, 800, 801]))
_ARM_FUNCTIONS = [
    "concat",
    "format",
    "mul",
    "div",
    "mod",
    "add",
    "range",
    "json",
    "union",
    "length",
    "string",
    "int",
    "split",
    "join",
    "if",
    "createArray",
    "parameters",
    "variables",
    "copyIndex",
    "substring",
    "replace",
    "take",
    "skip",
    "first",
    "last",
    "coalesce",
]


def _arm_literal() -> st.SearchStrategy[str]:
    return st.one_of(
        _INTS.map(str),
        _TEXT.map(lambda t: "'" + t.replace("'", "''") + "'"),
        st.sampled_from(["'['", "'[[[['", "'{}'", "'1e999'", "'x'", "'v0'"]),
    )


_ARM_EXPR = st.recursive(
    _arm_literal(),
    lambda inner: st.builds(
        lambda f, args: f"{f}({', '.join(args)})", st.sampled_from(_ARM_FUNCTIONS), st.lists(inner, max_size=3)
    ),
    max_leaves=12,
)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), _INTS, _TEXT, _ARM_EXPR.map(lambda e: f"[{e}]")),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=15,
)


@st.composite
def arm_templates(draw: st.DrawFn) -> str:
    resource = {
        "type": draw(
            st.sampled_from(
                ["Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/keys", "Microsoft.Resources/deployments"]
            )
        ),
        "apiVersion": "2023-07-01",
        "name": draw(st.one_of(_TEXT, _ARM_EXPR.map(lambda e: f"[{e}]"))),
        draw(st.sampled_from(["properties", "Properties", "PROPERTIES"])): draw(_JSON),
    }
    if draw(st.booleans()):
        resource["copy"] = {"name": "c", "count": draw(st.one_of(_INTS, _ARM_EXPR.map(lambda e: f"[{e}]")))}
    doc = {"$schema": ARM_SCHEMA, "contentVersion": "1.0.0.0", "resources": [resource]}
    for section in draw(st.lists(st.sampled_from(["parameters", "variables", "outputs"]), max_size=2)):
        doc[section] = draw(_JSON)
    return json.dumps(doc)


_BICEP_EXPR = st.recursive(
    st.one_of(
        _INTS.map(str),
        _TEXT.map(lambda t: "'" + t.replace("\\", "").replace("'", "") + "'"),
        st.sampled_from(["true", "null", "x", "[]", "{}"]),
    ),
    lambda inner: st.one_of(
        st.builds(
            lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["+", "-", "*", "/", "%", "==", "&&"]), inner
        ),
        st.builds(lambda a: f"[for i in range(0, 3): {a}]", inner),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["length", "string", "json", "concat", "union"]), inner),
        st.builds(lambda a: f"'${{{a}}}'", inner),
    ),
    max_leaves=10,
)


@st.composite
def bicep_files(draw: st.DrawFn) -> str:
    lines = [f"var x = {draw(_BICEP_EXPR)}"]
    lines.append("resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {")
    lines.append(f"  name: {draw(_BICEP_EXPR)}")
    lines.append(f"  properties: {{ softDeleteRetentionInDays: {draw(_BICEP_EXPR)} }}")
    lines.append("}")
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(_TEXT))
    return "\n".join(lines) + "\n"


_HCL_EXPR = st.recursive(
    st.one_of(
        _INTS.map(str), _TEXT.map(lambda t: json.dumps(t)), st.sampled_from(["true", "null", "var.x", "local.a"])
    ),
    lambda inner: st.one_of(
        st.builds(
            lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["+", "-", "*", "/", "%", "==", "&&"]), inner
        ),
        st.builds(lambda a: f"[for i in range(3) : {a}]", inner),
        st.builds(
            lambda f, a: f"{f}({a})",
            st.sampled_from(["length", "distinct", "tostring", "jsondecode", "range", "upper"]),
            inner,
        ),
        st.builds(lambda a: f'format("%5s", {a})', inner),
        st.builds(lambda a: f'"${{{a}}}"', inner),
    ),
    max_leaves=10,
)


@st.composite
def hcl_files(draw: st.DrawFn) -> str:
    lines = ['variable "x" {', f"  default = {draw(_HCL_EXPR)}", "}", "locals {", f"  a = {draw(_HCL_EXPR)}", "}"]
    lines += [
        'resource "azurerm_key_vault" "v" {',
        f"  name = {draw(_HCL_EXPR)}",
        f"  soft_delete_retention_days = {draw(_HCL_EXPR)}",
        f"  count = {draw(st.one_of(_INTS.map(str), _HCL_EXPR))}",
        "}",
    ]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(_TEXT))
    return "\n".join(lines) + "\n"


@st.composite
def snapshots(draw: st.DrawFn) -> str:
    table = {
        "rows": draw(st.one_of(_INTS, st.just(10**9))),
        "columns": draw(
            st.dictionaries(
                st.sampled_from(["id", "name", "soft_delete_retention_days", "bogus"]),
                st.one_of(
                    st.lists(_JSON, max_size=3),
                    st.fixed_dictionaries(
                        {"dictionary": st.lists(_TEXT, max_size=2), "codes": st.lists(_INTS, max_size=3)}
                    ),
                ),
                max_size=3,
            )
        ),
    }
    doc = {
        "format": "kvaudit-snapshot",
        "version": draw(st.sampled_from([1, 1, 2, "1"])),
        "created": "2026-01-01T00:00:00Z",
        "scope": draw(_JSON),
        "sources": draw(st.lists(_JSON, max_size=2)),
        "suppressions": [],
        "tables": {draw(st.sampled_from(["vaults", "keys", "nope"])): table},
    }
    return json.dumps(doc)


_TOML_VALUE = st.one_of(
    st.integers(-10, 10**6).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    _TEXT.map(json.dumps),
    st.just('[1, "a"]'),
    st.just("{ a = 1 }"),
)


@st.composite
def policies(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        table = draw(
            st.sampled_from(
                [
                    "rules.KV-REC-002",
                    "rule.KV-REC-002",
                    "rules.KV-NOPE-1",
                    "profiles",
                    "managed_hsm",
                    "rules.KV-NET-004",
                    "x",
                ]
            )
        )
        lines.append(f"[{table}]")
        for _ in range(draw(st.integers(0, 2))):
            key = draw(
                st.sampled_from(
                    [
                        "min_retention_days",
                        "severity",
                        "enabled",
                        "tag",
                        "dedicated",
                        "forbid_trusted_services_bypass",
                        "bogus",
                    ]
                )
            )
            lines.append(f"{key} = {draw(_TOML_VALUE)}")
    if draw(st.booleans()):
        lines.insert(0, f"managed_hsm = {draw(_TOML_VALUE)}")
    return "\n".join(lines) + "\n"


# --- properties ------------------------------------------------------------------------------


@SETTINGS
@given(arm_templates())
def test_generated_arm_templates_keep_the_contract(text: str) -> None:
    _check("arm", {"bad/t.json": text})


@SETTINGS
@given(bicep_files())
def test_generated_bicep_files_keep_the_contract(text: str) -> None:
    _check("bicep", {"bad/b.bicep": text})


@SETTINGS
@given(hcl_files())
def test_generated_hcl_keeps_the_contract(text: str) -> None:
    _check("terraform", {"bad/main.tf": text})


@SETTINGS
@given(snapshots())
def test_generated_snapshots_keep_the_contract(text: str) -> None:
    _check("arm", {"bad/s.json": text})


@SETTINGS
@given(policies())
def test_generated_policies_are_accepted_or_one_line_errors(text: str) -> None:
    _check("arm", {}, policy=text)
