"""Backoff bounds, Retry-After parsing and the sent/not-sent classification of failures."""

from __future__ import annotations

import email.utils
import random

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagate.providers.upstream.retry import (
    RetryPolicy,
    delivery_of,
    is_transient_status,
    parse_retry_after,
    retry_after_from,
)

NOW = 1_750_000_000.0


def test_retry_after_delta_seconds() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("1.5") == 1.5


def test_retry_after_http_date_is_relative_to_now() -> None:
    header = email.utils.formatdate(NOW + 90, usegmt=True)
    assert parse_retry_after(header, now=NOW) == pytest.approx(90.0)


def test_retry_after_date_in_the_past_means_now() -> None:
    header = email.utils.formatdate(NOW - 500, usegmt=True)
    assert parse_retry_after(header, now=NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-3", "nan", "inf", "Wed, 99 Foo 2015"])
def test_garbled_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_ms_header_wins() -> None:
    headers = httpx2.Headers({"retry-after-ms": "2500", "retry-after": "9"})
    assert retry_after_from(headers) == 2.5
    assert retry_after_from(httpx2.Headers({"retry-after": "9"})) == 9.0
    assert retry_after_from(httpx2.Headers({})) is None


@given(attempt=st.integers(min_value=1, max_value=10_000), seed=st.integers(0, 2**32))
def test_backoff_stays_between_zero_and_the_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=20.0, rng=random.Random(seed))
    delay = policy.backoff(attempt)
    assert 0.0 <= delay <= policy.ceiling(attempt) <= 20.0


def test_backoff_ceiling_doubles_until_capped() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=10.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_is_jittered() -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=60.0, rng=random.Random(3))
    draws = {round(policy.backoff(5), 6) for _ in range(20)}
    assert len(draws) > 10  # full jitter: not one fixed delay


def test_retry_after_overrides_backoff_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_s=100.0, cap_s=100.0, rng=random.Random(1))
    for _ in range(50):
        assert 7.0 <= policy.delay(1, 7.0) <= 7.7


def test_refused_connect_is_provably_not_sent() -> None:
    request = httpx2.Request("POST", "https://x.test/")
    assert delivery_of(httpx2.ConnectError("refused", request=request)) == "not_sent"
    assert delivery_of(httpx2.ConnectTimeout("slow", request=request)) == "not_sent"
    assert delivery_of(httpx2.PoolTimeout("busy", request=request)) == "not_sent"


def test_failures_after_writing_are_ambiguous() -> None:
    request = httpx2.Request("POST", "https://x.test/")
    for exc in (
        httpx2.ReadTimeout("t", request=request),
        httpx2.ReadError("reset", request=request),
        httpx2.WriteError("broken pipe", request=request),
        httpx2.RemoteProtocolError("closed", request=request),
        TimeoutError(),
    ):
        assert delivery_of(exc) == "ambiguous", exc


def test_trace_decides_a_deadline_that_fired_while_connecting() -> None:
    assert delivery_of(TimeoutError(), request_started=False) == "not_sent"
    assert delivery_of(TimeoutError(), request_started=True) == "ambiguous"


def test_transient_statuses() -> None:
    assert all(is_transient_status(s) for s in (408, 429, 500, 502, 503, 504, 599))
    assert not any(is_transient_status(s) for s in (400, 401, 403, 404, 409, 422))
