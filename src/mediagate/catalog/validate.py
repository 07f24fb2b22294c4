"""One pure function from raw ``generate_media`` arguments to a normalized request or an error.

``validate_generate`` never does I/O and never raises anything but ``MediagateError``: every
refusal carries a stable code from GUIDE.md §3 and the details an agent needs to fix the call.
Options a model ignores (per the seeds) are accepted and reported in ``warnings``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest, SourceMedia, image_size, video_size
from mediagate.catalog.schema import (
    GENERATION_TYPES,
    MODEL_PARAMS,
    GenerationType,
    InputRule,
    ModelEntry,
)
from mediagate.catalog.urls import check_url, classify, extension
from mediagate.errors import MediagateError

#: The seed's common ``generate_media`` parameters.
COMMON_FIELDS: tuple[str, ...] = (
    "prompt",
    "model",
    "generation_type",
    "negative_prompt",
    "source_media_urls",
    "aspect_ratio",
    "duration",
    "quality",
    "resolution",
    "sound",
    "seed",
)
#: Handled by the server, not by validation; accepted and left alone here.
SERVER_FIELDS: tuple[str, ...] = (
    "provider",
    "idempotency_key",
    "wait_seconds",
    "output_dir",
    "output_format",
    "allow_downgrade",
)
_ALL_FIELDS = frozenset((*COMMON_FIELDS, *MODEL_PARAMS, *SERVER_FIELDS))
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)?\s*$", re.IGNORECASE)
_MAX_SEED = 2**63 - 1
_TRIM_RANGE_MAX_S = 10.0
_TRIM_END_MAX_S = 30.0


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _bad_arg(field: str, expected: str, value: object, message: str | None = None) -> MediagateError:
    return MediagateError(
        "invalid_arguments",
        message or f"{field} must be {expected}, got {_type_name(value)}.",
        field=field,
        expected=expected,
    )


def _as_str(args: Mapping[str, Any], field: str) -> str | None:
    value = args.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_arg(field, "a string", value)
    return value


def _as_bool(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _bad_arg(field, "a boolean", value)


def _as_number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad_arg(field, "a number", value)
    if not math.isfinite(value):
        raise _bad_arg(field, "a finite number", value, f"{field} must be a finite number.")
    return float(value)


class _Ctx:
    """Per-call state: the catalog, the entry, the warnings gathered so far."""

    __slots__ = ("allow_private", "catalog", "entry", "warnings")

    def __init__(self, catalog: Catalog, entry: ModelEntry, allow_private: bool) -> None:
        self.catalog = catalog
        self.entry = entry
        self.allow_private = allow_private
        self.warnings: list[str] = []

    def ignored(self, field: str, why: str) -> None:
        self.warnings.append(f"{field} is ignored by {self.entry.id}: {why}")


def validate_generate(
    args: Mapping[str, Any], catalog: Catalog, *, allow_private_urls: bool = False
) -> GenerationRequest:
    """Validate ``generate_media`` arguments against the model's limit table.

    Returns the normalized request (defaults applied, duration in seconds, sources classified,
    output size computed) or raises ``MediagateError`` with a stable code.
    """
    if not isinstance(args, Mapping):
        raise _bad_arg("arguments", "an object", args)
    unknown = [k for k in args if k not in _ALL_FIELDS]
    if unknown:
        key = str(unknown[0])
        raise MediagateError(
            "invalid_arguments",
            f"Unknown parameter {key!r}.",
            field=key,
            suggestions=difflib.get_close_matches(key, sorted(_ALL_FIELDS), n=3) or None,
            allowed=sorted(_ALL_FIELDS),
        )

    model_name = _as_str(args, "model")
    if not model_name or not model_name.strip():
        raise MediagateError(
            "invalid_arguments",
            "model is required.",
            field="model",
            hint="Call get_models to list the available model ids.",
        )
    provider = _as_str(args, "provider")
    if "/" in model_name:
        prefix, _, rest = model_name.partition("/")
        if provider is not None and provider != prefix:
            raise MediagateError(
                "invalid_arguments",
                f"model names provider {prefix!r} but provider is {provider!r}.",
                field="provider",
            )
        provider, model_name = prefix, rest
    entry = catalog.resolve(model_name)
    ctx = _Ctx(catalog, entry, allow_private_urls)

    prompt = _as_str(args, "prompt")
    if prompt is None or not prompt.strip():
        raise MediagateError("invalid_arguments", "prompt is required.", field="prompt")
    if entry.prompt_max is not None and len(prompt) > entry.prompt_max:
        raise MediagateError(
            "prompt_too_long",
            f"prompt is {len(prompt)} characters; {entry.id} accepts at most {entry.prompt_max}.",
            max=entry.prompt_max,
            got=len(prompt),
        )

    sources = _parse_sources(args.get("source_media_urls"), ctx)
    generation_type = _generation_type(args, entry, sources)
    rule = entry.inputs[generation_type]

    character_ids = _character_ids(args, ctx)
    sources = _check_inputs(sources, rule, generation_type, ctx, len(character_ids))

    negative = _negative_prompt(args, ctx)
    duration_s = _duration(args.get("duration"), ctx)
    aspect = _aspect_ratio(args.get("aspect_ratio"), ctx)
    resolution, long_edge = _resolution(args.get("resolution"), aspect, ctx)
    quality = _quality(args.get("quality"), ctx)
    if entry.quality is not None and entry.quality.long_edge and quality is not None:
        long_edge = entry.quality.long_edge[quality]
    sound = _sound(args.get("sound"), ctx)
    seed = _seed(args.get("seed"))
    params = _params(args, generation_type, character_ids, ctx)

    if entry.media_type == "image":
        width, height = image_size(aspect, long_edge)
        has_audio = False
    else:
        width, height = video_size(aspect, entry.output_resolution or "720p")
        if entry.video_audio == "toggle_via_sound_param":
            has_audio = bool(sound)
        elif entry.param("generate_audio") is not None:
            has_audio = bool(params["generate_audio"])
        else:
            has_audio = entry.video_audio == "included"
        if resolution is None:
            resolution = entry.output_resolution

    return GenerationRequest(
        model=entry.id,
        media_type=entry.media_type,
        generation_type=generation_type,
        prompt=prompt,
        negative_prompt=negative,
        sources=sources,
        aspect_ratio=aspect,
        duration_s=duration_s,
        resolution=resolution,
        quality=quality,
        sound=sound,
        has_audio=has_audio,
        seed=seed,
        params=params,
        width=width,
        height=height,
        provider=provider,
        warnings=ctx.warnings,
    )


# --- inputs ---------------------------------------------------------------------------------------


def _parse_sources(value: object, ctx: _Ctx) -> list[SourceMedia]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        urls: list[object] = [value]
    elif isinstance(value, (list, tuple)):
        urls = list(value)
    else:
        raise _bad_arg("source_media_urls", "a URL string or an array of URL strings", value)
    out: list[SourceMedia] = []
    for i, url in enumerate(urls):
        field = f"source_media_urls[{i}]"
        if not isinstance(url, str) or not url.strip():
            raise _bad_arg(field, "a non-empty URL string", url)
        url = url.strip()
        check_url(url, field=field, allow_private=ctx.allow_private)
        kind = classify(url)
        if kind is None:
            ext = extension(url)
            ctx.warnings.append(
                f"{field} has {'extension .' + ext if ext else 'no file extension'}; "
                "treated as an image (URLs are classified by extension)."
            )
            kind = "image"
        out.append(SourceMedia(url, kind))
    return out


def _generation_type(
    args: Mapping[str, Any], entry: ModelEntry, sources: list[SourceMedia]
) -> GenerationType:
    raw = args.get("generation_type")
    if raw is None:
        if len(entry.generation_types) == 1:
            return entry.generation_types[0]
        if any(s.kind == "image" for s in sources):
            for gt in entry.generation_types:
                if gt.startswith("image-to-") and entry.inputs[gt].images.min > 0:
                    # Seedance 1.5 Pro / Veo take an optional image in text-to-video too:
                    # infer image-to-video only when the count fits its minimum.
                    n_images = sum(1 for s in sources if s.kind == "image")
                    t2x = gt.replace("image-to-", "text-to-")
                    if (
                        t2x in entry.inputs
                        and n_images < entry.inputs[gt].images.min
                        and n_images <= entry.inputs[t2x].images.max  # type: ignore[index]
                    ):
                        return t2x  # type: ignore[return-value]
                    return gt
        return entry.default_generation_type
    if not isinstance(raw, str):
        raise _bad_arg("generation_type", "a string", raw)
    gt = raw.strip().lower()
    if gt not in entry.generation_types:
        if gt not in GENERATION_TYPES:
            raise MediagateError(
                "invalid_arguments",
                f"generation_type {raw!r} is not one of {', '.join(GENERATION_TYPES)}.",
                field="generation_type",
                allowed=list(GENERATION_TYPES),
                got=raw,
            )
        raise MediagateError(
            "unsupported_generation_type",
            f"{entry.id} does not do {gt}; it supports {', '.join(entry.generation_types)}.",
            allowed=list(entry.generation_types),
            got=gt,
        )
    return gt  # type: ignore[return-value]


def _count_phrase(n: int, kind: str) -> str:
    return f"{n} {kind}{'' if n == 1 else 's'}"


def _check_inputs(
    sources: list[SourceMedia],
    rule: InputRule,
    gt: GenerationType,
    ctx: _Ctx,
    n_characters: int,
) -> list[SourceMedia]:
    entry = ctx.entry
    n_img = sum(1 for s in sources if s.kind == "image")
    n_vid = sum(1 for s in sources if s.kind == "video")
    n_aud = len(sources) - n_img - n_vid

    if sources and not rule.accepts_any:
        image_types = [t for t in entry.generation_types if entry.inputs[t].accepts_any]
        raise MediagateError(
            "source_media_not_allowed",
            f"{entry.id} takes no source_media_urls for {gt}.",
            got=len(sources),
            hint=(
                f"Set generation_type to {image_types[0]} to use input files."
                if image_types
                else "Omit source_media_urls for this model."
            ),
        )
    if n_aud and rule.audios.max == 0:
        raise MediagateError(
            "unsupported_audio_url",
            f"{entry.id} does not accept audio files in source_media_urls.",
            got=[s.url for s in sources if s.kind == "audio"],
            hint="Use voice_id to choose a voice." if entry.voices else None,
        )
    if n_vid and rule.videos.max == 0:
        if rule.video_reference_not_allowed:
            raise MediagateError(
                "video_reference_not_allowed",
                f"{entry.id} does not accept reference videos in {gt} mode.",
                hint="Use generation_type text-to-video with a -video-ref variant for video references.",
            )
        if entry.video_ref_variant is not None:
            raise MediagateError(
                "variant_mismatch",
                f"{entry.id} takes no reference video; use {entry.video_ref_variant} instead.",
                suggested_model=entry.video_ref_variant,
                available_variants=[entry.video_ref_variant],
                hint="A video reference requires the -video-ref variant.",
            )
        raise MediagateError(
            "unsupported_video_url",
            f"{entry.id} does not accept video files in source_media_urls.",
            got=[s.url for s in sources if s.kind == "video"],
        )
    if not sources and rule.requires_any:
        needs = [
            _count_phrase(c.min, k)
            for c, k in ((rule.images, "image"), (rule.videos, "video"))
            if c.min
        ]
        raise MediagateError(
            "source_media_required",
            f"{entry.id} needs {' and '.join(needs)} in source_media_urls for {gt}.",
            min_images=rule.images.min or None,
            min_videos=rule.videos.min or None,
        )
    for n, c, kind in ((n_img, rule.images, "image"), (n_vid, rule.videos, "video")):
        if n > c.max:
            raise MediagateError(
                f"too_many_{kind}s",
                f"{entry.id} accepts at most {_count_phrase(c.max, kind)} for {gt}; got {n}.",
                max=c.max,
                got=n,
            )
        if n < c.min:
            exact = c.min == c.max
            raise MediagateError(
                f"too_few_{kind}s",
                f"{entry.id} needs {'exactly' if exact else 'at least'} "
                f"{_count_phrase(c.min, kind)} for {gt}; got {n}.",
                min=c.min,
                max=c.max,
                got=n,
            )
    if n_aud > rule.audios.max:
        raise MediagateError(
            "too_many_audios",
            f"{entry.id} accepts at most {_count_phrase(rule.audios.max, 'audio clip')}; got {n_aud}.",
            max=rule.audios.max,
            got=n_aud,
        )
    if rule.reference_slots is not None:
        used = n_img + n_vid * rule.video_slot_cost + n_characters
        if used > rule.reference_slots:
            raise MediagateError(
                "too_many_references",
                f"{entry.id} has {rule.reference_slots} reference slots; this call uses {used} "
                f"({n_img} images, {n_vid} video × {rule.video_slot_cost}, "
                f"{n_characters} characters).",
                max=rule.reference_slots,
                got=used,
            )
    for kind, formats in (("image", rule.image_formats), ("video", rule.video_formats)):
        if formats is None:
            continue
        for i, s in enumerate(sources):
            ext = extension(s.url)
            if s.kind == kind and ext and ext not in formats:
                raise MediagateError(
                    "invalid_arguments",
                    f"{entry.id} accepts {kind}s as {', '.join(formats)} only; got .{ext}.",
                    field=f"source_media_urls[{i}]",
                    allowed=list(formats),
                    got=ext,
                )
    if rule.order is not None:
        rank = {k: i for i, k in enumerate(rule.order)}
        ordered = sorted(sources, key=lambda s: rank.get(s.kind, len(rank)))
        if ordered != sources:
            ctx.warnings.append(
                f"source_media_urls reordered to {' then '.join(rule.order)} as {entry.id} requires."
            )
            return ordered
    return sources


# --- options --------------------------------------------------------------------------------------


def _negative_prompt(args: Mapping[str, Any], ctx: _Ctx) -> str | None:
    negative = _as_str(args, "negative_prompt")
    if negative is None or negative == "":
        return None
    entry = ctx.entry
    if not entry.negative_prompt:
        ctx.ignored("negative_prompt", "this model does not support it.")
        return None
    limit = entry.negative_prompt_max or entry.prompt_max
    if limit is not None and len(negative) > limit:
        raise MediagateError(
            "negative_prompt_too_long",
            f"negative_prompt is {len(negative)} characters; {entry.id} accepts at most {limit}.",
            max=limit,
            got=len(negative),
        )
    return negative


def parse_duration(value: object) -> float | None:
    """Seconds from ``5``, ``5.0``, ``"5"`` or ``"5s"``; ``None`` when unparseable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1))
    return None


