"""Validation of ``source_media_urls`` and ``generation_type`` against a model's input rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediagate.catalog._common import Ctx, bad_arg
from mediagate.catalog.request import SourceMedia
from mediagate.catalog.schema import GENERATION_TYPES, GenerationType, InputRule, ModelEntry
from mediagate.catalog.urls import classify, extension
from mediagate.errors import MediagateError


def parse_sources(value: object, ctx: Ctx) -> list[SourceMedia]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        urls: list[object] = [value]
    elif isinstance(value, (list, tuple)):
        urls = list(value)
    else:
        raise bad_arg("source_media_urls", "a URL string or an array of URL strings", value)
    out: list[SourceMedia] = []
    for i, url in enumerate(urls):
        field = f"source_media_urls[{i}]"
        if not isinstance(url, str) or not (url := url.strip()):
            raise bad_arg(field, "a non-empty URL string", url)
        parts = ctx.check_url(url, field)
        kind = classify(url, parts.path)
        if kind is None:
            ext = extension(url, parts.path)
            ctx.warnings.append(
                f"{field} has {'extension .' + ext if ext else 'no file extension'}; "
                "treated as an image (URLs are classified by extension)."
            )
            kind = "image"
        out.append(SourceMedia(url, kind))
    return out


def resolve_generation_type(
    args: Mapping[str, Any], entry: ModelEntry, sources: list[SourceMedia]
) -> GenerationType:
    """The requested generation type, or the inferred one when omitted.

    Inference: the model's only type; else image-to-* when images are given and their count
    reaches that mode's minimum; when it does not but text-to-* takes optional images
    (Seedance 1.5 Pro with one image), text-to-*; else the model's default.
    """
    raw = args.get("generation_type")
    if raw is None:
        if len(entry.generation_types) == 1:
            return entry.generation_types[0]
        guess = _infer(entry, sources)
        if sources and not _fits(entry.inputs[guess], sources):
            # Three images for a model whose image-to-video takes a first and last frame but
            # whose text-to-video takes up to nine references: the type that holds them all.
            for gt in entry.generation_types:
                if _fits(entry.inputs[gt], sources):
                    return gt
        return guess
    if not isinstance(raw, str):
        raise bad_arg("generation_type", "a string", raw)
    wanted = raw.strip().lower()
    for gt in entry.generation_types:
        if gt == wanted:
            return gt
    if wanted not in GENERATION_TYPES:
        raise MediagateError(
            "invalid_arguments",
            f"generation_type {raw!r} is not one of {', '.join(GENERATION_TYPES)}.",
            field="generation_type",
            allowed=list(GENERATION_TYPES),
            got=raw,
        )
    raise MediagateError(
        "unsupported_generation_type",
        f"{entry.id} does not do {wanted}; it supports {', '.join(entry.generation_types)}.",
        allowed=list(entry.generation_types),
        got=wanted,
    )


def _infer(entry: ModelEntry, sources: list[SourceMedia]) -> GenerationType:
    n_images = sum(1 for s in sources if s.kind == "image")
    if n_images:
        for gt in entry.generation_types:
            rule = entry.inputs[gt]
            if gt.startswith("image-to-") and rule.images.min > 0:
                if n_images >= rule.images.min:
                    return gt
                for other in entry.generation_types:
                    if other.startswith("text-to-") and entry.inputs[other].images.max:
                        return other
                return gt
    return entry.default_generation_type


def _fits(rule: InputRule, sources: list[SourceMedia]) -> bool:
    """Whether ``rule`` accepts this many files of each kind."""
    counts = {"image": 0, "video": 0, "audio": 0}
    for s in sources:
        counts[s.kind] += 1
    return all(
        c.min <= counts[kind] <= c.max
        for c, kind in ((rule.images, "image"), (rule.videos, "video"), (rule.audios, "audio"))
    )


def _missing_sources(rule: InputRule, gt: GenerationType, entry: ModelEntry) -> MediagateError:
    needs = [
        _count_phrase(c.min, k)
        for c, k in ((rule.images, "image"), (rule.videos, "video"))
        if c.min
    ]
    return MediagateError(
        "source_media_required",
        f"{entry.id} needs {' and '.join(needs)} in source_media_urls for {gt}.",
        min_images=rule.images.min or None,
        min_videos=rule.videos.min or None,
    )


def _check_slots(
    rule: InputRule, entry: ModelEntry, n_img: int, n_vid: int, n_characters: int
) -> None:
    if rule.reference_slots is None:
        return
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


def _count_phrase(n: int, kind: str) -> str:
    return f"{n} {kind}{'' if n == 1 else 's'}"


def check_inputs(
    sources: list[SourceMedia],
    rule: InputRule,
    gt: GenerationType,
    ctx: Ctx,
    n_characters: int,
) -> list[SourceMedia]:
    entry = ctx.entry
    n_img = n_vid = n_aud = 0
    for s in sources:
        if s.kind == "image":
            n_img += 1
        elif s.kind == "video":
            n_vid += 1
        else:
            n_aud += 1

    if not sources:
        if rule.requires_any:
            raise _missing_sources(rule, gt, entry)
        _check_slots(rule, entry, 0, 0, n_characters)
        return sources
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
                hint="Use text-to-video with a -video-ref variant for video references.",
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
            f"{entry.id} accepts at most {_count_phrase(rule.audios.max, 'audio clip')}; "
            f"got {n_aud}.",
            max=rule.audios.max,
            got=n_aud,
        )
    _check_slots(rule, entry, n_img, n_vid, n_characters)
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
                f"source_media_urls reordered to {' then '.join(rule.order)} "
                f"as {entry.id} requires."
            )
            return ordered
    return sources
