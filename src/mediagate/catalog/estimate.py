"""Pure cost and time estimates for a validated request, from the rates the seeds publish."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry

#: Time multiplier per image tier long edge: bigger renders take longer (our heuristic).
_TIER_TIME = {1024: 1.0, 2048: 1.5, 4096: 2.5}


@dataclass(slots=True)
class CostEstimate:
    """What a generation costs (``None`` when the seeds publish no price) and how.

    Kubeez prices are ``credits``; GateAI's are US dollars in ``usd`` (``credits`` is then
    ``None``): the two units are never mixed.
    """

    credits: float | None
    breakdown: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    usd: float | None = None

    @property
    def currency(self) -> Literal["credits", "usd"]:
        return "usd" if self.breakdown.get("unit") == "usd" else "credits"


def estimate_cost(
    entry: ModelEntry,
    request: GenerationRequest,
    *,
    ref_video_seconds: Sequence[float] | None = None,
) -> CostEstimate:
    """Credits for ``request`` on ``entry``.

    Seedance 2 video-ref variants bill ``(ref_video_s + output_s) × rate``; ``ref_video_seconds``
    are the probed reference durations when known, otherwise the upstream's pessimistic 15 s.
    """
    pricing = entry.pricing
    if pricing.unit == "usd":
        return _usd_cost(entry, request)
    base: dict[str, Any] = {"pricing": pricing.kind, "rows": list(pricing.rows)}
    if pricing.note:
        base["note"] = pricing.note
    if pricing.kind == "flat":
        return CostEstimate(pricing.credits, {**base, "formula": f"flat {pricing.credits:g}"})
    if pricing.kind == "per_tier":
        assert entry.resolution is not None and request.resolution is not None
        tier = entry.resolution.tier(request.resolution)
        return CostEstimate(
            tier.credits, {**base, "tier": tier.id, "formula": f"{tier.id} tier {tier.credits:g}"}
        )
    if pricing.kind == "per_second":
        assert pricing.rate is not None
        seconds = float(request.duration_s or 0)
        rate = pricing.rate
        row = pricing.rows[0] if pricing.rows else entry.id
        if pricing.audio_rate is not None and request.sound:
            rate = pricing.audio_rate
            row = pricing.rows[1] if len(pricing.rows) > 1 else f"{entry.id}-audio"
        breakdown = {**base, "row": row, "rate_per_second": rate, "output_seconds": seconds}
        warnings: list[str] = []
        if pricing.ref_video_billing:
            n_videos = sum(1 for s in request.sources if s.kind == "video")
            if ref_video_seconds is not None and len(ref_video_seconds) == n_videos:
                ref = min(sum(ref_video_seconds), pricing.ref_video_cap_s)
                assumed = False
            else:
                ref = pricing.ref_video_cap_s
                assumed = True
                warnings.append(
                    f"Reference-video length unknown: priced at the pessimistic "
                    f"{pricing.ref_video_cap_s:g} s the upstream bills without a probe."
                )
            credits = (ref + seconds) * rate
            breakdown.update(
                ref_video_seconds=ref,
                ref_video_seconds_assumed=assumed,
                formula=f"({ref:g} + {seconds:g}) × {rate:g}",
            )
            return CostEstimate(credits, breakdown, warnings)
        breakdown["formula"] = f"{seconds:g} × {rate:g}"
        return CostEstimate(seconds * rate, breakdown)
    return CostEstimate(
        None, {**base, "formula": None, "reason": "The seeds publish no price for this model."}
    )


def _usd_cost(entry: ModelEntry, request: GenerationRequest) -> CostEstimate:
    """GateAI: a flat (per generation or per output) or a pixel×duration dollar price."""
    pricing = entry.pricing
    base: dict[str, Any] = {"pricing": pricing.kind, "unit": "usd", "published": pricing.published}
    if pricing.note:
        base["note"] = pricing.note
    quantity = request.params.get("quantity")
    if quantity is None:
        # Not sent: GateAI makes its own default number of outputs (4 for some models).
        quantity = entry.gateai.quantity.default if entry.gateai is not None else 1
    if pricing.kind == "flat":
        amount = pricing.amount or 0.0
        if request.quality is not None and request.quality in pricing.by_quality:
            amount = pricing.by_quality[request.quality]
            base["quality"] = request.quality
        if pricing.per == "output":
            usd = amount * quantity
            formula = f"{quantity} × ${amount:g}"
        else:
            usd = amount
            formula = f"flat ${amount:g}"
        base.update(quantity=quantity, formula=formula)
        return CostEstimate(None, base, usd=round(usd, 6))
    if pricing.kind == "per_pixel_second":
        rate = pricing.rate_per_pixel_second
        seconds = float(request.duration_s or 0)
        pixels = request.width * request.height
        usd = rate * pixels * seconds * quantity
        base.update(
            rate_per_megapixel_second=round(rate * 1e6, 6),
            width=request.width,
            height=request.height,
            output_seconds=seconds,
            formula=f"{request.width}×{request.height} px × {seconds:g} s × "
            f"${rate * 1e6:.4g}/MP·s (fitted to the published prices)",
        )
        return CostEstimate(None, base, usd=round(usd, 4))
    return CostEstimate(
        None, {**base, "formula": None, "reason": "The seeds publish no price for this model."}
    )


def estimate_time(entry: ModelEntry, request: GenerationRequest) -> float:
    """Expected wall-clock seconds upstream (our heuristic around the entry's typical time).

    Video time scales with output length relative to the model's default length; image time
    with the tier's pixel count.
    """
    base = entry.estimated_time_seconds
    if entry.media_type == "video":
        assert entry.duration is not None
        default = entry.duration.default or 1
        seconds = request.duration_s or default
        return round(base * (0.5 + 0.5 * seconds / default), 1)
    long_edge = max(request.width, request.height)
    factor = _TIER_TIME.get(long_edge) or 1.0 + 0.5 * max(0.0, math.log2(long_edge / 1024))
    return round(base * factor, 1)
