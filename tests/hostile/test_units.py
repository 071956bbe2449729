"""The building blocks of hostile-input handling, each with exact expected results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kvaudit.scanner import budget, containment
from kvaudit.scanner.errors import InputError, UsageError
from kvaudit.scanner.iac.arm.expressions import ExpressionError, parse_expression
from kvaudit.scanner.iac.arm.functions import DeploymentScope, call_function, divmod_truncated
from kvaudit.scanner.iac.terraform.functions import EvalError, call
from kvaudit.scanner.iac.terraform.hcl import parse_text
from kvaudit.scanner.jsonio import load_json_text
from kvaudit.scanner.policy import parse as parse_policy
from kvaudit.scanner.textsafe import csv_cell, markdown_text, sarif_text, terminal_text

# --- sanitising --------------------------------------------------------------------------------


def test_terminal_text_shows_controls_bidi_and_zero_width_as_escapes() -> None:
    assert terminal_text("a\x1b[2Jb\nc\u202ed\u200be\x85") == "a\\x1b[2Jb\\x0ac\\u202ed\\u200be\\x85"


def test_errors_are_one_terminal_safe_line_with_the_file_name_escaped() -> None:
    error = InputError("bad\x1b[2J\nname.json", "invalid JSON:\n\x1b]0;title\x07 here", 3)
    assert str(error) == "bad\\x1b[2J\\x0aname.json:3: invalid JSON: \\x1b]0;title\\x07 here"
    assert str(UsageError("x\ny")) == "x y"


def test_markdown_text_defuses_links_autolinks_html_and_mentions() -> None:
    assert markdown_text("[x](javascript:alert(1)) <b> www.evil.example https://e.example @team") == (
        "\\[x\\]\\(javascript\\[:\\]alert\\(1\\)\\) &lt;b&gt; www\\[.\\]evil.example "
        "https\\[:\\]//e.example @\u200bteam"
    )
    assert markdown_text("main.bicep:12") == "main.bicep:12"  # a file:line is not a link


def test_sarif_text_keeps_lines_but_not_links_or_controls() -> None:
    assert sarif_text("line1\nsee [x](https://e.example)\u202e") == "line1\nsee [x]\u2060(https[:]//e.example)\\u202e"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        (" =1+1", "' =1+1"),
        ("\u00a0@SUM(A1)", "'\u00a0@SUM(A1)"),
        ("\t-2", "'\t-2"),
        ("ok", "ok"),
        (3, 3),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(cell: object, expected: object) -> None:
    assert csv_cell(cell) == expected


# --- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"Properties": 1, "properties": 2}', "invalid JSON: duplicate key 'Properties' and 'properties'"),
        ("[NaN]", "invalid JSON: NaN is not a JSON number"),
        ("[1e999]", "invalid JSON: number 1e999 is out of range"),
        ("[" + "9" * 5000 + "]", "invalid JSON: integer with 5000 digits is out of range"),
    ],
)
def test_json_that_azure_would_refuse_is_an_error_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        load_json_text(text, "t.json")
    assert caught.value.problem == problem


# --- ARM, Terraform evaluation ------------------------------------------------------------------


def test_arm_div_and_mod_truncate_toward_zero_and_refuse_zero() -> None:
    assert divmod_truncated(-7, 2) == (-3, -1)
    with pytest.raises(ValueError, match="division by zero"):
        divmod_truncated(1, 0)


def test_arm_integers_are_64_bit() -> None:
    from kvaudit.scanner.iac.arm.functions import TemplateFunctionError

    with pytest.raises(TemplateFunctionError, match="integer overflow"):
        call_function("mul", [2**62, 4], DeploymentScope())


def test_arm_expressions_nested_too_deep_are_refused_while_parsing() -> None:
    with pytest.raises(ExpressionError, match="nested deeper than 100 levels"):
        parse_expression("concat(" * 150 + "'x'" + ")" * 150)


def test_terraform_range_and_format_widths_are_budgeted_before_allocation() -> None:
    with pytest.raises(budget.BudgetExceeded, match="more than 100000 items"):
        call("range", [10_000_000])
    with pytest.raises(budget.BudgetExceeded, match="format width 999999999"):
        call("format", ["%999999999s", "x"])


def test_terraform_distinct_keeps_first_occurrences_in_linear_time() -> None:
    assert call("distinct", [[1, "1", True, 1, {"a": 1}, {"a": 1}]]) == [1, "1", True, {"a": 1}]
    assert len(call("distinct", [list(range(90_000)) * 2])) == 90_000


def test_terraform_numbers_out_of_range_are_errors_not_infinity() -> None:
    with pytest.raises(EvalError, match="out of range"):
        call("tonumber", ["9" * 5000])


def test_budget_counts_per_unit_and_names_the_limit() -> None:
    with budget.scope(units=1, limits=budget.Limits(iterations=10)) as spent:
        budget.charge("iterations", 10)
        with pytest.raises(budget.BudgetExceeded, match="more than 10 iterations"):
            budget.charge("iterations")
    assert spent.spent == {"iterations": 11}


# --- HCL ----------------------------------------------------------------------------------------


def test_many_interpolations_side_by_side_are_not_nesting() -> None:
    text = "locals {\n" + "".join(f'  v{i} = "${{a}}-${{b}}"\n' for i in range(100)) + "}\n"
    assert len(parse_text(text, "m.tf").blocks[0].attrs) == 100


def test_nesting_counts_brackets_and_templates_but_not_comments() -> None:
    parse_text("# " + "[" * 100 + "\nx = 1\n", "m.tf")
    with pytest.raises(InputError, match="nesting deeper than 64 levels"):
        parse_text('x = "' + "${" * 70 + "1" + "}" * 70 + '"\n', "m.tf")


def test_duplicate_hcl_attribute_is_an_error_naming_it() -> None:
    with pytest.raises(InputError) as caught:
        parse_text('resource "a" "b" {\n  x = 1\n  x = 2\n}\n', "m.tf")
    assert str(caught.value) == "m.tf:3: duplicate attribute 'x' (first set on line 2)"


# --- files ------------------------------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.tf"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        containment.read_bounded(fifo, "x.tf", 1024)
    assert containment.regular_problem(fifo) == "not a regular file (a FIFO)"


def test_reads_outside_the_roots_are_refused_before_opening(tmp_path: Path) -> None:
    (tmp_path / "inside").mkdir()
    secret = tmp_path / "secret.bicep"
    secret.write_text("TOP-SECRET")
    with containment.roots([tmp_path / "inside"]), pytest.raises(InputError) as caught:
        containment.read_bounded(secret, "secret.bicep", 1024)
    assert "TOP-SECRET" not in str(caught.value)
    assert caught.value.problem.startswith("refers to a file outside the scanned tree")


def test_allowed_paths_widen_the_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "m.bicep").write_text("ok")
    monkeypatch.setenv("KVAUDIT_ALLOW_PATHS", str(shared))
    with containment.roots([tmp_path / "repo"]):
        assert containment.read_bounded(shared / "m.bicep", "m.bicep", 1024) == b"ok"


# --- policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('managed_hsm = "x"\n', "p.toml:1: managed_hsm: 'x' is not of type 'object'"),
        ("# c\n[rule.KV-REC-002]\nmin_retention_days = 30\n", "p.toml:2: unknown table 'rule'"),
        ("[managed_hsm]\ndedicated = []\nspare = 1\n", "p.toml:3: unknown key 'spare' in [managed_hsm]"),
        ('[rules.KV-REC-002]\nseverity = "urgent"\n', None),
    ],
)
def test_policy_structure_is_validated_with_lines(text: str, message: str | None) -> None:
    with pytest.raises(InputError) as caught:
        parse_policy(text, "p.toml")
    if message is not None:
        assert str(caught.value) == message
    else:
        assert str(caught.value).startswith("p.toml:2: rules.KV-REC-002.severity:")


def test_policy_parameter_of_the_wrong_type_is_an_error_with_its_line() -> None:
    policy = parse_policy("[rules.KV-REC-002]\nmin_retention_days = true\n", "p.toml")
    with pytest.raises(InputError) as caught:
        policy.validate({"KV-REC-002": {"min_retention_days"}})
    assert str(caught.value) == "p.toml:2: [rules.KV-REC-002] min_retention_days must be a number, not True"


# --- isolation --------------------------------------------------------------------------------


def test_unexpected_failures_are_one_line_without_their_text_and_trace_only_in_debug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kvaudit.scanner.sources import describe_failure

    monkeypatch.delenv("KVAUDIT_DEBUG", raising=False)
    message = describe_failure(KeyError("root:x:0:0 from a file"))
    assert message == "internal error while loading (KeyError); what this file declares is unknown"
    assert (
        describe_failure(MemoryError()) == "evaluation exceeded the memory budget; what this file declares is unknown"
    )
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("KVAUDIT_DEBUG", "1")
    describe_failure(RecursionError("deep"))
    assert "RecursionError: deep" in capsys.readouterr().err


def test_a_batch_past_the_budget_is_rerun_so_only_the_culprit_is_lost(tmp_path: Path) -> None:
    from kvaudit.scanner.sources import load_sources

    good = tmp_path / "good.tf"
    good.write_text('resource "azurerm_key_vault" "g" {\n  name = "kv-good"\n}\n')
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "main.tf").write_text(
        'locals {\n  x = range(10000000)\n}\nresource "azurerm_key_vault" "b" {\n  name = "kv-${length(local.x)}"\n}\n'
    )
    loaded = load_sources([str(good), str(bad)], tmp_path)
    assert [str(e) for e in loaded.errors] == [
        "bad/main.tf: evaluation budget exceeded: an array of more than 100000 items; what this file declares is unknown"
    ]
    assert list(loaded.inventory.tables["vaults"]["name"]) == ["kv-good"]