def _duration(value: object, ctx: _Ctx) -> int | None:
    entry = ctx.entry
    spec = entry.duration
    if spec is None:
        if value is not None:
            ctx.ignored("duration", "image models have no duration.")
        return None
    if value is None or value == "":
        return spec.default
    seconds = parse_duration(value)
    if spec.kind in ("fixed", "from_source"):
        if seconds is None or seconds != spec.default or spec.kind == "from_source":
            why = (
                f"it is fixed at {spec.default} s."
                if spec.kind == "fixed"
                else f"the length follows the reference video (≤ {spec.max} s)."
            )
            ctx.ignored("duration", why)
        return spec.default
    allowed = spec.allowed()
    if seconds is None or seconds != int(seconds) or int(seconds) not in allowed:
        shown: list[int] | str = (
            allowed if spec.kind == "options" else f"{spec.min}-{spec.max} (integer seconds)"
        )
        raise MediagateError(
            "invalid_duration",
            f"{entry.id} takes duration "
            + (
                ", ".join(f"{a}s" for a in allowed)
                if spec.kind == "options"
                else f"{spec.min}–{spec.max} s (whole seconds)"
            )
            + f"; got {value!r}.",
            allowed=shown,
            min=spec.min,
            max=spec.max,
            got=value if isinstance(value, (str, int, float)) else _type_name(value),
        )
    return int(seconds)


