"""Pacing: per-vault and per-subscription rate limits, a cap on requests in flight, and retries.

A nightly scan shares every vault's request budget with production applications, so it must
never be the reason an application gets throttled. Limits are enforced inside each client's
HTTP pipeline, *after* the retry policy, so retries and the Key Vault authentication challenge
count against the same budget as first attempts; a data-plane read sent outside the pipeline
(:mod:`scanner.azure.dataplane`) takes its slot through :meth:`Pacer.paced` the same way.

The limiter is a sliding one-second window per key (a vault host, or a subscription on ARM):
at most ``rate`` requests reach the service in any one-second interval, whatever the network
does to their timing (see :class:`SlidingWindowLimiter`). That is stricter than a token bucket
with a burst, which can let through twice the rate across a window boundary.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy, AsyncRetryPolicy

#: Status codes worth retrying: throttling, timeouts and transient server errors.
RETRY_STATUS = (408, 429, 500, 502, 503, 504)

T = TypeVar("T")


class SlidingWindowLimiter:
    """At most ``rate * window`` requests *received by the service* in any window of that length.

    The client cannot see when the service receives a request, only that it happens between the
    request's start and its response. So a request counts against the window from its start
    until ``window`` seconds after its response: a new request may start only while fewer than
    the capacity are in flight or finished less than ``window`` ago. Then however the network
    delays or bunches requests, no window at the service holds more than the capacity; counting
    start times only would not survive a slow TLS handshake followed by a fast one.

    Waiters queue in FIFO order and are woken one by one, either when a slot ages out of the
    window (one timer for the oldest finished request) or at once when capacity is free. Waking
    every waiter on every change would cost O(waiters) per request: a vault scan queues hundreds
    of key-version reads behind one limiter, which made the wake-ups the scan's main CPU cost.
    """

    def __init__(self, rate: float, window: float = 1.0) -> None:
        self.capacity = max(1, int(rate * window))
        self.window = window
        self._in_flight = 0
        self._finished: deque[float] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def _prune(self, now: float) -> None:
        while self._finished and now - self._finished[0] >= self.window:
            self._finished.popleft()

    def _free(self) -> bool:
        return self._in_flight + len(self._finished) < self.capacity

    async def acquire(self) -> None:
        self._prune(time.monotonic())
        if not self._waiters and self._free():
            self._in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._grant()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1  # granted, then cancelled before it could run: give it back
                self._grant()
            raise

    async def release(self) -> None:
        self._in_flight -= 1
        self._finished.append(time.monotonic())
        self._grant()

    def _grant(self) -> None:
        """Hand free slots to the oldest waiters; arm a timer for when the next slot ages out."""
        self._prune(time.monotonic())
        while self._waiters and self._free():
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)
        while self._waiters and self._waiters[0].done():  # cancelled while queued
            self._waiters.popleft()
        if self._waiters and self._finished and self._timer is None:
            loop = asyncio.get_running_loop()
            delay = self._finished[0] + self.window - time.monotonic()
            self._timer = loop.call_later(max(0.0, delay), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._grant()


class Pacer:
    """Shared pacing state for every client of one scan.

    ``arm_hosts`` are the netlocs of ARM, Resource Graph and Log Analytics: requests to them are
    limited per subscription (parsed from the path) or, when the path names none, by a shared
    "tenant" key at the subscription rate. Any other host is a vault or HSM data plane, limited
    per host:port.
    """

    def __init__(self, vault_rps: float, subscription_rps: float, max_in_flight: int, arm_hosts: set[str]):
        self.vault_rps = vault_rps
        self.subscription_rps = subscription_rps
        self.arm_hosts = {h.lower() for h in arm_hosts}
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self.requests = 0

    def key_for(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.netloc.lower()
        if host not in self.arm_hosts:
            return "vault:" + host
        segments = [s for s in parts.path.lower().split("/") if s]
        if len(segments) >= 2 and segments[0] == "subscriptions":
            return "subscription:" + segments[1]
        return "tenant:" + host

    def _limiter(self, key: str) -> SlidingWindowLimiter:
        limiter = self._limiters.get(key)
        if limiter is None:
            rate = self.vault_rps if key.startswith("vault:") else self.subscription_rps
            limiter = self._limiters[key] = SlidingWindowLimiter(rate)
        return limiter

    async def paced(self, key: str, send: Callable[[], Awaitable[T]]) -> T:
        """``send()`` once a slot is free under ``key``'s limit and the in-flight cap."""
        limiter = self._limiter(key)
        await limiter.acquire()
        try:
            async with self._in_flight:
                self.requests += 1
                return await send()
        finally:
            await limiter.release()

    async def send(self, policy: AsyncHTTPPolicy, request: PipelineRequest) -> PipelineResponse:
        return await self.paced(self.key_for(request.http_request.url), lambda: policy.next.send(request))


class PacingPolicy(AsyncHTTPPolicy):
    """Pipeline policy that sends each attempt through the shared :class:`Pacer`.

    A policy instance belongs to one pipeline (azure-core links it to the next policy), so
    every client gets its own instance around the one shared pacer.
    """

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self._pacer = pacer

    async def send(self, request: PipelineRequest) -> PipelineResponse:
        return await self._pacer.send(self, request)


class ReadOnlyRetryPolicy(AsyncRetryPolicy):
    """azure-core's retry policy, extended to the read-only POST query endpoints.

    azure-core never retries a POST on 429 because a POST might not be idempotent; the Resource
    Graph and Log Analytics queries are reads, so throttling on them is retried like a GET.
    Retry-After is honoured by the base class.
    """

    def _is_method_retryable(self, settings: dict[str, Any], request: Any, response: Any = None) -> bool:
        if response is not None and request.method.upper() == "POST" and response.status_code in RETRY_STATUS:
            return True
        return super()._is_method_retryable(settings, request, response=response)


def retry_policy(total: int, backoff: float, backoff_max: float) -> ReadOnlyRetryPolicy:
    """A retry policy whose status, connect and read budgets all equal ``total``.

    The default status budget of 3 would stop inside Key Vault's 10-second throttling window.
    """
    return ReadOnlyRetryPolicy(
        retry_total=total,
        retry_status=total,
        retry_connect=total,
        retry_read=total,
        retry_backoff_factor=backoff,
        retry_backoff_max=backoff_max,
        retry_on_status_codes=list(RETRY_STATUS),
    )
