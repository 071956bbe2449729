"""Shared test helpers: run the real CLI as a subprocess, exactly as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The project's shared material (deployment guides, official REST examples), beside the repository.
SHARED = REPO.parent / "shared"
FIXED_NOW = "2026-11-23T00:00:00Z"


def run_kvaudit(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300):
    """Run ``python -m kvaudit.scanner`` with ``args``; return the CompletedProcess (text mode)."""
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONPATH", str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "kvaudit.scanner", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def kvaudit():
    return run_kvaudit
