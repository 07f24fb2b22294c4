"""A circuit breaker per provider: stop hammering an upstream that is down.

``closed`` (normal) → ``open`` after ``threshold`` consecutive failures (transport faults and
5xx answers; a 4xx or 429 proves the upstream is up). While open, calls fail at once with
``upstream_unavailable`` and ``retry_after_s`` instead of each waiting out its own timeouts.
After ``cooldown_s`` the breaker is ``half_open``: exactly one call goes through as a probe;
its success closes the breaker, its failure opens it for another cooldown. A probe that ends
without a verdict (cancelled) hands the probe to the next caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mediagate.errors import MediagateError
from mediagate.providers.upstream.errors import breaker_open

BreakerState = Literal["closed", "open", "half_open"]


class BreakerOpen(MediagateError):
    """``upstream_unavailable`` raised instead of a call while the breaker is open."""

    __slots__ = ("retry_after_s",)

    def __init__(self, provider: str, retry_after_s: float) -> None:
        err = breaker_open(provider, retry_after_s)
        super().__init__(err.code, err.message, **err.details)
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class Ticket:
    """Permission for one call; report its outcome with :meth:`CircuitBreaker.record`."""

    probe: bool
    settled: bool = False


class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe (see module docstring)."""

    def __init__(
        self,
        provider: str,
        *,
        threshold: int = 5,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if cooldown_s < 0:
            raise ValueError("cooldown_s must not be negative")
        self.provider = provider
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker whose cooldown ended reads ``half_open``)."""
        if self._opened_at is None:
            return "closed"
        if self._probing or self._clock() - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def retry_after(self) -> float:
        """Seconds until a call may go through (0 when one may go now)."""
        if self._opened_at is None:
            return 0.0
        remaining = self._opened_at + self.cooldown_s - self._clock()
        if self._probing:
            # Someone is probing: the answer is due within one call; ask for a short wait.
            return max(remaining, min(1.0, self.cooldown_s) if self.cooldown_s else 0.0)
        return max(0.0, remaining)

    def check(self) -> None:
        """Raise :class:`BreakerOpen` if a call now would be refused (takes no probe)."""
        if self.state == "open" or (self._opened_at is not None and self._probing):
            raise BreakerOpen(self.provider, self.retry_after())

    def acquire(self) -> Ticket:
        """Permission for one call, or :class:`BreakerOpen`.

        In ``half_open`` the first caller becomes the probe; the others are refused until
        the probe's outcome is recorded.
        """
        if self._opened_at is None:
            return Ticket(probe=False)
        if self._probing or self._clock() - self._opened_at < self.cooldown_s:
            raise BreakerOpen(self.provider, self.retry_after())
        self._probing = True
        return Ticket(probe=True)

    def record(self, ticket: Ticket, ok: bool | None) -> None:
        """Report a call's outcome: ``True`` success, ``False`` failure, ``None`` no verdict.

        Recording a ticket twice is a no-op, so callers can record in a ``finally``.
        """
        if ticket.settled:
            return
        ticket.settled = True
        if ticket.probe:
            self._probing = False
        if ok is None:
            return
        if ok:
            self._failures = 0
            self._opened_at = None
            return
        self._failures += 1
        if ticket.probe or (self._opened_at is None and self._failures >= self.threshold):
            self._opened_at = self._clock()
