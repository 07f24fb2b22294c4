"""Kubeez's models as the fake serves them: our catalog's Kubeez entries, validation, prices.

The catalog (``mediagate.catalog``) is built from the same seeds (000, 002) and also holds other
providers' models, so only ``provider == "kubeez"`` entries and the family labels whose variants
are all Kubeez models are used. Validation here is what the seeds state per model (prompt
limit, generation types, input counts by file extension, durations, aspect ratios, resolution
tiers); the fake refuses the rest of a request no further.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from fakes.base import RequestError
from mediagate.catalog import load_catalog
from mediagate.catalog.schema import Family, ModelEntry

#: The seed's tool default: a video request must name its generation_type.
DEFAULT_GENERATION_TYPE = "text-to-image"
#: Credits for models whose price the seeds do not publish.
UNPUBLISHED_CREDITS = 10.0
_KINDS = {
    "image": {"jpg", "jpeg", "png", "webp", "gif", "avif", "bmp"},
    "video": {"mp4", "mov", "webm", "m4v", "mkv"},
    "audio": {"mp3", "wav", "m4a", "aac", "ogg", "flac"},
}


@dataclass(frozen=True)
class KubeezCatalog:
    """Kubeez's models and family labels (our catalog also holds other providers' models)."""

    models: dict[str, ModelEntry]
    families: dict[str, Family]

    def suggest(self, name: str, limit: int = 5) -> list[str]:
        """Close model ids and family labels, best first."""
        from rapidfuzz import fuzz, process, utils

        choices = [*self.models, *self.families]
        found = process.extract(
            name,
            choices,
            scorer=fuzz.ratio,
            processor=utils.default_process,
            limit=limit,
            score_cutoff=55,
        )
        return [choice for choice, _score, _index in found]


@cache
def catalog() -> KubeezCatalog:
    """The Kubeez part of our catalog (loaded once)."""
    full = load_catalog()
    models = {k: e for k, e in full.models.items() if getattr(e, "provider", "kubeez") == "kubeez"}
    families = {k: f for k, f in full.families.items() if all(v in models for v in f.variants)}
    return KubeezCatalog(models, families)


def media_kind(url: str) -> str:
    """``image``, ``video``, ``audio`` or ``unknown``, by file extension (as the seed says)."""
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower().lstrip(".")
    return next((kind for kind, exts in _KINDS.items() if suffix in exts), "unknown")


def credits_for(
    entry: ModelEntry, duration_s: int | None, sound: bool, resolution: str | None
) -> float:
    """The price of one generation, from the catalog's pricing of the model."""
    pricing = entry.pricing
    if pricing.kind == "flat" and pricing.credits is not None:
        return pricing.credits
    if pricing.kind == "per_second" and pricing.rate is not None:
        rate = pricing.audio_rate if sound and pricing.audio_rate is not None else pricing.rate
        seconds = duration_s or (entry.duration.default if entry.duration else 5)
        return rate * seconds
    if pricing.kind == "per_tier" and entry.resolution is not None:
        tier_id = resolution or entry.resolution.default
        tiers = {t.id: t for t in entry.resolution.tiers}
        tier = tiers.get(tier_id, tiers[entry.resolution.default])
        return tier.credits or UNPUBLISHED_CREDITS
    return UNPUBLISHED_CREDITS


def validate(body: Any) -> tuple[ModelEntry, dict[str, Any]]:
    """The model and normalized options of a generate body, or ``RequestError`` (400)."""
    if not isinstance(body, dict):
        raise RequestError(400, "invalid_arguments", "The body must be a JSON object.")
    model, prompt = body.get("model"), body.get("prompt")
    if not isinstance(model, str) or not model:
        raise RequestError(400, "invalid_arguments", "'model' is required.", field="model")
    if not isinstance(prompt, str):
        raise RequestError(400, "invalid_arguments", "'prompt' is required.", field="prompt")
    cat = catalog()
    entry = cat.models.get(model)
    if entry is None:
        family = cat.families.get(model)
        if family is not None:
            raise RequestError(
                400,
                "variant_required",
                f"{model!r} is a model family; pass one of its variants.",
                family=family.id,
                available_variants=list(family.variants),
                hint=family.hint,
            )
        raise RequestError(
            400,
            "unknown_model",
            f"Unknown model {model!r}.",
            got=model,
            suggestions=cat.suggest(model),
        )
    if entry.prompt_max is not None and len(prompt) > entry.prompt_max:
        raise RequestError(
            400,
            "prompt_too_long",
            f"Prompt exceeds {entry.prompt_max} characters.",
            max=entry.prompt_max,
            got=len(prompt),
        )
    generation_type = body.get("generation_type", DEFAULT_GENERATION_TYPE)
    if generation_type not in entry.generation_types:
        raise RequestError(
            400,
            "unsupported_generation_type",
            f"{model} does not support {generation_type!r}.",
            allowed=list(entry.generation_types),
            got=generation_type,
        )
    _check_sources(entry, generation_type, body.get("source_media_urls"))
    duration = _check_duration(entry, body.get("duration"))
    aspect = body.get("aspect_ratio")
    if (
        aspect is not None
        and not entry.aspect_ratio.ignored
        and aspect not in entry.aspect_ratio.allowed
    ):
        raise RequestError(
            400,
            "aspect_ratio_invalid_for_model",
            f"{model} does not accept {aspect!r}.",
            allowed=list(entry.aspect_ratio.allowed),
            got=aspect,
        )
    resolution = body.get("resolution")
    if entry.resolution is not None and resolution is not None and not entry.resolution.fixed:
        tiers = {t.id: t for t in entry.resolution.tiers}
        if resolution not in tiers:
            raise RequestError(
                400,
                "invalid_resolution",
                f"{model} has no resolution {resolution!r}.",
                allowed=list(tiers),
                got=resolution,
            )
        needed = tiers[resolution].requires_aspect_in
        if needed and aspect not in needed:
            raise RequestError(
                400,
                "aspect_ratio_incompatible_with_high_res",
                f"{resolution} needs an aspect_ratio among {needed}.",
                allowed=list(needed),
                got=aspect,
            )
    return entry, {
        "generation_type": generation_type,
        "duration_s": duration,
        "aspect_ratio": aspect or entry.aspect_ratio.default,
        "resolution": resolution,
        "sound": body.get("sound") is True,
    }


