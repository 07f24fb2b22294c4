"""Pure cost and time estimates for a validated request, from the rates the seeds publish."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry

#: Time multiplier per image tier long edge: bigger renders take longer (our heuristic).
_TIER_TIME = {1024: 1.0, 2048: 1.5, 4096: 2.5}


@dataclass(slots=True)
class CostEstimate:
    """Credits a generation costs (``None`` when the seeds publish no price) and how."""

    credits: float | None
    breakdown: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


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
