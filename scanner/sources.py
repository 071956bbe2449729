"""Turn the SOURCE arguments of ``kvaudit scan`` into one inventory.

Each kind of file goes to its own loader; loaders are imported only when a file of their kind
is present, so scanning Terraform never pays for parsing Bicep or importing the Azure SDK.
A file that fails to parse is reported and the others are still scanned. A row file (TOML, see
:mod:`scanner.rowdata`) is read only when named: a directory's TOML files are configuration.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scanner.errors import InputError, UsageError
from scanner.iac.identity import duplicate_declarations
from scanner.inventory import Inventory
from scanner.jsonio import load_json_bytes

_SKIP_DIRS = {".git", ".terraform", "node_modules", "__pycache__", ".venv", "venv"}
_MAX_JSON_SNIFF = 512 * 1024 * 1024
#: Below this many IaC files, forking loader processes costs more than it saves.
PARALLEL_MIN_FILES = 40

#: loader kind -> "module:function(paths, root) -> (Inventory, [InputError])"
LOADERS: dict[str, str] = {
    "arm": "scanner.iac.arm:load_arm",
    "bicep": "scanner.iac.bicep:load_bicep",
    "terraform": "scanner.iac.terraform:load_terraform",
    "terraform-plan": "scanner.iac.terraform:load_terraform_plan",
}


@dataclass
class Loaded:
    """The merged inventory and every per-file problem found on the way."""

    inventory: Inventory
    errors: list[InputError] = field(default_factory=list)


def _walk(directory: Path) -> Iterable[Path]:
    for path in sorted(directory.rglob("*")):
        if any(part in _SKIP_DIRS for part in path.relative_to(directory).parts):
            continue
        if path.is_file() and path.suffix.lower() in {".json", ".bicep", ".tf"}:
            yield path


def _classify_json(path: Path, explicit: bool) -> str | None:
    """Sniff a JSON file: snapshot, ARM template or parameters, or Terraform plan."""
    from scanner import snapshot

    data = path.read_bytes()
    if len(data) > _MAX_JSON_SNIFF:
        raise InputError(str(path), f"file is {len(data)} bytes, larger than the {_MAX_JSON_SNIFF}-byte limit")
    doc = load_json_bytes(data, str(path))
    if snapshot.is_snapshot(doc):
        return "snapshot"
    if isinstance(doc, dict):
        schema = str(doc.get("$schema", "")).lower()
        if (
            "deploymenttemplate" in schema
            or "deploymentparameters" in schema
            or ("resources" in doc and "contentVersion" in doc)
        ):
            return "arm"
        if "format_version" in doc and ("planned_values" in doc or "resource_changes" in doc or "values" in doc):
            return "terraform-plan"
    if explicit:
        raise InputError(str(path), "not a kvaudit snapshot, ARM template or parameters file, or Terraform plan")
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
    from scanner import snapshot

    root = (root or Path.cwd()).resolve()
    buckets: dict[str, list[Path]] = {}
    errors: list[InputError] = []
    inventory = Inventory()
    for argument in arguments:
        path = Path(argument)
        if not path.exists():
            raise UsageError(f"{argument}: no such file or directory")
        explicit = path.is_file()
        candidates = [path] if explicit else list(_walk(path))
        for candidate in candidates:
            suffix = candidate.suffix.lower()
            try:
                if suffix == ".bicep":
                    buckets.setdefault("bicep", []).append(candidate)
                elif suffix == ".tf":
                    buckets.setdefault("terraform", []).append(candidate)
                elif suffix == ".json":
                    kind = _classify_json(candidate, explicit)
                    if kind == "snapshot":
                        inventory = inventory.merge(snapshot.load(candidate))
                    elif kind:
                        buckets.setdefault(kind, []).append(candidate)
                elif suffix == ".toml" and explicit:  # never picked up from a directory
                    from scanner import rowdata

                    inventory = inventory.merge(rowdata.load(candidate))
                elif explicit:
                    raise InputError(str(candidate), "unsupported file type (expected .json, .bicep, .tf or .toml)")
            except InputError as exc:
                errors.append(exc)
    for loaded, problems in _run_loaders(buckets, root):
        errors.extend(problems + duplicate_declarations(inventory, loaded))
        inventory = inventory.merge(loaded)
    return Loaded(inventory, errors)


def _load_kind(kind: str, paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    return _loader(kind)(paths, root)


def _run_loaders(buckets: dict[str, list[Path]], root: Path) -> list[tuple[Inventory, list[InputError]]]:
    """Run each kind's loader; with several kinds and enough files, in parallel processes.

    Parsing HCL and Bicep is pure-Python and CPU-bound, so on a pull-request gate with a mixed
    repository the kinds are parsed on separate cores (forked, so nothing is re-imported). The
    order of the results, and so of the merged inventory, does not depend on scheduling."""
    kinds = [kind for kind in LOADERS if kind in buckets]
    files = sum(len(buckets[kind]) for kind in kinds)
    cores = os.cpu_count() or 1
    if len(kinds) < 2 or cores < 2 or files < PARALLEL_MIN_FILES or "fork" not in mp.get_all_start_methods():
        return [_load_kind(kind, buckets[kind], root) for kind in kinds]
    with ProcessPoolExecutor(max_workers=min(len(kinds) - 1, cores - 1), mp_context=mp.get_context("fork")) as pool:
        # The kind with most files stays in this process; the others go to workers.
        heaviest = max(kinds, key=lambda kind: len(buckets[kind]))
        futures = {kind: pool.submit(_load_kind, kind, buckets[kind], root) for kind in kinds if kind != heaviest}
        local = _load_kind(heaviest, buckets[heaviest], root)
        return [local if kind == heaviest else futures[kind].result() for kind in kinds]
