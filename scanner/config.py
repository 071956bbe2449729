"""Configuration: every flag also has a configuration key and a ``KVAUDIT_*`` variable.

A repository keeps its gate settings (policy, waivers, baseline, fail-on, outputs) next to its
code, so that ``kvaudit scan infra`` in a pre-commit hook, in CI and on a laptop behaves the
same. The precedence is **flag > environment > file > built-in default**, one value at a time.

Where the file comes from: ``--config FILE`` (or ``KVAUDIT_CONFIG``); otherwise the first of
``.kvaudit.toml`` or a ``pyproject.toml`` with a ``[tool.kvaudit]`` table, looking in the working
directory and then each parent in turn (``.kvaudit.toml`` wins within one directory).
``--no-config`` (or ``KVAUDIT_NO_CONFIG=1``) ignores any file.

What it holds: keys named like the long flags (``fail-on = "high"``, ``output = [...]``). Keys
at the top level configure the commands that scan an estate (``scan``, ``demo``, ``merge``); a
table named after a command (``[scan]`` in ``.kvaudit.toml``, ``[tool.kvaudit.diff]`` in
pyproject.toml) configures that command and overrides the top level for it. Relative paths in
a file are relative to the file's directory, so the file works from any subdirectory.

Environment variables are ``KVAUDIT_`` and the long flag in upper case with ``_`` for ``-``
(``KVAUDIT_FAIL_ON``); the live-Azure flags keep the names in :mod:`scanner.azure.options`.
Lists are comma-separated and switches take ``1``/``true``/``yes``/``on`` or
``0``/``false``/``no``/``off``.

A typo must not leave a threshold at its default in silence: an unknown key, a wrong type or a
value a flag would refuse is an exit-2 error naming the file and line.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvaudit.scanner.errors import InputError, UsageError

CONFIG_NAME = ".kvaudit.toml"
PYPROJECT_NAME = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "kvaudit")
#: Commands the top level of a file configures; the others read only their own table.
REPORT_COMMANDS = ("scan", "demo", "merge")
#: Options that choose the configuration itself or only print something.
NOT_CONFIGURABLE = frozenset({"help", "version", "config", "no_config"})
#: String-valued options that name files (besides those typed as Path) and so are rebased.
PATH_DESTS = frozenset({"azure_ca_bundle"})
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


@dataclass(frozen=True)
class ConfigFile:
    """A loaded configuration: values per table ("" is the top level) and where each key is."""

    path: Path
    tables: dict[str, dict[str, Any]]
    lines: dict[tuple[str, str], int] = field(default_factory=dict)
    prefix: str = ""

    def line(self, table: str, key: str = "") -> int | None:
        return self.lines.get((table, key)) or self.lines.get((table, ""))

    def where(self, table: str) -> str:
        name = ".".join(p for p in (self.prefix, table) if p)
        return f"[{name}]" if name else "the top level"


def option_flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Configuration key (the long flag without ``--``) -> its action, for configurable options."""
    flags: dict[str, argparse.Action] = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in NOT_CONFIGURABLE:
            flags[longs[0][2:]] = action
    return flags


def environment_name(key: str, overrides: Mapping[str, str], dest: str) -> str:
    return overrides.get(dest) or "KVAUDIT_" + key.upper().replace("-", "_")


def _has_table(path: Path) -> bool:
    data = _parse(path)
    return isinstance(data.get(PYPROJECT_TABLE[0], {}).get(PYPROJECT_TABLE[1]), dict)


