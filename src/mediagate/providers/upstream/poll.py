"""Poll an upstream job to its end: adaptive intervals, faults waited out, a 429 slows down.

Polls are reads, so nothing a poll meets fails the job on its own: a transport fault, a 5xx
or an open circuit breaker is waited out (the interval keeps growing along the adapter's
:class:`PollPlan`) until the job's deadline; a 429 raises the key's poll slowdown and pauses
its polls for the ``Retry-After``. Only the upstream's own verdict, a deadline, or several
consecutive refusals (4xx, unreadable answers — the upstream lost the job) end it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mediagate.catalog.request import GenerationRequest
from mediagate.errors import MediagateError
from mediagate.jobs.model import GenerationStatus
from mediagate.providers.base import RunContext
from mediagate.providers.upstream.adapter import PollPlan, UpstreamAdapter, UpstreamStatus
from mediagate.providers.upstream.breaker import BreakerOpen
from mediagate.providers.upstream.client import Answer, TransportFailure, UpstreamHttp
from mediagate.providers.upstream.errors import mapped_error
from mediagate.providers.upstream.limits import KeyLimiter
from mediagate.providers.upstream.retry import RetryPolicy, is_transient_status

log = logging.getLogger(__name__)

FINAL_STATES = frozenset({"completed", "failed"})
#: Consecutive non-transient 4xx poll answers (or unreadable 2xx ones) that end a job: one
#: could be a hiccup right after the submit; several mean the upstream lost the job.
_MAX_POLL_REJECTIONS = 3
_UNREADABLE = (MediagateError, ValueError, KeyError, TypeError, AttributeError)

#: How often to poll a request's job (``UpstreamAdapter.poll_plan`` unless replaced).
PlanFor = Callable[[GenerationRequest], PollPlan]


@dataclass(slots=True)
class PolledJob:
    """One generation's upstream job while it is being polled."""

    upstream_id: str
    #: Epoch seconds the job was submitted (or an earlier bound, after a restart).
    since_wall: float
    #: Monotonic time past which polling gives up.
    deadline: float
    #: The state the submit answered with, if any.
    first: UpstreamStatus | None = None
    progress: float = 0.0


class Poller:
    """Polls jobs of one provider (see module docstring)."""

    def __init__(
        self,
        adapter: UpstreamAdapter,
        http: UpstreamHttp,
        *,
        limiter: KeyLimiter,
        retry: RetryPolicy,
        max_job_s: float,
        plan_for: PlanFor | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = adapter.name
        self._adapter = adapter
        self._http = http
        self._limiter = limiter
        self._retry = retry
        self.max_job_s = max_job_s
        self._plan_for: PlanFor = plan_for or adapter.poll_plan
        self._clock = clock
        self._wall = wall
        self._sleep = sleep

    async def poll(self, ctx: RunContext, job: PolledJob) -> UpstreamStatus:
        """Poll until the upstream says completed or failed; report every state on the way."""
        plan = self._plan_for(ctx.request)
        if job.first is not None:
            await self._report(ctx, job, job.first)
        interval = plan.first_s
        wait = self._limiter.poll_interval(interval)
        rejections = 0
        call = self._adapter.status_call(job.upstream_id)
        while True:
            remaining = job.deadline - self._clock()
            if remaining <= 0:
                raise self._timed_out(job)
            await self._sleep(min(wait, remaining))
            await self._limiter.acquire_request("poll")
            interval = min(interval * plan.factor, plan.max_s)
            wait = self._limiter.poll_interval(interval)
            try:
                answer = await self._http.send(call)
            except BreakerOpen as exc:
                wait = max(wait, exc.retry_after_s)
                continue
            except TransportFailure as exc:
                log.info("%s poll of %s failed: %s", self.name, job.upstream_id, exc)
                continue
            if answer.status_code == 429:
                self._limiter.poll_rate_limited(answer.retry_after_s, interval)
                continue
            if is_transient_status(answer.status_code):
                if answer.retry_after_s is not None:
                    wait = max(wait, min(answer.retry_after_s, self._retry.max_wait_s))
                continue
            status: UpstreamStatus | None = None
            if answer.ok:
                self._limiter.poll_succeeded()
                try:
                    status = self._adapter.parse_status(
                        answer.body, elapsed_s=max(0.0, self._wall() - job.since_wall)
                    )
                except _UNREADABLE as exc:
                    log.warning("%s status of %s unreadable: %s", self.name, job.upstream_id, exc)
            if status is None:
                rejections += 1
                if rejections >= _MAX_POLL_REJECTIONS:
                    raise self._poll_failed(job, answer)
                continue
            rejections = 0
            await self._report(ctx, job, status)
            if status.state in FINAL_STATES:
                return status

    async def _report(self, ctx: RunContext, job: PolledJob, status: UpstreamStatus) -> None:
        if status.progress is not None:
            job.progress = max(job.progress, min(100.0, max(0.0, status.progress)))
        if status.state == "processing":
            pct = f" {job.progress:.0f}%" if status.progress is not None else ""
            message = status.message or f"processing at {self.name}{pct}"
            await ctx.report(GenerationStatus.PROCESSING, job.progress, message)
        elif status.state in ("pending", "queued"):
            await ctx.report(
                GenerationStatus.QUEUED, None, status.message or f"queued at {self.name}"
            )

    def _timed_out(self, job: PolledJob) -> MediagateError:
        return MediagateError(
            "upstream_error",
            f"{self.name} did not finish the generation within {self.max_job_s:g} s.",
            provider=self.name,
            upstream_id=job.upstream_id,
            reason="job_timeout",
        )

    def _poll_failed(self, job: PolledJob, answer: Answer) -> MediagateError:
        if answer.ok:
            error = MediagateError(
                "upstream_error", f"{self.name} keeps answering unreadable job statuses."
            )
        else:
            error = mapped_error(self._adapter, answer)
        error.details.setdefault("provider", self.name)
        error.details.setdefault("upstream_id", job.upstream_id)
        return error