def _aspect_ratio(value: object, ctx: _Ctx) -> str:
    spec = ctx.entry.aspect_ratio
    if value is None or value == "":
        return spec.default
    if not isinstance(value, str):
        raise _bad_arg("aspect_ratio", "a string such as 16:9", value)
    aspect = value.strip().lower().replace(" ", "").replace("x", ":").replace("/", ":")
    if spec.ignored:
        if aspect != spec.default:
            ctx.ignored("aspect_ratio", spec.note or "the output follows the input.")
        return spec.default
    if aspect not in spec.allowed:
        raise MediagateError(
            "aspect_ratio_invalid_for_model",
            f"{ctx.entry.id} does not support aspect_ratio {value!r}; "
            f"use one of {', '.join(spec.allowed)}.",
            allowed=list(spec.allowed),
            got=value,
        )
    return aspect


def _resolution(value: object, aspect: str, ctx: _Ctx) -> tuple[str | None, int]:
    entry = ctx.entry
    spec = entry.resolution
    if spec is None:
        if value is not None and value != "":
            where = (
                f"the resolution is part of the model id ({entry.output_resolution})."
                if entry.output_resolution
                else "this model has no resolution tiers."
            )
            ctx.ignored("resolution", where)
        return None, 1024
    if value is None or value == "":
        tier = spec.tier(spec.default)
    else:
        if not isinstance(value, str):
            raise _bad_arg("resolution", "a string such as 2K", value)
        wanted = value.strip().upper()
        if spec.fixed:
            if wanted != spec.default:
                ctx.ignored(
                    "resolution",
                    f"this id always renders {spec.default}; use the base model with "
                    f"resolution {wanted} instead.",
                )
            tier = spec.tier(spec.default)
        else:
            ids = [t.id for t in spec.tiers]
            if wanted not in ids:
                raise MediagateError(
                    "invalid_resolution",
                    f"{entry.id} takes resolution {', '.join(ids)}; got {value!r}.",
                    allowed=ids,
                    got=value,
                )
            tier = spec.tier(wanted)
    if tier.requires_aspect_in is not None and aspect not in tier.requires_aspect_in:
        raise MediagateError(
            "aspect_ratio_incompatible_with_high_res",
            f"{entry.id} at {tier.id} needs an explicit aspect_ratio of "
            f"{', '.join(tier.requires_aspect_in)}; got {aspect}.",
            allowed=list(tier.requires_aspect_in),
            got=aspect,
            resolution=tier.id,
            hint="Pick a landscape or portrait ratio, or use resolution 1K for 1:1/auto.",
        )
    return tier.id, tier.long_edge


