"""Configuration files and KVAUDIT_* variables: discovery, precedence and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXED_NOW, REPO

SOURCE = str(REPO / "examples" / "iac" / "arm" / "misconfigured")


def _tree(tmp_path: Path, name: str, text: str) -> Path:
    """A project with the configuration at its root and a subdirectory to run from."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    sub = tmp_path / "infra" / "deep"
    sub.mkdir(parents=True)
    return sub


def test_kvaudit_toml_is_found_upward_and_paths_are_relative_to_it(kvaudit, tmp_path: Path) -> None:
    sub = _tree(
        tmp_path, ".kvaudit.toml", 'fail-on = "none"\noutput = ["json:out/report.json"]\n\n[scan]\nquiet = true\n'
    )
    result = kvaudit("scan", SOURCE, "--now", FIXED_NOW, cwd=sub)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert json.loads((tmp_path / "out" / "report.json").read_text())["tool"]["name"] == "kvaudit"


def test_pyproject_tool_table_is_found_and_kvaudit_toml_wins_beside_it(kvaudit, tmp_path: Path) -> None:
    sub = _tree(tmp_path, "pyproject.toml", '[project]\nname = "x"\n\n[tool.kvaudit]\nfail-on = "none"\n')
    assert kvaudit("scan", SOURCE, "-q", cwd=sub).returncode == 0
    (tmp_path / ".kvaudit.toml").write_text('fail-on = "medium"\n')
    assert kvaudit("scan", SOURCE, "-q", cwd=sub).returncode == 1


def test_flag_beats_environment_beats_file(kvaudit, tmp_path: Path) -> None:
    sub = _tree(tmp_path, ".kvaudit.toml", 'fail-on = "high"\n')
    assert kvaudit("scan", SOURCE, "-q", cwd=sub).returncode == 1
    assert kvaudit("scan", SOURCE, "-q", cwd=sub, env={"KVAUDIT_FAIL_ON": "none"}).returncode == 0
    assert kvaudit("scan", SOURCE, "-q", "--fail-on", "high", cwd=sub, env={"KVAUDIT_FAIL_ON": "none"}).returncode == 1
    assert kvaudit("scan", SOURCE, "-q", "--no-config", "--fail-on", "none", cwd=sub).returncode == 0
    assert (
        kvaudit("scan", SOURCE, "-q", cwd=sub, env={"KVAUDIT_NO_CONFIG": "1", "KVAUDIT_FAIL_ON": "none"}).returncode
        == 0
    )


def test_explicit_config_and_command_tables(kvaudit, tmp_path: Path) -> None:
    config = tmp_path / "gate.toml"
    config.write_text('fail-on = "high"\n\n[demo]\nfail-on = "low"\n\n[rules]\nformat = "json"\n')
    assert kvaudit("scan", SOURCE, "-q", "--config", str(config)).returncode == 1
    assert kvaudit("demo", "-q", "--now", FIXED_NOW, "--config", str(config)).returncode == 1
    rules = kvaudit("rules", env={"KVAUDIT_CONFIG": str(config)})
    assert rules.returncode == 0 and json.loads(rules.stdout)[0]["id"]


def test_unknown_keys_and_wrong_types_name_the_file_and_line(kvaudit, tmp_path: Path) -> None:
    cases = {
        '# gate\nfail_on = "none"\n': ":2: unknown key 'fail_on' in the top level (did you mean 'fail-on'?)",
        "quiet = true\n\n[scan]\nfail-on = 3\n": ":4: [scan] fail-on: expected a string, got an integer",
        '[scan]\nquiet = "yes"\n': ":2: [scan] quiet: expected true or false, got a string",
        'policy = "p.toml"\nformat = "json"\n': ":2: unknown key 'format' in the top level: it is not an option of "
        "scan, demo, merge; put it in the table of its command",
        'output = ["pdf:x.pdf"]\n': ":1: the top level output: unknown output format 'pdf' (choose from json, html, "
        "sarif, junit, csv, csv-controls, markdown)",
        "fail-on = \n": ":1: not valid TOML: Invalid value",
    }
    for text, message in cases.items():
        sub = tmp_path / str(len(list(tmp_path.iterdir())))
        sub.mkdir()
        (sub / ".kvaudit.toml").write_text(text)
        result = kvaudit("scan", SOURCE, cwd=sub)
        assert (result.returncode, result.stderr) == (2, f"kvaudit: error: {sub / '.kvaudit.toml'}{message}\n"), text

    pyproject = tmp_path / "py"
    pyproject.mkdir()
    (pyproject / "pyproject.toml").write_text(
        '[tool.kvaudit]\nfail-on = "high"\n\n[tool.kvaudit.diff]\nfrobnicate = 1\n'
    )
    result = kvaudit("scan", SOURCE, cwd=pyproject)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"kvaudit: error: {pyproject / 'pyproject.toml'}:5: unknown key 'frobnicate' in [tool.kvaudit.diff]"
    )


def test_the_readme_example_is_a_valid_configuration(tmp_path: Path) -> None:
    from kvaudit.scanner import config
    from kvaudit.scanner.cli import build_parser, subcommands

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("# .kvaudit.toml at the repository root")
    example = tmp_path / ".kvaudit.toml"
    example.write_text(readme[start : readme.index("```", start)], encoding="utf-8")
    loaded = config.load(example, subcommands(build_parser()))
    assert loaded.tables["scan"]["output"] == ["sarif:kvaudit.sarif", "markdown:kvaudit.md"]
    assert loaded.tables[""]["fail-on"] == "high" and loaded.tables["diff"] == {"fail-on": "medium"}
