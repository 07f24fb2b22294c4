"""What both fakes share: start/stop, the clock, fault injection, counters and output files."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes import media
from fakes.faults import (
    FAULTS,
    REFUSE_TRIGGERS,
    Fault,
    FaultMiddleware,
    FaultName,
    FaultPlan,
    Outage,
    RateLimitEvent,
    Recorder,
    RequestRecord,
    Scope,
)
from fakes.serve import ServerThread


class RequestError(Exception):
    """A refused request: ``status`` and the JSON ``body`` to answer with."""

    def __init__(self, status: int, code: str, message: str | None, **details: Any) -> None:
        super().__init__(code)
        self.status = status
        self.body: dict[str, Any] = {"error": code}
        if message is not None:
            self.body["message"] = message
        self.body.update(details)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, self.status)


class Clock:
    """The fake's time: real time plus an offset that ``advance`` moves forward.

    Job progress, concurrency slots, rate windows, refunds and the daily budget all read this
    clock, so a test can jump past a 20-minute refund or a 40-minute deadline at once.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic() + self._offset

    def wall(self) -> float:
        """Unix time (for dates and the UTC-midnight budget reset)."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


@dataclass(frozen=True)
class OutputFile:
    """A file served under ``/files/``: rendered on demand, or uploaded ``data``."""

    fmt: str
    width: int = 0
    height: int = 0
    duration_s: float = 0.0
    data: bytes | None = None
    mime_type: str | None = None

    @property
    def content_type(self) -> str:
        return self.mime_type or media.MIME_TYPES.get(self.fmt, "application/octet-stream")


@dataclass(frozen=True)
class AcceptedSubmit:
    """A submit that created a job: ``at`` is ``time.monotonic()``, ``body`` the JSON sent."""

    at: float
    key: str
    job_id: str
    model: str
    body: dict[str, Any]
    cost: float
    #: GateAI budget downgrades, ``[{"param", "from", "to"}]``.
    adjustments: list[dict[str, Any]] = field(default_factory=list)


class FakeUpstream:
    """Base of ``FakeGateAI`` and ``FakeKubeez``: an ASGI app plus its test-facing controls."""

    name = "fake"
    default_key = "sk-test"
    env_prefix = "MEDIAGATE_FAKE"
    #: Endpoint kinds ``classify`` returns (what ``inject`` accepts as a target).
    kinds: tuple[str, ...] = ("submit", "poll", "download", "other")

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        processing_s: float = 0.5,
        port: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.recorder = Recorder(lock=self.lock)
        self.faults = FaultPlan(self.lock)
        keys = list(api_keys) if api_keys is not None else [self.default_key]
        if not keys:
            raise ValueError("at least one API key")
        self.api_keys: set[str] = set(keys)
        self._primary_key = keys[0]
        self.processing_s = processing_s
        self.files: dict[str, OutputFile] = {}
        self.accepted: list[AcceptedSubmit] = []
        self.max_in_flight_observed: dict[str, int] = {}
        self._port = port
        self.server: ServerThread | None = None
        self.app = FaultMiddleware(self.build_app(), self)

    # --- to be provided by each fake ----------------------------------------------------------

    def build_app(self) -> Any:
        raise NotImplementedError

    def classify(self, method: str, path: str) -> str:
        """The endpoint kind of a request (``submit``, ``poll``, ``download``, ...)."""
        raise NotImplementedError

    def request_key(self, scope: Scope) -> str | None:
        """The API key a request carries (whether valid or not)."""
        return _bearer(scope)

    def rate_limited_body(self, reason: str) -> dict[str, Any]:
        raise NotImplementedError

    # --- running ------------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        """A valid key (the first configured one)."""
        return self._primary_key

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        if self.server is None:
            raise RuntimeError("fake is not started")
        return self.server.url

    def env(self) -> dict[str, str]:
        """``MEDIAGATE_<PROVIDER>_API_KEY`` / ``_BASE_URL`` for a mediagate server process.

        Output URLs point at 127.0.0.1, so a server that downloads them also needs
        ``MEDIAGATE_ALLOW_PRIVATE_URLS=true``.
        """
        return {f"{self.env_prefix}_API_KEY": self.api_key, f"{self.env_prefix}_BASE_URL": self.url}

    def start(self) -> Self:
        if self.server is not None:
            raise RuntimeError("already started")
        server = ServerThread(self.app, port=self._port)
        server.start()
        self.server = server
        return self

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def closing_event(self) -> asyncio.Event | None:
        return self.server.closing if self.server is not None else None

    async def reset_connection(self, client: Any) -> bool:
        if self.server is None or client is None:
            return False
        return await self.server.reset(tuple(client))

    # --- fault injection ----------------------------------------------------------------------

    def inject(
        self,
        target: str,
        fault: FaultName,
        times: int = 1,
        *,
        retry_after: int = 1,
        hold_s: float = 300.0,
        refuse_s: float = 1.0,
    ) -> None:
        """Arm ``fault`` for the next ``times`` requests of kind ``target`` (see ``faults``)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        if target not in self.kinds:
            raise ValueError(f"unknown target {target!r}; one of {self.kinds}")
        if times < 1:
            raise ValueError("times must be >= 1")
        armed = Fault(target, fault, times, retry_after, hold_s, refuse_s)
        if fault == "refused" and target not in REFUSE_TRIGGERS:
            if times != 1:
                raise ValueError(f"a 'refused' outage for {target!r} starts at once: times=1")
            if self.server is None:
                raise RuntimeError("'refused' needs a started fake")
            self.server.call(self._outage, target, refuse_s)
            return
        self.faults.add(armed)

    def clear_faults(self) -> None:
        self.faults.clear()

    def pending_faults(self) -> list[Fault]:
        return self.faults.pending()

    def trigger(self, event: str) -> None:
        """Start the ``refused`` outages waiting for ``event`` (called on the server loop)."""
        for target, trigger in REFUSE_TRIGGERS.items():
            if trigger != event:
                continue
            fault = self.faults.take(target, refused=True)
            if fault is not None and self.server is not None:
                self._start_outage(target, fault.refuse_s)

    async def _outage(self, target: str, seconds: float) -> None:
        self._start_outage(target, seconds)
        # Let the idle connections' closes reach their sockets before inject() returns, so the
        # test's next request finds its pooled connection closed and reconnects (refused).
        await asyncio.sleep(0.01)

    def _start_outage(self, target: str, seconds: float) -> None:
        assert self.server is not None
        self.server.refuse(seconds)
        start = time.monotonic()
        with self.lock:
            self.recorder.outages.append(Outage(target, start, start + seconds))

    def end_outage(self) -> None:
        """Listen again now, ending a ``refused`` outage early (no-op if none is running)."""
        if self.server is not None:
            self.server.call(self.server.listen_again)

    @property
    def refusing(self) -> bool:
        """Whether the port is closed right now."""
        return self.server is not None and self.server.refusing

    # --- counters -----------------------------------------------------------------------------

    @property
    def accepted_count(self) -> int:
        """How many submits created a job."""
        with self.lock:
            return len(self.accepted)

    def accepted_submits(self) -> list[AcceptedSubmit]:
        """Every submit that created a job, with its key and request body, oldest first."""
        with self.lock:
            return list(self.accepted)

    def _note_accepted(self, submit: AcceptedSubmit, in_flight: int) -> None:
        # Called with self.lock held.
        self.accepted.append(submit)
        observed = self.max_in_flight_observed.get(submit.key, 0)
        self.max_in_flight_observed[submit.key] = max(observed, in_flight)

    def requests(self, kind: str | None = None) -> list[RequestRecord]:
        """The request log (copies), oldest first, optionally of one kind."""
        return self.recorder.snapshot(kind)

    @property
    def rate_limited(self) -> list[RateLimitEvent]:
        """Every 429 sent, with its reason (``in_flight``, ``window``, ``injected``)."""
        with self.lock:
            return list(self.recorder.rate_limited)

    @property
    def retry_after_sent(self) -> list[str]:
        """``Retry-After`` header values, in the order they were sent."""
        return [r.retry_after for r in self.requests() if r.retry_after is not None]

    @property
    def outages(self) -> list[Outage]:
        with self.lock:
            return list(self.recorder.outages)

    # --- output files -------------------------------------------------------------------------

    def add_file(self, path: str, spec: OutputFile) -> None:
        with self.lock:
            self.files[path] = spec

    def file_routes(self) -> list[Route]:
        return [Route("/files/{path:path}", self._serve_file, methods=["GET"])]

    async def _serve_file(self, request: Request) -> Response:
        path = request.path_params["path"]
        with self.lock:
            spec = self.files.get(path)
        if spec is None:
            return JSONResponse({"error": "not_found", "message": "No such file."}, 404)
        data = spec.data
        if data is None:
            data = await asyncio.to_thread(
                media.render, spec.fmt, spec.width, spec.height, spec.duration_s
            )
        return Response(data, media_type=spec.content_type)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1")
            scheme, _, token = text.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def query_param(scope: Scope, name: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


def json_error(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """A JSON error answer."""
    return JSONResponse(dict(body), status, headers=dict(headers) if headers else None)