def _quality(value: object, ctx: _Ctx) -> str | None:
    spec = ctx.entry.quality
    if spec is None:
        if value is not None and value != "":
            ctx.ignored("quality", "this model has no quality setting.")
        return None
    if value is None or value == "":
        return spec.default
    if not isinstance(value, str):
        raise _bad_arg("quality", "a string", value)
    wanted = value.strip()
    folded = {k.casefold(): k for k in spec.values}
    key = folded.get(wanted.casefold())
    if key is None:
        raise MediagateError(
            "invalid_quality",
            f"{ctx.entry.id} takes quality {', '.join(spec.values)}; got {value!r}.",
            allowed=list(spec.values),
            got=value,
        )
    return key


def _sound(value: object, ctx: _Ctx) -> bool | None:
    entry = ctx.entry
    if entry.video_audio == "toggle_via_sound_param":
        return False if value is None else _as_bool("sound", value)
    if value is None:
        return None
    _as_bool("sound", value)
    if entry.media_type == "image":
        ctx.ignored("sound", "image models have no audio.")
    elif entry.param("generate_audio") is not None:
        ctx.ignored("sound", "use generate_audio to toggle this model's (free) audio.")
    elif entry.video_audio == "included":
        ctx.ignored("sound", "audio is always part of this model's output.")
    else:
        ctx.ignored("sound", "this model generates no audio.")
    return None


