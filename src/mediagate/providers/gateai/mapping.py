"""GateAI's Core API (seed 004) as an :class:`UpstreamAdapter`: pure mapping, no I/O.

Every call is ``{"model", "type", "params"}`` to ``POST /api/generate`` (and the same body to
``POST /api/estimate``); each model takes its own ``params`` (width/height from its resolution
table, ``duration`` or ``durationSeconds``, a ``mode`` tier, reference fields such as
``start_frame`` or ``image_urls``). The per-model facts live in the catalog entry's GateAI
block; this module only applies them.

GateAI has no cancel endpoint; ``GET /api/me?key=…`` lists a key's active and recent tasks,
which is how a submit whose answer was lost is found again. Where the seed is silent (error
body, adjustment shape) this follows the contract the fake in ``tests/fakes/gateai.py`` serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from mediagate.catalog.gateai import GateAISpec, upstream_params
from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.catalog.urls import classify
from mediagate.errors import MediagateError
from mediagate.providers.base import Adjustment, Balance, UpstreamEstimate
from mediagate.providers.gateai.errors import error_from_response, failure_error
from mediagate.providers.gateai.reconcile import find_task
from mediagate.providers.upstream.adapter import (
    HttpCall,
    PollPlan,
    Submitted,
    UpstreamLimits,
    UpstreamOutput,
    UpstreamStatus,
    poll_plan_for,
)
from mediagate.providers.upstream.answers import answer_id, finite_number, unreadable

NAME = "gateai"
GENERATE_PATH = "/api/generate"
ESTIMATE_PATH = "/api/estimate"
STATUS_PATH = "/get/{task_id}"
CREDITS_PATH = "/credits"
ME_PATH = "/api/me"
CURRENCY = "USD"
#: Seed 004: concurrency slots auto-release after 10 minutes (the generation keeps running).
SLOT_RELEASE_S = 600.0
#: Seed 004: an unfinished generation is refunded after 20 minutes and killed after 40.
REFUND_AFTER_S = 20 * 60.0
HARD_LIMIT_S = 40 * 60.0


class GateAIAdapter:
    """The pure half of the GateAI provider (see :class:`UpstreamAdapter`)."""

    name = NAME
    #: Seed 004 accepts ``data:`` base64 URIs in every reference field: no pre-upload.
    local_inputs: Literal["upload", "data_uri"] = "data_uri"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        max_in_flight: int | None = 5,
        window_requests: int | None = 5,
        window_s: float = 30.0,
        polls_count_in_window: bool = False,
    ) -> None:
        """Limits default to the seed's (5 in flight, 5 requests per 30 s per key).

        ``api_key`` is only needed for ``reconcile_call``: ``/api/me`` takes the key as a
        query parameter (every other call uses :meth:`auth_headers`).
        """
        self._api_key = api_key
        self.limits = UpstreamLimits(
            max_in_flight=max_in_flight,
            window_requests=window_requests,
            window_s=window_s,
            polls_count_in_window=polls_count_in_window,
            slot_release_s=SLOT_RELEASE_S,
            # A little past GateAI's own limit, so its FAILED answer (and text) arrives first.
            max_job_s=HARD_LIMIT_S + 120.0,
        )

    # --- calls ------------------------------------------------------------------------------

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Bearer authentication (seed 004: ``Authorization: Bearer sk-…``)."""
        return {"Authorization": f"Bearer {api_key}"}

    def submit_call(
        self, request: GenerationRequest, entry: ModelEntry, inputs: Sequence[str]
    ) -> HttpCall:
        """``POST /api/generate`` with ``{"model", "type", "params"}``."""
        return HttpCall(
            "POST", GENERATE_PATH, json=generate_body(request, entry, inputs), creates=True
        )

    def status_call(self, upstream_id: str) -> HttpCall:
        """``GET /get/{task_id}``."""
        return HttpCall("GET", STATUS_PATH.format(task_id=quote(upstream_id, safe="")))

    def reconcile_call(self) -> HttpCall | None:
        """``GET /api/me?key=…`` (active and recent tasks); ``None`` without a key."""
        if not self._api_key:
            return None
        return HttpCall("GET", ME_PATH, params={"key": self._api_key})

    def upload_call(self) -> HttpCall | None:
        """``None``: local inputs are inlined as ``data:`` URIs (``local_inputs``).

        GateAI's ``POST /api/upload`` answers file ids for ``images``/``videos`` arrays, not
        URLs, so it does not fit the upload-then-reference flow.
        """
        return None

    def parse_upload(self, body: Any) -> str:
        """The URL in an upload answer (GateAI's answers file ids, so there is none)."""
        raise unreadable("GateAI", "upload", "GateAI uploads answer file ids, not URLs")

    def cancel_call(self, upstream_id: str) -> HttpCall | None:
        """``None``: GateAI has no cancel endpoint. We stop polling and mark it canceled; the
        upstream generation runs on (and is billed) until it finishes or hits 40 minutes."""
        return None

    def poll_plan(self, request: GenerationRequest) -> PollPlan:
        """Images take ~10-30 s (poll 1→5 s); videos and 3D take minutes (5→15 s)."""
        return poll_plan_for(request.media_type)

    # --- answers ----------------------------------------------------------------------------

    def parse_submit(self, body: Any) -> Submitted:
        """``{"task_id", "url", "status", "cost", "remaining", "adjustments"?}``."""
        if not isinstance(body, Mapping):
            raise unreadable("GateAI", "submit", "the answer is not a JSON object")
        task_id = answer_id(body.get("task_id"))
        if task_id is None:
            raise unreadable("GateAI", "submit", "task_id is missing")
        status = None
        if _state_word(body.get("status")) in ("FINISHED", "FAILED"):
            status = self.parse_status(body, elapsed_s=0.0)
        adjustments = parse_adjustments(body.get("adjustments"))
        return Submitted(
            upstream_id=task_id,
            cost=finite_number(body.get("cost")),
            adjustments=tuple(describe_adjustments(adjustments, applied=True)),
            status=status,
        )

    def parse_status(self, body: Any, *, elapsed_s: float) -> UpstreamStatus:
        """``PROCESSING`` / ``FINISHED`` (``result`` URLs; 3D adds ``glb_urls``) / ``FAILED``."""
        if not isinstance(body, Mapping):
            raise unreadable("GateAI", "status", "the answer is not a JSON object")
        word = _state_word(body.get("status"))
        cost = finite_number(body.get("cost"))
        if word == "FINISHED":
            outputs = _outputs(body)
            if not outputs:
                raise unreadable("GateAI", "status", "a finished generation lists no result")
            return UpstreamStatus(
                "completed", progress=100.0, outputs=outputs, cost=cost, message=_late(elapsed_s)
            )
        if word == "FAILED":
            error = failure_error(_failure_text(body))
            return UpstreamStatus("failed", message=error.message, error=error, cost=cost)
        if word in ("PROCESSING", "QUEUED", "PENDING"):
            state: Literal["queued", "processing"] = "queued" if word == "QUEUED" else "processing"
            return UpstreamStatus(state, message=status_message(elapsed_s), cost=cost)
        raise unreadable("GateAI", "status", f"unknown status {str(body.get('status'))[:40]!r}")

    def parse_error(
        self, status_code: int, body: Any, *, retry_after_s: float | None
    ) -> MediagateError:
        """401/403 → ``upstream_rejected`` (key hint), 429 → ``rate_limited``, other 4xx →
        ``upstream_rejected`` with ``upstream_code``, 5xx → ``upstream_error``."""
        return error_from_response(status_code, body, retry_after_s=retry_after_s)

    def find_submitted(
        self,
        body: Any,
        *,
        request: GenerationRequest,
        entry: ModelEntry,
        submitted_after_s: float,
        known_ids: frozenset[str],
    ) -> str | Literal["absent"] | None:
        """Our task in ``/api/me`` (see :func:`~.reconcile.find_task`): one candidate → its id,
        several → ``None``, none in a listing that covers the window → ``"absent"``."""
        return find_task(
            body,
            model=upstream_model(entry),
            submitted_after_s=submitted_after_s,
            known_ids=known_ids,
        )


