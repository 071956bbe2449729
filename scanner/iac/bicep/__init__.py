"""Bicep files -> the inventory, through kvaudit's Bicep parser and the shared ARM mapping.

Entry point for the CLI: :func:`load_bicep`. Each entry file (a ``.bicep`` file no other scanned
file uses as a module, or a ``.bicepparam`` file) is one unit, mapped on its own with the local
modules it calls, so references resolve only inside it and its ids carry its path
(:mod:`scanner.iac.identity`). A file that cannot be parsed gives one positioned
:class:`InputError` and the other files are still loaded.
"""

from __future__ import annotations

from pathlib import Path

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.arm.mapping import map_declared
from kvaudit.scanner.iac.bicep.loader import load_units
from kvaudit.scanner.iac.identity import Units, unit_of
from kvaudit.scanner.inventory import Inventory, SourceInfo


def load_bicep(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Load Bicep and ``.bicepparam`` files (following local modules) into one inventory."""
    found, errors, read = load_units(paths, root)
    units = Units()
    for unit in found:
        units.add(unit_of(root / unit.entry, root), *map_declared(unit.declared))
    sources = [SourceInfo("bicep", parsed.origin, parsed.digest) for parsed in read]
    return units.inventory(sources), errors


__all__ = ["load_bicep"]
