"""When to try an upstream call again, and how long to wait first.

Three questions, answered the same way for every provider:

* **How long?** Capped exponential backoff with full jitter (AWS's "full jitter": a uniform
  draw between 0 and the capped exponential), so many clients retrying after one outage spread
  out instead of arriving together; an upstream's ``Retry-After`` (delta-seconds or an
  HTTP-date) overrides the draw.
* **Did it reach the upstream?** A failure before any request byte was written (connection
  refused, DNS, TLS handshake, connect or pool timeout) *provably* did not: even a billing
  submit may be sent again. Anything later (timeout while waiting for the answer, reset,
  unreadable body, a 5xx) is *ambiguous*: the upstream may have accepted the job, so a submit
  must be reconciled, never blindly repeated.
* **Is it worth another try?** Transport faults, 408, 429 and 5xx are transient; other 4xx
  answers are not (the same request would be refused again).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import httpx2

#: ``not_sent``: provably never reached the upstream. ``ambiguous``: it may have.
Delivery = Literal["not_sent", "ambiguous"]

#: Statuses worth another try (the request itself was fine).
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

# Raised before the connection carried any request byte. httpcore2 maps a refused connect, a
# failed DNS lookup and a failed TLS handshake to ConnectError; a pool timeout means no
# connection was ever handed to the request.
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.UnsupportedProtocol,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff for one kind of call: ``base_s · 2^(attempt-1)`` capped at ``cap_s``, jittered.

    ``max_attempts`` bounds the sends of a submit or an upload (reads until a deadline ignore
    it); ``max_wait_s`` is the longest single wait honoured, so a ``Retry-After`` of an hour
    ends the job with ``rate_limited`` instead of parking it.
    """

    max_attempts: int = 5
    base_s: float = 1.0
    cap_s: float = 30.0
    max_wait_s: float = 120.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_s < 0 or self.cap_s < 0 or self.max_wait_s < 0:
            raise ValueError("backoff times must not be negative")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), full jitter."""
        return self.rng.uniform(0.0, self.ceiling(attempt))

    def ceiling(self, attempt: int) -> float:
        """The un-jittered cap for ``attempt``: ``min(cap_s, base_s · 2^(attempt-1))``."""
        exponent = max(0, attempt - 1)
        # 2**exponent overflows float for absurd attempt counts; the cap wins long before.
        if exponent >= 64:
            return self.cap_s
        return min(self.cap_s, self.base_s * float(2**exponent))

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        """The wait before the next attempt: the upstream's ``Retry-After`` when it gave one
        (plus up to 10 % jitter, so clients told the same instant do not return together),
        else the backoff draw."""
        if retry_after_s is not None:
            return retry_after_s + self.rng.uniform(0.0, 0.1 * retry_after_s)
        return self.backoff(attempt)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (RFC 9110 §10.2.3), or ``None``.

    Accepts delta-seconds (``"120"``; fractions are tolerated, since some APIs send them)
    and an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``; a date in the past means 0).
    Anything else, negative or non-finite, is ``None``: a garbled header must not stall a job.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive parse means "-0000"
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def retry_after_from(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait an answer asks for: ``retry-after-ms`` (some APIs), else ``Retry-After``."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        parsed = parse_retry_after(ms)
        if parsed is not None:
            return parsed / 1000.0
    return parse_retry_after(headers.get("retry-after"), now=now)


def delivery_of(exc: BaseException, *, request_started: bool | None = None) -> Delivery:
    """Whether a failed call can have reached the upstream.

    ``request_started`` is what the connection trace saw: ``False`` when connection events
    were seen but no request headers were ever written (e.g. the overall deadline fired while
    connecting), ``True`` once they were, ``None`` when there was no trace (mock transports).
    """
    if isinstance(exc, _NOT_SENT_ERRORS):
        return "not_sent"
    if request_started is False:
        return "not_sent"
    return "ambiguous"


def is_transient_status(status_code: int) -> bool:
    """Whether an HTTP answer is worth retrying unchanged."""
    return status_code in TRANSIENT_STATUSES or status_code >= 500
