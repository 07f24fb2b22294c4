"""Validation of model-specific parameters: voices, characters, Kling elements, trim windows."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from mediagate.catalog._common import Ctx, as_bool, as_number, bad_arg
from mediagate.catalog.schema import MODEL_PARAMS, GenerationType
from mediagate.catalog.urls import classify, extension
from mediagate.errors import MediagateError

_MODEL_PARAM_SET = frozenset(MODEL_PARAMS)
_TRIM_RANGE_MAX_S = 10.0
_TRIM_END_MAX_S = 30.0


def character_ids_of(args: Mapping[str, Any], ctx: Ctx) -> list[str]:
    value = args.get("character_ids")
    if value is None or ctx.entry.param("character_ids") is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(
        isinstance(c, str) and c.strip() for c in items
    ):
        raise bad_arg("character_ids", "an array of character id strings", value)
    ids = [c.strip() for c in items]
    if len(set(ids)) != len(ids):
        raise MediagateError(
            "invalid_arguments", "character_ids contains duplicates.", field="character_ids"
        )
    return ids


def model_params(
    args: Mapping[str, Any], gt: GenerationType, character_ids: list[str], ctx: Ctx
) -> dict[str, Any]:
    """Check the model-specific parameters; fill defaults; warn about ones the model ignores."""
    entry = ctx.entry
    specs = entry.params_by_name
    for name, value in args.items():
        if value is not None and name in _MODEL_PARAM_SET and name not in specs:
            _check_type(name, value)
            ctx.ignored(name, "this model does not take it.")
    out: dict[str, Any] = {}
    for spec in entry.params:
        name = spec.name
        value = args.get(name)
        if value is None:
            if spec.default is not None:
                out[name] = spec.default
            continue
        if spec.type == "bool":
            out[name] = as_bool(name, value)
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
            out[name] = as_number(name, value)
        else:  # pragma: no cover - every declared type is handled above
            raise AssertionError(f"unhandled parameter type {spec.type}")
    if "video_trim_start_s" in specs:
        _trim_window(out)
    return out


_BOOL_PARAMS = frozenset({"generate_audio", "fixed_lens", "turbo", "disable_safety_checker"})


def _check_type(name: str, value: object) -> None:
    """Type errors are errors even for a parameter the model ignores (GUIDE §3)."""
    if name in _BOOL_PARAMS:
        as_bool(name, value)
    elif name in ("video_trim_start_s", "video_trim_end_s"):
        as_number(name, value)
    elif name in ("voice_id", "last_frame_url"):
        if not isinstance(value, str):
            raise bad_arg(name, "a string", value)
    elif name == "character_ids":
        if not isinstance(value, (str, list, tuple)):
            raise bad_arg(name, "an array of character id strings", value)
    elif name == "kling_elements" and not isinstance(value, (list, tuple)):
        raise bad_arg(name, "an array of element objects", value)


def _voice(value: object, ctx: Ctx) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_arg("voice_id", "a voice id string", value)
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


def _image_url(field: str, value: object, ctx: Ctx) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_arg(field, "an image URL string", value)
    url = value.strip()
    ctx.check_url(url, field)
    kind = classify(url)
    if kind not in (None, "image"):
        raise MediagateError(
            "invalid_arguments", f"{field} must be an image URL; got a {kind} file.", field=field
        )
    return url


def _trim_window(params: dict[str, Any]) -> None:
    start = params.get("video_trim_start_s", 0.0)
    end = params.get("video_trim_end_s")
    # Seed 000: the default end is start + 10; we clamp it to the 30 s limit rather than
    # refuse a start the agent chose legitimately (e.g. 25 → window 25–30).
    effective_end = min(start + _TRIM_RANGE_MAX_S, _TRIM_END_MAX_S) if end is None else end
    problem = None
    if start < 0:
        problem = "video_trim_start_s must be ≥ 0."
    elif start >= _TRIM_END_MAX_S:
        problem = f"video_trim_start_s must be below {_TRIM_END_MAX_S:g} s."
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


#: Seed 000: "Image elements: JPG/PNG … Video elements: MP4/MOV".
_ELEMENT_FORMATS = {"image": ("jpg", "jpeg", "png"), "video": ("mp4", "mov")}
_ELEMENT_KEYS = frozenset({"name", "description", "element_input_urls", "element_input_video_urls"})


def _kling_elements(value: object, ctx: Ctx) -> list[dict[str, Any]]:
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
            ctx.check_url(url, f"kling_elements[{i}].urls[{j}]")
            kind = classify(url)
            if kind not in (None, want_kind):
                raise _bad_element(i, f"URL {j} is a {kind} file; expected {want_kind}.")
            ext = extension(url)
            formats = _ELEMENT_FORMATS[want_kind]
            if ext and ext not in formats:
                raise _bad_element(
                    i, f"URL {j} is .{ext}; {want_kind} elements take {', '.join(formats)}."
                )
            clean.append(url)
        key = "element_input_urls" if images is not None else "element_input_video_urls"
        out.append({"name": name, "description": desc.strip(), key: clean})
    return out
