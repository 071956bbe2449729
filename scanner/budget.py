"""One evaluation budget per scan, so that no input can make a scan hang or exhaust memory.

IaC languages multiply: a ``copy`` inside a nested deployment inside a ``copy``, a variable that
doubles itself, ``count`` times module depth, ``range(1e7)``, ``format("%999999999s")``. Each
evaluator charges what it builds here (loop iterations, expanded resources, module calls,
string and array sizes, expression depth), and the budget also bounds evaluation time and
memory. Past any limit :class:`BudgetExceeded` is raised; the source loader turns it into one
line for the file being loaded, whose declarations are then unknown (never PASS, never absent).

The limits are far above what real templates need (ARM's own limits are 800 resources per
copy and 4 MB per template) and are set per loading unit: a batch of N files gets N times the
counts. ``KVAUDIT_EVAL_SECONDS`` and ``KVAUDIT_EVAL_MEMORY_MB`` override the time and memory
bounds for unusually large repositories.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import FrameType


class BudgetExceeded(Exception):
    """Evaluation passed a limit; the message says which, fit for one line."""


@dataclass(frozen=True)
class Limits:
    """What one loading unit (a file, a Terraform root module) may spend."""

    iterations: int = 200_000  # loop iterations of every kind (copy, for, count, for_each)
    resources: int = 20_000  # expanded resource declarations
    module_calls: int = 1_000  # module instantiations, each of which re-reads a module
    string_chars: int = 1_000_000  # the longest string an expression may build
    array_items: int = 100_000  # the longest array or object an expression may build
    expression_depth: int = 200  # nested function calls / sub-expressions
    seconds: float = 10.0  # evaluation time
    memory_bytes: int = 1024 * 1024 * 1024  # extra address space while loading

    def scaled(self, units: int) -> Limits:
        """Counts and time for ``units`` files loaded together (sizes and depth stay)."""
        units = max(1, units)
        return replace(
            self,
            iterations=self.iterations * units,
            resources=self.resources * units,
            module_calls=self.module_calls * units,
            seconds=self.seconds * min(units, 6),
        )


def default_limits() -> Limits:
    limits = Limits()
    seconds = os.environ.get("KVAUDIT_EVAL_SECONDS")
    memory = os.environ.get("KVAUDIT_EVAL_MEMORY_MB")
    if seconds and seconds.replace(".", "", 1).isdigit():
        limits = replace(limits, seconds=float(seconds))
    if memory and memory.isdigit():
        limits = replace(limits, memory_bytes=int(memory) * 1024 * 1024)
    return limits


@dataclass
class Budget:
    """Counters against :class:`Limits`, and the deadline."""

    limits: Limits = field(default_factory=Limits)
    deadline: float = float("inf")
    spent: dict[str, int] = field(default_factory=dict)
    depth: int = 0

    def charge(self, counter: str, amount: int = 1) -> None:
        """Spend ``amount`` of ``counter`` (iterations, resources, module_calls)."""
        total = self.spent.get(counter, 0) + amount
        self.spent[counter] = total
        if total > getattr(self.limits, counter):
            raise BudgetExceeded(f"evaluation budget exceeded: more than {getattr(self.limits, counter)} {counter}")
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"evaluation budget exceeded: more than {self.limits.seconds:g} s")

    def tick(self) -> None:
        """A check of the deadline only (called from hot evaluation paths)."""
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"evaluation budget exceeded: more than {self.limits.seconds:g} s")


_state = threading.local()
_UNBOUNDED = Budget()


def current() -> Budget:
    """The budget of the unit being loaded (an unbounded one outside a scan, e.g. in tests)."""
    return getattr(_state, "budget", _UNBOUNDED)


def charge(counter: str, amount: int = 1) -> None:
    current().charge(counter, amount)


def tick() -> None:
    current().tick()


def check_size(value: object) -> object:
    """``value`` unchanged if its size is within the string/array limits, else BudgetExceeded."""
    limits = current().limits
    if isinstance(value, str):
        if len(value) > limits.string_chars:
            raise BudgetExceeded(f"evaluation budget exceeded: a string longer than {limits.string_chars} characters")
    elif isinstance(value, list | dict | tuple | set):
        if len(value) > limits.array_items:
            raise BudgetExceeded(f"evaluation budget exceeded: a collection of more than {limits.array_items} items")
    return value


def check_length(length: int, what: str = "string") -> None:
    """Refuse to *build* a ``string`` or an ``array`` of ``length`` (before the allocation)."""
    limits = current().limits
    bound = limits.string_chars if what == "string" else limits.array_items
    what = "a string" if what == "string" else "an array"
    if length > bound:
        raise BudgetExceeded(f"evaluation budget exceeded: {what} of more than {bound} items")


@contextmanager
def nested() -> Iterator[None]:
    """One level of expression nesting."""
    budget = current()
    budget.depth += 1
    try:
        if budget.depth > budget.limits.expression_depth:
            raise BudgetExceeded(
                f"evaluation budget exceeded: expressions nested deeper than {budget.limits.expression_depth}"
            )
        yield
    finally:
        budget.depth -= 1


def _address_space() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@contextmanager
def _memory_bound(extra: int) -> Iterator[None]:
    """Lower the soft address-space limit to now + ``extra`` so that a blow-up is a
    MemoryError (which the loader isolates) instead of the machine swapping or the OOM killer."""
    used = _address_space()
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ValueError, OSError):
        yield
        return
    if not used:
        yield
        return
    target = used + extra
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if soft != resource.RLIM_INFINITY and soft <= target:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (target, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise BudgetExceeded("evaluation budget exceeded: the time limit passed")


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """A wall-clock backstop for loops that charge nothing (e.g. inside a parser)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    # Repeating after the first expiry: code that catches the first interruption (a parser's
    # catch-all) and goes on to hang elsewhere is interrupted again.
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def scope(units: int = 1, limits: Limits | None = None) -> Iterator[Budget]:
    """Run the loading of ``units`` files under a fresh budget with time and memory bounds."""
    bounded = (limits or default_limits()).scaled(units)
    budget = Budget(bounded, deadline=time.monotonic() + bounded.seconds)
    saved = getattr(_state, "budget", None)
    _state.budget = budget
    try:
        # The alarm fires a little after the deadline: cooperative checks come first and name
        # the limit; the alarm is for code that does not check.
        with _memory_bound(bounded.memory_bytes), _alarm(bounded.seconds * 1.5 + 1):
            yield budget
    finally:
        if saved is None:
            del _state.budget
        else:
            _state.budget = saved


__all__ = [
    "Budget",
    "BudgetExceeded",
    "Limits",
    "charge",
    "check_length",
    "check_size",
    "current",
    "nested",
    "scope",
    "tick",
]
