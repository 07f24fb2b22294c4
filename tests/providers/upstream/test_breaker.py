"""The circuit breaker: closed → open → half-open (one probe) → closed or open again."""

from __future__ import annotations

import pytest

from mediagate.providers.upstream.breaker import BreakerOpen, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.record(breaker.acquire(), False)


def test_opens_after_threshold_consecutive_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker("tiny", threshold=3, cooldown_s=30, clock=clock)
    _fail(breaker, 2)
    assert breaker.state == "closed"
    _fail(breaker, 1)
    assert breaker.state == "open"
    with pytest.raises(BreakerOpen) as caught:
        breaker.acquire()
    assert caught.value.code == "upstream_unavailable"
    assert caught.value.details["retry_after_s"] == 30.0
    clock.now = 12.0
    with pytest.raises(BreakerOpen) as caught:
        breaker.check()
    assert caught.value.retry_after_s == pytest.approx(18.0)


def test_a_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker("tiny", threshold=3, cooldown_s=30, clock=Clock())
    _fail(breaker, 2)
    breaker.record(breaker.acquire(), True)
    _fail(breaker, 2)
    assert breaker.state == "closed"


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker("tiny", threshold=1, cooldown_s=10, clock=clock)
    _fail(breaker, 1)
    clock.now = 10.0
    assert breaker.state == "half_open"
    probe = breaker.acquire()
    assert probe.probe
    with pytest.raises(BreakerOpen):
        breaker.acquire()  # the others fail fast while the probe runs
    breaker.record(probe, True)
    assert breaker.state == "closed"
    breaker.record(breaker.acquire(), True)


def test_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker("tiny", threshold=2, cooldown_s=10, clock=clock)
    _fail(breaker, 2)
    clock.now = 10.0
    breaker.record(breaker.acquire(), False)
    assert breaker.state == "open"
    clock.now = 19.0
    with pytest.raises(BreakerOpen):
        breaker.acquire()
    clock.now = 20.0
    assert breaker.acquire().probe


def test_probe_without_verdict_hands_the_probe_on() -> None:
    clock = Clock()
    breaker = CircuitBreaker("tiny", threshold=1, cooldown_s=5, clock=clock)
    _fail(breaker, 1)
    clock.now = 5.0
    probe = breaker.acquire()
    breaker.record(probe, None)  # e.g. the caller was cancelled
    assert breaker.acquire().probe


def test_recording_twice_counts_once() -> None:
    breaker = CircuitBreaker("tiny", threshold=2, cooldown_s=5, clock=Clock())
    ticket = breaker.acquire()
    breaker.record(ticket, False)
    breaker.record(ticket, False)
    assert breaker.state == "closed"