# --- request body -----------------------------------------------------------------------------


def gateai_spec(entry: ModelEntry) -> GateAISpec:
    """``entry``'s GateAI block; ``unknown_model`` for an entry GateAI does not serve."""
    if entry.gateai is None:
        raise MediagateError(
            "unknown_model",
            f"GateAI does not serve {entry.id!r} (it is a {entry.provider} model).",
            got=entry.id,
            hint="GateAI's models are named gateai/<id>; see get_models(provider='gateai').",
        )
    return entry.gateai


def upstream_model(entry: ModelEntry) -> str:
    """GateAI's id for ``entry`` (its block's ``model``)."""
    return gateai_spec(entry).model


def generate_body(
    request: GenerationRequest, entry: ModelEntry, inputs: Sequence[str] | None = None
) -> dict[str, Any]:
    """``{"model", "type", "params"}`` for ``/api/generate`` and ``/api/estimate``."""
    spec = gateai_spec(entry)
    return {"model": spec.model, "type": spec.type, "params": to_params(request, entry, inputs)}


def to_params(
    request: GenerationRequest, entry: ModelEntry, inputs: Sequence[str] | None = None
) -> dict[str, Any]:
    """GateAI's ``params`` for a validated request, as the entry's GateAI block maps them.

    ``inputs`` are the source URLs as GateAI must see them (``data:`` URIs for local files),
    in the order of ``request.sources``; without them the request's own URLs are used. The
    prompt and quantity caps (1500 characters, 8 outputs) were checked by validation.
    """
    spec = gateai_spec(entry)
    quality = entry.quality.values if entry.quality is not None else None
    params = upstream_params(request, spec, quality, inputs)
    if spec.quantity.required:
        # The table marks it required (Veo, Sora, LTX Ultra): send the default when unset.
        params.setdefault("quantity", spec.quantity.default)
    return params


