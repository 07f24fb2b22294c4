"""The one driver behind every HTTP provider: submit (at most once), poll, rehost.

:class:`UpstreamProvider` implements :class:`~mediagate.providers.base.Provider` for any
:class:`UpstreamAdapter`. ``run`` is called for a new generation and again, after a restart,
for an unfinished one; the upstream id is stored durably before any waiting, so:

* **upstream id stored** → poll only (the job is already upstream; it claims an in-flight
  slot without queueing, since the upstream counts it anyway);
* **attempts recorded but no upstream id** → the server died mid-submit: reconcile; adopt the
  job if found, submit again only if the listing proves it absent, else fail with
  ``submit_outcome: "unknown"``;
* **nothing yet** → make own-media inputs reachable, queue for an in-flight slot, submit
  (:mod:`.submit`), record the id.

Polls are reads: transport faults, 5xx and an open breaker are waited out until the job's
deadline (the adapter's ``max_job_s`` plus a grace period, so the upstream's own time-limit
answer is normally seen first); a 429 slows that key's polling instead of failing the job.
Upstream states reach the agent through ``ctx.report``; finished outputs are rehosted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.jobs.model import Generation, GenerationStatus
from mediagate.media.store import StoredFile
from mediagate.providers.base import RunContext
from mediagate.providers.upstream.adapter import UpstreamAdapter, UpstreamStatus
from mediagate.providers.upstream.breaker import BreakerOpen
from mediagate.providers.upstream.client import TransportFailure, UpstreamHttp
from mediagate.providers.upstream.errors import submit_outcome_unknown
from mediagate.providers.upstream.inputs import localize, uploader
from mediagate.providers.upstream.limits import KeyLimiter, Slot
from mediagate.providers.upstream.poll import FINAL_STATES, PlanFor, PolledJob, Poller
from mediagate.providers.upstream.reconcile import Reconciler
from mediagate.providers.upstream.rehost import Rehoster
from mediagate.providers.upstream.retry import RetryPolicy
from mediagate.providers.upstream.submit import Accepted, Submitter

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class UpstreamProvider:
    """A :class:`~mediagate.providers.base.Provider` driving one upstream adapter.

    Build it with :func:`~mediagate.providers.upstream.factory.build_upstream_provider`.
    ``http`` and ``limiter`` are public so a provider's extra calls (GateAI's estimate and
    balance) share the same client, breaker and per-key limits.
    """

    def __init__(
        self,
        adapter: UpstreamAdapter,
        *,
        http: UpstreamHttp,
        limiter: KeyLimiter,
        retry: RetryPolicy,
        rehoster: Rehoster,
        max_job_s: float,
        job_grace_s: float = 300.0,
        reconcile_window_s: float = 20.0,
        reconcile_rounds: int = 4,
        poll_plan: PlanFor | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = adapter.name
        self.adapter = adapter
        self.http = http
        self.limiter = limiter
        self.retry = retry
        self.rehoster = rehoster
        self.max_job_s = max_job_s
        self.job_grace_s = job_grace_s
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        #: Upstream ids this process's generations own (reconcile never adopts one of them).
        self._claimed: set[str] = set()
        self._slots: dict[str, Slot] = {}
        self._reconciler = Reconciler(
            adapter,
            http,
            retry=retry,
            claimed=self._claimed,
            window_s=reconcile_window_s,
            rounds=reconcile_rounds,
            clock=clock,
            wall=wall,
            sleep=sleep,
        )
        self._poller = Poller(
            adapter,
            http,
            limiter=limiter,
            retry=retry,
            max_job_s=max_job_s,
            plan_for=poll_plan,
            clock=clock,
            wall=wall,
            sleep=sleep,
        )
        self._upload = uploader(adapter, http, retry=retry, sleep=sleep)
        self._submitter = Submitter(
            adapter,
            http,
            limiter=limiter,
            retry=retry,
            reconciler=self._reconciler,
            wall=wall,
            sleep=sleep,
        )

    # --- the Provider protocol --------------------------------------------------------------

    async def run(self, ctx: RunContext) -> list[StoredFile]:
        """Submit or resume, poll to the end, and return the rehosted outputs."""
        job: PolledJob | None = None
        try:
            job = await self._start(ctx)
            status = job.first
            if status is None or status.state not in FINAL_STATES:
                status = await self._poller.poll(ctx, job)
            # The upstream freed its slot when the job ended: so do we, before the (possibly
            # long) download of the outputs, or large videos would hold back the next submits.
            self._release(ctx.generation.id)
            if status.state == "failed":
                error = status.error or MediagateError(
                    "upstream_error",
                    f"{self.name} reported the generation failed"
                    + (f": {status.message}" if status.message else "."),
                )
                error.details.setdefault("provider", self.name)
                error.details.setdefault("upstream_id", job.upstream_id)
                raise error
            await ctx.report(
                GenerationStatus.PROCESSING, None, f"saving the output from {self.name}"
            )
            return await self.rehoster.rehost(status.outputs, folder=ctx.folder, media=ctx.media)
        finally:
            self._release(ctx.generation.id)
            if job is not None:
                # Finished jobs are found through the job store from now on (upstream_id_owner).
                self._claimed.discard(job.upstream_id)

    async def cancel(self, generation: Generation) -> None:
        """Cancel upstream when the API can (one attempt, best effort); free the slot."""
        self._release(generation.id)
        if generation.upstream_id is None:
            return
        call = self.adapter.cancel_call(generation.upstream_id)
        if call is None:
            return
        try:
            answer = await self.http.send(call)
        except (TransportFailure, BreakerOpen) as exc:
            log.warning("%s cancel of %s failed: %s", self.name, generation.upstream_id, exc)
            return
        if not answer.ok:
            log.warning(
                "%s cancel of %s answered HTTP %d",
                self.name,
                generation.upstream_id,
                answer.status_code,
            )

    async def aclose(self) -> None:
        """Close the HTTP client and the output fetcher."""
        await self.http.aclose()
        await self.rehoster.aclose()

    # --- starting: resume, reconcile or submit ----------------------------------------------

    async def _start(self, ctx: RunContext) -> PolledJob:
        gen = ctx.generation
        if gen.upstream_id is not None:
            self._hold(gen.id, self.limiter.claim_slot())
            self._claimed.add(gen.upstream_id)
            return self._job(gen.upstream_id, gen.created_at, resumed=True)
        # Provider-qualified: a bare ``models[id]`` is another provider's entry for shared ids.
        entry = ctx.catalog.entry_of(ctx.request)
        if gen.attempts > 0:
            found = await self._resume_submit(ctx, entry)
            if found is not None:
                return found
        # Fail fast while the upstream is down, before queueing or uploading anything.
        self.http.breaker.check()
        if self.limiter.would_wait():
            message = (
                f"waiting for a free {self.name} slot "
                f"({self.limiter.in_flight} generations in flight)"
            )
        else:
            message = f"submitting to {self.name}"
        await ctx.report(GenerationStatus.QUEUED, None, message)
        request = await localize(
            ctx.request, ctx.media, mode=self.adapter.local_inputs, upload=self._upload
        )
        self._hold(gen.id, await self.limiter.acquire_slot())
        accepted = await self._submitter.submit(ctx, entry, request)
        await self._adopt(ctx, accepted)
        first = accepted.submitted.status if accepted.submitted is not None else None
        return self._job(accepted.upstream_id, accepted.since_wall, resumed=False, first=first)

    async def _resume_submit(self, ctx: RunContext, entry: ModelEntry) -> PolledJob | None:
        """After a crash mid-submit: the job found upstream, ``None`` when proven absent."""
        gen = ctx.generation
        await ctx.report(
            GenerationStatus.QUEUED,
            None,
            f"checking whether {self.name} received this generation before the restart",
        )
        # created_at bounds the lost submit's start from below, so its age is never understated.
        verdict = await self._reconciler.find(ctx, entry, since_wall=gen.created_at)
        if verdict == "absent":
            return None
        if verdict is None:
            raise submit_outcome_unknown(
                self.name,
                "the server stopped while submitting, and the provider's job list does not "
                "show whether the submit arrived",
                attempts=gen.attempts,
            )
        self._hold(gen.id, self.limiter.claim_slot())
        await self._adopt(ctx, Accepted(verdict, gen.created_at))
        return self._job(verdict, gen.created_at, resumed=True)

    async def _adopt(self, ctx: RunContext, accepted: Accepted) -> None:
        """Record the upstream id durably (before any waiting) and pass on the notes."""
        upstream_id = accepted.upstream_id
        if accepted.submitted is None and upstream_id in self._claimed:
            # Another generation adopted it while this one was looking (same request twice).
            raise submit_outcome_unknown(
                self.name, "the only matching upstream job belongs to another generation"
            )
        self._claimed.add(upstream_id)
        await ctx.set_upstream_id(upstream_id)
        if accepted.submitted is not None:
            for note in accepted.submitted.adjustments:
                await ctx.warn(note)
        how = "submitted to" if accepted.submitted is not None else "found at"
        await ctx.report(GenerationStatus.QUEUED, None, f"{how} {self.name} as {upstream_id}")

    def _job(
        self,
        upstream_id: str,
        since_wall: float,
        *,
        resumed: bool,
        first: UpstreamStatus | None = None,
    ) -> PolledJob:
        budget = self.max_job_s
        if resumed:
            # What is left of the job's time (at least nothing), then the grace to hear the
            # upstream's own verdict on a job that ran on while we were down.
            budget = max(0.0, since_wall + self.max_job_s - self._wall())
        return PolledJob(upstream_id, since_wall, self._clock() + budget + self.job_grace_s, first)

    # --- slots ------------------------------------------------------------------------------

    def _hold(self, generation_id: str, slot: Slot) -> None:
        old = self._slots.pop(generation_id, None)
        if old is not None:
            old.release()
        self._slots[generation_id] = slot

    def _release(self, generation_id: str) -> None:
        slot = self._slots.pop(generation_id, None)
        if slot is not None:
            slot.release()