def _seed(value: object) -> int | None:
    if value is None:
        return None
    number = _as_number("seed", value)
    if number != int(number) or not 0 <= number <= _MAX_SEED:
        raise MediagateError(
            "invalid_arguments",
            f"seed must be a whole number from 0 to {_MAX_SEED}.",
            field="seed",
            got=value,
        )
    return int(number)


# --- model-specific parameters --------------------------------------------------------------------


def _character_ids(args: Mapping[str, Any], ctx: _Ctx) -> list[str]:
    value = args.get("character_ids")
    if value is None or ctx.entry.param("character_ids") is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(c, str) and c.strip() for c in items
    ):
        raise _bad_arg("character_ids", "an array of character id strings", value)
    ids = [c.strip() for c in items]
    if len(set(ids)) != len(ids):
        raise MediagateError(
            "invalid_arguments", "character_ids contains duplicates.", field="character_ids"
        )
    return ids


def _params(
    args: Mapping[str, Any], gt: GenerationType, character_ids: list[str], ctx: _Ctx
) -> dict[str, Any]:
    entry = ctx.entry
    out: dict[str, Any] = {}
    for name in MODEL_PARAMS:
        value = args.get(name)
        spec = entry.param(name)
        if spec is None:
            if value is not None:
                ctx.ignored(name, "this model does not take it.")
            continue
        if value is None:
            if spec.default is not None:
                out[name] = spec.default
            continue
        if spec.type == "bool":
            out[name] = _as_bool(name, value)
        elif name == "voice_id":
            out[name] = _voice(value, ctx)
        elif name == "character_ids":
            out[name] = character_ids
        elif name == "last_frame_url":
            if gt != "image-to-video":
                ctx.ignored(name, "it only applies to image-to-video.")
                continue
            out[name] = _image_url(name, value, ctx)
        elif name == "kling_elements":
            out[name] = _kling_elements(value, ctx)
        elif spec.type == "number":
            out[name] = _as_number(name, value)
        else:  # pragma: no cover - every declared type is handled above
            raise AssertionError(f"unhandled parameter type {spec.type}")
    if entry.param("video_trim_start_s") is not None:
        _trim_window(out)
    return out


