"""Packaging: the three folders install as kvaudit.scanner, kvaudit.rules and kvaudit.reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

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
    bare = re.compile(r"(files|PackageLoader)\(\s*[\"'](scanner|rules|reports)[\"']")
    offenders = [
        str(path.relative_to(REPO))
        for folder in (*FOLDERS, "tests", "bench")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "test_packaging.py" and bare.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_output_renders_where_the_folders_are_not_importable(tmp_path: Path) -> None:
    """Run from outside the repository with no PYTHONPATH, only ``kvaudit.*`` resolves, as in a
    wheel install: a bare ``reports`` anywhere (imports, package data, template loaders) fails."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    formats = ("json", "html", "sarif", "junit", "markdown", "csv", "csv-controls")
    outputs = [arg for f in formats for arg in ("-o", f"{f}:{tmp_path / ('out.' + f)}")]
    done = subprocess.run(
        [sys.executable, "-m", "kvaudit.scanner", "demo", "-q", *outputs],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert all((tmp_path / f"out.{f}").stat().st_size > 0 for f in formats)
