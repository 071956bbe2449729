"""The event loop a live scan runs on: uvloop's where it is installed, else asyncio's own.

A live scan is bound by the scanner's CPU per request, and much of that is the event loop and
TLS record handling. uvloop (libuv, with its TLS layer in Cython) does the same work in a
fraction of the CPU of asyncio's pure-Python selector loop and ``sslproto``; the scan's code and
its results are the same on either loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor, or None (asyncio's default) where uvloop is not installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the fastest loop available."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coroutine)
