"""A contract-faithful fake of the Kubeez REST API (``seeds/002``, ``seeds/000``) on 127.0.0.1.

The model list and per-model limits come from our catalog (``mediagate.catalog``), which is
built from the same seeds. Endpoints (kinds in brackets, for ``inject`` and the request log):

* ``POST /v1/generate/media`` [submit] → ``{generation_id, status: "pending",
  estimated_time_seconds, estimated_cost_credits}``.
* ``GET /v1/generations/{generation_id}`` [poll] → ``{generation_id, model, status, progress,
  outputs, error}``; status goes ``pending`` → ``queued`` → ``processing`` (progress 0–99) →
  ``completed`` (progress 100, one output ``{url, thumbnail_url, optimized_url, media_type,
  width, height}``) or ``failed`` (``error: {code, message}``).
* ``POST /v1/upload/media`` [upload] multipart ``file`` → ``{url, size_bytes, mime_type}``;
  413 ``file_too_large`` past ``max_upload_bytes`` (500 MB).
* ``GET /v1/models`` [models] → ``{"models": [{model_id, name, enabled, generation_types,
  requires_input_media, input_media_types, usage_notes, pricing: {credits, unit}, ...}]}``.
* ``GET /files/...`` [download, no auth]: output and uploaded files.

Everything else needs ``Authorization: Bearer <key>`` (401 ``unauthorized``). Errors are
``{"error": "<code>", "message", ...details}``: 400 for validation (``invalid_arguments``,
``unknown_model`` with ``suggestions``, ``variant_required`` with ``family``,
``available_variants`` and ``hint``, ``unsupported_generation_type``, ``prompt_too_long``,
``source_media_required``, ``source_media_not_allowed``, ``too_few_images``,
``too_many_images``, ``too_many_videos``, ``too_many_audios``, ``invalid_duration``,
``aspect_ratio_invalid_for_model``, ``invalid_resolution``,
``aspect_ratio_incompatible_with_high_res``), 402 ``insufficient_credits``, 422
``content_policy_violation`` (a prompt containing ``[blocked]``), 429 ``rate_limited`` with
``Retry-After`` (only when ``max_in_flight`` / ``window_max`` are set: Kubeez documents no
numbers), 404 ``generation_not_found``. ``generation_type`` defaults to ``text-to-image`` (as
the seed's tool does), so a video request must name its type.

Prompt markers decide a job: ``[fail]`` (``generation_failed``), ``[content_policy]``
(``content_policy_violation``), ``[timeout]`` (``timeout``) end it ``failed``; ``[hang]`` keeps
it processing; ``[delay=2.5]`` sets its processing time. Credits are charged at submit and
given back when a job fails (our choice; the seed is silent).
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fakes import kubeez_models as km
from fakes import media
from fakes.base import AcceptedSubmit, FakeUpstream, OutputFile, RequestError, json_error
from fakes.limits import SlidingWindow, retry_after_seconds
from mediagate.catalog.schema import ModelEntry

MAX_UPLOAD_BYTES = 500 * 1024 * 1024
#: Multipart framing around the file; a larger Content-Length is refused before reading.
_MULTIPART_SLACK = 64 * 1024
MARKERS = {
    "[fail]": ("generation_failed", "The provider failed to generate the media."),
    "[content_policy]": (
        "content_policy_violation",
        "The output was blocked by the provider's content policy.",
    ),
    "[timeout]": ("timeout", "Generation timed out."),
}
_DELAY = re.compile(r"\[delay=([\d.]+)\]")


@dataclass
class KubeezJob:
    """One generation. Times are on the fake's clock."""

    generation_id: str
    key: str
    entry: ModelEntry
    cost: float
    created: float
    finish_at: float
    aspect_ratio: str
    duration_s: float
    outcome: str = "completed"
    error: dict[str, str] | None = None
    files: dict[str, str] = field(default_factory=dict)