# --- estimate and credits -------------------------------------------------------------------


def parse_adjustments(value: Any) -> tuple[Adjustment, ...]:
    """``[{"param", "from", "to"}, …]`` (also ``{"param": {"from", "to"}}``), else ``()``."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, list):
        items = ((None, item) for item in value)
    elif isinstance(value, Mapping):
        items = value.items()
    else:
        return ()
    out: list[Adjustment] = []
    for name, item in items:
        if isinstance(item, Mapping):
            param = name if name is not None else item.get("param")
            if isinstance(param, str) and param:
                out.append(Adjustment(param, item.get("from"), item.get("to")))
        elif isinstance(name, str) and isinstance(item, list) and len(item) == 2:
            out.append(Adjustment(name, item[0], item[1]))
    return tuple(out)


def describe_adjustments(adjustments: Iterable[Adjustment], *, applied: bool = False) -> list[str]:
    """One sentence per budget downgrade, for ``warnings``.

    ``applied``: GateAI made the change (a submit answer); otherwise it would (an estimate).
    """
    verb = "lowered" if applied else "would lower"
    out: list[str] = []
    for adj in adjustments:
        what = _adjustment_words(adj)
        out.append(f"GateAI {verb} {what} to fit the daily budget.")
    return out


def parse_estimate(body: Any) -> UpstreamEstimate:
    """``{"cost", "daily_remaining", "fits_in_budget", "adjustments"?, "adjusted_cost"?}``."""
    if not isinstance(body, Mapping):
        raise unreadable("GateAI", "estimate", "the answer is not a JSON object")
    cost = finite_number(body.get("cost"))
    if cost is None:
        raise unreadable("GateAI", "estimate", "cost is missing")
    remaining = finite_number(body.get("daily_remaining"))
    fits = body.get("fits_in_budget")
    if not isinstance(fits, bool):
        fits = remaining is None or cost <= remaining
    adjustments = parse_adjustments(body.get("adjustments"))
    return UpstreamEstimate(
        cost=cost,
        currency=CURRENCY,
        fits_in_budget=fits,
        remaining=remaining,
        adjustments=adjustments,
        adjusted_cost=finite_number(body.get("adjusted_cost")),
        notes=tuple(describe_adjustments(adjustments, applied=False)),
    )


def parse_credits(body: Any, *, now: datetime | None = None) -> Balance:
    """``GET /credits``: ``{"your_budget": {daily_limit, used, remaining}, "pool": {…}}``.

    ``/api/me``'s ``budget`` object is read the same way. With ``now``, ``resets_at`` is the
    next daily reset (00:00 UTC, 03:00 Turkey time).
    """
    if not isinstance(body, Mapping):
        raise unreadable("GateAI", "credits", "the answer is not a JSON object")
    budget = body.get("your_budget", body.get("budget"))
    if not isinstance(budget, Mapping):
        raise unreadable("GateAI", "credits", "your_budget is missing")
    pool = body.get("pool")
    return Balance(
        provider=NAME,
        currency=CURRENCY,
        daily_limit=finite_number(budget.get("daily_limit")),
        used=finite_number(budget.get("used")),
        remaining=finite_number(budget.get("remaining")),
        resets_at=next_reset(now) if now is not None else None,
        pool={
            k: v
            for k, v in (pool.items() if isinstance(pool, Mapping) else ())
            if isinstance(k, str) and isinstance(v, (int, float, str, bool))
        },
    )


def next_reset(now: datetime) -> datetime:
    """The next daily budget reset after ``now``: midnight UTC (seed 004)."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


