"""Terraform source: HCL configurations and ``terraform show -json`` plans into the inventory.

The CLI calls :func:`load_terraform` for ``.tf`` files and directories and
:func:`load_terraform_plan` for plan JSON. Both return an inventory and the per-file errors,
never raise for bad input, and share one mapping (:mod:`.mapping`) so the same resource gives
the same rows whichever front-end read it.
"""

from __future__ import annotations

from pathlib import Path

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.inventory import Inventory

__all__ = ["is_terraform_plan", "load_terraform", "load_terraform_plan"]


def load_terraform(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Evaluate ``.tf`` files or directories (each directory is a module) into an inventory."""
    from kvaudit.scanner.iac.terraform.loader import load_hcl

    return load_hcl(paths, root)


def load_terraform_plan(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Read ``terraform show -json`` output files into an inventory."""
    from kvaudit.scanner.iac.terraform.plan import load_plans

    return load_plans(paths, root)


def is_terraform_plan(doc: object) -> bool:
    """True for a parsed ``terraform show -json`` plan (not a state file or other JSON)."""
    return (
        isinstance(doc, dict)
        and "format_version" in doc
        and "terraform_version" in doc
        and any(key in doc for key in ("planned_values", "resource_changes", "configuration"))
    )
