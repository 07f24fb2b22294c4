"""Kubeez's REST API as an :class:`UpstreamAdapter`: pure mapping, no I/O.

Our catalog is modelled on Kubeez, so a validated :class:`GenerationRequest` maps back almost
field for field to ``POST /v1/generate/media`` (seed 002 "How fields map"): an option is sent
only when the model's entry says the model takes it, so Kubeez sees the same call its own
documentation describes. Where the seeds are silent (auth, the poll path, the answer and error
shapes) this follows the contract the fake upstream in ``tests/fakes/kubeez.py`` implements.

Kubeez documents no cancel endpoint and no way to list a key's jobs, so ``cancel_call`` and
``reconcile_call`` return ``None``: after an ambiguous submit the driver cannot look for the
job and must decide without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeGuard
from urllib.parse import quote

from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.catalog.urls import classify
from mediagate.errors import MediagateError
from mediagate.providers.upstream.adapter import (
    HttpCall,
    PollPlan,
    Submitted,
    UpstreamLimits,
    UpstreamOutput,
    UpstreamState,
    UpstreamStatus,
    poll_plan_for,
)
from mediagate.providers.upstream.answers import answer_id, finite_number, unreadable
from mediagate.providers.upstream.errors import rate_limited

GENERATE_PATH = "/v1/generate/media"
STATUS_PATH = "/v1/generations/{generation_id}"
UPLOAD_PATH = "/v1/upload/media"
MODELS_PATH = "/v1/models"
#: Seed 002: "POST /v1/upload/media accepts up to 500 MB per file."
UPLOAD_MAX_BYTES = 500 * 1024 * 1024
API_KEY_SETTING = "MEDIAGATE_KUBEEZ_API_KEY"

_STATES: frozenset[str] = frozenset({"pending", "queued", "processing", "completed", "failed"})
#: Upstream codes that mean the content itself was refused (the agent must change it).
_CONTENT_CODES = frozenset({"content_policy_violation", "content_filtered", "nsfw_content"})
#: Fix-it details an upstream error may carry that are worth passing to the agent as they are
#: (``variant_required`` carries ``family`` and ``available_variants``).
_PASSED_DETAILS = ("family", "available_variants", "allowed", "max", "got", "suggestions")
_TEXT_MAX = 500


class KubeezAdapter:
    """The pure half of the Kubeez provider (see :class:`UpstreamAdapter`)."""

    name = "kubeez"
    local_inputs: Literal["upload", "data_uri"] = "upload"
    upload_max_bytes = UPLOAD_MAX_BYTES

    def __init__(
        self,
        *,
        max_in_flight: int | None = None,
        window_requests: int | None = None,
        window_s: float = 30.0,
    ) -> None:
        """Kubeez publishes no per-key limits: they come from settings (``None``: no limit)."""
        self.limits = UpstreamLimits(
            max_in_flight=max_in_flight, window_requests=window_requests, window_s=window_s
        )

    # --- calls ------------------------------------------------------------------------------

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Bearer authentication on every call."""
        return {"Authorization": f"Bearer {api_key}"}

    def submit_call(
        self, request: GenerationRequest, entry: ModelEntry, inputs: Sequence[str]
    ) -> HttpCall:
        """``POST /v1/generate/media`` with the seed's field names."""
        return HttpCall(
            "POST", GENERATE_PATH, json=generate_body(request, entry, inputs), creates=True
        )

    def status_call(self, upstream_id: str) -> HttpCall:
        """``GET /v1/generations/{generation_id}``."""
        return HttpCall("GET", STATUS_PATH.format(generation_id=quote(upstream_id, safe="")))

    def upload_call(self) -> HttpCall:
        """``POST /v1/upload/media`` (multipart field ``file``, ≤ 500 MB).

        Not marked ``creates``: a repeated upload only leaves a spare input file (Kubeez clears
        inputs weekly) and bills nothing.
        """
        return HttpCall("POST", UPLOAD_PATH)

    def reconcile_call(self) -> HttpCall | None:
        """``None``: Kubeez documents no listing of a key's generations."""
        return None

    def find_submitted(
        self,
        body: Any,
        *,
        request: GenerationRequest,
        entry: ModelEntry,
        submitted_after_s: float,
        known_ids: frozenset[str],
    ) -> str | Literal["absent"] | None:
        """Never called (no ``reconcile_call``); cannot tell."""
        return None

    def cancel_call(self, upstream_id: str) -> HttpCall | None:
        """``None``: Kubeez documents no cancel endpoint."""
        return None

    def poll_plan(self, request: GenerationRequest) -> PollPlan:
        """Images finish in seconds (poll 1→5 s); videos in minutes (5→15 s)."""
        return poll_plan_for(request.media_type)

    # --- answers ----------------------------------------------------------------------------

    def parse_submit(self, body: Any) -> Submitted:
        """``{"generation_id", "status", "estimated_time_seconds", "estimated_cost_credits"}``."""
        if not isinstance(body, Mapping):
            raise unreadable("Kubeez", "submit", "the answer is not a JSON object")
        upstream_id = answer_id(body.get("generation_id"))
        if upstream_id is None:
            raise unreadable("Kubeez", "submit", "generation_id is missing")
        status = None
        if body.get("status") in ("completed", "failed"):
            status = self.parse_status(body, elapsed_s=0.0)
        return Submitted(
            upstream_id=upstream_id,
            cost=finite_number(body.get("estimated_cost_credits")),
            status=status,
        )

    def parse_status(self, body: Any, *, elapsed_s: float) -> UpstreamStatus:
        """One poll answer: state, progress (percent), outputs, and the error of a failure."""
        if not isinstance(body, Mapping):
            raise unreadable("Kubeez", "status", "the answer is not a JSON object")
        raw_state = body.get("status")
        state = raw_state.strip().lower() if isinstance(raw_state, str) else None
        if state not in _STATES:
            raise unreadable("Kubeez", "status", f"unknown status {_short(raw_state)!r}")
        progress = _progress(body.get("progress"))
        message = _text(body.get("message"))
        if state == "failed":
            return UpstreamStatus(
                "failed",
                progress=progress,
                message=message,
                error=_failure(body.get("error"), elapsed_s),
            )
        if state == "completed":
            outputs = _outputs(body.get("outputs"))
            if not any(o.role == "output" for o in outputs):
                raise unreadable("Kubeez", "status", "a completed generation lists no outputs")
            return UpstreamStatus("completed", progress=100.0, message=message, outputs=outputs)
        live: UpstreamState = state  # type: ignore[assignment]  # narrowed by _STATES above
        return UpstreamStatus(live, progress=progress, message=message)

    def parse_upload(self, body: Any) -> str:
        """``{"url", "size_bytes", "mime_type"}`` → the public URL (``urls[0]`` accepted too)."""
        if isinstance(body, Mapping):
            url = body.get("url")
            if url is None and isinstance(body.get("urls"), list) and body["urls"]:
                url = body["urls"][0]
            if _is_http_url(url):
                return url
        raise unreadable("Kubeez", "upload", "no url in the answer")

    def parse_error(
        self, status_code: int, body: Any, *, retry_after_s: float | None
    ) -> MediagateError:
        """Map a non-2xx answer to a stable error; Kubeez's code, message and hint are kept."""
        code, upstream_message, extra = _error_fields(body)
        details: dict[str, Any] = {
            "provider": self.name,
            "status": status_code,
            "upstream_code": code,
            "upstream_message": upstream_message,
            **extra,
        }
        said = f": {upstream_message}" if upstream_message else "."
        if status_code == 429 or code == "rate_limited":
            said_wait = details.pop("retry_after_s", None)
            wait = retry_after_s if retry_after_s is not None else said_wait
            return rate_limited(details.pop("provider"), wait, **details)
        if code in _CONTENT_CODES:
            details.setdefault(
                "hint", "Change the prompt or the inputs; Kubeez refused the content."
            )
            return MediagateError(
                "content_filtered", f"Kubeez refused the content{said}", **details
            )
        if status_code in (401, 403):
            return MediagateError(
                "upstream_rejected",
                f"Kubeez refused the API key (HTTP {status_code}){said}",
                **{
                    **details,
                    "hint": f"Check {API_KEY_SETTING}: it must be a valid, active Kubeez API key.",
                },
            )
        if status_code == 402 or code == "insufficient_credits":
            details.setdefault(
                "hint", "Top up the Kubeez account's credits, or pick a cheaper model."
            )
            return MediagateError(
                "upstream_rejected", f"The Kubeez account has too few credits{said}", **details
            )
        if 400 <= status_code < 500:
            return MediagateError("upstream_rejected", f"Kubeez rejected the call{said}", **details)
        return MediagateError(
            "upstream_error", f"Kubeez failed with HTTP {status_code}{said}", **details
        )