# --- status ---------------------------------------------------------------------------------


def status_message(elapsed_s: float) -> str | None:
    """What an unfinished generation's age means on GateAI (seed 004's 20/40-minute rules)."""
    if elapsed_s >= REFUND_AFTER_S:
        minutes = int(elapsed_s // 60)
        return (
            f"Not finished after {minutes} min: GateAI refunded the charge and keeps rendering "
            "(a result that arrives now is free); it gives up at its 40-minute hard limit."
        )
    return None


def _late(elapsed_s: float) -> str | None:
    if elapsed_s >= REFUND_AFTER_S:
        return "Finished after GateAI's 20-minute refund: this result was free."
    return None


def _outputs(body: Mapping[str, Any]) -> tuple[UpstreamOutput, ...]:
    results = _urls(body.get("result"))
    models = _urls(body.get("glb_urls"))
    if models:
        # 3D: ``result`` holds JPG previews, ``glb_urls`` the models (same names, .glb).
        previews = tuple(UpstreamOutput(u, "image", role="preview") for u in results)
        return tuple(UpstreamOutput(u, "model") for u in models) + previews
    return tuple(UpstreamOutput(u, _kind(u)) for u in results)


def _kind(url: str) -> str:
    kind = classify(url)
    if kind is not None:
        return kind
    return "model" if url.lower().split("?", 1)[0].endswith((".glb", ".gltf")) else "image"


def _urls(value: Any) -> list[str]:
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, list):
        return []
    out: list[str] = []
    for item in items:
        url = item.get("url") if isinstance(item, Mapping) else item
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            out.append(url)
    return out


def _failure_text(body: Mapping[str, Any]) -> str | None:
    for key in ("error", "message", "reason", "detail"):
        value = body.get(key)
        if isinstance(value, Mapping):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value.strip()[:500]
    return None


# --- small readers --------------------------------------------------------------------------


def _adjustment_words(adj: Adjustment) -> str:
    old, new = adj.old, adj.new
    if adj.param == "mode" and _is_tier(old) and _is_tier(new):
        return f"the resolution from {_tier(old)} to {_tier(new)} (mode {old} → {new})"
    if adj.param in ("duration", "durationSeconds"):
        return f"the duration from {old} s to {new} s"
    return f"{adj.param} from {old} to {new}"


def _is_tier(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("RESOLUTION_")


def _tier(value: str) -> str:
    number = value.removeprefix("RESOLUTION_")
    return f"{number}p" if number.isdigit() else value


def _state_word(value: Any) -> str | None:
    return value.strip().upper() if isinstance(value, str) else None
