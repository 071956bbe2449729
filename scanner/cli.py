"""The ``kvaudit`` command line: a thin layer over sources, engine and renderers.

Exit codes (also in the README): 0 nothing at or above ``--fail-on``; 1 findings at or above
it; 2 usage, configuration or input error; 3 incomplete scan (something could not be read or
a rule failed), which takes precedence over 1 because the verdict itself is incomplete.
Every error is one line on stderr, never a traceback, and a closed pipe (``kvaudit rules |
head -1``) ends quietly. Each flag can also come from a ``KVAUDIT_*`` variable or a
configuration file (:mod:`scanner.config`), in the order flag > environment > file.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from kvaudit.scanner import __version__
from kvaudit.scanner.errors import KvauditError, UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")
OUTPUT_FORMATS = ("json", "html", "sarif", "junit", "csv", "csv-controls", "markdown")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"kvaudit: error: {message} (see kvaudit {self.prog.split()[-1]} --help)\n")


@dataclass(frozen=True)
class OutputSpec:
    """One ``-o FORMAT[:PATH]``; no path means standard output."""

    fmt: str
    path: Path | None


def parse_output(value: str) -> OutputSpec:
    fmt, _, path = value.partition(":")
    fmt = fmt.lower()
    if fmt == "md":
        fmt = "markdown"
    if fmt not in OUTPUT_FORMATS:
        raise argparse.ArgumentTypeError(f"unknown output format {fmt!r} (choose from {', '.join(OUTPUT_FORMATS)})")
    return OutputSpec(fmt, Path(path) if path else None)


def add_report_options(parser: argparse.ArgumentParser, fail_on_default: str) -> None:
    parser.add_argument(
        "-o",
        "--output",
        action="append",
        type=parse_output,
        default=[],
        metavar="FORMAT[:PATH]",
        help=f"write a report ({', '.join(OUTPUT_FORMATS)}); repeatable; no PATH writes to stdout",
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=fail_on_default,
        help=f"exit 1 when an unsuppressed FAIL at or above this severity exists (default: {fail_on_default})",
    )
    parser.add_argument("--policy", type=Path, help="policy file (TOML): parameters, severities, profiles")
    parser.add_argument("--omit-passed", action="store_true", help="leave PASS results out of the findings list")
    parser.add_argument(
        "--now", help="evaluate as of this ISO 8601 time instead of the current time (reproducible reports)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only the summary line (no findings, no file list)"
    )
    parser.add_argument(
        "--sarif-suppressed",
        action="store_true",
        help="keep suppressed findings in SARIF, marked as suppressed (left out by default: code scanning "
        "would open alerts for them)",
    )
    for module in _report_hooks():
        _hook(module, "add_arguments")(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kvaudit", description="Audit Azure Key Vault and Managed HSM security posture.")
    parser.add_argument("--version", action="version", version=f"kvaudit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = sub.add_parser("scan", help="scan snapshots, ARM, Bicep or Terraform (or live Azure with --azure)")
    scan.add_argument("sources", nargs="*", metavar="SOURCE", help="files or directories to scan")
    scan.add_argument(
        "--allow-path",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="also let modules, parameter files and tfvars be read from DIR (repeatable; by default "
        "nothing outside the working directory and the SOURCE arguments is opened)",
    )
    add_report_options(scan, "high")
    _add_source_hooks(scan)

    demo = sub.add_parser("demo", help="scan the embedded demo estate (offline)")
    add_report_options(demo, "none")

    rules = sub.add_parser("rules", help="list the rule catalogue")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    rules.add_argument("--policy", type=Path, help="show parameters and severities as this policy sets them")

    for name, help_text in EXTRA_COMMANDS.items():
        if _present(f"kvaudit.scanner.commands.{name}"):
            extra = sub.add_parser(name, help=help_text)
            _hook(f"kvaudit.scanner.commands.{name}", "add_arguments")(extra)
    for command in sub.choices.values():
        command.epilog = CONFIG_EPILOG
        group = command.add_argument_group("configuration")
        group.add_argument(
            "--config",
            type=Path,
            metavar="FILE",
            help="read settings from this TOML file [KVAUDIT_CONFIG] "
            "(default: the nearest .kvaudit.toml, or pyproject.toml with [tool.kvaudit])",
        )
        group.add_argument("--no-config", action="store_true", help="ignore configuration files [KVAUDIT_NO_CONFIG]")
        command.add_argument(
            "--debug", action="store_true", help="print the traceback of an unexpected error (never needed in CI)"
        )
    return parser


#: Where else each option can come from (scanner.config has the rules).
CONFIG_EPILOG = (
    "Every option can also come from a KVAUDIT_<OPTION> environment variable (KVAUDIT_FAIL_ON=none) "
    'or a key in .kvaudit.toml or [tool.kvaudit] in pyproject.toml (fail-on = "none"); '
    "the command line wins over the environment, which wins over the file."
)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Command name -> its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


#: Commands that live in their own module ``scanner/commands/<name>.py``, each with
#: ``add_arguments(parser)`` and ``run(args) -> int``; imported only when used.
EXTRA_COMMANDS: dict[str, str] = {
    "collect": "collect live Azure into a snapshot (evaluate it later with scan)",
    "merge": "merge shard snapshots into one snapshot or report",
    "profiles": "list the key-purpose profiles",
    "baseline": "create a baseline file from a report",
    "diff": "compare two reports: new, resolved and unchanged findings",
    "trend": "findings over time from a history directory",
    "verify": "check a JSON report's digest (and signature)",
}

#: Modules that add options to scan and demo and post-process the finished report, in this
#: order (suppressions first, then the integrity digest, then history): each has
#: ``add_arguments(parser)`` and ``process(report, inventory, args) -> report``.
REPORT_HOOKS: tuple[str, ...] = ("kvaudit.scanner.gating", "kvaudit.reports.integrity", "kvaudit.reports.history")


def _present(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _report_hooks() -> list[str]:
    return [m for m in REPORT_HOOKS if _present(m)]


def _hook(module: str, name: str) -> Callable[..., Any]:
    import importlib

    return getattr(importlib.import_module(module), name)


def _add_source_hooks(scan: argparse.ArgumentParser) -> None:
    """Options of live Azure collection (the SDKs themselves are imported only with --azure)."""
    if _present("kvaudit.scanner.azure.options"):
        _hook("kvaudit.scanner.azure.options", "add_azure_arguments")(scan)


def _parse_now(value: str | None) -> Any:
    import pandas as pd

    if value is None:
        return pd.Timestamp.now(tz="UTC")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise UsageError(f"--now: not an ISO 8601 time: {value!r}") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _load_policy(path: Path | None) -> Any:
    from kvaudit.rules.registry import all_rules
    from kvaudit.scanner.policy import Policy, load

    policy = load(path) if path else Policy()
    policy.validate({r.id: {p.name for p in r.params} for r in all_rules()})
    return policy


def repository_root(start: Path) -> Path | None:
    """The git top level that holds ``start``, or None outside git (or without git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(start), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 and done.stdout.strip() else None


def _sarif_options(args: argparse.Namespace) -> Any:
    """SARIF paths relative to the repository root whatever the working directory: the git top
    level of the working directory, else of the first SOURCE, else the working directory."""
    from kvaudit.reports.renderers.sarif import SarifOptions

    cwd = Path.cwd().resolve()
    root = repository_root(cwd)
    for source in getattr(args, "sources", None) or []:
        if root is not None:
            break
        path = Path(source).resolve()
        root = repository_root(path if path.is_dir() else path.parent)
    if root is None:
        print(f"kvaudit: notice: not in a git repository: SARIF paths are relative to {cwd}", file=sys.stderr)
    return SarifOptions(
        working_directory=cwd,
        repository_root=root or cwd,
        include_suppressed=bool(getattr(args, "sarif_suppressed", False)),
    )


def _write_outputs(report: dict[str, Any], outputs: Sequence[OutputSpec], args: argparse.Namespace) -> None:
    from kvaudit.reports.renderers import get_renderer

    sarif_options = _sarif_options(args) if any(spec.fmt == "sarif" for spec in outputs) else None
    for spec in outputs:
        render = get_renderer(spec.fmt)
        text = render(report, sarif_options) if spec.fmt == "sarif" else render(report)
        if spec.path is None:
            sys.stdout.write(text)
            continue
        try:
            if spec.path.parent != Path(""):
                spec.path.parent.mkdir(parents=True, exist_ok=True)
            spec.path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{spec.path}: cannot write report: {exc.strerror or exc}") from None
        if not getattr(args, "quiet", False):
            print(f"kvaudit: wrote {spec.fmt} report {spec.path}", file=sys.stderr)


def check_one_stdout(outputs: Sequence[Any]) -> None:
    """Two documents on one stdout are neither of them valid: refuse (exit 2)."""
    to_stdout = [_output_format(o) for o in outputs if _output_path(o) is None]
    if len(to_stdout) > 1:
        raise UsageError(f"-o {' and -o '.join(to_stdout)} would all write to standard output; give all but one a PATH")


def _output_format(spec: Any) -> str:
    return spec.fmt if isinstance(spec, OutputSpec) else spec[0]


def _output_path(spec: Any) -> Path | None:
    return spec.path if isinstance(spec, OutputSpec) else spec[1]


def exit_code_for(report: dict[str, Any], fail_on: str) -> int:
    """Apply the exit-code contract to a finished report."""
    from kvaudit.rules.model import SEVERITY_RANK

    if not report["coverage"]["complete"]:
        return EXIT_INCOMPLETE
    if fail_on == "none":
        return EXIT_OK
    threshold = SEVERITY_RANK[fail_on]
    for finding in report["findings"]:
        suppressed = bool(finding["suppression"] and finding["suppression"].get("active"))
        if finding["status"] == "FAIL" and not suppressed and SEVERITY_RANK[finding["severity"]] >= threshold:
            return EXIT_FINDINGS
    return EXIT_OK


def evaluate_and_report(inventory: Any, args: argparse.Namespace, started: datetime, input_errors: int = 0) -> int:
    """Shared tail of scan and demo: evaluate, build the report, write outputs, exit code."""
    from kvaudit.reports.model import ReportOptions, build_report
    from kvaudit.rules.engine import evaluate

    policy = _load_policy(args.policy)
    evaluation = evaluate(inventory, policy, now=_parse_now(args.now))
    report = build_report(
        inventory,
        evaluation,
        started,
        datetime.now(UTC),
        ReportOptions(include_passed=not args.omit_passed),
    )
    for module in _report_hooks():
        report = _hook(module, "process")(report, inventory, args)
    _write_outputs(report, args.output, args)
    if not args.quiet and all(spec.path is not None for spec in args.output):
        from kvaudit.scanner.console import write_findings

        write_findings(report, sys.stdout, colour=_colour(sys.stdout))
        sys.stdout.flush()
    from kvaudit.scanner.console import summary_line

    print(summary_line(report), file=sys.stderr)
    if input_errors:
        return EXIT_USAGE
    return exit_code_for(report, args.fail_on)


def cmd_scan(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    if getattr(args, "azure", False):
        from kvaudit.scanner.azure import collect
        from kvaudit.scanner.azure.options import options_from_args

        inventory = collect(options_from_args(args))
        problems = 0
        if args.sources:
            files, problems = load_files(args.sources)
            inventory = inventory.merge(files)
    else:
        if not args.sources:
            raise UsageError("scan needs at least one SOURCE (or --azure)")
        inventory, problems = load_files(args.sources)
    return evaluate_and_report(inventory, args, started, problems)


def load_files(sources: list[str]) -> tuple[Any, int]:
    """Load SOURCE files; each unparsable file is printed in one line and recorded as a
    coverage gap, and the rest are still scanned."""
    from kvaudit.scanner.inventory import frame
    from kvaudit.scanner.sources import load_sources

    loaded = load_sources(sources)  # imports pandas while its loader processes parse
    import pandas as pd

    for problem in loaded.errors:
        print(f"kvaudit: error: {problem}", file=sys.stderr)
    if loaded.errors:
        rows = [
            {"id": e.origin, "operation": "parse", "affects": [], "error": str(e), "line": e.line, "file": e.origin}
            for e in loaded.errors
        ]
        errors = pd.concat([loaded.inventory.tables["collection_errors"], frame("collection_errors", rows)])
        loaded.inventory.tables["collection_errors"] = errors.reset_index(drop=True)
    return loaded.inventory, len(loaded.errors)


def cmd_demo(args: argparse.Namespace) -> int:
    from kvaudit.scanner.demo import demo_inventory, demo_policy_path

    started = datetime.now(UTC)
    if args.policy is None:
        args.policy = demo_policy_path()
    return evaluate_and_report(demo_inventory(), args, started)


def cmd_rules(args: argparse.Namespace) -> int:
    import json

    from kvaudit.reports.catalogue import catalogue as rule_catalogue
    from kvaudit.rules.registry import all_rules

    # The listing reads each rule's metadata and its settings under the policy; it evaluates
    # nothing, so it imports neither pandas nor the inventory (tests/scanner/test_startup.py).
    policy = _load_policy(args.policy)
    enabled = [rule for rule in all_rules() if rule.id not in policy.disabled]
    catalogue = rule_catalogue((rule, *rule.settings(policy)) for rule in enabled)
    if args.format == "json":
        print(json.dumps(catalogue, indent=1))
        return EXIT_OK
    for entry in catalogue:
        controls = ", ".join(f"{m['framework']} {m['control']}" for m in entry["compliance"]) or "-"
        print(f"{entry['id']:<12} {entry['severity']:<8} {entry['title']}")
        print(f"{'':<21} controls: {controls}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"scan": cmd_scan, "demo": cmd_demo, "rules": cmd_rules}


def _colour(stream: Any) -> bool:
    """Colour only on an interactive terminal, and never when NO_COLOR is set or TERM is dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _inapplicable(args: argparse.Namespace) -> dict[str, str]:
    """Options this invocation accepts syntactically but cannot use -> why not."""
    reasons: dict[str, str] = {}
    if args.command in ("demo", "merge"):
        reasons["diff_base"] = f"{args.command} reads no files from git, so there is no revision to compare"
    outputs = getattr(args, "output", None)
    if isinstance(outputs, list) and hasattr(args, "sarif_suppressed"):
        if not any(isinstance(o, OutputSpec) and o.fmt == "sarif" for o in outputs):
            reasons["sarif_suppressed"] = "no SARIF is written (-o sarif[:PATH])"
    if args.command == "scan" and not getattr(args, "azure", False):
        from kvaudit.scanner.azure.options import environment_variables

        for dest in environment_variables():
            reasons[dest] = "it applies only to a live scan (--azure)"
    return reasons


def _defaults(parser: argparse.ArgumentParser) -> dict[str, Any]:
    return {a.dest: a.default for a in parser._actions if a.option_strings}


def parse_arguments(argv: Sequence[str] | None, environ: Any = None) -> argparse.Namespace:
    """Parse the command line, then fill each unset option from ``KVAUDIT_*``, then the file.

    Options that do not apply to this invocation are refused when given on the command line,
    and ignored when they come from the environment or a file (a shared configuration may
    hold live-Azure settings that a pull-request scan has no use for).
    """
    from kvaudit.scanner import config as cfg

    environ = os.environ if environ is None else environ
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:
        return args
    commands = subcommands(parser)
    command_parser = commands[args.command]
    given = cfg.given_on_command_line(lambda: parser.parse_args(argv), command_parser)
    config_file = None
    if not args.no_config and (environ.get("KVAUDIT_NO_CONFIG", "").strip().lower() not in cfg.TRUE_WORDS):
        path = args.config or (Path(environ["KVAUDIT_CONFIG"]) if environ.get("KVAUDIT_CONFIG") else None)
        path = path or cfg.discover(Path.cwd())
        if path is not None:
            if not path.is_file():
                raise UsageError(f"--config {path}: no such file")
            config_file = cfg.load(path, commands)
    from kvaudit.scanner.azure.options import environment_variables

    origins = cfg.apply(args, args.command, command_parser, given, config_file, environ, environment_variables())
    defaults = _defaults(command_parser)
    flags = {a.dest: a.option_strings[-1] for a in command_parser._actions if a.option_strings}
    for dest, reason in _inapplicable(args).items():
        if dest in given:
            raise UsageError(f"{flags.get(dest, dest)} does not apply here: {reason}")
        if dest in origins:
            setattr(args, dest, defaults.get(dest))
    if isinstance(getattr(args, "output", None), list):
        check_one_stdout(args.output)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            args = parse_arguments(argv)
            if args.command is None:
                build_parser().print_help(sys.stderr)
                return EXIT_USAGE
            _apply_process_options(args)
            if args.command in COMMANDS:
                code = COMMANDS[args.command](args)
            else:
                code = int(_hook(f"kvaudit.scanner.commands.{args.command}", "run")(args))
            sys.stdout.flush()
            return code
        except KvauditError as exc:
            print(f"kvaudit: error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("kvaudit: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback, unless asked
            return _unexpected(exc)
    except BrokenPipeError:
        return _closed_pipe()


def run() -> NoReturn:
    """The ``kvaudit`` command: :func:`main`, then exit without tearing the interpreter down.

    A scan leaves pandas and every table it built in memory; freeing them one by one at exit
    cost a tenth of a second of an IaC gate's run, for nothing. Everything kvaudit writes is
    written and closed by the time :func:`main` returns, so the streams are flushed and the
    process ends at once. Tests call :func:`main` itself.

    A scan allocates millions of short-lived containers (parse trees, rows, findings) that
    reference counting frees; at the default thresholds the cyclic collector would also walk the
    heap thousands of times for almost nothing, about a tenth of a gate's CPU. It still runs,
    every hundred thousand allocations, so memory stays bounded."""
    gc.set_threshold(100_000, 50, 100)
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = _closed_pipe()
    os._exit(code)


#: An unexpected failure leaves the scan incomplete: never 1 ("findings"), never a traceback.
EXIT_INCOMPLETE = 3


def _apply_process_options(args: argparse.Namespace) -> None:
    """``--debug`` and ``--allow-path`` reach the loaders through the environment, which also
    carries them into the parallel loader processes."""
    if getattr(args, "debug", False):
        os.environ["KVAUDIT_DEBUG"] = "1"
    allowed = [str(p.resolve()) for p in getattr(args, "allow_path", None) or []]
    if allowed:
        existing = [p for p in os.environ.get("KVAUDIT_ALLOW_PATHS", "").split(os.pathsep) if p]
        os.environ["KVAUDIT_ALLOW_PATHS"] = os.pathsep.join([*existing, *allowed])


def _unexpected(exc: Exception) -> int:
    from kvaudit.scanner.sources import debug_enabled

    if debug_enabled():
        traceback.print_exception(exc, file=sys.stderr)
    print(
        f"kvaudit: error: internal error ({type(exc).__name__}); the scan is incomplete "
        "(run with --debug for the traceback)",
        file=sys.stderr,
    )
    return EXIT_INCOMPLETE


#: What a shell reports for a process that a closed pipe stopped (128 + SIGPIPE).
EXIT_CLOSED_PIPE = 141


def _closed_pipe() -> int:
    """The reader went away (``| head``): stop quietly, and keep Python's final flush quiet too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_CLOSED_PIPE
