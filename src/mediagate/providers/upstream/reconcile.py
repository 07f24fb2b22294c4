"""Find a job whose submit answer was lost, instead of submitting (and paying) twice.

After an ambiguous submit — a timeout after the request was written, a reset, a 5xx, an
unreadable 2xx — or a crash between recording a submit attempt and storing the upstream id,
the upstream may or may not hold the job. The adapter's ``reconcile_call`` lists the key's
recent jobs and ``find_submitted`` picks ours out; since a just-accepted job can take a moment
to appear, the listing is read several times over ``window_s``:

* an upstream id as soon as one round finds it (never one another generation owns: ids
  claimed in this process or recorded in the job store are passed as ``known_ids``, and a
  pick that turns out owned is excluded and the listing asked again);
* ``"absent"`` once a round at least ``window_s`` after the submit started still proves the
  job was never made — only then is submitting again safe;
* ``None`` otherwise (no listing, unreadable listings, or the adapter cannot tell): the
  outcome is unknown and the generation fails rather than risk a second charge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.providers.base import RunContext
from mediagate.providers.upstream.adapter import UpstreamAdapter
from mediagate.providers.upstream.client import UpstreamHttp
from mediagate.providers.upstream.retry import RetryPolicy

Verdict = str | None | Literal["absent"]
Sleep = Callable[[float], Awaitable[None]]

#: How many owned ids one round may skip before it gives up (a listing full of our own jobs).
_MAX_EXCLUSIONS = 16
#: Read attempts per round (each round is itself one of several).
_ROUND_ATTEMPTS = 3


class Reconciler:
    """Looks a lost submit up in the provider's job listing (see module docstring)."""

    def __init__(
        self,
        adapter: UpstreamAdapter,
        http: UpstreamHttp,
        *,
        retry: RetryPolicy,
        claimed: set[str],
        window_s: float = 20.0,
        rounds: int = 4,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._adapter = adapter
        self._http = http
        self._retry = retry
        #: Upstream ids generations of this process own (shared with the driver).
        self._claimed = claimed
        self.window_s = max(0.0, window_s)
        self.rounds = max(1, rounds)
        self._clock = clock
        self._wall = wall
        self._sleep = sleep

    async def find(self, ctx: RunContext, entry: ModelEntry, *, since_wall: float) -> Verdict:
        """Our upstream id, ``"absent"``, or ``None`` (unknown) for a submit begun at
        ``since_wall`` (epoch seconds; an upper bound on its age is fine)."""
        call = self._adapter.reconcile_call()
        if call is None:
            return None
        began = self._clock()
        verdict: Verdict = None
        for i in range(self.rounds):
            if i:
                offset = self.window_s * i / (self.rounds - 1)
                delay = began + offset - self._clock()
                if delay > 0:
                    await self._sleep(delay)
            answer = await self._http.read(
                call, retry=self._retry, attempts=_ROUND_ATTEMPTS, sleep=self._sleep
            )
            if answer is None or not answer.ok:
                verdict = None
                continue
            age = max(0.0, self._wall() - since_wall)
            verdict = await self._pick(ctx, entry, answer.body, age)
            if verdict is not None and verdict != "absent":
                return verdict
            if verdict == "absent" and age >= self.window_s:
                return "absent"
        return verdict

    async def _pick(self, ctx: RunContext, entry: ModelEntry, body: object, age: float) -> Verdict:
        known = set(self._claimed)
        for _ in range(_MAX_EXCLUSIONS):
            try:
                found = self._adapter.find_submitted(
                    body,
                    request=ctx.request,
                    entry=entry,
                    submitted_after_s=age,
                    known_ids=frozenset(known),
                )
            except (MediagateError, ValueError, KeyError, TypeError, AttributeError):
                return None  # an unreadable listing tells nothing
            if found is None or found == "absent":
                return found
            if found in known:
                return None  # the adapter ignored known_ids: it cannot tell ours apart
            owner = await ctx.upstream_id_owner(found) if ctx.upstream_id_owner else None
            if owner is None or owner == ctx.generation.id:
                return found
            known.add(found)
        return None
