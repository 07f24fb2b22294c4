"""Test doubles for the upstream driver: a tiny adapter, a scripted fake upstream on an
``httpx2.MockTransport``, virtual time, a recording ``RunContext`` and a loopback file server."""

from __future__ import annotations

import asyncio
import http.server
import itertools
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx2

from mediagate.catalog import load_catalog, validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.jobs.model import Generation, GenerationStatus, new_generation_id
from mediagate.media.store import MediaStore
from mediagate.providers.base import RunContext
from mediagate.providers.upstream.adapter import (
    HttpCall,
    PollPlan,
    Submitted,
    UpstreamLimits,
    UpstreamOutput,
    UpstreamStatus,
)
from mediagate.providers.upstream.driver import UpstreamProvider
from mediagate.providers.upstream.errors import error_for_status
from mediagate.providers.upstream.factory import build_upstream_provider
from mediagate.settings import Settings

BASE = "https://api.tiny.test"
KEY = "sk-tiny"
MODEL = "nano-banana"

_CATALOG: Catalog | None = None


def catalog() -> Catalog:
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = load_catalog()
    return _CATALOG


def image_request(prompt: str = "a red kite over dunes") -> GenerationRequest:
    return validate_generate({"model": MODEL, "prompt": prompt}, catalog())


class FakeTime:
    """Virtual monotonic and wall clocks; ``sleep`` advances them and yields once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall0 = time.time()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall0 + self.now - 1000.0

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class TinyAdapter:
    """The smallest complete :class:`UpstreamAdapter` (the shape of a real one)."""

    name = "tiny"

    def __init__(
        self,
        *,
        limits: UpstreamLimits | None = None,
        local_inputs: Literal["upload", "data_uri"] = "upload",
        reconcile: bool = True,
        first_poll_s: float = 1.0,
    ) -> None:
        self.limits = limits or UpstreamLimits()
        self.local_inputs = local_inputs
        self.reconcile = reconcile
        self.first_poll_s = first_poll_s

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def submit_call(self, request: GenerationRequest, entry: ModelEntry, inputs: Any) -> HttpCall:
        body = {"model": entry.id, "prompt": request.prompt, "inputs": list(inputs)}
        return HttpCall("POST", "/v1/jobs", json=body, creates=True)

    def parse_submit(self, body: Any) -> Submitted:
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise MediagateError("upstream_error", "tiny sent a submit answer without an id")
        return Submitted(body["id"], adjustments=tuple(body.get("notes", ())))

    def status_call(self, upstream_id: str) -> HttpCall:
        return HttpCall("GET", f"/v1/jobs/{upstream_id}")

    def parse_status(self, body: Any, *, elapsed_s: float) -> UpstreamStatus:
        state = body["state"]
        if state == "failed":
            return UpstreamStatus(
                "failed", error=MediagateError("content_filtered", "tiny filtered the prompt")
            )
        outputs = tuple(UpstreamOutput(url, "image") for url in body.get("outputs", ()))
        return UpstreamStatus(state, progress=body.get("progress"), outputs=outputs)

    def parse_error(self, status_code: int, body: Any, *, retry_after_s: float | None) -> Any:
        return error_for_status(self.name, status_code, body, retry_after_s=retry_after_s)

    def poll_plan(self, request: GenerationRequest) -> PollPlan:
        return PollPlan(self.first_poll_s, self.first_poll_s * 4, 2.0)

    def reconcile_call(self) -> HttpCall | None:
        return HttpCall("GET", "/v1/jobs") if self.reconcile else None

    def find_submitted(
        self,
        body: Any,
        *,
        request: GenerationRequest,
        entry: ModelEntry,
        submitted_after_s: float,
        known_ids: frozenset[str],
    ) -> str | None:
        matches = [
            j["id"]
            for j in body["jobs"]
            if j["prompt"] == request.prompt and j["id"] not in known_ids
        ]
        return matches[-1] if matches else "absent"

    def upload_call(self) -> HttpCall:
        return HttpCall("POST", "/v1/uploads")

    def parse_upload(self, body: Any) -> str:
        return str(body["url"])

    def cancel_call(self, upstream_id: str) -> HttpCall | None:
        return HttpCall("POST", f"/v1/jobs/{upstream_id}/cancel")


Fault = str | int


@dataclass
class FakeUpstream:
    """A scripted upstream behind ``httpx2.MockTransport``.

    ``submit_faults`` / ``poll_faults`` are consumed one per request: ``"refuse"`` (connect
    refused, nothing created), ``"lost"`` (job created, then the answer times out),
    ``"timeout"`` (times out, nothing created), ``"garbled"`` (created, 200 with a non-JSON
    body), ``"reset"`` (poll: read error) or an HTTP status (429 carries ``Retry-After``).
    A job completes after ``polls_to_finish`` polls with ``outputs``.
    """

    outputs: list[str] = field(default_factory=list)
    polls_to_finish: int = 2
    submit_faults: list[Fault] = field(default_factory=list)
    poll_faults: list[Fault] = field(default_factory=list)
    list_faults: list[Fault] = field(default_factory=list)
    retry_after: str = "7"
    final_state: str = "completed"
    #: When set, a submit waits for it (to crash the server mid-submit).
    hold_submit: asyncio.Event | None = None
    hold_polls: asyncio.Event | None = None
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx2.Request] = field(default_factory=list)
    uploads: list[bytes] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path == path)

    @property
    def submits(self) -> int:
        return self.count("POST", "/v1/jobs")

    def create(self, prompt: str, inputs: list[str] | None = None) -> str:
        job_id = f"job-{next(self._ids)}"
        self.jobs[job_id] = {"id": job_id, "prompt": prompt, "polls": 0, "inputs": inputs or []}
        return job_id

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path == "/v1/jobs":
            return await self._submit(request)
        if request.method == "POST" and path == "/v1/uploads":
            self.uploads.append(request.content)
            return httpx2.Response(200, json={"url": f"https://cdn.tiny.test/u{len(self.uploads)}"})
        if request.method == "GET" and path == "/v1/jobs":
            fault = self.list_faults.pop(0) if self.list_faults else None
            if fault is not None:
                return self._fault(request, fault)
            listing = [{"id": j["id"], "prompt": j["prompt"]} for j in self.jobs.values()]
            return httpx2.Response(200, json={"jobs": listing})
        if request.method == "POST" and path.endswith("/cancel"):
            self.canceled.append(path.split("/")[-2])
            return httpx2.Response(200, json={})
        if request.method == "GET" and path.startswith("/v1/jobs/"):
            return await self._poll(request, path.rsplit("/", 1)[-1])
        return httpx2.Response(404, json={"error": "no route"})

    async def _submit(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        fault = self.submit_faults.pop(0) if self.submit_faults else None
        if fault in ("refuse", "timeout") or isinstance(fault, int):
            return self._fault(request, fault)
        job_id = self.create(body["prompt"], body["inputs"])
        if self.hold_submit is not None:
            await self.hold_submit.wait()
        if fault == "lost":
            raise httpx2.ReadTimeout("no answer", request=request)
        if fault == "garbled":
            return httpx2.Response(200, text="<html>oops</html>")
        return httpx2.Response(200, json={"id": job_id})

    async def _poll(self, request: httpx2.Request, job_id: str) -> httpx2.Response:
        fault = self.poll_faults.pop(0) if self.poll_faults else None
        if fault is not None:
            return self._fault(request, fault)
        if self.hold_polls is not None:
            await self.hold_polls.wait()
        job = self.jobs.get(job_id)
        if job is None:
            return httpx2.Response(404, json={"error": {"code": "not_found"}})
        job["polls"] += 1
        if job["polls"] >= self.polls_to_finish:
            return httpx2.Response(200, json={"state": self.final_state, "outputs": self.outputs})
        return httpx2.Response(200, json={"state": "processing", "progress": 40})

    def _fault(self, request: httpx2.Request, fault: Fault) -> httpx2.Response:
        if fault == "refuse":
            raise httpx2.ConnectError("connection refused", request=request)
        if fault == "timeout":
            raise httpx2.ReadTimeout("no answer", request=request)
        if fault == "reset":
            raise httpx2.ReadError("connection reset", request=request)
        assert isinstance(fault, int)
        headers = {"Retry-After": self.retry_after} if fault == 429 else {}
        return httpx2.Response(fault, json={"error": {"code": f"e{fault}"}}, headers=headers)


@dataclass
class Recorded:
    """What a provider did through its ``RunContext``."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


