"""Turn the SOURCE arguments of ``kvaudit scan`` into one inventory.

Each kind of file goes to its own loader; loaders are imported only when a file of their kind
is present, so scanning Terraform never pays for parsing Bicep or importing the Azure SDK.
A row file (TOML, see :mod:`scanner.rowdata`) is read only when named: a directory's TOML files
are configuration.

Input is hostile. Only regular files inside the scanned tree are read (a FIFO, socket, device or
dangling link given explicitly is an error; inside a tree it is skipped with a notice); a JSON
file's kind is sniffed from a bounded prefix before any size limit is spent on it; each kind's
loader runs under one evaluation budget (:mod:`scanner.budget`), and anything unexpected it
raises (a bug, MemoryError, RecursionError, a budget overrun) is isolated: the loader is re-run
file by file (Terraform: module directory by directory) so that the culprit becomes one
:class:`InputError` line and every other file's results are kept. ``KVAUDIT_DEBUG=1`` also prints
the traceback.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kvaudit.scanner import budget, containment
from kvaudit.scanner.errors import InputError, UsageError, one_line
from kvaudit.scanner.iac.crossunit import join_references_by_host
from kvaudit.scanner.iac.identity import duplicate_declarations
from kvaudit.scanner.inventory import Inventory, PendingInventory, built, rows_only
from kvaudit.scanner.jsonio import load_json_bytes

_SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv", "venv"}
#: Small JSON files are parsed whole to learn their kind; larger ones are sniffed from a prefix.
_SNIFF_BYTES = 256 * 1024
_MAX_JSON_BYTES = 512 * 1024 * 1024
_SUFFIXES = (".json", ".bicep", ".bicepparam", ".tf", ".tfvars", ".yaml", ".yml")
#: Below this many IaC files, forking loader processes costs more than it saves.
PARALLEL_MIN_FILES = 40

#: loader kind -> "module:function(paths, root) -> (Inventory, [InputError])"
LOADERS: dict[str, str] = {
    "arm": "kvaudit.scanner.iac.arm:load_arm",
    "bicep": "kvaudit.scanner.iac.bicep:load_bicep",
    "terraform": "kvaudit.scanner.iac.terraform:load_terraform",
    "terraform-plan": "kvaudit.scanner.iac.terraform:load_terraform_plan",
    "manifests": "kvaudit.scanner.iac.manifests:load_manifests",
}


def debug_enabled() -> bool:
    """``--debug`` (the CLI sets ``KVAUDIT_DEBUG``): print tracebacks of isolated failures."""
    return os.environ.get("KVAUDIT_DEBUG", "").lower() not in ("", "0", "false", "no")


def notice(message: str) -> None:
    """One line on stderr for something skipped on purpose (not an error)."""
    print(f"kvaudit: notice: {one_line(message)}", file=sys.stderr)


@dataclass
class Loaded:
    """The merged inventory and every per-file problem found on the way."""

    inventory: Inventory
    errors: list[InputError] = field(default_factory=list)


def _walk(directory: Path) -> Iterable[Path]:
    """Candidate files under ``directory``: regular files inside it, in a stable order."""
    top = directory.resolve()
    for base, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if not name.lower().endswith(_SUFFIXES):
                continue
            path = Path(base) / name
            problem = containment.regular_problem(path)
            if problem is not None:
                notice(f"{path}: skipped, {problem}")
                continue
            resolved = path.resolve()
            if resolved != top and not resolved.is_relative_to(top) and not _allowed(resolved):
                notice(f"{path}: skipped, a link to a file outside the scanned tree")
                continue
            if name.lower().endswith(".tfvars"):
                continue  # read by the Terraform loader with its module
            yield path


def _allowed(resolved: Path) -> bool:
    return any(resolved.is_relative_to(root) for root in containment.allowed_from_environment())


_SNAPSHOT_PREFIX = re.compile(rb'"format"\s*:\s*"kvaudit-snapshot"')
_ARM_PREFIX = re.compile(rb'"\$schema"\s*:\s*"[^"]*deployment(?:template|parameters)', re.I)
_PLAN_PREFIX = re.compile(rb'"format_version"\s*:')
_PLAN_BODY = re.compile(rb'"(?:planned_values|resource_changes|values)"\s*:')


def _is_deployment_wrapper(doc: dict) -> bool:
    """A deployment stored as ``{"properties": {"template": ...}}`` (the ARM loader's test)."""
    from kvaudit.scanner.iac.arm import deployment_wrapper

    return deployment_wrapper(doc) is not None


def _classify_json(path: Path, explicit: bool) -> str | None:
    """Sniff a JSON file: snapshot, ARM template or parameters, or Terraform plan.

    Files up to a few hundred kilobytes are parsed; a larger file is judged by its first bytes,
    so a 200 MB data file in the tree costs one bounded read, not a parse."""
    from kvaudit.scanner import snapshot

    origin = str(path)
    if path.name.lower().endswith(".tf.json"):
        return "terraform"
    head = containment.read_bounded(path, origin, _SNIFF_BYTES, contained=False, prefix=True)
    if len(head) < _SNIFF_BYTES:
        doc = load_json_bytes(head, origin)
        if snapshot.is_snapshot(doc):
            return "snapshot"
        if isinstance(doc, dict):
            schema = str(doc.get("$schema", "")).lower()
            if (
                "deploymenttemplate" in schema
                or "deploymentparameters" in schema
                or ("resources" in doc and "contentVersion" in doc)
                or _is_deployment_wrapper(doc)
            ):
                return "arm"
            if "format_version" in doc and ("planned_values" in doc or "resource_changes" in doc or "values" in doc):
                return "terraform-plan"
    elif _SNAPSHOT_PREFIX.search(head):
        return "snapshot"
    elif _ARM_PREFIX.search(head):
        return "arm"
    elif _PLAN_PREFIX.search(head) and _PLAN_BODY.search(head):
        return "terraform-plan"
    if explicit:
        raise InputError(origin, "not a kvaudit snapshot, ARM template or parameters file, or Terraform plan")
    return None


def _loader(kind: str) -> Callable[[list[Path], Path], tuple[Inventory, list[InputError]]]:
    module_name, func = LOADERS[kind].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"support for {kind} sources is not installed ({exc.name})") from None
    return getattr(module, func)


