"""Fault injection and service-like rate limiting for the fake, described as plain data.

Every request gets a *route string* ``"<METHOD> <target><path>"`` where target is the vault or HSM
name for the data plane (``GET kv-prod-apps/keys``), ``arm`` for ARM, Resource Graph and Log
Analytics (``POST arm/providers/Microsoft.ResourceGraph/resources``) and ``identity`` for the token
endpoint.  Fault patterns are regular expressions searched in that string, so a test can aim a
fault at one vault, one operation or everything.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Throttle:
    """Answer 429 to the first ``count`` matching requests; ``retry_after=None`` omits the header."""

    pattern: str
    count: int = 1
    retry_after: float | None = 1


@dataclass
class ServerError:
    """Answer ``status`` (500 or 503 usually) to the first ``count`` matching requests."""

    pattern: str
    count: int = 1
    status: int = 503


@dataclass
class Delay:
    """Sleep ``seconds`` before answering matching requests (``count=None``: every one).

    A delay longer than the client's read timeout is a hang from the client's point of view.
    """

    pattern: str
    seconds: float
    count: int | None = None


@dataclass
class RateLimit:
    """At most ``requests`` per sliding ``window`` seconds, then 429 with Retry-After."""

    requests: int
    window: float


@dataclass
class Faults:
    """All faults of one fake; every field is optional data.

    - ``forbidden``: vault/HSM names whose data plane answers 403 Forbidden (ForbiddenByRbac).
    - ``vanish``: ARM ids (listed, then 404 on GET of the id or anything under it) and
      ``"<vault>/keys/<key>"`` (listed by ``GET /keys``, then 404 KeyNotFound on every key call).
    - ``truncate``: route patterns of list calls whose first page links to a next page that
      always fails with ``truncate_status``.
    - ``vault_rate``/``arm_rate``/``graph_rate``: service throttling per data-plane host, per
      subscription for ARM reads, and per caller for Resource Graph; ``None`` disables one.
    - ``vault_subscription_rate``: Key Vault's subscription-wide data-plane limit (the service
      allows five times the per-vault limit across all vaults of a subscription); off by default.
    """

    throttle: list[Throttle] = field(default_factory=list)
    errors: list[ServerError] = field(default_factory=list)
    delays: list[Delay] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    vanish: list[str] = field(default_factory=list)
    truncate: list[str] = field(default_factory=list)
    truncate_status: int = 500
    vault_rate: RateLimit | None = field(default_factory=lambda: RateLimit(4000, 10.0))
    arm_rate: RateLimit | None = field(default_factory=lambda: RateLimit(12000, 3600.0))
    graph_rate: RateLimit | None = field(default_factory=lambda: RateLimit(15, 5.0))
    vault_subscription_rate: RateLimit | None = None


class SlidingWindow:
    """Per-key sliding-window counters (thread-safe: tests may read them from another thread)."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> tuple[bool, int, float]:
        """Count one request for ``key``: (allowed, remaining, seconds until a slot frees)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.limit.window:
                hits.popleft()
            if len(hits) >= self.limit.requests:
                return False, 0, hits[0] + self.limit.window - now
            hits.append(now)
            return True, self.limit.requests - len(hits), 0.0


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1, as Key Vault and ARM send them."""
    return str(max(1, math.ceil(seconds)))


class FaultState:
    """The mutable side of ``Faults``: how many times each counted fault has fired."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._fired: dict[int, int] = {}
        self._compiled: dict[str, re.Pattern[str]] = {}
        self.vault_limiter = SlidingWindow(faults.vault_rate) if faults.vault_rate else None
        self.arm_limiter = SlidingWindow(faults.arm_rate) if faults.arm_rate else None
        self.graph_limiter = SlidingWindow(faults.graph_rate) if faults.graph_rate else None
        self.vault_subscription_limiter = (
            SlidingWindow(faults.vault_subscription_rate) if faults.vault_subscription_rate else None
        )
        self.vanished = {v.lower().rstrip("/") for v in faults.vanish}
        self.forbidden = {v.lower() for v in faults.forbidden}

    def matches(self, pattern: str, route: str) -> bool:
        compiled = self._compiled.get(pattern)
        if compiled is None:
            compiled = self._compiled[pattern] = re.compile(pattern)
        return compiled.search(route) is not None

    def take(self, fault: Throttle | ServerError | Delay, route: str) -> bool:
        """True if ``fault`` applies to this request, consuming one of its ``count``."""
        if not self.matches(fault.pattern, route):
            return False
        if fault.count is None:
            return True
        with self._lock:
            used = self._fired.get(id(fault), 0)
            if used >= fault.count:
                return False
            self._fired[id(fault)] = used + 1
            return True

    def delay_for(self, route: str) -> float:
        return sum(d.seconds for d in self.faults.delays if self.take(d, route))

    def throttle_for(self, route: str) -> Throttle | None:
        return next((t for t in self.faults.throttle if self.take(t, route)), None)

    def error_for(self, route: str) -> ServerError | None:
        return next((e for e in self.faults.errors if self.take(e, route)), None)

    def truncates(self, route: str) -> bool:
        return any(self.matches(p, route) for p in self.faults.truncate)

    def is_vanished_arm(self, path: str) -> bool:
        """True if ``path`` is a vanished ARM id or lies under one."""
        path = path.lower().rstrip("/")
        return any(path == v or path.startswith(v + "/") for v in self.vanished if v.startswith("/"))
