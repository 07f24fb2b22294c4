"""One pure function from raw ``generate_media`` arguments to a normalized request or an error.

``validate_generate`` never does I/O and never raises anything but ``MediagateError``: every
refusal carries a stable code from GUIDE.md §3 and the details an agent needs to fix the call.
Options a model ignores (per the seeds) are accepted and reported in ``warnings``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from mediagate.catalog._common import Ctx, as_bool, as_str, bad_arg
from mediagate.catalog.inputs import check_inputs, parse_sources, resolve_generation_type
from mediagate.catalog.native import (
    check_gateai,
    gateai_output_format,
    gateai_seed,
    gateai_sound,
    native_params,
)
from mediagate.catalog.params import character_ids_of, model_params
from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest, image_size, video_size
from mediagate.catalog.schema import (
    MODEL_PARAMS,
)
from mediagate.errors import MediagateError, unknown_name

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
    "output_format",
)
#: Provider-native options (GateAI models), checked against the entry's own table.
NATIVE_FIELD = "params"
#: Handled by the server, not by validation; accepted and left alone here.
SERVER_FIELDS: tuple[str, ...] = (
    "provider",
    "idempotency_key",
    "wait_seconds",
    "output_dir",
    "allow_downgrade",
)
_ALL_FIELDS = frozenset((*COMMON_FIELDS, *MODEL_PARAMS, NATIVE_FIELD, *SERVER_FIELDS))
_DURATION_RE = re.compile(
    r"^\s*([0-9]{1,6}(?:\.[0-9]+)?)\s*(?:s|sec|secs|seconds?)?\s*$", re.IGNORECASE
)
_MAX_SEED = 2**63 - 1


def validate_generate(
    args: Mapping[str, Any],
    catalog: Catalog,
    *,
    allow_private_urls: bool = False,
    trusted_url_prefixes: tuple[str, ...] = (),
) -> GenerationRequest:
    """Validate ``generate_media`` arguments against the model's limit table.

    Returns the normalized request (defaults applied, duration in seconds, sources classified,
    output size computed) or raises ``MediagateError`` with a stable code.
    ``trusted_url_prefixes`` are this server's own media URLs, accepted as inputs as they are.
    """
    if not isinstance(args, (dict, Mapping)):
        raise bad_arg("arguments", "an object", args)
    if not _ALL_FIELDS.issuperset(args):
        key = str(next(k for k in args if k not in _ALL_FIELDS))
        raise unknown_name(f"Unknown parameter {key!r}.", key, key, _ALL_FIELDS)

    model_name = as_str(args, "model")
    if not model_name or not model_name.strip():
        raise MediagateError(
            "invalid_arguments",
            "model is required.",
            field="model",
            hint="Call get_models to list the available model ids.",
        )
    # "gateai/gpt-image-2" and provider="gateai" name GateAI's entry; a bare id the primary one.
    entry = catalog.resolve(model_name, as_str(args, "provider"))
    ctx = Ctx(catalog, entry, allow_private_urls, trusted_url_prefixes)

    prompt = as_str(args, "prompt")
    if prompt is None or not prompt.strip():
        raise MediagateError("invalid_arguments", "prompt is required.", field="prompt")
    if entry.prompt_max is not None and len(prompt) > entry.prompt_max:
        raise MediagateError(
            "prompt_too_long",
            f"prompt is {len(prompt)} characters; {entry.id} accepts at most {entry.prompt_max}.",
            max=entry.prompt_max,
            got=len(prompt),
        )

    sources = parse_sources(args.get("source_media_urls"), ctx)
    generation_type = resolve_generation_type(args, entry, sources)
    rule = entry.inputs[generation_type]

    character_ids = character_ids_of(args, ctx)
    sources = check_inputs(sources, rule, generation_type, ctx, len(character_ids))

    negative = _negative_prompt(args, ctx)
    duration_s = _duration(args.get("duration"), ctx)
    aspect = _aspect_ratio(args.get("aspect_ratio"), ctx)
    resolution, long_edge = _resolution(args.get("resolution"), aspect, ctx)
    quality = _quality(args.get("quality"), ctx)
    if entry.quality is not None and entry.quality.long_edge and quality is not None:
        long_edge = entry.quality.long_edge[quality]
    if entry.gateai is not None:
        sound, has_audio_switch = gateai_sound(args.get("sound"), ctx)
        if has_audio_switch is None:
            sound = _sound(args.get("sound"), ctx)
        seed = gateai_seed(args.get("seed"), ctx)
        output_format = gateai_output_format(_format_of(args.get("output_format"), ctx), ctx)
        params = model_params(args, generation_type, character_ids, ctx)
        params.update(native_params(args.get(NATIVE_FIELD), ctx))
        checked = check_gateai(args, ctx, params, aspect, resolution, duration_s)
        resolution, width, height = checked.resolution, checked.width, checked.height
        if has_audio_switch is not None:
            has_audio = has_audio_switch
        else:
            has_audio = entry.video_audio == "included"
    else:
        sound = _sound(args.get("sound"), ctx)
        seed = _seed(args.get("seed"))
        output_format = _output_format(args.get("output_format"), ctx)
        params = model_params(args, generation_type, character_ids, ctx)
        native_params(args.get(NATIVE_FIELD), ctx)
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
        provider=entry.provider,
        output_format=output_format,
        warnings=ctx.warnings,
    )


# --- options --------------------------------------------------------------------------------------


def _negative_prompt(args: Mapping[str, Any], ctx: Ctx) -> str | None:
    negative = as_str(args, "negative_prompt")
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
    if isinstance(value, int):
        return float(value) if abs(value) <= 10**6 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        # Fast path for the common spellings "5" and "5s" (ASCII digits only: "²" is a digit
        # to str.isdigit but not a number).
        digits = value[:-1] if value.endswith("s") else value
        if 0 < len(digits) <= 6 and digits.isascii() and digits.isdigit():
            return float(digits)
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1))
    return None


def _duration(value: object, ctx: Ctx) -> int | None:
    entry = ctx.entry
    spec = entry.duration
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
        raise bad_arg("duration", 'seconds as a number or a string like "5s"', value)
    if spec is None:
        if value is not None:
            ctx.ignored("duration", f"{entry.media_type} models have no duration.")
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
    if seconds is None or seconds != int(seconds) or not spec.accepts(int(seconds)):
        allowed = spec.allowed()
        # JSON has no NaN/Infinity and huge ints are noise: echo those as text.
        echoed = value if isinstance(value, str) or seconds is not None else str(value)[:40]
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
            + f"; got {str(echoed)[:40]!r}.",
            allowed=shown,
            min=spec.min,
            max=spec.max,
            got=echoed,
        )
    return int(seconds)


def _aspect_ratio(value: object, ctx: Ctx) -> str:
    spec = ctx.entry.aspect_ratio
    if value is None or value == "":
        return spec.default
    if not isinstance(value, str):
        raise bad_arg("aspect_ratio", "a string such as 16:9", value)
    if value in spec.allowed and not spec.ignored:
        return value
    aspect = value.strip().lower()
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


def _resolution(value: object, aspect: str, ctx: Ctx) -> tuple[str | None, int]:
    entry = ctx.entry
    spec = entry.resolution
    if value is not None and not isinstance(value, str):
        raise bad_arg("resolution", "a string such as 2K", value)
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
            raise bad_arg("resolution", "a string such as 2K", value)
        wanted = _tier_id(value, ctx)
        if spec.fixed:
            if wanted.casefold() != spec.default.casefold():
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


#: Other spellings of the same tier ("2160p" is what GateAI's LTXV calls 4K).
_TIER_ALIASES = {"2160p": "4k", "4k": "2160p"}


def _tier_id(value: str, ctx: Ctx) -> str:
    """The tier id ``value`` names: ids match case-insensitively (``1k``, ``720P``), and a
    GateAI entry also takes its upstream values (``RESOLUTION_720``)."""
    spec = ctx.entry.resolution
    assert spec is not None
    wanted = value.strip().casefold()
    ids = {t.id.casefold(): t.id for t in spec.tiers}
    if wanted in ids:
        return ids[wanted]
    if wanted in _TIER_ALIASES and _TIER_ALIASES[wanted] in ids:
        return ids[_TIER_ALIASES[wanted]]
    gateai = ctx.entry.gateai
    if gateai is not None:
        for tier, upstream in gateai.tier_values.items():
            if upstream.casefold() == wanted:
                return tier
    return value.strip().upper()


def _quality(value: object, ctx: Ctx) -> str | None:
    spec = ctx.entry.quality
    if value is not None and not isinstance(value, str):
        raise bad_arg("quality", "a string", value)
    if spec is None:
        if value is not None and value != "":
            ctx.ignored("quality", "this model has no quality setting.")
        return None
    if value is None or value == "":
        return spec.default
    if not isinstance(value, str):
        raise bad_arg("quality", "a string", value)
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


def _sound(value: object, ctx: Ctx) -> bool | None:
    entry = ctx.entry
    if entry.video_audio == "toggle_via_sound_param":
        return False if value is None else as_bool("sound", value)
    if value is None:
        return None
    as_bool("sound", value)
    if entry.media_type == "image":
        ctx.ignored("sound", "image models have no audio.")
    elif entry.media_type == "3d":
        ctx.ignored("sound", "3D models have no audio.")
    elif entry.param("generate_audio") is not None:
        ctx.ignored("sound", "use generate_audio to toggle this model's (free) audio.")
    elif entry.video_audio == "included":
        ctx.ignored("sound", "audio is always part of this model's output.")
    else:
        ctx.ignored("sound", "this model generates no audio.")
    return None


_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"}


def _format_of(value: object, ctx: Ctx) -> str | None:
    """``png``/``jpeg``/``webp`` from the agent's spelling; ``None`` when not given."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise bad_arg("output_format", "a string", value)
    fmt = _FORMATS.get(value.strip().lower())
    if fmt is None:
        raise MediagateError(
            "invalid_arguments",
            f"output_format must be png, jpeg or webp; got {value!r}.",
            field="output_format",
            allowed=["png", "jpeg", "webp"],
            got=value,
        )
    return fmt


def _output_format(value: object, ctx: Ctx) -> str:
    fmt = _format_of(value, ctx)
    if fmt is None:
        return "png"
    if ctx.entry.media_type != "image":
        ctx.ignored("output_format", "videos are always MP4.")
        return "png"
    return fmt


def _seed(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_arg("seed", "a whole number", value)
    # Integers are taken exactly (a float would round seeds above 2**53).
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise MediagateError(
                "invalid_arguments", "seed must be a whole number.", field="seed", got=str(value)
            )
        value = int(value)
    if not 0 <= value <= _MAX_SEED:
        raise MediagateError(
            "invalid_arguments",
            f"seed must be a whole number from 0 to {_MAX_SEED}.",
            field="seed",
            got=value if abs(value) <= 2**64 else "out of range",
        )
    return value
