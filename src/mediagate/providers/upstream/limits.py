"""Client-side limits per API key: stay inside the provider's published limits by queueing.

Two limits, both FIFO and never failing a caller:

* **In-flight slots** (``max_in_flight``): a generation holds one from just before its submit
  until it ends, or until ``slot_release_s`` (GateAI stops counting a job after 10 min).
  Generations found already running upstream after a restart *claim* a slot without waiting —
  the upstream counts them whatever we do — so new submits wait for them too.
* **A sliding window of requests** (``window_requests`` per ``window_s``): a log of send
  times; a caller waits until the oldest leaves the window. ``margin_s`` is added to the window
  because the upstream timestamps arrivals, not our sends, and two requests' latencies differ.
  Polls join the window only when ``polls_count_in_window`` says the provider counts them.

A ``429`` on a submit pauses that key's submits for the ``Retry-After``; a ``429`` on a poll
pauses its polls and raises a slowdown factor applied to every poll interval of the key,
which decays back to 1 on successful polls — a rate-limited poll slows polling down instead
of failing anyone's job.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Literal

from mediagate.providers.upstream.adapter import UpstreamLimits

RequestKind = Literal["generate", "poll"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: How much a poll 429 multiplies, and a successful poll divides, the slowdown factor.
_SLOWDOWN_STEP = 2.0
_SLOWDOWN_DECAY = 0.75


class Slot:
    """One held in-flight slot; :meth:`release` is idempotent."""

    __slots__ = ("_limiter", "_released", "_timer")

    def __init__(self, limiter: KeyLimiter | None) -> None:
        self._limiter = limiter
        self._released = limiter is None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def released(self) -> bool:
        """Whether the slot is back in the pool."""
        return self._released

    def release(self) -> None:
        """Give the slot back (the next waiter, in FIFO order, gets it)."""
        if self._released:
            return
        self._released = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        assert self._limiter is not None
        self._limiter._give_back()


class KeyLimiter:
    """The limits of one API key (see module docstring). One per provider key, process-wide."""

    def __init__(
        self,
        limits: UpstreamLimits,
        *,
        margin_s: float = 0.5,
        max_slowdown: float = 8.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limits.max_in_flight is not None and limits.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1 (or None)")
        if limits.window_requests is not None and limits.window_requests < 1:
            raise ValueError("window_requests must be at least 1 (or None)")
        self.limits = limits
        self.margin_s = max(0.0, margin_s)
        self.max_slowdown = max(1.0, max_slowdown)
        self._clock = clock
        self._sleep = sleep
        self._held = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._stamps: deque[float] = deque()
        # One lock orders every window request: asyncio.Lock wakes waiters first-in first-out,
        # and the holder sleeps *inside* it, so nobody overtakes a caller that is waiting.
        self._window_lock = asyncio.Lock()
        self._paused_until: dict[RequestKind, float] = {"generate": 0.0, "poll": 0.0}
        self._slowdown = 1.0

    # --- in-flight slots --------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Slots held right now (may exceed the limit after claims of resumed jobs)."""
        return self._held

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return sum(1 for f in self._slot_waiters if not f.done())

    def would_wait(self) -> bool:
        """Whether :meth:`acquire_slot` would queue right now."""
        cap = self.limits.max_in_flight
        return cap is not None and (self._held >= cap or self.waiting > 0)

    async def acquire_slot(self) -> Slot:
        """Wait (FIFO) for an in-flight slot."""
        cap = self.limits.max_in_flight
        if cap is None:
            return Slot(None)
        if self._held < cap and not self.waiting:
            self._held += 1
            return self._armed(Slot(self))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Handed a slot in the same tick we were cancelled: pass it on.
                self._give_back()
            else:
                future.cancel()
            raise
        return self._armed(Slot(self))

    def claim_slot(self) -> Slot:
        """Take a slot without waiting, even past the limit (a job already upstream)."""
        if self.limits.max_in_flight is None:
            return Slot(None)
        self._held += 1
        return self._armed(Slot(self))

    def _armed(self, slot: Slot) -> Slot:
        release_s = self.limits.slot_release_s
        if release_s is not None:
            slot._timer = asyncio.get_running_loop().call_later(release_s, slot.release)
        return slot

    def _give_back(self) -> None:
        self._held -= 1
        cap = self.limits.max_in_flight
        while self._slot_waiters and cap is not None and self._held < cap:
            future = self._slot_waiters.popleft()
            if not future.done():
                self._held += 1
                future.set_result(None)

    # --- request window ---------------------------------------------------------------------

    def counts(self, kind: RequestKind) -> bool:
        """Whether requests of ``kind`` are entered in the sliding window."""
        return kind == "generate" or self.limits.polls_count_in_window

    async def acquire_request(self, kind: RequestKind) -> None:
        """Wait until one request of ``kind`` may be sent now, and log it in the window."""
        if not self.counts(kind):
            await self._wait_pause(kind)
            return
        async with self._window_lock:
            await self._wait_pause(kind)
            limit = self.limits.window_requests
            if limit is None:
                return
            span = self.limits.window_s + self.margin_s
            while True:
                now = self._clock()
                while self._stamps and self._stamps[0] <= now - span:
                    self._stamps.popleft()
                if len(self._stamps) < limit:
                    self._stamps.append(now)
                    return
                await self._sleep(self._stamps[0] + span - now)

    async def _wait_pause(self, kind: RequestKind) -> None:
        # Re-read after every sleep: another 429 may have extended the pause meanwhile.
        while (remaining := self._paused_until[kind] - self._clock()) > 0:
            await self._sleep(remaining)

    def pause(self, kind: RequestKind, seconds: float) -> None:
        """No request of ``kind`` before ``seconds`` from now (after a 429)."""
        until = self._clock() + max(0.0, seconds)
        self._paused_until[kind] = max(self._paused_until[kind], until)

    def paused_for(self, kind: RequestKind) -> float:
        """Seconds left of a pause on ``kind`` (0 when none)."""
        return max(0.0, self._paused_until[kind] - self._clock())

    # --- polling ----------------------------------------------------------------------------

    @property
    def slowdown(self) -> float:
        """The factor every poll interval of this key is multiplied by (≥ 1)."""
        return self._slowdown

    def poll_interval(self, base_s: float) -> float:
        """A poll interval adjusted by the key's slowdown."""
        return base_s * self._slowdown

    def poll_rate_limited(self, retry_after_s: float | None, fallback_s: float) -> None:
        """A poll got a 429: slow this key's polling and pause its polls for a while."""
        self._slowdown = min(self.max_slowdown, self._slowdown * _SLOWDOWN_STEP)
        wait = retry_after_s if retry_after_s is not None else fallback_s * self._slowdown
        self.pause("poll", wait)

    def poll_succeeded(self) -> None:
        """A poll was answered: let the slowdown decay toward 1."""
        self._slowdown = max(1.0, self._slowdown * _SLOWDOWN_DECAY)
