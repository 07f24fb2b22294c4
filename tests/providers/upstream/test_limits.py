"""The per-key limiter: FIFO queueing for in-flight slots and the sliding request window."""

from __future__ import annotations

import asyncio
import time

import pytest

from mediagate.providers.upstream.adapter import UpstreamLimits
from mediagate.providers.upstream.limits import KeyLimiter

from .helpers import FakeTime


async def test_window_never_exceeds_its_limit_under_50_concurrent_callers() -> None:
    clock = FakeTime()
    limiter = KeyLimiter(
        UpstreamLimits(window_requests=5, window_s=30.0),
        margin_s=0.5,
        clock=clock.clock,
        sleep=clock.sleep,
    )
    sent: list[tuple[int, float]] = []

    async def caller(i: int) -> None:
        await limiter.acquire_request("generate")
        sent.append((i, clock.now))

    await asyncio.gather(*(caller(i) for i in range(50)))
    assert len(sent) == 50
    # First come, first served: nobody overtakes a caller that queued earlier.
    assert [i for i, _ in sent] == list(range(50))
    times = [t for _, t in sent]
    for a, b in zip(times, times[5:], strict=False):
        assert b - a >= 30.5  # the 6th request is a full window (+ margin) after the 1st
    # ...and no slower than needed: 10 windows for 50 requests.
    assert times[-1] - times[0] == pytest.approx(9 * 30.5)


async def test_polls_join_the_window_only_when_the_provider_counts_them() -> None:
    clock = FakeTime()
    free = KeyLimiter(
        UpstreamLimits(window_requests=1, window_s=10.0), clock=clock.clock, sleep=clock.sleep
    )
    await free.acquire_request("generate")
    for _ in range(20):
        await free.acquire_request("poll")
    assert clock.now == 1000.0  # polls never waited

    counted = KeyLimiter(
        UpstreamLimits(window_requests=1, window_s=10.0, polls_count_in_window=True),
        margin_s=0.0,
        clock=clock.clock,
        sleep=clock.sleep,
    )
    await counted.acquire_request("generate")
    await counted.acquire_request("poll")
    assert clock.now == pytest.approx(1010.0)


async def test_in_flight_slots_queue_fifo_and_never_exceed_the_limit() -> None:
    limiter = KeyLimiter(UpstreamLimits(max_in_flight=5))
    active = 0
    peak = 0
    order: list[int] = []

    async def job(i: int) -> None:
        nonlocal active, peak
        slot = await limiter.acquire_slot()
        order.append(i)
        active += 1
        peak = max(peak, active)
        for _ in range(3):
            await asyncio.sleep(0)
        active -= 1
        slot.release()

    await asyncio.wait_for(asyncio.gather(*(job(i) for i in range(50))), 10)
    assert peak == 5
    assert order == list(range(50))
    assert limiter.in_flight == 0


async def test_a_cancelled_waiter_does_not_leak_a_slot() -> None:
    limiter = KeyLimiter(UpstreamLimits(max_in_flight=1))
    held = await limiter.acquire_slot()
    waiter = asyncio.create_task(limiter.acquire_slot())
    await asyncio.sleep(0)
    assert limiter.waiting == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    held.release()
    again = await asyncio.wait_for(limiter.acquire_slot(), 1)
    assert limiter.in_flight == 1
    again.release()
    again.release()  # idempotent
    assert limiter.in_flight == 0


async def test_claimed_slots_count_against_new_submits() -> None:
    limiter = KeyLimiter(UpstreamLimits(max_in_flight=1))
    resumed = [limiter.claim_slot(), limiter.claim_slot()]  # already upstream: over the limit
    assert limiter.in_flight == 2 and limiter.would_wait()
    waiter = asyncio.create_task(limiter.acquire_slot())
    await asyncio.sleep(0)
    resumed[0].release()
    await asyncio.sleep(0)
    assert not waiter.done()  # still 1 in flight = the limit
    resumed[1].release()
    slot = await asyncio.wait_for(waiter, 1)
    slot.release()


async def test_slots_release_themselves_after_slot_release_s() -> None:
    limiter = KeyLimiter(UpstreamLimits(max_in_flight=1, slot_release_s=0.05))
    slot = await limiter.acquire_slot()
    deadline = time.monotonic() + 5
    while not slot.released and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert slot.released and limiter.in_flight == 0


async def test_a_pause_holds_back_that_kind_only() -> None:
    clock = FakeTime()
    limiter = KeyLimiter(UpstreamLimits(), clock=clock.clock, sleep=clock.sleep)
    limiter.pause("generate", 12.0)
    await limiter.acquire_request("poll")
    assert clock.now == 1000.0
    await limiter.acquire_request("generate")
    assert clock.now == pytest.approx(1012.0)


async def test_poll_429_slows_polling_and_success_decays_it() -> None:
    clock = FakeTime()
    limiter = KeyLimiter(UpstreamLimits(), max_slowdown=4.0, clock=clock.clock, sleep=clock.sleep)
    assert limiter.poll_interval(2.0) == 2.0
    limiter.poll_rate_limited(5.0, 2.0)
    assert limiter.poll_interval(2.0) == 4.0
    assert limiter.paused_for("poll") == pytest.approx(5.0)
    for _ in range(5):
        limiter.poll_rate_limited(None, 2.0)
    assert limiter.slowdown == 4.0  # capped
    for _ in range(20):
        limiter.poll_succeeded()
    assert limiter.slowdown == 1.0
