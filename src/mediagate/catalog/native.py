"""Validation of what only GateAI entries have: native ``params``, seed ranges, sizes, quantity.

A GateAI call goes through the same pipeline as any other (prompt, inputs, duration, aspect,
resolution, quality); this module adds the checks its :class:`GateAISpec` makes possible and
works out the size sent upstream. Native parameters are checked strictly against the model's
published table: an unknown name or a value outside its enum/min/max/step is refused with what
the agent needs to fix it. Defaults are not filled in (GateAI applies its own), except where the
table marks a parameter required.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from mediagate.catalog._common import Ctx, as_bool, as_number, bad_arg, type_name
from mediagate.catalog.gateai import GATEAI_QUANTITY_MAX, Axis, GateAISpec, NativeParam
from mediagate.errors import MediagateError

#: Larger integers are refused (they overflow GateAI's JSON numbers and mean nothing here).
_MAX_INT = 2**63 - 1


class GateAIChecked(NamedTuple):
    """The GateAI-specific part of a validated request."""

    params: dict[str, Any]
    resolution: str | None
    width: int
    height: int


def native_params(value: object, ctx: Ctx) -> dict[str, Any]:
    """The agent's ``params`` object, checked against the entry's native parameters."""
    if value is None:
        if ctx.entry.gateai is None or not ctx.entry.gateai.quantity.required:
            return {}
        value = {}
    if not isinstance(value, Mapping):
        raise bad_arg("params", "an object", value)
    entry = ctx.entry
    spec = entry.gateai
    out: dict[str, Any] = {}
    for name, item in value.items():
        field = f"params.{name}"
        if not isinstance(name, str) or item is None:
            continue
        if spec is None:
            raise MediagateError(
                "invalid_arguments",
                f"{entry.id} ({entry.provider}) takes no provider-native params.",
                field=field,
                hint="Its options are generate_media's own arguments; see get_models(model=...).",
            )
        unified = spec.mapped.get(name)
        if unified is not None:
            raise MediagateError(
                "invalid_arguments",
                f"{field} is set from the {unified} argument for {entry.id}.",
                field=field,
                hint=f"Pass {unified} instead (get_models(model=...) shows its values).",
            )
        if name == "quantity":
            out[name] = _quantity(item, spec, field)
        elif name in ("width", "height") and spec.dimensions is not None:
            axis = spec.dimensions.width if name == "width" else spec.dimensions.height
            out[name] = _pixels(item, axis, field)
        else:
            param = spec.native(name)
            if param is None:
                raise _unknown_param(name, spec, entry.id)
            out[name] = _value(item, param, field)
    if spec is not None and spec.quantity.required and "quantity" not in out:
        out["quantity"] = spec.quantity.default
    return out


def _unknown_param(name: str, spec: GateAISpec, model: str) -> MediagateError:
    known = [p.name for p in spec.params] + ["quantity"]
    if spec.dimensions is not None:
        known += ["width", "height"]
    known.sort()
    return MediagateError(
        "invalid_arguments",
        f"{model} has no native parameter {name!r}.",
        field=f"params.{name}",
        got=name,
        suggestions=difflib.get_close_matches(name, known, n=3, cutoff=0.5) or None,
        allowed=known,
    )


def _whole(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_arg(field, "a whole number", value)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise MediagateError(
                "invalid_arguments", f"{field} must be a whole number.", field=field, got=str(value)
            )
        value = int(value)
    if abs(value) > _MAX_INT:
        raise MediagateError(
            "invalid_arguments", f"{field} is out of range.", field=field, got="out of range"
        )
    return value


def _quantity(value: object, spec: GateAISpec, field: str) -> int:
    n = _whole(value, field)
    cap = spec.quantity.max
    if not 1 <= n <= cap:
        why = (
            f"GateAI allows at most {GATEAI_QUANTITY_MAX} per request"
            if cap == GATEAI_QUANTITY_MAX
            else f"this model makes at most {cap} per request"
        )
        raise MediagateError(
            "invalid_arguments",
            f"{field} must be 1–{cap} ({why}); got {n}.",
            field=field,
            min=1,
            max=cap,
            got=n,
        )
    return n


def _pixels(value: object, axis: Axis, field: str) -> int:
    n = _whole(value, field)
    if not axis.accepts(n):
        limits = axis.limits()
        if "allowed" in limits:
            shown = ", ".join(map(str, limits["allowed"]))
        else:
            top = limits["max"] if limits["max"] is not None else "any"
            shown = f"{limits['min']}–{top}" + (
                f" in steps of {limits['step']}" if "step" in limits else ""
            )
        raise MediagateError(
            "invalid_arguments",
            f"{field} must be {shown}; got {n}.",
            field=field,
            got=n,
            **limits,
        )
    return n


def _value(value: object, param: NativeParam, field: str) -> Any:
    if param.enum is not None:
        return _enum(value, param, field)
    kind = param.type
    if kind == "any":
        return value
    if kind == "boolean":
        return as_bool(field, value)
    if kind == "string":
        if not isinstance(value, str):
            raise bad_arg(field, "a string", value)
        if param.max_length is not None and len(value) > param.max_length:
            raise MediagateError(
                "invalid_arguments",
                f"{field} is {len(value)} characters; at most {param.max_length}.",
                field=field,
                max=param.max_length,
                got=len(value),
            )
        return value
    if kind == "array":
        if not isinstance(value, (list, tuple)):
            raise bad_arg(field, "an array", value)
        return list(value)
    number: int | float = _whole(value, field) if kind == "integer" else as_number(field, value)
    lo, hi = param.min, param.max
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise MediagateError(
            "invalid_arguments",
            f"{field} must be between {_num(lo)} and {_num(hi)}; got {_num(number)}.",
            field=field,
            min=lo,
            max=hi,
            got=number,
        )
    step = param.step
    if step is not None and not math.isclose((number - (lo or 0)) / step % 1, 0, abs_tol=1e-9):
        raise MediagateError(
            "invalid_arguments",
            f"{field} must be a multiple of {_num(step)}; got {_num(number)}.",
            field=field,
            step=step,
            got=number,
        )
    return number


def _num(x: float | None) -> str:
    return "any" if x is None else f"{x:g}"


def _enum(value: object, param: NativeParam, field: str) -> Any:
    enum = param.enum or []
    for allowed in enum:
        if isinstance(allowed, str):
            if isinstance(value, str) and value.strip().casefold() == allowed.casefold():
                return allowed
            continue
        # Numbers match as numbers ("fps": 25) or as their spelling ("25").
        same_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if (same_number and value == allowed) or (
            isinstance(value, str) and value.strip() == str(allowed)
        ):
            return allowed
    raise MediagateError(
        "invalid_arguments",
        f"{field} must be one of {', '.join(map(str, enum))}; got {str(value)[:40]!r}.",
        field=field,
        allowed=list(enum),
        got=value if isinstance(value, (str, int, float)) else type_name(value),
    )


def check_gateai(
    args: Mapping[str, Any],
    ctx: Ctx,
    params: dict[str, Any],
    aspect: str,
    resolution: str | None,
    duration_s: int | None,
) -> GateAIChecked:
    """Duration rules (which may pick a tier) and the size sent upstream."""
    entry = ctx.entry
    spec = entry.gateai
    assert spec is not None
    for rule in spec.duration_rules:
        if duration_s is None or duration_s < rule.min_s:
            continue
        if rule.tiers is not None and resolution not in rule.tiers:
            if args.get("resolution") in (None, ""):
                ctx.warnings.append(
                    f"resolution {rule.tiers[0]} chosen for {duration_s}s: {rule.note}"
                )
                resolution = rule.tiers[0]
            else:
                raise _rule_broken(ctx, duration_s, rule.min_s, rule.note, resolution=resolution)
        for name, values in rule.params.items():
            native = spec.native(name)
            current = params.get(name, native.default if native is not None else None)
            if current not in values:
                raise _rule_broken(
                    ctx, duration_s, rule.min_s, rule.note, **{f"params.{name}": current}
                )
    size = spec.size_for(resolution, aspect) or (1024, 1024)
    width = params.get("width") or size[0]
    height = params.get("height") or size[1]
    return GateAIChecked(params, resolution, width, height)


def _rule_broken(ctx: Ctx, seconds: int, min_s: int, note: str, **got: Any) -> MediagateError:
    duration = ctx.entry.duration
    allowed = [s for s in (duration.allowed() if duration else []) if s < min_s]
    return MediagateError(
        "invalid_duration",
        f"{ctx.entry.id} cannot make {seconds}s with these settings: {note}",
        allowed=allowed,
        got=seconds,
        hint=f"Choose {max(allowed)}s or less, or follow the rule: {note}" if allowed else note,
        **got,
    )


def gateai_seed(value: object, ctx: Ctx) -> int | None:
    """``seed`` within the model's published range (Seedance: -1 means random)."""
    spec = ctx.entry.gateai
    assert spec is not None
    if value is None:
        return None
    seed = _whole(value, "seed")
    if spec.seed is None:
        ctx.ignored("seed", "this model takes no seed.")
        return None
    if not spec.seed.min <= seed <= spec.seed.max:
        raise MediagateError(
            "invalid_arguments",
            f"seed must be a whole number from {spec.seed.min} to {spec.seed.max} "
            f"for {ctx.entry.id}.",
            field="seed",
            min=spec.seed.min,
            max=spec.seed.max,
            got=seed,
        )
    return seed


