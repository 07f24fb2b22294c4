"""Fault injection and request recording, shared by both fakes.

A test arms faults with ``fake.inject(target, fault, times=1, ...)``; ``target`` is an endpoint
kind (``"submit"``, ``"poll"``, ``"download"``, or another kind the fake names, e.g.
``"estimate"``) and ``fault`` one of ``FAULTS``:

* ``500``, ``502``, ``503``, ``504``: that status, answered *before* the endpoint runs, so a
  submit creates nothing and counts against no limit.
* ``"429_seconds"`` / ``"429_date"``: a 429 in the fake's own error shape with ``Retry-After``
  in delta-seconds (``retry_after``) or as an HTTP-date (whole seconds, so rounded up: between
  ``retry_after`` and ``retry_after + 1`` seconds away), also before the endpoint runs.
* ``"refused"``: the port stops listening for ``refuse_s`` seconds, so connects fail with a real
  ``ECONNREFUSED``. A connection refusal cannot know which endpoint the client meant, so the
  outage *starts* where that endpoint is next needed: for ``"poll"`` right after the next
  accepted submit, for ``"download"`` right after the next poll that reports output URLs, and
  for any other target (``"submit"`` included) at once, when ``inject`` is called. Idle
  keep-alive connections are closed when it starts (answers still in progress carry
  ``Connection: close``), so a pooled client must reconnect. Refused connects cannot be counted,
  so an outage is timed: make ``refuse_s`` longer than the client's next attempt is due.
  ``times`` counts outages (poll and download targets only; the others take ``times=1``).
* ``"timeout_after_accept"``: the endpoint runs (a submit creates its job), then the response
  is withheld for ``hold_s`` seconds (or until the client goes away or the fake stops). The
  default, 300 s, outlasts mediagate's default read and total timeouts (60 s, 120 s); a test
  normally sets a short read timeout on the client instead.
* ``"reset_mid_body"``: the endpoint runs, the status line, headers (with the full
  ``Content-Length``) and half the body are sent, then the connection is reset (TCP RST).
* ``"malformed_json"``: the endpoint runs and its status is kept, but the body is cut in half,
  so it is not valid JSON (for a download: a corrupt file with a matching ``Content-Length``).

Every request is recorded (``RequestRecord``) with its arrival time on ``time.monotonic()``, its
kind, API key, status, ``Retry-After`` and the fault that shaped it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fakes.base import FakeUpstream

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FaultName = Literal[
    500,
    502,
    503,
    504,
    "429_seconds",
    "429_date",
    "refused",
    "timeout_after_accept",
    "reset_mid_body",
    "malformed_json",
]
FAULTS: tuple[FaultName, ...] = (
    500,
    502,
    503,
    504,
    "429_seconds",
    "429_date",
    "refused",
    "timeout_after_accept",
    "reset_mid_body",
    "malformed_json",
)
#: Answered instead of the endpoint: nothing is created, no limit is charged.
BEFORE_ENDPOINT: frozenset[Any] = frozenset({500, 502, 503, 504, "429_seconds", "429_date"})
#: The endpoint runs (a submit is accepted); only its answer is spoiled.
AFTER_ENDPOINT: frozenset[Any] = frozenset(
    {"timeout_after_accept", "reset_mid_body", "malformed_json"}
)
#: Events that start a pending ``refused`` outage for a target.
REFUSE_TRIGGERS = {"poll": "submit_accepted", "download": "outputs_ready"}

_GATEWAY_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """One armed fault; ``times`` is how many more requests (or outages) it spoils."""

    target: str
    fault: FaultName
    times: int = 1
    #: Seconds announced in ``Retry-After`` (429 faults).
    retry_after: int = 1
    #: How long ``timeout_after_accept`` withholds the answer.
    hold_s: float = 300.0
    #: How long a ``refused`` outage lasts.
    refuse_s: float = 1.0


@dataclass
class RequestRecord:
    """One request as the fake saw it. ``at``/``done_at`` are ``time.monotonic()`` values."""

    at: float
    wall: float
    kind: str
    method: str
    path: str
    key: str | None
    status: int | None = None
    retry_after: str | None = None
    #: The injected fault that shaped the answer, if any.
    fault: FaultName | None = None
    done_at: float | None = None


@dataclass(frozen=True)
class RateLimitEvent:
    """A 429 the fake sent: ``reason`` is ``in_flight``, ``window`` or ``injected``."""

    at: float
    kind: str
    key: str | None
    reason: str
    retry_after: str


@dataclass(frozen=True)
class Outage:
    """A ``refused`` fault that fired: the port closed at ``start``, due to reopen at ``end``
    (earlier if ``end_outage`` was called)."""

    target: str
    start: float
    end: float


@dataclass
class Recorder:
    """The request log and the 429 log; safe to read from the test's thread."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    requests: list[RequestRecord] = field(default_factory=list)
    rate_limited: list[RateLimitEvent] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)

    def begin(self, kind: str, method: str, path: str, key: str | None) -> RequestRecord:
        record = RequestRecord(time.monotonic(), time.time(), kind, method, path, key)
        with self.lock:
            self.requests.append(record)
        return record

    def note_429(self, kind: str, key: str | None, reason: str, retry_after: str) -> None:
        with self.lock:
            self.rate_limited.append(
                RateLimitEvent(time.monotonic(), kind, key, reason, retry_after)
            )

    def snapshot(self, kind: str | None = None) -> list[RequestRecord]:
        with self.lock:
            return [replace(r) for r in self.requests if kind is None or r.kind == kind]


