"""Packaging: the three folders install as kvaudit.scanner, kvaudit.rules and kvaudit.reports."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO

FOLDERS = ("scanner", "rules", "reports")


def test_every_package_folder_is_installed_under_kvaudit() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = sorted(
        "kvaudit." + ".".join(path.parent.relative_to(REPO).parts)
        for folder in FOLDERS
        for path in (REPO / folder).rglob("__init__.py")
    )
    assert sorted(config["packages"]) == found
    assert config["package-dir"] == {f"kvaudit.{f}": f for f in FOLDERS}


def test_no_module_imports_the_folders_by_their_bare_names() -> None:
    """A bare ``import rules`` would load a second copy of the package (or someone else's)."""
    bare = re.compile(r"(^\s*|[\"'])(from|import) (sys, )?(scanner|rules|reports)\b", re.M)
    offenders = [
        str(path.relative_to(REPO))
        for folder in (*FOLDERS, "tests", "bench")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "test_packaging.py" and bare.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_package_data_is_read_through_the_installed_names() -> None:
    """``importlib.resources.files("rules")`` would import a top-level ``rules`` package."""
    bare = re.compile(r"files\(\s*[\"'](scanner|rules|reports)[\"']")
    offenders = [
        str(path.relative_to(REPO))
        for folder in (*FOLDERS, "tests", "bench")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "test_packaging.py" and bare.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
