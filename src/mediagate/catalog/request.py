"""The normalized request that validation produces and every later layer consumes."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from mediagate.catalog.schema import GenerationType, MediaKind

_SHORT_EDGE = {"480p": 480, "720p": 720, "1080p": 1080, "4k": 2160}


class SourceMedia(NamedTuple):
    """One input file: its URL and the kind its extension says it is."""

    url: str
    kind: MediaKind


class GenerationRequest(NamedTuple):
    """A ``generate_media`` call after validation: every option explicit, defaults applied.

    Immutable (a NamedTuple: validation builds one per call, on the hot path).
    """

    model: str
    media_type: str
    generation_type: GenerationType
    prompt: str
    negative_prompt: str | None
    sources: list[SourceMedia]
    aspect_ratio: str
    duration_s: int | None
    resolution: str | None
    quality: str | None
    sound: bool | None
    has_audio: bool
    seed: int | None
    params: dict[str, Any]
    width: int
    height: int
    provider: str | None = None
    #: Image file format (png, jpeg, webp); videos are always MP4.
    output_format: str = "png"
    warnings: list[str] = []  # noqa: RUF012 - never mutated in place; always passed explicitly

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with the job and shown to agents)."""
        return {
            "model": self.model,
            "media_type": self.media_type,
            "generation_type": self.generation_type,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "source_media": [{"url": s.url, "kind": s.kind} for s in self.sources],
            "aspect_ratio": self.aspect_ratio,
            "duration_s": self.duration_s,
            "resolution": self.resolution,
            "quality": self.quality,
            "sound": self.sound,
            "has_audio": self.has_audio,
            "seed": self.seed,
            "params": dict(self.params),
            "width": self.width,
            "height": self.height,
            "provider": self.provider,
            "output_format": self.output_format,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        """Inverse of :meth:`to_dict` (for jobs reloaded from the store)."""
        return cls(
            model=data["model"],
            media_type=data["media_type"],
            generation_type=data["generation_type"],
            prompt=data["prompt"],
            negative_prompt=data["negative_prompt"],
            sources=[SourceMedia(s["url"], s["kind"]) for s in data["source_media"]],
            aspect_ratio=data["aspect_ratio"],
            duration_s=data["duration_s"],
            resolution=data["resolution"],
            quality=data["quality"],
            sound=data["sound"],
            has_audio=data["has_audio"],
            seed=data["seed"],
            params=dict(data["params"]),
            width=data["width"],
            height=data["height"],
            provider=data.get("provider"),
            output_format=data.get("output_format", "png"),
            warnings=list(data.get("warnings", [])),
        )


def _ratio(aspect: str, fallback: tuple[int, int]) -> tuple[int, int]:
    a, sep, b = aspect.partition(":")
    if sep and a.isdigit() and b.isdigit() and int(a) > 0 and int(b) > 0:
        return int(a), int(b)
    return fallback


def _even(x: float) -> int:
    return max(2, 2 * round(x / 2))


@lru_cache(maxsize=512)
def image_size(aspect: str, long_edge: int) -> tuple[int, int]:
    """Pixel size of an image: the tier's long edge, the other edge from the ratio (even)."""
    a, b = _ratio(aspect, (1, 1))
    if a >= b:
        return long_edge, _even(long_edge * b / a)
    return _even(long_edge * a / b), long_edge


@lru_cache(maxsize=512)
def video_size(aspect: str, output_resolution: str) -> tuple[int, int]:
    """Pixel size of a video: the tier fixes the short edge (720p → 720), the ratio the long one."""
    short = _SHORT_EDGE.get(output_resolution, 720)
    a, b = _ratio(aspect, (16, 9))
    if a >= b:
        return _even(short * a / b), short
    return short, _even(short * b / a)