def load_sources(arguments: list[str], root: Path | None = None) -> Loaded:
    """Load every SOURCE (files or directories) into one inventory."""
    root = (root or Path.cwd()).resolve()
    buckets: dict[str, list[Path]] = {}
    errors: list[InputError] = []
    inventory: Inventory | None = None  # built only when needed: it would import pandas before the loaders fork
    scan_roots = [root]
    for argument in arguments:
        path = Path(argument)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{argument}: no such file or directory")
        if path.is_dir():
            scan_roots.append(path)
            candidates = list(_walk(path))
            explicit = False
        else:
            problem = containment.regular_problem(path)
            if problem is not None:
                errors.append(InputError(str(path), problem))
                continue
            scan_roots.append(path.parent)
            candidates, explicit = [path], True
        for candidate in candidates:
            inventory = _bucket(candidate, explicit, buckets, inventory, errors)
    _drop_compiled_bicep(buckets)
    with containment.roots(scan_roots):
        for loaded, problems in _run_loaders(buckets, root):
            base = inventory if inventory is not None else Inventory()
            errors.extend(problems + duplicate_declarations(base, loaded))
            inventory = base.merge(loaded)  # drops a repeated id, keeping the first
    return Loaded(join_references_by_host(inventory or Inventory()), errors)


def _bucket(
    candidate: Path,
    explicit: bool,
    buckets: dict[str, list[Path]],
    inventory: Inventory | None,
    errors: list[InputError],
) -> Inventory | None:
    """Put one file in its loader's bucket (snapshots are loaded at once); returns the inventory."""
    from kvaudit.scanner import snapshot

    name = candidate.name.lower()
    try:
        if name.endswith((".bicep", ".bicepparam")):
            buckets.setdefault("bicep", []).append(candidate)
        elif name.endswith((".yaml", ".yml")):
            buckets.setdefault("manifests", []).append(candidate)
        elif name.endswith(".tf"):
            buckets.setdefault("terraform", []).append(candidate)
        elif name.endswith(".json"):
            kind = _classify_json(candidate, explicit)
            if kind == "snapshot":  # data, not code: nothing to expand, so no evaluation budget
                return _merged(inventory, snapshot.load(candidate))
            if kind:
                buckets.setdefault(kind, []).append(candidate)
        elif name.endswith(".toml") and explicit:  # never picked up from a directory
            from kvaudit.scanner import rowdata

            return _merged(inventory, rowdata.load(candidate))
        elif explicit:
            raise InputError(
                str(candidate),
                "unsupported file type (expected .json, .bicep, .bicepparam, .tf, .yaml or .toml)",
            )
    except InputError as exc:
        errors.append(exc)
    except (Exception, MemoryError, RecursionError) as exc:  # noqa: BLE001 - isolation is the point
        errors.append(InputError(str(candidate), describe_failure(exc)))
    return inventory


def _merged(inventory: Inventory | None, other: Inventory) -> Inventory:
    return (inventory if inventory is not None else Inventory()).merge(other)


def _drop_compiled_bicep(buckets: dict[str, list[Path]]) -> None:
    """An ARM template that Bicep compiled (``main.json`` beside ``main.bicep``, generator
    ``bicep``) is the same deployment as its source: judging both would report every finding
    twice, so the Bicep source, which keeps lines and comments, is the one judged."""
    bicep = {p.with_suffix("").resolve() for p in buckets.get("bicep", []) if p.suffix.lower() == ".bicep"}
    templates = buckets.get("arm")
    if not bicep or not templates:
        return
    kept = [p for p in templates if not (p.with_suffix("").resolve() in bicep and _generated_by_bicep(p))]
    buckets["arm"] = kept