def gateai_output_format(fmt: str | None, ctx: Ctx) -> str:
    """The output format checked against the model's own list (``fmt`` already normalized;
    ``None`` when the agent gave none)."""
    spec = ctx.entry.gateai
    assert spec is not None
    if spec.output_formats is None or spec.output_format_default is None:
        if fmt is not None:
            why = {
                "image": "this model has no output format option.",
                "video": "videos are always MP4.",
                "3d": "3D models come as GLB files with JPG previews.",
            }
            ctx.ignored("output_format", why[ctx.entry.media_type])
        return "png"
    if fmt is None:
        return spec.output_format_default
    if fmt not in spec.output_formats:
        raise MediagateError(
            "invalid_arguments",
            f"{ctx.entry.id} returns {', '.join(spec.output_formats)}; got {fmt!r}.",
            field="output_format",
            allowed=list(spec.output_formats),
            got=fmt,
        )
    return fmt


def gateai_sound(value: object, ctx: Ctx) -> tuple[bool | None, bool | None]:
    """``(sound, has_audio)`` for models with an audio switch; ``(None, None)`` otherwise
    (the common rules then apply). Omitted, the switch is not sent: GateAI's default holds."""
    spec = ctx.entry.gateai
    assert spec is not None
    if spec.sound_param is None:
        return None, None
    if value is None:
        return None, bool(spec.sound_default)
    sound = as_bool("sound", value)
    return sound, sound