def discover(start: Path) -> Path | None:
    """The configuration file that applies in ``start``: nearest directory first."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = directory / PYPROJECT_NAME
        if pyproject.is_file() and _has_table(pyproject):
            return pyproject
    return None


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read configuration: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(match.group(1)) if match else None
        raise InputError(str(path), f"not valid TOML: {problem}", line) from None


def _locate(text: str, prefix: str) -> dict[tuple[str, str], int]:
    """(table, key) -> line of each key, and (table, "") -> line of each table header."""
    lines: dict[tuple[str, str], int] = {}
    table: str | None = "" if not prefix else None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = ".".join(part.strip().strip("\"'") for part in header.group(1).split("."))
            if prefix and name == prefix:
                table = ""
            elif prefix and name.startswith(prefix + "."):
                table = name[len(prefix) + 1 :]
            elif not prefix:
                table = name
            else:
                table = None
            if table is not None:
                lines.setdefault((table, ""), number)
            continue
        key = _KEY.match(line)
        if key and table is not None:
            lines.setdefault((table, next(g for g in key.groups() if g)), number)
    return lines


def load(path: Path, commands: Mapping[str, argparse.ArgumentParser]) -> ConfigFile:
    """Read and validate a configuration file against the commands' flags."""
    data = _parse(path)
    prefix = ""
    if path.name == PYPROJECT_NAME:
        data = data.get(PYPROJECT_TABLE[0], {}).get(PYPROJECT_TABLE[1], {})
        prefix = ".".join(PYPROJECT_TABLE)
        if not isinstance(data, dict):
            raise InputError(str(path), f"[{prefix}] must be a table")
    lines = _locate(path.read_text(encoding="utf-8"), prefix)
    top = {k: v for k, v in data.items() if not (k in commands and isinstance(v, dict))}
    tables = {"": top, **{k: v for k, v in data.items() if k in commands and isinstance(v, dict)}}
    config = ConfigFile(path, tables, lines, prefix)
    for table, values in tables.items():
        allowed = _allowed(table, commands)
        for key, value in values.items():
            action = allowed.get(key)
            if action is None:
                raise InputError(str(path), _unknown(config, table, key, allowed, commands), config.line(table, key))
            problem = _type_problem(action, value)
            if problem:
                raise InputError(str(path), f"{config.where(table)} {key}: {problem}", config.line(table, key))
    return config


def _allowed(table: str, commands: Mapping[str, argparse.ArgumentParser]) -> dict[str, argparse.Action]:
    if table:
        return option_flags(commands[table])
    allowed: dict[str, argparse.Action] = {}
    for name in REPORT_COMMANDS:
        if name in commands:
            for key, action in option_flags(commands[name]).items():
                allowed.setdefault(key, action)
    return allowed


def _unknown(
    config: ConfigFile,
    table: str,
    key: str,
    allowed: Mapping[str, argparse.Action],
    commands: Mapping[str, argparse.ArgumentParser],
) -> str:
    hint = difflib.get_close_matches(key, list(allowed), n=1)
    where = config.where(table)
    text = f"unknown key {key!r} in {where}"
    if hint:
        return f"{text} (did you mean {hint[0]!r}?)"
    if not table and any(key in option_flags(p) for p in commands.values()):
        return f"{text}: it is not an option of {', '.join(REPORT_COMMANDS)}; put it in the table of its command"
    return f"{text} (keys are long flags such as 'fail-on'; tables are commands: {', '.join(commands)})"


def _is_switch(action: argparse.Action) -> bool:
    return action.nargs == 0 and isinstance(action.const, bool)


def _is_list(action: argparse.Action) -> bool:
    return isinstance(action, argparse._AppendAction)


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "a table" if isinstance(value, dict) else type(value).__name__
    )


def _type_problem(action: argparse.Action, value: Any) -> str | None:
    """Why ``value`` cannot be this flag's value in a file (None when it can)."""
    if _is_switch(action):
        return None if isinstance(value, bool) else f"expected true or false, got {_type_name(value)}"
    items = value if _is_list(action) and isinstance(value, list) else [value]
    for item in items:
        number = isinstance(item, int | float) and not isinstance(item, bool)
        if not (isinstance(item, str) or (number and action.choices is None and action.type in (None, int, float))):
            expected = "a string or an array of strings" if _is_list(action) else "a string"
            return f"expected {expected}, got {_type_name(item)}"
        if action.choices is not None and str(item) not in action.choices:
            return f"{item!r} is not one of {', '.join(map(str, action.choices))}"
    return None