def _check_sources(entry: ModelEntry, generation_type: str, raw: Any) -> None:
    if raw is None:
        urls: list[str] = []
    elif isinstance(raw, str):
        urls = [raw]
    elif isinstance(raw, list) and all(isinstance(u, str) for u in raw):
        urls = list(raw)
    else:
        raise RequestError(
            400,
            "invalid_arguments",
            "source_media_urls must be a URL or a list of URLs.",
            field="source_media_urls",
        )
    rule = entry.inputs[generation_type]  # type: ignore[index]
    if urls and not rule.accepts_any:
        raise RequestError(
            400,
            "source_media_not_allowed",
            f"{entry.id} takes no source media for {generation_type}.",
        )
    if not urls and rule.requires_any:
        raise RequestError(
            400,
            "source_media_required",
            f"{entry.id} needs source_media_urls for {generation_type}.",
        )
    kinds = [media_kind(u) for u in urls]
    counts = {k: kinds.count(k) for k in ("image", "video", "audio")}
    counts["image"] += kinds.count("unknown")  # extension-less URLs are taken as images
    for kind, spec in (("image", rule.images), ("video", rule.videos), ("audio", rule.audios)):
        if counts[kind] > spec.max:
            raise RequestError(
                400,
                f"too_many_{kind}s",
                f"At most {spec.max} {kind}(s) for {entry.id}.",
                max=spec.max,
                got=counts[kind],
            )
        if counts[kind] < spec.min:
            raise RequestError(
                400,
                f"too_few_{kind}s",
                f"At least {spec.min} {kind}(s) for {entry.id}.",
                min=spec.min,
                got=counts[kind],
            )


def _check_duration(entry: ModelEntry, raw: Any) -> int | None:
    spec = entry.duration
    if spec is None:
        return None
    if raw is None or not spec.configurable:
        return spec.default  # not set, or ignored by this model
    text = str(raw).strip().lower().removesuffix("s")
    if isinstance(raw, bool) or not text.isdigit() or not spec.accepts(int(text)):
        raise RequestError(
            400,
            "invalid_duration",
            f"{entry.id} does not accept duration {raw!r}.",
            allowed=[f"{d}s" for d in spec.allowed()],
            got=raw,
        )
    return int(text)


def model_row(entry: ModelEntry) -> dict[str, Any]:
    """One ``GET /v1/models`` entry."""
    pricing = entry.pricing
    if pricing.kind == "flat":
        price: dict[str, Any] = {"credits": pricing.credits, "unit": "credits"}
    elif pricing.kind == "per_second":
        price = {"credits": pricing.rate, "unit": "credits / sec"}
    elif pricing.kind == "per_tier" and entry.resolution is not None:
        default = next(t for t in entry.resolution.tiers if t.id == entry.resolution.default)
        price = {"credits": default.credits, "unit": "credits"}
    else:
        price = {"credits": None, "unit": "credits"}
    kinds = sorted(
        {
            kind
            for rule in entry.inputs.values()
            for kind, spec in (
                ("image", rule.images),
                ("video", rule.videos),
                ("audio", rule.audios),
            )
            if spec.max > 0
        }
    )
    return {
        "model_id": entry.id,
        "name": entry.name,
        "enabled": True,
        "media_type": entry.media_type,
        "generation_types": list(entry.generation_types),
        "requires_input_media": all(rule.requires_any for rule in entry.inputs.values()),
        "input_media_types": kinds,
        "usage_notes": entry.usage_notes,
        "pricing": price,
        "estimated_time_seconds": entry.estimated_time_seconds,
        "capabilities": {
            "video_audio": entry.video_audio,
            "supports_sound": entry.supports_sound,
        },
    }
