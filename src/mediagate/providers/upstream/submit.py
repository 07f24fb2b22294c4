"""Submit a generation at most once, whatever the network does.

The submit is the one call that bills, so its retry rules are stricter than a read's:

* before each send the attempt is recorded durably (a crash after this point resumes by
  reconciling, never by sending again) and the key's window and pause are respected;
* a refused connection (provably not sent), a 429 or a 408/425 is retried after backoff or
  the ``Retry-After``, up to ``max_attempts`` sends — a 429 also pauses the key's other
  submits for the same time;
* anything ambiguous — a timeout after the request was written, a reset, a 5xx, a 2xx that
  cannot be read — is reconciled: the job found upstream is adopted; proven absent, it is
  submitted again; otherwise the generation fails with ``submit_outcome: "unknown"``;
* any other answer fails the generation with the adapter's error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.jobs.model import GenerationStatus
from mediagate.providers.base import RunContext
from mediagate.providers.upstream.adapter import Submitted, UpstreamAdapter
from mediagate.providers.upstream.client import Answer, TransportFailure, UpstreamHttp
from mediagate.providers.upstream.errors import (
    mapped_error,
    submit_outcome_unknown,
    transport_error,
)
from mediagate.providers.upstream.limits import KeyLimiter
from mediagate.providers.upstream.reconcile import Reconciler
from mediagate.providers.upstream.retry import RetryPolicy

Sleep = Callable[[float], Awaitable[None]]

#: Statuses that say the request was not processed and may be sent again unchanged.
_RESEND_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Accepted:
    """The upstream holds the job: ``submitted`` when it answered, else found by reconcile."""

    upstream_id: str
    #: Epoch seconds the (last) submit began (a job's elapsed time counts from here).
    since_wall: float
    submitted: Submitted | None = None


class Submitter:
    """Runs the submit of one generation at a time per call (see module docstring)."""

    def __init__(
        self,
        adapter: UpstreamAdapter,
        http: UpstreamHttp,
        *,
        limiter: KeyLimiter,
        retry: RetryPolicy,
        reconciler: Reconciler,
        wall: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._adapter = adapter
        self._http = http
        self._limiter = limiter
        self._retry = retry
        self._reconciler = reconciler
        self._wall = wall
        self._sleep = sleep

    async def submit(
        self, ctx: RunContext, entry: ModelEntry, request: GenerationRequest
    ) -> Accepted:
        """Send ``request`` (inputs already reachable) and return what the upstream holds."""
        name = self._adapter.name
        call = self._adapter.submit_call(request, entry, [s.url for s in request.sources])
        attempt = 0
        while True:
            attempt += 1
            self._http.breaker.check()
            # Recorded before the window slot is taken: the durable write can queue behind
            # other jobs' writes, and a slot stamped before that wait would reach the upstream
            # late and be refused by its sliding window (measured by bench_upstream).
            await ctx.record_submit_attempt()
            await self._limiter.acquire_request("generate")
            # Fail fast (upstream_unavailable) rather than add to an outage; checked after
            # the wait, since the breaker may have opened while this submit was queued.
            self._http.breaker.check()
            started = self._wall()
            try:
                answer = await self._http.send(call)
            except TransportFailure as failure:
                if failure.delivery == "not_sent":
                    if attempt >= self._retry.max_attempts:
                        raise transport_error(name, failure.cause, what="the submit") from None
                    await self._sleep(self._retry.backoff(attempt))
                    continue
                error = transport_error(name, failure.cause, what="the submit")
                found = await self._ambiguous(ctx, entry, started, str(failure), attempt, error)
                if found is None:
                    continue
                return found
            if answer.ok:
                try:
                    submitted = self._adapter.parse_submit(answer.body)
                except (MediagateError, ValueError, KeyError, TypeError, AttributeError):
                    error = MediagateError(
                        "upstream_error", f"{name} accepted the submit with an unreadable answer."
                    )
                    found = await self._ambiguous(
                        ctx, entry, started, "its answer could not be read", attempt, error
                    )
                    if found is None:
                        continue
                    return found
                return Accepted(submitted.upstream_id, started, submitted)
            error = mapped_error(self._adapter, answer)
            if answer.status_code in _RESEND_STATUSES:
                wait = self._retry.delay(attempt, _retry_after(answer, error))
                if attempt >= self._retry.max_attempts or wait > self._retry.max_wait_s:
                    raise error
                if answer.status_code == 429:
                    # Everyone submitting with this key waits, this submit included.
                    self._limiter.pause("generate", wait)
                    await _note(ctx, f"rate limited by {name}; retrying in {wait:.0f} s")
                else:
                    await self._sleep(wait)
                continue
            if answer.status_code >= 500:
                found = await self._ambiguous(
                    ctx, entry, started, f"HTTP {answer.status_code}", attempt, error
                )
                if found is None:
                    # Proven absent; a Retry-After still says when the upstream can take it.
                    said = _retry_after(answer, error)
                    if said is not None:
                        left = started + min(said, self._retry.max_wait_s) - self._wall()
                        if left > 0:
                            await self._sleep(left)
                    continue
                return found
            raise error

    async def _ambiguous(
        self,
        ctx: RunContext,
        entry: ModelEntry,
        started: float,
        reason: str,
        attempt: int,
        error: MediagateError,
    ) -> Accepted | None:
        """Reconcile an ambiguous submit: ``Accepted``, ``None`` to submit again, or raise."""
        await _note(ctx, f"checking whether {self._adapter.name} received the submit")
        verdict = await self._reconciler.find(ctx, entry, since_wall=started)
        if verdict == "absent":
            if attempt >= self._retry.max_attempts:
                raise error
            return None
        if verdict is None:
            raise submit_outcome_unknown(
                self._adapter.name,
                f"the submit ended ambiguously: {reason}",
                upstream_error=error.code,
                reconcile="unsupported" if self._adapter.reconcile_call() is None else "no_match",
            )
        return Accepted(verdict, started)


async def _note(ctx: RunContext, message: str) -> None:
    await ctx.report(GenerationStatus.QUEUED, None, message)


def _retry_after(answer: Answer, error: MediagateError) -> float | None:
    if answer.retry_after_s is not None:
        return answer.retry_after_s
    said = error.details.get("retry_after_s")
    return float(said) if isinstance(said, (int, float)) and said >= 0 else None