class FakeKubeez(FakeUpstream):
    """The fake Kubeez. ``with FakeKubeez(processing_s=0.2) as fake: fake.url ...``."""

    name = "kubeez"
    default_key = "kz-test-key"
    env_prefix = "MEDIAGATE_KUBEEZ"
    kinds = ("submit", "poll", "download", "upload", "models", "other")

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        processing_s: float = 0.5,
        credits: float = 1_000_000.0,
        max_in_flight: int | None = None,
        window_max: int | None = None,
        window_s: float = 60.0,
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
        port: int = 0,
    ) -> None:
        self.initial_credits = credits
        self.max_in_flight = max_in_flight
        self.window = SlidingWindow(window_max, window_s)
        self.max_upload_bytes = max_upload_bytes
        self.jobs: dict[str, KubeezJob] = {}
        self._by_key: dict[str, list[KubeezJob]] = {}
        self._credits: dict[str, float] = {}
        super().__init__(api_keys=api_keys, processing_s=processing_s, port=port)

    # --- wiring -------------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/generate/media", self._generate, methods=["POST"]),
                Route("/v1/generations/{generation_id}", self._status, methods=["GET"]),
                Route("/v1/upload/media", self._upload, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                *self.file_routes(),
            ]
        )

    def classify(self, method: str, path: str) -> str:
        if path == "/v1/generate/media":
            return "submit"
        if path.startswith("/v1/generations/"):
            return "poll"
        if path.startswith("/files/"):
            return "download"
        return {"/v1/upload/media": "upload", "/v1/models": "models"}.get(path, "other")

    def rate_limited_body(self, reason: str) -> dict[str, Any]:
        return {"error": "rate_limited", "message": "Too many requests; retry later."}

    # --- test controls ------------------------------------------------------------------------

    def set_credits(self, credits: float, key: str | None = None) -> None:
        """Set a key's balance now (jobs already charged stay charged)."""
        key = key or self.api_key
        with self.lock:
            self._credits[key] = credits + self._spent(key)

    def credits_of(self, key: str | None = None) -> float:
        with self.lock:
            return self._balance(key or self.api_key)

    def finish(self, generation_id: str) -> None:
        """Complete a job now."""
        self._decide(generation_id, "completed", None)

    def fail(
        self, generation_id: str, code: str = "generation_failed", message: str = "Failed."
    ) -> None:
        """Fail a job now with ``{code, message}``."""
        self._decide(generation_id, "failed", {"code": code, "message": message})

    def status_of(self, generation_id: str) -> str:
        with self.lock:
            return self._state(self.jobs[generation_id], self.clock.now())[0]

    def _decide(self, generation_id: str, outcome: str, error: dict[str, str] | None) -> None:
        with self.lock:
            job = self.jobs[generation_id]
            job.finish_at = min(job.finish_at, self.clock.now())
            job.outcome, job.error = outcome, error

    # --- state --------------------------------------------------------------------------------

    def _state(self, job: KubeezJob, now: float) -> tuple[str, int]:
        if now >= job.finish_at:
            return job.outcome, 100 if job.outcome == "completed" else 0
        span = job.finish_at - job.created
        fraction = (now - job.created) / span if span not in (0, float("inf")) else 0.5
        if fraction < 0.15:
            return "pending", 0
        if fraction < 0.3:
            return "queued", 0
        return "processing", min(99, int(fraction * 100))

    def _spent(self, key: str) -> float:
        now = self.clock.now()
        return sum(j.cost for j in self._by_key.get(key, []) if self._state(j, now)[0] != "failed")

    def _balance(self, key: str) -> float:
        return self._credits.get(key, self.initial_credits) - self._spent(key)

    def _running(self, key: str, now: float) -> list[KubeezJob]:
        return [j for j in self._by_key.get(key, []) if now < j.finish_at]

    # --- validation ---------------------------------------------------------------------------

    # --- outputs ------------------------------------------------------------------------------

    def _register_outputs(self, job: KubeezJob) -> None:
        w, h = media.aspect_dims(job.aspect_ratio)
        gid = job.generation_id
        if job.entry.media_type == "video":
            files = {
                "url": (f"{gid}/output.mp4", OutputFile("mp4", w, h, job.duration_s)),
                "thumbnail_url": (f"{gid}/thumbnail.jpg", OutputFile("jpg", w, h)),
                "optimized_url": (f"{gid}/optimized.mp4", OutputFile("mp4", w, h, job.duration_s)),
            }
        else:
            files = {
                "url": (f"{gid}/output.png", OutputFile("png", w, h)),
                "thumbnail_url": (
                    f"{gid}/thumbnail.jpg",
                    OutputFile("jpg", *media.small_dims(w, h, 32)),
                ),
                "optimized_url": (f"{gid}/optimized.jpg", OutputFile("jpg", w, h)),
            }
        for field_name, (path, spec) in files.items():
            self.add_file(path, spec)
            job.files[field_name] = path

    def _outputs(self, job: KubeezJob, base: str) -> list[dict[str, Any]]:
        main = self.files[job.files["url"]]
        output: dict[str, Any] = {name: f"{base}/files/{path}" for name, path in job.files.items()}
        output.update(media_type=job.entry.media_type, width=main.width, height=main.height)
        return [output]

    # --- endpoints ----------------------------------------------------------------------------

    def _auth(self, request: Request) -> str | None:
        key = self.request_key(request.scope)
        return key if key in self.api_keys else None

    @staticmethod
    def _unauthorized() -> JSONResponse:
        return json_error(401, {"error": "unauthorized", "message": "Missing or invalid API key."})

    def _too_many(self, kind: str, key: str, reason: str, wait_s: float) -> JSONResponse:
        seconds = retry_after_seconds(wait_s)
        self.recorder.note_429(kind, key, reason, str(seconds))
        return json_error(429, self.rate_limited_body(reason), {"Retry-After": str(seconds)})

    async def _generate(self, request: Request) -> Response:
        key = self._auth(request)
        if key is None:
            return self._unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return json_error(
                400, {"error": "invalid_arguments", "message": "Body is not valid JSON."}
            )
        try:
            entry, options = km.validate(body)
        except RequestError as exc:
            return json_error(exc.status, exc.body)
        prompt: str = body["prompt"]
        if "[blocked]" in prompt:
            return json_error(
                422,
                {
                    "error": "content_policy_violation",
                    "message": "The prompt violates the content policy.",
                },
            )
        with self.lock:
            now = self.clock.now()
            running = self._running(key, now)
            if self.max_in_flight is not None and len(running) >= self.max_in_flight:
                return self._too_many(
                    "submit", key, "in_flight", min(j.finish_at for j in running) - now
                )
            wait = self.window.wait_s(key, now)
            if wait is not None:
                return self._too_many("submit", key, "window", wait)
            self.window.add(key, now)
            cost = km.credits_for(
                entry, options["duration_s"], options["sound"], options["resolution"]
            )
            balance = self._balance(key)
            if cost > balance:
                return json_error(
                    402,
                    {
                        "error": "insufficient_credits",
                        "message": "Not enough credits for this generation.",
                        "required": cost,
                        "balance": balance,
                    },
                )
            delay = _DELAY.search(prompt)
            seconds = float(delay.group(1)) if delay else self.processing_s
            if "[hang]" in prompt:
                seconds = float("inf")
            job = KubeezJob(
                str(uuid.uuid4()),
                key,
                entry,
                cost,
                now,
                now + seconds,
                options["aspect_ratio"],
                float(options["duration_s"] or 0),
            )
            for marker, (code, message) in MARKERS.items():
                if marker in prompt:
                    job.outcome, job.error = "failed", {"code": code, "message": message}
                    break
            self._register_outputs(job)
            self.jobs[job.generation_id] = job
            self._by_key.setdefault(key, []).append(job)
            self._note_accepted(
                AcceptedSubmit(time.monotonic(), key, job.generation_id, entry.id, body, cost),
                len(running) + 1,
            )
        self.trigger("submit_accepted")
        return JSONResponse(
            {
                "generation_id": job.generation_id,
                "status": "pending",
                "estimated_time_seconds": entry.estimated_time_seconds,
                "estimated_cost_credits": cost,
            }
        )

    async def _status(self, request: Request) -> Response:
        key = self._auth(request)
        if key is None:
            return self._unauthorized()
        base = str(request.base_url).rstrip("/")
        with self.lock:
            job = self.jobs.get(request.path_params["generation_id"])
            if job is None or job.key != key:
                return json_error(
                    404, {"error": "generation_not_found", "message": "No such generation."}
                )
            status, progress = self._state(job, self.clock.now())
            answer = {
                "generation_id": job.generation_id,
                "model": job.entry.id,
                "status": status,
                "progress": progress,
                "outputs": self._outputs(job, base) if status == "completed" else [],
                "error": job.error if status == "failed" else None,
            }
        if status == "completed":
            self.trigger("outputs_ready")
        return JSONResponse(answer)

    async def _models(self, request: Request) -> Response:
        if self._auth(request) is None:
            return self._unauthorized()
        return JSONResponse({"models": [km.model_row(e) for e in km.catalog().models.values()]})

    async def _upload(self, request: Request) -> Response:
        if self._auth(request) is None:
            return self._unauthorized()
        limit = self.max_upload_bytes
        too_large = json_error(
            413,
            {
                "error": "file_too_large",
                "message": f"Uploads are limited to {limit} bytes per file.",
                "max_bytes": limit,
            },
        )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
            return too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit + _MULTIPART_SLACK:
                return too_large
            chunks.append(chunk)

        async def replay() -> AsyncGenerator[bytes, None]:
            for chunk in chunks:
                yield chunk

        try:
            form = await MultiPartParser(request.headers, replay()).parse()
        except Exception:
            return json_error(
                400, {"error": "invalid_arguments", "message": "Expected multipart/form-data."}
            )
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return json_error(
                    400,
                    {
                        "error": "invalid_arguments",
                        "message": "Missing 'file' part.",
                        "field": "file",
                    },
                )
            data = await upload.read()
            if len(data) > limit:
                return too_large
            filename = PurePosixPath(upload.filename or "upload.bin").name or "upload.bin"
            mime = upload.content_type or "application/octet-stream"
        finally:
            await form.close()
        path = f"uploads/{secrets.token_hex(8)}/{filename}"
        self.add_file(
            path, OutputFile(filename.rsplit(".", 1)[-1].lower(), data=data, mime_type=mime)
        )
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {"url": f"{base}/files/{path}", "size_bytes": len(data), "mime_type": mime}
        )
