"""GateAI's calls beyond the shared driver: the price of a request and the key's budget.

Both go through the provider's one :class:`UpstreamHttp` (its client, base URL, auth headers,
timeouts and circuit breaker) and, when given, its :class:`KeyLimiter`: an estimate is
entered in GateAI's 5-requests-per-30 s window like a generate (the seed does not say it is
exempt), a credits read like a poll. Both are reads, so transport faults, 429 and 5xx are
retried a few times with backoff before the mapped error is raised.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.providers.base import Balance, UpstreamEstimate
from mediagate.providers.gateai.errors import error_from_response
from mediagate.providers.gateai.mapping import (
    CREDITS_PATH,
    ESTIMATE_PATH,
    NAME,
    generate_body,
    parse_credits,
    parse_estimate,
)
from mediagate.providers.upstream.adapter import HttpCall
from mediagate.providers.upstream.client import Answer, TransportFailure, UpstreamHttp
from mediagate.providers.upstream.errors import transport_error
from mediagate.providers.upstream.limits import KeyLimiter, RequestKind
from mediagate.providers.upstream.retry import RetryPolicy, is_transient_status

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]

#: A 1×1 transparent PNG: stands in for an input GateAI could not fetch (a local file) when
#: only the price is asked — the estimate depends on which fields are set, not their pixels.
PLACEHOLDER_IMAGE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


class GateAIClient:
    """``estimate`` (``POST /api/estimate``) and ``balance`` (``GET /credits``)."""

    def __init__(
        self,
        http: UpstreamHttp,
        *,
        limiter: KeyLimiter | None = None,
        retry: RetryPolicy | None = None,
        read_attempts: int = 3,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        """``http`` is the provider's (the driver's) sender; ``sleep``/``clock`` are for tests."""
        self._http = http
        self._limiter = limiter
        self._retry = retry or RetryPolicy(base_s=1.0, cap_s=10.0, max_wait_s=30.0)
        self._attempts = max(1, read_attempts)
        self._sleep = sleep
        self._clock = clock

    async def estimate(
        self,
        request: GenerationRequest,
        entry: ModelEntry,
        inputs: Sequence[str] | None = None,
    ) -> UpstreamEstimate:
        """GateAI's price for ``request`` in dollars, and whether today's budget covers it.

        ``inputs`` are the sources as GateAI would see them; by default the request's URLs,
        with any GateAI could not fetch (``file://``) replaced by a placeholder image.
        """
        if inputs is None:
            inputs = [_reachable(s.url) for s in request.sources]
        body = generate_body(request, entry, inputs)
        answer = await self._read(HttpCall("POST", ESTIMATE_PATH, json=body), "generate")
        return parse_estimate(answer.body)

    async def balance(self) -> Balance:
        """The key's daily budget (limit, used, remaining, in dollars) and pool health."""
        answer = await self._read(HttpCall("GET", CREDITS_PATH), "poll")
        return parse_credits(_lenient_json(answer.body), now=self._clock())

    async def _read(self, call: HttpCall, kind: RequestKind) -> Answer:
        """Send a read, retrying transient failures; a 2xx answer or the mapped error."""
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                await self._limiter.acquire_request(kind)
            retry_after: float | None = None
            try:
                answer = await self._http.send(call)
            except TransportFailure as exc:
                error = transport_error(NAME, exc.cause, what=f"the {call.path} read")
            else:
                if answer.ok:
                    return answer
                error = error_from_response(
                    answer.status_code, answer.body, retry_after_s=answer.retry_after_s
                )
                if not is_transient_status(answer.status_code):
                    raise error
                retry_after = answer.retry_after_s
            wait = self._retry.delay(attempt, retry_after)
            if attempt >= self._attempts or wait > self._retry.max_wait_s:
                raise error
            if error.code == "rate_limited" and self._limiter is not None:
                # The key's limiter holds every caller of this kind back, this one included.
                self._limiter.pause(kind, wait)
            else:
                await self._sleep(wait)


def _reachable(url: str) -> str:
    return url if url.startswith(("https://", "http://", "data:")) else PLACEHOLDER_IMAGE


def _lenient_json(body: Any) -> Any:
    """A JSON body, also when GateAI sends the trailing comma its documentation shows."""
    if isinstance(body, str):
        try:
            return json.loads(_TRAILING_COMMA.sub(r"\1", body))
        except ValueError:
            raise MediagateError(
                "upstream_error", "GateAI sent an unreadable credits answer (not JSON)."
            ) from None
    return body
