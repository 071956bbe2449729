"""The live scan's event loop: uvloop's where installed, and the coroutine's result either way."""

from __future__ import annotations

import asyncio

from kvaudit.scanner.azure.eventloop import loop_factory, run


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
