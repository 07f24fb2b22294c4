"""generate_media, get_generation_status, get_generation_estimate, cancel_generation,
list_generations: thin wrappers over catalog validation and the job runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from mediagate.server.results import (
    GenerationResult,
    Status,
    generation_tool_result,
    tool_result,
)
from mediagate.server.services import Services
from mediagate.server.tasks import enable_generation_tasks
from mediagate.server.tools.budget import UpstreamCost, check_budget, upstream_estimate

if TYPE_CHECKING:
    from mediagate.catalog.estimate import CostEstimate
    from mediagate.catalog.request import GenerationRequest
    from mediagate.jobs.model import Generation
    from mediagate.media.fetch import GuardedFetcher

# Validation, estimates, the job model and input handling are imported on first call (they
# pull in the catalog models, PyAV workers and the HTTP stack): start-up stays fast.

#: Reference media downloaded to probe its length (the upload cap of seed 002).
REFERENCE_MAX_BYTES = 500 * 1024 * 1024
MAX_WAIT_S = 50  # below the ~60 s at which common MCP clients give up on a request

Wait = Annotated[
    float,
    Field(ge=0, le=MAX_WAIT_S, description="Seconds to wait for completion (0-50) with progress."),
]
GenType = Literal[
    "text-to-image",
    "image-to-image",
    "text-to-video",
    "image-to-video",
    "text-to-3d",
    "image-to-3d",
]
_NOT_ARGS = frozenset({"wait_seconds", "idempotency_key", "output_dir"})
_NOT_CALL = frozenset({"ctx", "services", "reference_fetcher"})


class Estimate(BaseModel):
    """Cost and time for a call, without starting anything."""

    model_config = ConfigDict(extra="forbid")
    model: str
    provider: str
    estimated_time_seconds: float
    estimated_cost_credits: float | None = Field(None, description="null: no published price")
    estimated_cost_usd: float | None = None
    currency: Literal["credits", "usd"] = "credits"
    breakdown: dict[str, Any]
    warnings: list[str]
    normalized: dict[str, Any] = Field(description="The call with every default applied.")
    upstream: UpstreamCost | None = Field(
        None, description="The provider's own quote (GateAI: dollars, fits_in_budget)."
    )


class GenerationSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    generation_id: str
    status: Status
    model: str
    provider: str
    progress: float | None = None
    created_at: float
    prompt: str


class GenerationList(BaseModel):
    """Recent generations, newest first."""

    model_config = ConfigDict(extra="forbid")
    generations: list[GenerationSummary]
    next_before: str | None = Field(None, description="Pass as before= for the next page.")


async def wait_with_progress(
    services: Services, gen: Generation, wait_seconds: float, ctx: Context[Any, Any]
) -> Generation:
    """Wait up to ``wait_seconds`` for ``gen``, relaying progress if the client asked for it."""
    if wait_seconds <= 0 or gen.is_terminal:
        return gen
    from mediagate.jobs.model import GenerationStatus

    wants_progress = "progress_token" in (ctx.request_context.meta or {})
    sent = -1.0

    async def relay(update: Generation) -> None:
        nonlocal sent
        pct = 100.0 if update.status == GenerationStatus.COMPLETED else (update.progress or 0.0)
        if wants_progress and pct > sent:
            sent = pct
            message = update.status_message or update.status.value
            await ctx.report_progress(pct, 100.0, message)

    await relay(gen)
    runner = await services.job_runner()
    return await runner.wait(gen.id, min(wait_seconds, MAX_WAIT_S), relay)


@dataclass(slots=True)
class PreparedCall:
    """A validated call with its provider, price and time; warnings merged into ``request``."""

    request: GenerationRequest
    provider: str
    cost: CostEstimate
    time_s: float


async def prepare_call(
    call: dict[str, Any], services: Services, fetcher: GuardedFetcher
) -> tuple[dict[str, Any], PreparedCall]:
    """Local inputs stored, the call validated, references probed, the price worked out.

    Returns the call as validated (local inputs replaced by our URLs) and the result; shared by
    generate_media and get_generation_estimate so both judge a call the same way.
    """
    from mediagate.catalog import validate_generate
    from mediagate.catalog.estimate import estimate_cost, estimate_time
    from mediagate.server.inputs import localize_inputs, probe_references

    call = await localize_inputs(call, services)
    requested = services.requested_provider(call)
    request = validate_generate(
        call,
        services.catalog,
        allow_private_urls=services.settings.allow_private_urls,
        trusted_url_prefixes=services.trusted_url_prefixes(),
    )
    provider = services.resolve_provider(
        requested, model_provider=request.provider, model_id=request.model
    )
    entry = services.catalog.entry_of(request)
    refs = await probe_references(request, entry, services, fetcher)
    cost = estimate_cost(entry, request, ref_video_seconds=refs.videos)
    merged = request._replace(warnings=[*request.warnings, *refs.warnings, *cost.warnings])
    return call, PreparedCall(merged, provider, cost, estimate_time(entry, request))


def register(services: Services) -> Any:
    """The registrar for the generation tools, closed over ``services``."""
    made: list[GuardedFetcher] = []

    def reference_fetcher() -> GuardedFetcher:
        """Downloads reference media for probing (SSRF-guarded; capped like trim sources)."""
        if not made:
            from mediagate.media.fetch import FetchPolicy, GuardedFetcher

            made.append(
                GuardedFetcher(
                    FetchPolicy.from_settings(services.settings, max_bytes=REFERENCE_MAX_BYTES)
                )
            )
        return made[0]

    def registrar(server: MCPServer[Any]) -> None:
        @server.tool()
        async def generate_media(
            prompt: str,
            model: str,
            ctx: Context[Any, Any],
            generation_type: GenType | None = None,
            negative_prompt: str | None = None,
            source_media_urls: str | list[str] | None = None,
            aspect_ratio: str | None = None,
            duration: str | int | None = Field(None, description='e.g. "5s" or 5'),
            quality: str | None = None,
            resolution: str | None = Field(None, description="1K/2K/4K where supported"),
            sound: bool | None = None,
            seed: int | None = None,
            output_format: Literal["png", "jpeg", "webp"] | None = None,
            generate_audio: bool | None = None,
            fixed_lens: bool | None = None,
            turbo: bool | None = None,
            disable_safety_checker: bool | None = None,
            voice_id: str | None = None,
            character_ids: list[str] | None = None,
            video_trim_start_s: float | None = None,
            video_trim_end_s: float | None = None,
            last_frame_url: str | None = None,
            kling_elements: list[dict[str, Any]] | None = None,
            params: dict[str, Any] | None = Field(None, description="Native options"),
            allow_downgrade: bool | None = Field(None, description="Accept budget downgrades"),
            provider: str | None = None,
            idempotency_key: str | None = Field(None, max_length=200),
            wait_seconds: Wait = 0,
            output_dir: str | None = Field(None, description="Copy outputs here (allowed dirs)"),
        ) -> Annotated[CallToolResult, GenerationResult]:
            """Start an image, video or 3D generation. Validated against the model's limits
            before anything is spent. Returns generation_id and status; with wait_seconds it
            waits (with progress) and returns outputs when done. Model-specific options and
            native params: see get_models(model=...)."""
            # locals() here is exactly the parameters (plus closed-over names).
            given = {k: v for k, v in locals().items() if v is not None}
            call = {k: v for k, v in given.items() if k not in _NOT_ARGS | _NOT_CALL}
            from mediagate.jobs.model import canonical_hash

            target = str(services.allowed_output_dir(output_dir)) if output_dir else None
            call, ready = await prepare_call(call, services, reference_fetcher())
            # An upstream that would downgrade the call to fit its budget is stopped here
            # (budget_exceeded with the adjustments), unless the agent allowed it. A retry of
            # an accepted call (same idempotency key) skips the check: the runner answers it
            # with its generation, or with idempotency_conflict.
            store = await services.job_store()
            if idempotency_key is None or (
                await store.find_by_idempotency_key(idempotency_key) is None
            ):
                await check_budget(
                    services.providers.get(ready.provider),
                    ready.request,
                    services.catalog.entry_of(ready.request),
                    bool(allow_downgrade),
                )
            runner = await services.job_runner()
            gen, _created = await runner.submit(
                request=ready.request,
                provider=ready.provider,
                request_hash=canonical_hash({**call, "output_dir": target}),
                idempotency_key=idempotency_key,
                estimated_time_seconds=ready.time_s,
                estimated_cost_credits=ready.cost.credits,
                output_dir=target,
            )
            gen = await wait_with_progress(services, gen, wait_seconds, ctx)
            return generation_tool_result(gen, services.media)

        @server.tool()
        async def get_generation_status(
            generation_id: str, ctx: Context[Any, Any], wait_seconds: Wait = 0
        ) -> Annotated[CallToolResult, GenerationResult]:
            """Status of a generation (pending, queued, processing, completed, failed,
            canceled), progress 0-100, outputs when completed, error when failed.
            wait_seconds (0-50) long-polls until it finishes."""
            store = await services.job_store()
            gen = await store.get(generation_id)
            gen = await wait_with_progress(services, gen, wait_seconds, ctx)
            return generation_tool_result(gen, services.media)

        @server.tool()
        async def cancel_generation(
            generation_id: str,
        ) -> Annotated[CallToolResult, GenerationResult]:
            """Cancel a generation that has not finished (finished ones are returned as is)."""
            runner = await services.job_runner()
            gen = await runner.cancel(generation_id)
            return generation_tool_result(gen, services.media)

        @server.tool()
        async def list_generations(
            status: Status | None = None,
            limit: Annotated[int, Field(ge=1, le=100)] = 20,
            before: str | None = None,
        ) -> Annotated[CallToolResult, GenerationList]:
            """Recent generations, newest first; filter by status; page with before."""
            from mediagate.jobs.model import GenerationStatus

            store = await services.job_store()
            gens = await store.list(
                status=GenerationStatus(status) if status else None, limit=limit, before=before
            )
            rows = [
                GenerationSummary(
                    generation_id=g.id,
                    status=g.status.value,
                    model=g.model,
                    provider=g.provider,
                    progress=g.progress,
                    created_at=g.created_at,
                    prompt=str(g.request.get("prompt", ""))[:120],
                )
                for g in gens
            ]
            # Through tool_result (None fields omitted): the listed output schema is compacted
            # to plain types, so a null next_before/progress made validating clients reject it.
            return tool_result(
                GenerationList(
                    generations=rows, next_before=gens[-1].id if len(gens) == limit else None
                )
            )

        @server.tool()
        async def get_generation_estimate(
            model: str,
            generation_type: GenType | None = None,
            prompt: str | None = None,
            negative_prompt: str | None = None,
            parameters: dict[str, Any] | None = Field(
                None, description="Other generate_media options (duration, resolution, ...)"
            ),
        ) -> Annotated[CallToolResult, Estimate]:
            """Estimated credits and seconds for a generate_media call; starts nothing.
            The call is validated too, so an invalid one returns the error it would get."""
            call: dict[str, Any] = dict(parameters or {})
            call.update(model=model, prompt=prompt or call.get("prompt") or "estimate")
            if generation_type is not None:
                call["generation_type"] = generation_type
            if negative_prompt is not None:
                call["negative_prompt"] = negative_prompt
            for key in _NOT_ARGS:
                call.pop(key, None)
            _call, ready = await prepare_call(call, services, reference_fetcher())
            normalized = ready.request.to_dict()
            normalized.pop("warnings", None)
            quote = await upstream_estimate(
                services.providers.get(ready.provider),
                ready.request,
                services.catalog.entry_of(ready.request),
            )
            return tool_result(
                Estimate(
                    model=ready.request.model,
                    provider=ready.provider,
                    estimated_time_seconds=ready.time_s,
                    estimated_cost_credits=ready.cost.credits,
                    estimated_cost_usd=ready.cost.usd,
                    currency=ready.cost.currency,
                    breakdown=ready.cost.breakdown,
                    warnings=list(ready.request.warnings),
                    normalized=normalized,
                    upstream=quote,
                )
            )

        # Task-accepting clients (2026-07-28 tasks extension) get generate_media as a task.
        enable_generation_tasks(server, services)

    return registrar
