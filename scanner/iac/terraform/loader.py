"""The HCL front-end's entry point: find root modules, evaluate them, map the rows."""

from __future__ import annotations

from pathlib import Path

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.identity import Units, unit_of
from kvaudit.scanner.iac.terraform.evaluate import Evaluator
from kvaudit.scanner.iac.terraform.hcl import MAX_TF_BYTES
from kvaudit.scanner.iac.terraform.mapping import map_instances
from kvaudit.scanner.iac.terraform.module import Instance, Loader, ModuleInstance, local_source, relative
from kvaudit.scanner.iac.terraform.suppress import suppressions_for
from kvaudit.scanner.inventory import Inventory, SourceInfo
from kvaudit.scanner.jsonio import digest_bytes

_SKIP_DIRS = {".terraform", ".git", "node_modules"}


def _module_dirs(paths: list[Path]) -> list[Path]:
    """Directories holding ``.tf`` or ``.tf.json`` files among ``paths`` (files count for their directory)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates = [path] + sorted(
                p for p in path.rglob("*") if p.is_dir() and not (_SKIP_DIRS | {".terragrunt-cache"}) & set(p.parts)
            )
            found.extend(c for c in candidates if any(c.glob("*.tf")) or any(c.glob("*.tf.json")))
        elif path.name.endswith((".tf", ".tf.json")):
            found.append(path.parent)
    unique: list[Path] = []
    for directory in found:
        resolved = directory.resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def _called_dirs(loader: Loader, dirs: list[Path]) -> set[Path]:
    """Directories that another scanned module calls as a local ``source``: not roots."""
    called: set[Path] = set()
    for directory in dirs:
        module = loader.source(directory)
        instance = ModuleInstance(loader, module, "", {}, ())
        for block in module.modules.values():
            target = local_source(module.directory, block, Evaluator(instance.scope))
            if target is not None and target != module.directory:
                called.add(target)
    return called


def _digest(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_TF_BYTES:
            return None
        return digest_bytes(path.read_bytes())
    except OSError:
        return None


def load_hcl(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Evaluate every root module among ``paths`` and map each one on its own.

    A root module directory is one unit: references resolve inside it only, and its ids carry
    its path (:mod:`scanner.iac.identity`), so two environments that declare the same vault give
    two rows.
    """
    loader = Loader(root)
    for path in paths:
        if not path.exists():
            loader.errors.append(InputError(relative(path, root), "no such file or directory"))
    dirs = _module_dirs(paths)
    called = _called_dirs(loader, dirs)
    roots: list[tuple[Path, list[Instance]]] = []
    for directory in dirs:
        if directory in called:
            continue
        module = loader.source(directory)
        loader.load_tfvars(module)
        root_module = ModuleInstance(loader, module, "", dict(module.tfvars), ())
        roots.append((directory, root_module.instances()))
    files = loader.parsed_files()
    comments = {f.path: f.comments for f in files}
    units = Units()
    for directory, instances in roots:
        rows = map_instances(instances, "terraform")
        units.add(unit_of(directory, root), rows.tables, suppressions_for(instances, rows.declared, comments))
    sources = [SourceInfo(kind="terraform", location=f.path, digest=_digest(root / f.path)) for f in files]
    return units.inventory(sources), loader.errors