# --- request body -----------------------------------------------------------------------------


def generate_body(
    request: GenerationRequest, entry: ModelEntry, inputs: Sequence[str]
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/generate/media`` for a validated request.

    Options go out only where ``entry`` says the model takes them (seed 000/002): a duration
    for configurable lengths (as ``"5s"``), ``resolution`` for image tiers not baked into the
    id, ``quality`` where the model has one, ``sound`` for toggle models, and the model's own
    parameters (``kling_elements``, ``voice_id``, ``character_ids``, trim window, …) by name.
    """
    body: dict[str, Any] = {
        "model": entry.id,
        "prompt": request.prompt,
        "generation_type": request.generation_type,
    }
    if inputs:
        body["source_media_urls"] = list(inputs)
    if request.negative_prompt and entry.negative_prompt:
        body["negative_prompt"] = request.negative_prompt
    if not entry.aspect_ratio.ignored:
        body["aspect_ratio"] = request.aspect_ratio
    if entry.duration is not None and entry.duration.configurable and request.duration_s:
        body["duration"] = f"{request.duration_s}s"
    if entry.resolution is not None and not entry.resolution.fixed and request.resolution:
        body["resolution"] = request.resolution
    if entry.quality is not None and request.quality:
        # Imagen maps quality to its variant upstream ("Mapped to model_variant"): the key is
        # what Kubeez takes, not the variant it names.
        body["quality"] = request.quality
    if entry.supports_sound:
        body["sound"] = bool(request.sound)
    if request.seed is not None:
        body["seed"] = request.seed
    for spec in entry.params:
        value = request.params.get(spec.name)
        if value is not None:
            body[spec.name] = value
    return body


# --- answers ----------------------------------------------------------------------------------


def _short(value: object) -> str:
    return str(value)[:80]


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:_TEXT_MAX]
    return None


def _progress(value: object) -> float | None:
    """Kubeez's ``progress`` as a percentage 0–100 (clamped; anything else is unknown)."""
    number = finite_number(value)
    if number is None:
        return None
    return min(100.0, max(0.0, number))


def _is_http_url(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _int(value: object) -> int | None:
    number = finite_number(value)
    if number is None or number <= 0 or number != int(number):
        return None
    return int(number)


def _dimensions(item: Mapping[str, Any]) -> dict[str, int]:
    """``width``/``height``, or the seed's ``dimensions`` (an object or ``"1024x768"``)."""
    width, height = _int(item.get("width")), _int(item.get("height"))
    dims = item.get("dimensions")
    if (width is None or height is None) and isinstance(dims, Mapping):
        width, height = _int(dims.get("width")), _int(dims.get("height"))
    elif (width is None or height is None) and isinstance(dims, str):
        w, sep, h = dims.lower().partition("x")
        if sep and w.strip().isdigit() and h.strip().isdigit():
            width, height = _int(int(w)), _int(int(h))
    if width is None or height is None:
        return {}
    return {"width": width, "height": height}


def _media_type(item: Mapping[str, Any], url: str) -> tuple[str, str | None]:
    """Our kind (image/video/audio) and the MIME type when Kubeez sent one instead."""
    raw = item.get("media_type")
    if isinstance(raw, str) and raw.strip():
        kind, slash, _ = raw.strip().lower().partition("/")
        return kind, raw.strip().lower() if slash else None
    return classify(url) or "image", None


def _outputs(value: object) -> tuple[UpstreamOutput, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise unreadable("Kubeez", "status", "outputs is not an array")
    out: list[UpstreamOutput] = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping) or not _is_http_url(item.get("url")):
            raise unreadable("Kubeez", "status", f"outputs[{i}] has no http(s) url")
        url: str = item["url"]
        media_type, mime = _media_type(item, url)
        extra: dict[str, Any] = _dimensions(item)
        if mime is not None:
            extra["mime_type"] = mime
        if _is_http_url(item.get("optimized_url")):
            extra["optimized_url"] = item["optimized_url"]
        for key in ("duration_s", "size_bytes"):
            number = finite_number(item.get(key))
            if number is not None:
                extra[key] = number
        out.append(UpstreamOutput(url=url, media_type=media_type, extra=extra))
        thumb = item.get("thumbnail_url")
        if _is_http_url(thumb) and thumb != url:
            out.append(
                UpstreamOutput(url=thumb, media_type="image", role="thumbnail", extra={"of": url})
            )
    return tuple(out)


def _failure(value: object, elapsed_s: float) -> MediagateError:
    """The error a generation Kubeez reports as failed ends with."""
    code, message = None, None
    if isinstance(value, Mapping):
        code, message = _text(value.get("code")), _text(value.get("message"))
    elif isinstance(value, str):
        message = _text(value)
    after = f" after {elapsed_s:.0f} s" if elapsed_s >= 1 else ""
    said = f": {message}" if message else " without a reason."
    details: dict[str, Any] = {
        "upstream_code": code,
        "upstream_message": message,
        "elapsed_s": round(elapsed_s, 1),
    }
    if code in _CONTENT_CODES:
        return MediagateError(
            "content_filtered",
            f"Kubeez refused the content{after}{said}",
            hint="Change the prompt or the inputs; Kubeez refused the content.",
            **details,
        )
    return MediagateError("upstream_error", f"Kubeez failed the generation{after}{said}", **details)


def _error_fields(body: object) -> tuple[str | None, str | None, dict[str, Any]]:
    """``(code, message, extra details)`` from an error body in any shape Kubeez may send.

    The documented shape is ``{"error": "<code>", "message", "hint"?, ...}``; a nested
    ``{"error": {"code", "message"}}`` and a plain-text body are read too.
    """
    if isinstance(body, str):
        return None, _text(body), {}
    if not isinstance(body, Mapping):
        return None, None, {}
    error = body.get("error")
    code: str | None
    message = _text(body.get("message"))
    if isinstance(error, Mapping):
        code = _text(error.get("code"))
        message = message or _text(error.get("message"))
        source: Mapping[str, Any] = {**body, **error}
    else:
        code = _text(error)
        source = body
    extra: dict[str, Any] = {}
    hint = _text(source.get("hint"))
    if hint is not None:
        extra["hint"] = hint
    for key in _PASSED_DETAILS:
        if source.get(key) is not None:
            extra[key] = source[key]
    for key in ("retry_after_s", "retry_after"):
        wait = finite_number(source.get(key))
        if wait is not None:
            extra["retry_after_s"] = wait
            break
    return code, message, extra
