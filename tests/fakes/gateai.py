"""A contract-faithful fake of the GateAI Core API (``seeds/004``), served on 127.0.0.1.

Endpoints (kinds in brackets, for ``inject`` and the request log):

* ``POST /api/generate`` [submit] → ``{task_id, url, status: PROCESSING, cost, remaining}``
  plus ``adjustments: [{param, from, to}]`` when the request was downgraded to fit the budget.
* ``GET /get/{task_id}`` [poll] → ``{status, model, cost}``; ``FINISHED`` adds ``result`` (and
  ``glb_urls`` for 3D models), ``FAILED`` adds ``error``. ``model`` is spelt the internal way
  the seed's example shows (``gpt_image_2_0``; others ``seedance_2_0``), not the request's id.
* ``POST /api/estimate`` [estimate] → ``{cost, daily_remaining, fits_in_budget}``; over budget
  also ``adjustments`` and ``adjusted_cost``.
* ``GET /v1/models`` [models, no auth], ``GET /v1/models/schema`` [schema],
  ``GET /v1/models/{id}`` [model] (404 ``{"error": "Model not found", "suggestions"}``).
* ``GET /credits`` [credits], ``GET /api/me?key=`` [me, query-string auth only],
  ``POST /api/upload`` [upload], ``GET /docs.txt`` [docs, no auth], ``GET /files/...``
  [download, no auth: the output files].

Every other request needs ``Authorization: Bearer <key>`` (401 ``UNAUTHORIZED`` otherwise).

Checks on a submit, in order: auth (401), JSON shape (400 ``INVALID_REQUEST``), model (404),
``PROMPT_TOO_LONG`` (> 1500 characters, 400), ``QUANTITY_TOO_HIGH`` (> 8, 400), the model's
parameter schema (400 ``INVALID_PARAMS``; sizes are snapped, never refused), then the limits:
more than ``max_in_flight`` generations PROCESSING for the key, or more than ``window_max``
admitted requests in the last ``window_s`` seconds → 429 ``RATE_LIMITED`` with ``Retry-After``
(whole seconds until a slot or the window frees). A request that passes the limits counts in
the window even if the budget then refuses it (402 ``BUDGET_EXCEEDED``); refused and invalid
requests do not. Polls count in the window only with ``count_polls_in_window=True``. The
in-flight limit is checked first, so a request over both is reported as ``in_flight``.

Each key has ``daily_budget`` dollars ($100) per UTC day; prices and budget downgrades follow
the rule in ``gateai_models``. ``set_budget`` sets a key's spending or limit.

Jobs finish ``processing_s`` after submit. A prompt marker changes that: ``[fail]``,
``[content_policy]`` and ``[timeout]`` make the job FAIL (the last with the seed's
``Generation timed out (40 min hard limit)``), ``[hang]`` keeps it PROCESSING until the 40-minute
hard limit, ``[delay=2.5]`` sets its processing time. ``finish(task_id)`` / ``fail(task_id)``
decide a job from the test. Time is ``fake.clock``: ``clock.advance(1200)`` passes the
20-minute refund, ``clock.advance(2400)`` the hard limit. A concurrency slot frees when its job
ends or ``slot_release_s`` (10 min) after submit. Failed jobs are not charged (our choice; the
seed is silent), and neither are jobs still running at 20 minutes (the seed's refund).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fakes import gateai_models as gm
from fakes import media
from fakes.base import (
    AcceptedSubmit,
    FakeUpstream,
    OutputFile,
    RequestError,
    json_error,
    query_param,
)
from fakes.faults import Scope
from fakes.gateai_ledger import (
    CONTENT_POLICY_ERROR,
    GENERIC_ERROR,
    TIMEOUT_ERROR,
    GateTask,
    Ledger,
)
from fakes.limits import SlidingWindow, retry_after_seconds

MARKERS = {
    "[fail]": GENERIC_ERROR,
    "[content_policy]": CONTENT_POLICY_ERROR,
    "[timeout]": TIMEOUT_ERROR,
}
_DELAY = re.compile(r"\[delay=([\d.]+)\]")

__all__ = [
    "CONTENT_POLICY_ERROR",
    "GENERIC_ERROR",
    "MARKERS",
    "TIMEOUT_ERROR",
    "FakeGateAI",
    "GateTask",
    "internal_name",
]

DOCS_TXT = """# GateAI Core API (test fake)
POST /api/generate, GET /get/{task_id}, POST /api/estimate, GET /v1/models,
GET /v1/models/schema, GET /v1/models/:modelId, GET /credits, GET /api/me?key=
"""


def internal_name(model_id: str) -> str:
    """How a status answer spells a model: the seed shows ``gpt_image_2_0`` for
    ``gpt-image-2`` (``/api/me`` uses the public id)."""
    return {"gpt-image-2": "gpt_image_2_0"}.get(model_id, re.sub(r"[-.]", "_", model_id))


class FakeGateAI(FakeUpstream):
    """The fake GateAI. ``with FakeGateAI(processing_s=0.2) as fake: fake.url ...``."""

    name = "gateai"
    default_key = "sk-test-gateai"
    env_prefix = "MEDIAGATE_GATEAI"
    kinds = (
        "submit",
        "poll",
        "download",
        "estimate",
        "models",
        "schema",
        "model",
        "credits",
        "me",
        "upload",
        "docs",
        "other",
    )

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        processing_s: float = 0.5,
        max_in_flight: int | None = 5,
        window_max: int | None = 5,
        window_s: float = 30.0,
        count_polls_in_window: bool = False,
        daily_budget: float = 100.0,
        slot_release_s: float = 600.0,
        refund_after_s: float = 1200.0,
        hard_limit_s: float = 2400.0,
        strict_params: bool = True,
        port: int = 0,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.window = SlidingWindow(window_max, window_s)
        self.count_polls_in_window = count_polls_in_window
        self.strict_params = strict_params
        self.pool = {"total_accounts": 12, "locked": 1}
        self.uploads: dict[str, str] = {}
        super().__init__(api_keys=api_keys, processing_s=processing_s, port=port)
        self.ledger = Ledger(
            self.clock,
            daily_budget=daily_budget,
            slot_release_s=slot_release_s,
            refund_after_s=refund_after_s,
            hard_limit_s=hard_limit_s,
        )
        #: Every job by task id.
        self.tasks = self.ledger.tasks

    # --- wiring -------------------------------------------------------------------------------

    def build_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/generate", self._generate, methods=["POST"]),
                Route("/get/{task_id}", self._status, methods=["GET"]),
                Route("/api/estimate", self._estimate, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/models/schema", self._schema, methods=["GET"]),
                Route("/v1/models/{model_id:path}", self._model, methods=["GET"]),
                Route("/credits", self._credits, methods=["GET"]),
                Route("/api/me", self._me, methods=["GET"]),
                Route("/api/upload", self._upload, methods=["POST"]),
                Route("/docs.txt", self._docs, methods=["GET"]),
                *self.file_routes(),
            ]
        )

    def classify(self, method: str, path: str) -> str:
        if path == "/api/generate":
            return "submit"
        if path.startswith("/get/"):
            return "poll"
        if path.startswith("/files/"):
            return "download"
        if path == "/v1/models":
            return "models"
        if path == "/v1/models/schema":
            return "schema"
        if path.startswith("/v1/models/"):
            return "model"
        named = {
            "/api/estimate": "estimate",
            "/credits": "credits",
            "/api/me": "me",
            "/api/upload": "upload",
            "/docs.txt": "docs",
        }
        return named.get(path, "other")

    def request_key(self, scope: Scope) -> str | None:
        if scope.get("path") == "/api/me":
            return query_param(scope, "key")
        return super().request_key(scope)

    def rate_limited_body(self, reason: str) -> dict[str, Any]:
        messages = {
            "in_flight": (
                f"Too many concurrent requests: max {self.max_in_flight} in-flight per key"
            ),
            "window": (
                f"Too many requests: max {self.window.max_events} per "
                f"{self.window.window_s:g}s sliding window"
            ),
        }
        return {"error": "RATE_LIMITED", "message": messages.get(reason, "Rate limit exceeded")}

    # --- test controls ------------------------------------------------------------------------

    def set_budget(
        self, key: str | None = None, *, used: float | None = None, daily_limit: float | None = None
    ) -> None:
        """Set a key's daily limit and/or what it has already spent today (beyond its jobs)."""
        with self.lock:
            self.ledger.set_budget(key or self.api_key, used, daily_limit)

    def remaining(self, key: str | None = None) -> float:
        """Dollars left today for ``key``."""
        with self.lock:
            return self.ledger.remaining(key or self.api_key)

    def in_flight(self, key: str | None = None) -> int:
        """Concurrency slots ``key`` holds now."""
        with self.lock:
            return len(self.ledger.slots(key or self.api_key, self.clock.now()))

    def finish(self, task_id: str) -> None:
        """End a job now with its outputs (FINISHED)."""
        self._decide(task_id, "FINISHED", None)

    def fail(self, task_id: str, error: str = GENERIC_ERROR) -> None:
        """End a job now as FAILED with ``error``."""
        self._decide(task_id, "FAILED", error)

    def status_of(self, task_id: str) -> str:
        with self.lock:
            return self.ledger.state(self.tasks[task_id], self.clock.now())[0]

    def _decide(self, task_id: str, outcome: str, error: str | None) -> None:
        with self.lock:
            self.ledger.decide(task_id, outcome, error)

    # --- helpers ------------------------------------------------------------------------------

    def _auth(self, request: Request) -> str | None:
        key = self.request_key(request.scope)
        return key if key in self.api_keys else None

    @staticmethod
    def _unauthorized() -> JSONResponse:
        return json_error(401, {"error": "UNAUTHORIZED", "message": "Invalid or missing API key"})

    def _too_many(self, kind: str, key: str, reason: str, wait_s: float) -> JSONResponse:
        seconds = retry_after_seconds(wait_s)
        self.recorder.note_429(kind, key, reason, str(seconds))
        body = {**self.rate_limited_body(reason), "retry_after": seconds}
        return json_error(429, body, {"Retry-After": str(seconds)})

    async def _parse(
        self, request: Request
    ) -> tuple[gm.Model, dict[str, Any], dict[str, Any]] | Response:
        """The model, params and body of a generate/estimate request, or the error answer."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            return json_error(
                400, {"error": "INVALID_REQUEST", "message": "Body is not valid JSON"}
            )
        try:
            model, params = gm.validate_request(body, strict=self.strict_params)
        except RequestError as exc:
            return exc.response()
        return model, params, body

    def _outputs(
        self, task_id: str, model: gm.Model, params: dict[str, Any]
    ) -> tuple[list[str], list[str]]:
        p = model.resolved(params)
        width, height = p.get("width"), p.get("height")
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            portrait = p.get("aspect_ratio") == "9:16"
            width, height = ((9, 16) if portrait else (16, 9)) if model.type == "video" else (1, 1)
        w, h = media.small_dims(width, height)
        stem = f"{task_id}/{model.id}_"
        if model.type == "3d":
            self.add_file(f"{stem}-0.jpg", OutputFile("jpg", 64, 64))
            self.add_file(f"{stem}-0.glb", OutputFile("glb"))
            return [f"{stem}-0.jpg"], [f"{stem}-0.glb"]
        if model.type == "video":
            duration = p.get(model.duration_param or "duration", 5)
            seconds = float(duration) if isinstance(duration, int | float) else 5.0
            self.add_file(f"{stem}-0.mp4", OutputFile("mp4", w, h, min(seconds, 20.0)))
            return [f"{stem}-0.mp4"], []
        fmt = {"jpeg": "jpg", "png": "png", "webp": "webp"}.get(str(p.get("output_format")), "jpg")
        names = [f"{stem}-{i}.{fmt}" for i in range(max(1, model.quantity(params)))]
        for name in names:
            self.add_file(name, OutputFile(fmt, w, h))
        return names, []

    def _processing(self, params: dict[str, Any]) -> tuple[float, str, str | None]:
        """Processing time, outcome and error, from the prompt's markers."""
        raw = params.get("prompt")
        prompt = raw if isinstance(raw, str) else ""
        delay = _DELAY.search(prompt)
        seconds = float(delay.group(1)) if delay else self.processing_s
        if "[hang]" in prompt:
            seconds = float("inf")
        for marker, error in MARKERS.items():
            if marker in prompt:
                return seconds, "FAILED", error
        return seconds, "FINISHED", None

    # --- endpoints ----------------------------------------------------------------------------

    async def _generate(self, request: Request) -> Response:
        key = self._auth(request)
        if key is None:
            return self._unauthorized()
        parsed = await self._parse(request)
        if isinstance(parsed, Response):
            return parsed
        model, params, body = parsed
        with self.lock:
            now = self.clock.now()
            slots = self.ledger.slots(key, now)
            if self.max_in_flight is not None and len(slots) >= self.max_in_flight:
                frees = self.ledger.slot_frees_at(slots)
                return self._too_many("submit", key, "in_flight", frees - now)
            wait = self.window.wait_s(key, now)
            if wait is not None:
                return self._too_many("submit", key, "window", wait)
            self.window.add(key, now)
            remaining = self.ledger.remaining(key)
            effective, adjustments, cost = gm.fit(model, params, remaining)
            if cost > remaining:
                return json_error(
                    402,
                    {
                        "error": "BUDGET_EXCEEDED",
                        "message": "Daily budget exhausted for this request, even downgraded",
                        "cost": cost,
                        "daily_remaining": remaining,
                    },
                )
            task_id = str(uuid.uuid4())
            seconds, outcome, error = self._processing(params)
            results, glbs = self._outputs(task_id, model, effective)
            task = GateTask(
                task_id,
                key,
                model,
                effective,
                cost,
                now,
                self.clock.wall(),
                now + seconds,
                outcome,
                error,
                results,
                glbs,
            )
            self.ledger.add(task)
            self._note_accepted(
                AcceptedSubmit(time.monotonic(), key, task_id, model.id, body, cost, adjustments),
                len(slots) + 1,
            )
            answer: dict[str, Any] = {
                "task_id": task_id,
                "url": f"/get/{task_id}",
                "status": "PROCESSING",
                "cost": cost,
                "remaining": self.ledger.remaining(key),
            }
            if adjustments:
                answer["adjustments"] = adjustments
        self.trigger("submit_accepted")
        return JSONResponse(answer)

    async def _status(self, request: Request) -> Response:
        key = self._auth(request)
        if key is None:
            return self._unauthorized()
        base = str(request.base_url).rstrip("/")
        with self.lock:
            now = self.clock.now()
            if self.count_polls_in_window:
                wait = self.window.wait_s(key, now)
                if wait is not None:
                    return self._too_many("poll", key, "window", wait)
                self.window.add(key, now)
            task = self.tasks.get(request.path_params["task_id"])
            if task is None or task.key != key:
                return json_error(404, {"error": "Task not found"})
            status, error = self.ledger.state(task, now)
            answer: dict[str, Any] = {
                "status": status,
                "model": internal_name(task.model.id),
                "cost": self.ledger.charged(task, now),
            }
            if status == "FINISHED":
                answer["result"] = [f"{base}/files/{name}" for name in task.results]
                if task.glbs:
                    answer["glb_urls"] = [f"{base}/files/{name}" for name in task.glbs]
            elif status == "FAILED":
                answer["error"] = error
        if status == "FINISHED":
            self.trigger("outputs_ready")
        return JSONResponse(answer)

    async def _estimate(self, request: Request) -> Response:
        key = self._auth(request)
        if key is None:
            return self._unauthorized()
        parsed = await self._parse(request)
        if isinstance(parsed, Response):
            return parsed
        model, params, _body = parsed
        with self.lock:
            remaining = self.ledger.remaining(key)
        cost = gm.price(model, params)
        answer: dict[str, Any] = {
            "cost": cost,
            "daily_remaining": remaining,
            "fits_in_budget": cost <= remaining,
        }
        if cost > remaining:
            _params, adjustments, adjusted = gm.fit(model, params, remaining)
            answer["adjustments"] = adjustments
            answer["adjusted_cost"] = adjusted
        return JSONResponse(answer)

    async def _models(self, request: Request) -> Response:
        return JSONResponse([m.summary() for m in gm.models().values()])

    async def _schema(self, request: Request) -> Response:
        if self._auth(request) is None:
            return self._unauthorized()
        return JSONResponse([m.schema() for m in gm.models().values()])

    async def _model(self, request: Request) -> Response:
        if self._auth(request) is None:
            return self._unauthorized()
        model_id = request.path_params["model_id"]
        model = gm.models().get(model_id)
        if model is None:
            return json_error(
                404, {"error": "Model not found", "suggestions": gm.suggest(model_id)}
            )
        return JSONResponse(model.schema())

    async def _credits(self, request: Request) -> Response:
        key = self._auth(request)
        if key is None:
            return self._unauthorized()
        with self.lock:
            return JSONResponse({"your_budget": self.ledger.budget(key), "pool": dict(self.pool)})

    async def _me(self, request: Request) -> Response:
        key = self._auth(request)
        if key is None:
            return self._unauthorized()
        with self.lock:
            return JSONResponse(self.ledger.me(key, self.max_in_flight))

    async def _upload(self, request: Request) -> Response:
        """``POST /api/upload`` (the seed names it, without a response shape): ``{id, url}``."""
        if self._auth(request) is None:
            return self._unauthorized()
        async with request.form() as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return json_error(
                    400, {"error": "INVALID_REQUEST", "message": "Missing 'file' part"}
                )
            data = await upload.read()
            mime = upload.content_type or "application/octet-stream"
            filename = upload.filename or "upload.bin"
        file_id = secrets.token_hex(8)
        path = f"uploads/{file_id}/{filename}"
        self.add_file(path, OutputFile(filename.rsplit(".", 1)[-1], data=data, mime_type=mime))
        with self.lock:
            self.uploads[file_id] = path
        url = f"{str(request.base_url).rstrip('/')}/files/{path}"
        return JSONResponse({"id": file_id, "url": url, "size_bytes": len(data), "mime_type": mime})

    async def _docs(self, request: Request) -> Response:
        return PlainTextResponse(DOCS_TXT)
