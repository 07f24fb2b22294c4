"""Per-key request limits: a sliding window of admissions, and ``Retry-After`` arithmetic."""

from __future__ import annotations

import math
from collections import deque


def retry_after_seconds(wait_s: float) -> int:
    """Whole seconds to announce for a wait of ``wait_s``: rounded up, at least 1."""
    return max(1, math.ceil(wait_s - 1e-9))


class SlidingWindow:
    """At most ``max_events`` admissions per key in any ``window_s`` seconds (None: no limit)."""

    def __init__(self, max_events: int | None, window_s: float) -> None:
        self.max_events = max_events
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window_s:
            events.popleft()
        return events

    def wait_s(self, key: str, now: float) -> float | None:
        """Seconds until the window has room for ``key``, or None when it has room now."""
        if self.max_events is None:
            return None
        events = self._prune(key, now)
        if len(events) < self.max_events:
            return None
        return events[len(events) - self.max_events] + self.window_s - now

    def add(self, key: str, now: float) -> None:
        self._prune(key, now).append(now)

    def count(self, key: str, now: float) -> int:
        return len(self._prune(key, now))
