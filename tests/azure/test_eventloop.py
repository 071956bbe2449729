"""The live scan's event loop: uvloop's where installed, asyncio's own where not (as on Windows),
and the same scan either way."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from kvaudit.scanner.azure.eventloop import loop_factory, run
from tests.azure.test_cli_collect_merge import _collect_args, _fails
from tests.conftest import FIXED_NOW, REPO, run_kvaudit
from tests.fakeazure import FakeAzure, Faults, build_estate


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_a_live_scan_runs_on_uvloop_where_it_is_installed() -> None:
    import uvloop  # a dependency on every platform it supports

    assert loop_factory() is uvloop.new_event_loop
    assert run(_loop_module()).startswith("uvloop")


def test_run_returns_the_coroutines_result_and_closes_its_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def answer() -> int:
        loops.append(asyncio.get_running_loop())
        return 42

    assert run(answer()) == 42
    assert run(answer()) == 42
    assert loops[0] is not loops[1]  # a fresh loop for each scan
    assert all(loop.is_closed() for loop in loops)


def _without_uvloop(root: Path) -> str:
    """A PYTHONPATH on which ``import uvloop`` fails, as it does on Windows."""
    package = root / "uvloop"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('raise ImportError("uvloop is not available on this platform")\n')
    return f"{root}{os.pathsep}{REPO}"


def test_without_uvloop_the_loop_is_asyncios_own(tmp_path: Path) -> None:
    probe = (
        "import asyncio\n"
        "from kvaudit.scanner.azure.eventloop import loop_factory, run\n"
        "async def module():\n"
        "    return type(asyncio.get_running_loop()).__module__\n"
        "print(loop_factory(), run(module()))\n"
    )
    env = {**os.environ, "PYTHONPATH": _without_uvloop(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "asyncio.unix_events"]


def test_without_uvloop_a_scan_reads_the_same_estate_and_reaches_the_same_verdicts(tmp_path: Path) -> None:
    """The fallback is a whole scan, not only a loop: same rows, same findings, no errors."""
    snapshots = {"uvloop": tmp_path / "uvloop.json", "asyncio": tmp_path / "asyncio.json"}
    with FakeAzure(build_estate.default(), faults=Faults()) as fake:
        for loop, snapshot in snapshots.items():
            env = fake.env()
            if loop == "asyncio":
                env["PYTHONPATH"] = _without_uvloop(tmp_path / "stub")
            done = run_kvaudit(*_collect_args(fake, snapshot), env=env)
            assert done.returncode == 0, done.stderr
            assert "0 collection errors" in done.stderr
    rows = {
        loop: {t: v["rows"] for t, v in json.loads(p.read_text())["tables"].items()} for loop, p in snapshots.items()
    }
    assert rows["asyncio"] == rows["uvloop"]
    assert rows["uvloop"]["keys"] > 0
    findings = {}
    for loop, snapshot in snapshots.items():
        report = tmp_path / f"{loop}.report.json"
        run_kvaudit("scan", str(snapshot), "--now", FIXED_NOW, "-o", f"json:{report}")
        findings[loop] = _fails(report)
    assert findings["asyncio"] == findings["uvloop"]
    assert findings["uvloop"]