def _generated_by_bicep(path: Path) -> bool:
    try:
        head = containment.read_bounded(path, str(path), _SNIFF_BYTES, prefix=True)
    except InputError:
        return False
    return re.search(rb'"_generator"\s*:\s*\{\s*"name"\s*:\s*"bicep"', head) is not None


def describe_failure(exc: BaseException) -> str:
    """One line for an unexpected failure, never quoting the exception text (which may echo
    file content); the traceback is printed only in debug mode."""
    if debug_enabled():
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, budget.BudgetExceeded):
        return f"{exc}; what this file declares is unknown"
    if isinstance(exc, MemoryError):
        return "evaluation exceeded the memory budget; what this file declares is unknown"
    if isinstance(exc, RecursionError):
        return "nested too deeply to evaluate; what this file declares is unknown"
    return f"internal error while loading ({type(exc).__name__}); what this file declares is unknown"


def _units(kind: str, paths: list[Path]) -> list[list[Path]]:
    """How a kind's files split into independently loadable units for isolation."""
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in paths:
        if kind == "terraform":
            key = (path.parent.resolve(), "")
        elif kind == "arm":  # a template with its x.parameters*.json
            key = (path.parent.resolve(), path.name.split(".")[0].lower())
        else:
            key = (path.resolve(), "")
        groups.setdefault(key, []).append(path)
    return list(groups.values())


def _origin(unit: list[Path], root: Path) -> str:
    first = unit[0].parent if len({p.parent for p in unit}) == 1 and len(unit) > 1 else unit[0]
    try:
        return first.resolve().relative_to(root).as_posix() or "."
    except ValueError:
        return str(first)


#: Kinds that are data rather than a language: nothing to expand, so no evaluation budget (a
#: plan may legitimately be hundreds of megabytes; its size limit is the loader's own).
_DATA_KINDS = {"terraform-plan"}


def _load_unit(kind: str, paths: list[Path], root: Path, units: int) -> tuple[Inventory, list[InputError]]:
    if kind in _DATA_KINDS:
        return _loader(kind)(paths, root)
    with budget.scope(units):
        return _loader(kind)(paths, root)


def _load_kind(kind: str, paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """One kind's loader, isolated: a failure re-runs it unit by unit, and a unit that still
    fails becomes one error line while the other units' results are kept."""
    units = _units(kind, paths)
    try:
        return _load_unit(kind, paths, root, len(units))
    except (UsageError, KeyboardInterrupt):
        raise
    except (Exception, MemoryError, RecursionError) as exc:  # noqa: BLE001 - isolation is the point
        if len(units) == 1:
            return Inventory(), [InputError(_origin(units[0], root), describe_failure(exc))]
    inventory = Inventory()
    errors: list[InputError] = []
    for unit in units:
        try:
            loaded, problems = _load_unit(kind, unit, root, 1)
        except (UsageError, KeyboardInterrupt):
            raise
        except (Exception, MemoryError, RecursionError) as exc:  # noqa: BLE001
            errors.append(InputError(_origin(unit, root), describe_failure(exc)))
            continue
        inventory = inventory.merge(built(loaded))
        errors.extend(problems)
    return inventory, errors


def _run_loaders(buckets: dict[str, list[Path]], root: Path) -> list[tuple[Inventory, list[InputError]]]:
    """Run each kind's loader; with enough files, in forked processes.

    Parsing HCL, Bicep and ARM is pure Python and CPU-bound, and so is importing pandas, which
    the typed tables need. So on a pull-request gate every kind is parsed in a forked process
    that sends back rows only (:class:`PendingInventory`), while this process imports pandas;
    the tables are then built here. The order of the results, and so of the merged inventory,
    does not depend on scheduling."""
    kinds = [kind for kind in LOADERS if kind in buckets]
    files = sum(len(buckets[kind]) for kind in kinds)
    cores = os.cpu_count() or 1
    if cores < 2 or files < PARALLEL_MIN_FILES or "fork" not in mp.get_all_start_methods():
        return [_load_kind(kind, buckets[kind], root) for kind in kinds]
    with ProcessPoolExecutor(max_workers=min(len(kinds), cores), mp_context=mp.get_context("fork")) as pool:
        futures = [pool.submit(_load_kind_rows, kind, buckets[kind], root) for kind in kinds]
        importlib.import_module("pandas")  # meanwhile: the tables are built here
        return [(built(loaded), problems) for loaded, problems in (future.result() for future in futures)]


def _load_kind_rows(kind: str, paths: list[Path], root: Path) -> tuple[Inventory | PendingInventory, list[InputError]]:
    """:func:`_load_kind` in a loader process: rows, not tables (pandas is not imported here)."""
    with rows_only():
        return _load_kind(kind, paths, root)
