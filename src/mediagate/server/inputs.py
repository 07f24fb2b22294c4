"""Input preparation around validation: local files in, reference durations probed.

Before validation, local paths, ``file://`` and ``data:`` inputs become files in the media
store (inside ``MEDIAGATE_ALLOWED_DIRS`` only) and are replaced by this server's own URLs.
After validation, reference videos/audios of models with duration caps (Seedance 2, Kling
motion control) are probed in the sandboxed workers: a file over the cap is refused with
``reference_duration_exceeded`` before anything is spent, and Seedance 2's reference-video
price uses the probed lengths instead of the pessimistic 15 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import InputRule, ModelEntry
from mediagate.errors import MediagateError
from mediagate.media.clips import media_workers, source_file
from mediagate.media.fetch import GuardedFetcher
from mediagate.media.local_inputs import is_data_uri, is_local_reference, materialize
from mediagate.media.probe import probe
from mediagate.server.services import Services

log = logging.getLogger(__name__)

#: Probing happens inside a tool call, which clients abandon after ~60 s: past this budget the
#: durations are left unchecked (with a warning) rather than the call timing out.
PROBE_BUDGET_S = 25.0


async def localize_inputs(args: dict[str, Any], services: Services) -> dict[str, Any]:
    """``args`` with every local-file input replaced by this server's URL for a stored copy."""

    async def one(ref: object, field_name: str) -> object:
        if not isinstance(ref, str) or not (is_local_reference(ref) or is_data_uri(ref)):
            return ref
        found = await materialize(ref, services, field=field_name)
        return services.media.url_for(services.media.relpath(found.path))

    out = dict(args)
    sources = out.get("source_media_urls")
    if isinstance(sources, str):
        out["source_media_urls"] = await one(sources, "source_media_urls[0]")
    elif isinstance(sources, list):
        out["source_media_urls"] = [
            await one(ref, f"source_media_urls[{i}]") for i, ref in enumerate(sources)
        ]
    if "last_frame_url" in out:
        out["last_frame_url"] = await one(out["last_frame_url"], "last_frame_url")
    elements = out.get("kling_elements")
    if isinstance(elements, list):
        fixed = []
        for i, element in enumerate(elements):
            if isinstance(element, dict):
                element = dict(element)
                for key in ("element_input_urls", "element_input_video_urls"):
                    urls = element.get(key)
                    if isinstance(urls, list):
                        element[key] = [
                            await one(u, f"kling_elements[{i}].{key}[{j}]")
                            for j, u in enumerate(urls)
                        ]
            fixed.append(element)
        out["kling_elements"] = fixed
    return out


@dataclass(slots=True)
class ReferenceDurations:
    """Probed lengths of the request's reference videos and audios (None when not probed)."""

    videos: list[float] | None = None
    audios: list[float] | None = None
    warnings: list[str] = field(default_factory=list)


def _needs_probe(rule: InputRule, entry: ModelEntry, n_videos: int, n_audios: int) -> bool:
    video_caps = rule.max_video_s is not None or rule.max_total_video_s is not None
    audio_caps = rule.max_audio_s is not None or rule.max_total_audio_s is not None
    return bool(
        (n_videos and (video_caps or entry.pricing.ref_video_billing)) or (n_audios and audio_caps)
    )


async def probe_references(
    request: GenerationRequest, entry: ModelEntry, services: Services, fetcher: GuardedFetcher
) -> ReferenceDurations:
    """Probe reference videos/audios where the model caps their length or prices by it.

    Raises ``reference_duration_exceeded``; a file that cannot be fetched or probed in the
    budget is left to the provider, with a warning.
    """
    rule = entry.inputs[request.generation_type]
    videos = [s.url for s in request.sources if s.kind == "video"]
    audios = [s.url for s in request.sources if s.kind == "audio"]
    result = ReferenceDurations()
    if not _needs_probe(rule, entry, len(videos), len(audios)):
        return result
    workdir = services.settings.data_dir / "work" / f"probe-{secrets.token_hex(6)}"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        async with asyncio.timeout(PROBE_BUDGET_S):
            result.videos = [
                await _duration(u, services, fetcher, workdir, f"video {i}")
                for i, u in enumerate(videos)
            ]
            result.audios = [
                await _duration(u, services, fetcher, workdir, f"audio {i}")
                for i, u in enumerate(audios)
            ]
    except TimeoutError:
        result.videos = result.audios = None
        result.warnings.append(
            f"Reference durations were not checked (probing took over {PROBE_BUDGET_S:g} s); "
            "the provider will check them."
        )
    except MediagateError as exc:
        if exc.code in ("unsafe_source_url", "source_too_large"):
            raise
        result.videos = result.audios = None
        result.warnings.append(f"Reference durations were not checked ({exc.code}: {exc.message})")
    finally:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(shutil.rmtree, workdir, True)
    _enforce(rule, entry, "video", result.videos)
    _enforce(rule, entry, "audio", result.audios)
    return result


async def _duration(
    url: str, services: Services, fetcher: GuardedFetcher, workdir: Path, label: str
) -> float:
    path = await source_file(
        url, services, fetcher, workdir / label.replace(" ", "-"), field="source_media_urls"
    )
    info = await probe(path, workers=media_workers(services))
    if info.duration_s is None:
        raise MediagateError("ffmpeg_failed", f"The {label} reference has no known duration.")
    return info.duration_s


def _enforce(rule: InputRule, entry: ModelEntry, kind: str, seconds: list[float] | None) -> None:
    if not seconds:
        return
    each = rule.max_video_s if kind == "video" else rule.max_audio_s
    total = rule.max_total_video_s if kind == "video" else rule.max_total_audio_s
    for i, s in enumerate(seconds):
        if each is not None and s > each + 0.05:
            raise MediagateError(
                "reference_duration_exceeded",
                f"Reference {kind} {i} is {s:.2f} s; {entry.id} accepts at most {each:g} s each.",
                kind=kind,
                index=i,
                got=round(s, 3),
                max=each,
                hint="Shorten it with trim_video and pass the trimmed URL.",
            )
    if total is not None and sum(seconds) > total + 0.05:
        raise MediagateError(
            "reference_duration_exceeded",
            f"Reference {kind}s total {sum(seconds):.2f} s; {entry.id} accepts at most "
            f"{total:g} s combined.",
            kind=kind,
            got=round(sum(seconds), 3),
            max=total,
            durations=[round(s, 3) for s in seconds],
            hint="Trim the references with trim_video so their sum fits.",
        )
