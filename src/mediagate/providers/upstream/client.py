"""One HTTP client per provider, and one way to send an :class:`HttpCall` through it.

:class:`UpstreamHttp` owns the provider's ``httpx2.AsyncClient`` (base URL, auth headers,
connect/read/write/pool timeouts, no proxies or ``.netrc`` from the environment) plus an
overall deadline per call, and passes every call through the provider's circuit breaker. A
call ends in one of three ways:

* an :class:`Answer` — any HTTP status, with the body read (capped) and parsed as JSON when
  it is JSON;
* :class:`TransportFailure` — no usable answer, classified as ``not_sent`` (provably never
  reached the upstream) or ``ambiguous`` (it may have: a submit must be reconciled);
* :class:`~mediagate.providers.upstream.breaker.BreakerOpen` — not attempted at all.

The client is built on first use: the server holds one per configured provider and most
start-ups never call them all (building an SSL context costs tens of milliseconds).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from mediagate.providers.upstream.adapter import HttpCall
from mediagate.providers.upstream.breaker import BreakerOpen, CircuitBreaker
from mediagate.providers.upstream.retry import (
    Delivery,
    RetryPolicy,
    delivery_of,
    is_transient_status,
    retry_after_from,
)

#: Largest answer body read from an API (JSON status documents are small; this is a guard).
MAX_ANSWER_BYTES = 16 * 1024 * 1024
USER_AGENT = "mediagate"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-operation timeouts plus ``total_s``, one deadline for a whole call (seconds)."""

    connect_s: float = 10.0
    read_s: float = 60.0
    write_s: float = 60.0
    pool_s: float = 10.0
    total_s: float = 120.0

    def __post_init__(self) -> None:
        if min(self.connect_s, self.read_s, self.write_s, self.pool_s, self.total_s) <= 0:
            raise ValueError("timeouts must be positive")

    def httpx(self) -> httpx2.Timeout:
        """The per-operation part as an ``httpx2.Timeout``."""
        return httpx2.Timeout(
            connect=self.connect_s, read=self.read_s, write=self.write_s, pool=self.pool_s
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status, headers, and the body (JSON value, text, or ``None`` if empty)."""

    status_code: int
    headers: httpx2.Headers
    body: Any
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status_code < 300


class TransportFailure(Exception):
    """A call that produced no usable answer; ``delivery`` says whether it may have landed."""

    def __init__(self, delivery: Delivery, cause: BaseException, message: str) -> None:
        super().__init__(message)
        self.delivery = delivery
        self.cause = cause


def build_client(
    *,
    base_url: str,
    headers: Mapping[str, str],
    timeouts: Timeouts,
    transport: httpx2.AsyncBaseTransport | None = None,
    max_connections: int = 20,
) -> httpx2.AsyncClient:
    """The provider's client: fixed base URL and headers, no env proxies, no redirects."""
    return httpx2.AsyncClient(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
        timeout=timeouts.httpx(),
        limits=httpx2.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        transport=transport,
        # A proxy from the environment would see the API key; redirects could carry it to
        # another host. Neither is wanted for a fixed API endpoint.
        trust_env=False,
        follow_redirects=False,
    )


class _SendTrace:
    """Watches httpcore2's trace events to learn whether request bytes were written."""

    __slots__ = ("connected", "started")

    def __init__(self) -> None:
        self.connected = False
        self.started = False

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        if ".send_request_headers." in name or ".send_request_body." in name:
            self.started = True
        elif ".connect_tcp." in name or ".start_tls." in name or ".connect_unix" in name:
            self.connected = True

    @property
    def request_started(self) -> bool | None:
        """``True``/``False`` when the trace knows, ``None`` when it saw nothing (mocks)."""
        if self.started:
            return True
        return False if self.connected else None


class UpstreamHttp:
    """Sends a provider's calls (see module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        headers: Mapping[str, str],
        timeouts: Timeouts,
        breaker: CircuitBreaker,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.timeouts = timeouts
        self.breaker = breaker
        self._headers = dict(headers)
        self._transport = transport
        self._max_answer_bytes = max_answer_bytes
        self._client: httpx2.AsyncClient | None = None

    @property
    def client(self) -> httpx2.AsyncClient:
        """The provider's one client (built on first use)."""
        if self._client is None:
            self._client = build_client(
                base_url=self.base_url,
                headers=self._headers,
                timeouts=self.timeouts,
                transport=self._transport,
            )
        return self._client

    async def send(
        self,
        call: HttpCall,
        *,
        content: bytes | AsyncIterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send ``call`` once. ``content``/``headers`` replace its JSON body (uploads).

        Raises :class:`TransportFailure` or ``BreakerOpen``; any HTTP status is an answer.
        """
        ticket = self.breaker.acquire()
        verdict: bool | None = None
        try:
            answer = await self._send(call, content, headers)
            # A 5xx means the service is in trouble; a 4xx (429 included) proves it is up.
            verdict = answer.status_code < 500
            return answer
        except TransportFailure:
            verdict = False
            raise
        finally:
            self.breaker.record(ticket, verdict)

    async def read(
        self,
        call: HttpCall,
        *,
        retry: RetryPolicy,
        attempts: int,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Answer | None:
        """Send a read, retrying transport faults, open-breaker refusals, 429 and 5xx.

        Returns the first answer that is not transient (2xx or a final 4xx), or ``None`` when
        ``attempts`` ran out; waits honour ``Retry-After`` up to ``retry.max_wait_s``.
        """
        for attempt in range(1, attempts + 1):
            try:
                answer = await self.send(call)
            except BreakerOpen as exc:
                wait = exc.retry_after_s
            except TransportFailure:
                wait = retry.backoff(attempt)
            else:
                if not is_transient_status(answer.status_code):
                    return answer
                wait = retry.delay(attempt, answer.retry_after_s)
            if attempt < attempts:
                await sleep(min(wait, retry.max_wait_s))
        return None

    async def _send(
        self,
        call: HttpCall,
        content: bytes | AsyncIterable[bytes] | None,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        trace = _SendTrace()
        request = self.client.build_request(
            call.method,
            call.path,
            params=dict(call.params) if call.params is not None else None,
            json=call.json if content is None else None,
            content=content,
            headers=dict(headers) if headers else None,
            extensions={"trace": trace},
        )
        try:
            async with asyncio.timeout(self.timeouts.total_s):
                response = await self.client.send(request, stream=True)
                try:
                    raw = await _read_capped(response, self._max_answer_bytes)
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            delivery = delivery_of(exc, request_started=trace.request_started)
            raise TransportFailure(
                delivery,
                exc,
                f"{call.method} {call.path}: no answer within {self.timeouts.total_s:g} s",
            ) from exc
        except httpx2.HTTPError as exc:
            delivery = delivery_of(exc, request_started=trace.request_started)
            raise TransportFailure(
                delivery, exc, f"{call.method} {call.path}: {type(exc).__name__}: {exc}"
            ) from exc
        except _TooLarge as exc:
            raise TransportFailure(
                "ambiguous", exc, f"{call.method} {call.path}: answer over {exc.limit} bytes"
            ) from exc
        return Answer(
            status_code=response.status_code,
            headers=response.headers,
            body=_decode(raw, response.headers.get("content-type", "")),
            retry_after_s=retry_after_from(response.headers),
        )

    async def aclose(self) -> None:
        """Close the client and its connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"answer over {limit} bytes")
        self.limit = limit


async def _read_capped(response: httpx2.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, content_type: str) -> Any:
    """JSON when it parses as JSON (whatever the content type claims), else text, else None."""
    if not raw.strip():
        return None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type.lower() or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text