class FaultPlan:
    """Armed faults, consumed in the order they were injected."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, kind: str, *, refused: bool = False) -> Fault | None:
        """Consume one use of the first fault armed for ``kind``."""
        with self._lock:
            for fault in self._faults:
                if fault.target == kind and (fault.fault == "refused") == refused:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return replace(fault)
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [replace(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def retry_after_value(fault: Fault) -> str:
    """The ``Retry-After`` header of an injected 429."""
    if fault.fault == "429_date":
        # HTTP-dates have whole seconds: round up so the client never waits less than asked.
        return formatdate(int(time.time()) + 1 + fault.retry_after, usegmt=True)
    return str(fault.retry_after)


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class FaultMiddleware:
    """Classifies, records and (when armed) spoils every HTTP request to a fake."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], fake: FakeUpstream):
        self.app = app
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fake = self.fake
        kind = fake.classify(scope["method"], scope["path"])
        record = fake.recorder.begin(kind, scope["method"], scope["path"], fake.request_key(scope))
        fault = fake.faults.take(kind)
        recording = self._recording_send(send, record, fake)
        try:
            if fault is None:
                await self.app(scope, receive, recording)
            elif fault.fault in BEFORE_ENDPOINT:
                record.fault = fault.fault
                await self._answer_instead(fault, kind, record.key, recording)
            else:
                record.fault = fault.fault
                await self._spoil(fault, scope, receive, recording)
        finally:
            record.done_at = time.monotonic()

    @staticmethod
    def _recording_send(send: Send, record: RequestRecord, fake: FakeUpstream) -> Send:
        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                headers = list(message.get("headers", []))
                for name, value in headers:
                    if name.lower() == b"retry-after":
                        record.retry_after = value.decode("latin-1")
                if fake.refusing:
                    # The port is closed: say so, or a client reuses this connection for its
                    # next request and meets the close (a reset) instead of a refusal.
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        return recording

    async def _answer_instead(self, fault: Fault, kind: str, key: str | None, send: Send) -> None:
        headers: list[tuple[bytes, bytes]]
        if fault.fault in ("429_seconds", "429_date"):
            status = 429
            value = retry_after_value(fault)
            body = json.dumps(self.fake.rate_limited_body("injected")).encode()
            headers = [(b"content-type", b"application/json"), (b"retry-after", value.encode())]
            self.fake.recorder.note_429(kind, key, "injected", value)
        elif fault.fault == 500:
            status = 500
            body = json.dumps({"error": "internal_error", "message": "Injected fault."}).encode()
            headers = [(b"content-type", b"application/json")]
        else:
            status = int(fault.fault)
            text = f"{status} {_GATEWAY_TEXT[status]}"
            page = f"<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"
            body = page.encode()
            headers = [(b"content-type", b"text/html")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _spoil(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = messages[0]
        body = b"".join(m.get("body", b"") for m in messages[1:])
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]

        if fault.fault == "timeout_after_accept":
            if await self._hold(receive, fault.hold_s):
                return  # the client gave up: nobody to answer
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif fault.fault == "malformed_json":
            cut = body[: len(body) // 2]
            headers.append((b"content-length", str(len(cut)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": cut})
        else:  # reset_mid_body
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send(
                {
                    "type": "http.response.body",
                    "body": body[: max(1, len(body) // 2)],
                    "more_body": True,
                }
            )
            if await self.fake.reset_connection(scope.get("client")):
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(_wait_disconnect(receive), 1.0)
            # Without a server thread (an in-process ASGI transport) returning here leaves the
            # response incomplete, which the server turns into a closed connection.

    async def _hold(self, receive: Receive, seconds: float) -> bool:
        """Wait ``seconds``, the client's disconnect or the fake's stop; True if disconnected."""
        gone = asyncio.ensure_future(_wait_disconnect(receive))
        waiters: list[asyncio.Future[Any]] = [gone]
        closing = self.fake.closing_event()
        if closing is not None:
            waiters.append(asyncio.ensure_future(closing.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        return gone.done() and not gone.cancelled() and gone.exception() is None