def make_ctx(
    media: MediaStore,
    request: GenerationRequest,
    *,
    upstream_id: str | None = None,
    attempts: int = 0,
    created_at: float | None = None,
    owner: Callable[[str], Awaitable[str | None]] | None = None,
) -> tuple[RunContext, Recorded]:
    now = time.time() if created_at is None else created_at
    gen = Generation(
        id=new_generation_id(),
        status=GenerationStatus.PENDING,
        model=request.model,
        provider="tiny",
        request=request.to_dict(),
        request_hash="0" * 64,
        upstream_id=upstream_id,
        attempts=attempts,
        created_at=now,
        updated_at=now,
    )
    rec = Recorded()

    async def report(status: GenerationStatus, progress: float | None, msg: str | None) -> None:
        rec.events.append(("report", status, progress, msg))

    async def record_submit_attempt() -> None:
        rec.events.append(("attempt",))

    async def set_upstream_id(value: str) -> None:
        rec.events.append(("upstream_id", value))

    async def warn(message: str) -> None:
        rec.warnings.append(message)

    ctx = RunContext(
        generation=gen,
        request=request,
        catalog=catalog(),
        media=media,
        folder=media.folder(gen.id, create=False),
        report=report,
        record_submit_attempt=record_submit_attempt,
        set_upstream_id=set_upstream_id,
        warn=warn,
        upstream_id_owner=owner,
    )
    return ctx, rec


