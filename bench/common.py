"""Shared benchmark plumbing: describe the machine, time repeated runs, report medians.

Benchmarks print the machine, the inputs and the median of several runs so that a figure in
a closing note can be reproduced and judged."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def machine() -> str:
    """One line naming the CPU, core count, memory and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = next(
            int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
        )
        mem = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        mem = "unknown memory"
    return f"{cpu}; {os.cpu_count()} cores; {mem}; Python {platform.python_version()} on {platform.system()}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def run_python(code_args: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> str:
    """Run ``python <args>`` with the repo on the path; return stdout (raises on failure)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run([sys.executable, *code_args], env=full_env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step failed: {' '.join(code_args)}\n{done.stderr[-2000:]}")
    return done.stdout


def header(title: str, inputs: str) -> None:
    print(f"== {title}")
    print(f"machine: {machine()}")
    print(f"inputs:  {inputs}")