def _convert(action: argparse.Action, text: str) -> Any:
    """A string as the flag would take it; ValueError with the flag's own message if refused."""
    try:
        value = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise ValueError(str(exc) or f"invalid value {text!r}") from None
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"{text!r} is not one of {', '.join(map(str, action.choices))}")
    return value


def _rebase(value: Any, base: Path, dest: str) -> Any:
    """Relative paths in a file are relative to the file's directory."""

    def join(path: Path) -> Path:
        return path if path.is_absolute() else base / path

    if isinstance(value, list):
        return [_rebase(v, base, dest) for v in value]
    if isinstance(value, Path):
        return join(value)
    if isinstance(value, str) and dest in PATH_DESTS:
        return str(join(Path(value)))
    if dataclasses.is_dataclass(value) and isinstance(getattr(value, "path", None), Path):
        return dataclasses.replace(value, path=join(value.path))
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Path):
        return (value[0], join(value[1]))
    return value


def _from_environment(action: argparse.Action, name: str, raw: str) -> Any:
    try:
        if _is_switch(action):
            word = raw.strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError(f"expected one of {', '.join(sorted(TRUE_WORDS | FALSE_WORDS))}, got {raw!r}")
            return (word in TRUE_WORDS) == action.const
        if _is_list(action):
            return [_convert(action, part.strip()) for part in raw.split(",") if part.strip()]
        return _convert(action, raw)
    except ValueError as exc:
        raise UsageError(f"{name}: {exc}") from None


def _from_file(action: argparse.Action, value: Any, config: ConfigFile, table: str, key: str) -> Any:
    try:
        if _is_switch(action):
            converted: Any = value == action.const
        elif _is_list(action):
            converted = [_convert(action, str(v)) for v in (value if isinstance(value, list) else [value])]
        else:
            converted = _convert(action, str(value))
    except ValueError as exc:
        raise InputError(str(config.path), f"{config.where(table)} {key}: {exc}", config.line(table, key)) from None
    return _rebase(converted, config.path.parent, action.dest)


def given_on_command_line(parse: Callable[[], argparse.Namespace], parser: argparse.ArgumentParser) -> set[str]:
    """The dests of ``parser``'s options that the command line set (parsed again with markers)."""
    marker = object()
    saved = {action: action.default for action in parser._actions if action.option_strings}
    try:
        for action in saved:
            action.default = None if _is_list(action) else marker
        probe = parse()
    finally:
        for action, default in saved.items():
            action.default = default
    return {a.dest for a in saved if getattr(probe, a.dest, marker) not in (marker, None)}


def apply(
    args: argparse.Namespace,
    command: str,
    parser: argparse.ArgumentParser,
    given: set[str],
    config: ConfigFile | None,
    environ: Mapping[str, str],
    env_overrides: Mapping[str, str],
) -> dict[str, str]:
    """Fill every option the command line left unset from the environment, then the file.

    Returns dest -> where its value came from ("KVAUDIT_X" or "file:line") for those filled.
    """
    origins: dict[str, str] = {}
    tables = [command] + ([""] if command in REPORT_COMMANDS else [])
    for key, action in option_flags(parser).items():
        if action.dest in given:
            continue
        name = environment_name(key, env_overrides, action.dest)
        raw = environ.get(name)
        if raw not in (None, ""):
            setattr(args, action.dest, _from_environment(action, name, raw))
            origins[action.dest] = name
            continue
        if config is None:
            continue
        for table in tables:
            if key in config.tables.get(table, {}):
                value = _from_file(action, config.tables[table][key], config, table, key)
                setattr(args, action.dest, value)
                origins[action.dest] = f"{config.path}:{config.line(table, key) or 1}"
                break
    return origins