def make_provider(
    fake: FakeUpstream,
    clock: FakeTime | None,
    *,
    adapter: TinyAdapter | None = None,
    settings: dict[str, Any] | None = None,
    **kwargs: Any,
) -> UpstreamProvider:
    options: dict[str, Any] = {
        "allow_private_urls": True,
        "upstream_reconcile_window_s": 20.0,
        "upstream_retry_base_s": 0.5,
        "upstream_breaker_threshold": 3,
        "upstream_max_job_s": 600.0,
        **(settings or {}),
    }
    timing: dict[str, Any] = {}
    if clock is not None:
        timing = {"clock": clock.clock, "wall": clock.wall, "sleep": clock.sleep}
    return build_upstream_provider(
        adapter or TinyAdapter(),
        api_key=KEY,
        base_url=BASE,
        settings=Settings(_env_file=None, **options),  # type: ignore[call-arg]
        transport=fake.transport(),
        prober=None,
        **timing,
        **kwargs,
    )


class _FileHandler(http.server.BaseHTTPRequestHandler):
    root: Path
    script: dict[str, list[int]]

    def do_GET(self) -> None:
        name = self.path.lstrip("/").split("?", 1)[0]
        queued = self.script.get(name)
        if queued:
            status = queued.pop(0)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.root / name
        if not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class FileServer:
    base: str
    root: Path
    script: dict[str, list[int]]

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


@contextmanager
def file_server(root: Path) -> Iterator[FileServer]:
    """Serves ``root`` on 127.0.0.1; ``script[name]`` lists statuses to answer first."""
    script: dict[str, list[int]] = {}
    handler = type("Handler", (_FileHandler,), {"root": root, "script": script})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield FileServer(f"http://127.0.0.1:{server.server_address[1]}", root, script)
    finally:
        server.shutdown()
        server.server_close()