def _voice(value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad_arg("voice_id", "a voice id string", value)
    catalog_id = ctx.entry.voices
    assert catalog_id is not None
    voices = ctx.catalog.voices(catalog_id)
    key = value.strip().lower()
    if key not in voices:
        raise MediagateError(
            "unknown_voice",
            f"Unknown voice_id {value!r} for {ctx.entry.id}.",
            got=value,
            suggestions=difflib.get_close_matches(key, sorted(voices), n=3, cutoff=0.5) or None,
            allowed=sorted(voices),
            hint="Call list_voices to hear and choose a voice.",
        )
    return key


def _image_url(field: str, value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad_arg(field, "an image URL string", value)
    url = value.strip()
    check_url(url, field=field, allow_private=ctx.allow_private)
    kind = classify(url)
    if kind not in (None, "image"):
        raise MediagateError(
            "invalid_arguments", f"{field} must be an image URL; got a {kind} file.", field=field
        )
    return url


def _trim_window(params: dict[str, Any]) -> None:
    start = params.get("video_trim_start_s", 0.0)
    end = params.get("video_trim_end_s")
    effective_end = start + _TRIM_RANGE_MAX_S if end is None else end
    problem = None
    if start < 0:
        problem = "video_trim_start_s must be ≥ 0."
    elif end is not None and end <= start:
        problem = "video_trim_end_s must be greater than video_trim_start_s."
    elif effective_end - start > _TRIM_RANGE_MAX_S:
        problem = f"the trim window is {effective_end - start:g} s; at most 10 s is allowed."
    elif effective_end > _TRIM_END_MAX_S:
        problem = f"the trim window ends at {effective_end:g} s; it must end by 30 s."
    if problem:
        raise MediagateError(
            "invalid_trim_range",
            problem,
            start_s=start,
            end_s=end,
            max_range_s=_TRIM_RANGE_MAX_S,
            max_end_s=_TRIM_END_MAX_S,
        )


def _bad_element(i: int, message: str) -> MediagateError:
    return MediagateError(
        "invalid_kling_elements",
        f"kling_elements[{i}]: {message}",
        field=f"kling_elements[{i}]",
        hint=(
            "Each element is {name, description, element_input_urls: 2–4 image URLs} or "
            "{name, description, element_input_video_urls: [1 video URL]}."
        ),
    )


_ELEMENT_KEYS = frozenset({"name", "description", "element_input_urls", "element_input_video_urls"})


def _kling_elements(value: object, ctx: _Ctx) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)):
        raise MediagateError(
            "invalid_kling_elements",
            "kling_elements must be an array of element objects.",
            field="kling_elements",
        )
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, el in enumerate(value):
        if not isinstance(el, Mapping):
            raise _bad_element(i, "must be an object.")
        extra = set(el) - _ELEMENT_KEYS
        if extra:
            raise _bad_element(i, f"unknown keys {sorted(map(str, extra))}.")
        name, desc = el.get("name"), el.get("description")
        if not isinstance(name, str) or not name.strip():
            raise _bad_element(i, "name is required.")
        if not isinstance(desc, str) or not desc.strip():
            raise _bad_element(i, "description is required.")
        name = name.strip().lstrip("@")
        if name in names:
            raise _bad_element(i, f"duplicate element name {name!r}.")
        names.add(name)
        images, videos = el.get("element_input_urls"), el.get("element_input_video_urls")
        if (images is None) == (videos is None):
            raise _bad_element(
                i, "give exactly one of element_input_urls or element_input_video_urls."
            )
        urls = images if images is not None else videos
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, (list, tuple)) or not all(isinstance(u, str) for u in urls):
            raise _bad_element(i, "URLs must be an array of strings.")
        want_kind, lo, hi = ("image", 2, 4) if images is not None else ("video", 1, 1)
        if not lo <= len(urls) <= hi:
            span = f"{lo}–{hi}" if lo != hi else str(lo)
            raise _bad_element(i, f"needs {span} {want_kind} URL(s); got {len(urls)}.")
        clean: list[str] = []
        for j, url in enumerate(urls):
            url = url.strip()
            check_url(url, field=f"kling_elements[{i}].urls[{j}]", allow_private=ctx.allow_private)
            kind = classify(url)
            if kind not in (None, want_kind):
                raise _bad_element(i, f"URL {j} is a {kind} file; expected {want_kind}.")
            clean.append(url)
        key = "element_input_urls" if images is not None else "element_input_video_urls"
        out.append({"name": name, "description": desc.strip(), key: clean})
    return out

