"""What a media file holds (container, duration, streams), read in a sandboxed worker.

:func:`probe` is the API: it runs :func:`probe_in_worker` in a :mod:`~mediagate.media.worker`
process and validates the answer again here (a worker that parsed a hostile file is not
trusted either). Files whose headers claim absurd values are refused with ``ffmpeg_failed``
before anything tries to allocate or process them: a side above :data:`MAX_DIMENSION`, a
duration above :data:`MAX_DURATION_S`, more than :data:`MAX_STREAMS` streams.

The ``*_in_worker`` helpers import PyAV and run only inside a worker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from mediagate.errors import MediagateError

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.stream import Stream

    from mediagate.media.worker import MediaWorkers

#: Largest width or height accepted (FFmpeg's own hard limit is about this, too).
MAX_DIMENSION = 16384
#: Longest duration a header may claim (anything longer is a lie or not a clip).
MAX_DURATION_S = 24 * 3600.0
#: Most streams a file may have (real files have a handful; hundreds are an attack).
MAX_STREAMS = 16
MAX_FPS = 1000.0
MAX_CHANNELS = 64
MAX_SAMPLE_RATE = 768_000

_MICROSECONDS = 1_000_000
_IMAGE_CONTAINERS = frozenset({"png_pipe", "jpeg_pipe", "webp_pipe", "gif"})


@dataclass(frozen=True, slots=True)
class VideoStream:
    """One video (or still image) stream; ``keyframes`` is counted only when asked."""

    index: int
    codec: str
    width: int
    height: int
    fps: float | None = None
    pix_fmt: str | None = None
    duration_s: float | None = None
    keyframes: int | None = None

    @classmethod
    def from_json(cls, data: object) -> VideoStream:
        """Validate an untrusted JSON object (``ffmpeg_failed`` when it does not fit)."""
        r = _Reader(data, "video stream")
        return r.done(
            cls(
                index=r.req_int("index", 0, MAX_STREAMS * 64),
                codec=r.req_text("codec"),
                width=r.req_int("width", 1, MAX_DIMENSION),
                height=r.req_int("height", 1, MAX_DIMENSION),
                fps=r.opt_float("fps", 0, MAX_FPS),
                pix_fmt=r.opt_text("pix_fmt"),
                duration_s=r.opt_float("duration_s", 0, MAX_DURATION_S),
                keyframes=r.opt_int("keyframes", 0, 1 << 40),
            )
        )


@dataclass(frozen=True, slots=True)
class AudioStream:
    """One audio stream."""

    index: int
    codec: str
    channels: int
    sample_rate: int
    duration_s: float | None = None

    @classmethod
    def from_json(cls, data: object) -> AudioStream:
        """Validate an untrusted JSON object (``ffmpeg_failed`` when it does not fit)."""
        r = _Reader(data, "audio stream")
        return r.done(
            cls(
                index=r.req_int("index", 0, MAX_STREAMS * 64),
                codec=r.req_text("codec"),
                channels=r.req_int("channels", 0, MAX_CHANNELS),
                sample_rate=r.req_int("sample_rate", 0, MAX_SAMPLE_RATE),
                duration_s=r.opt_float("duration_s", 0, MAX_DURATION_S),
            )
        )


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """A probed file. ``container`` is FFmpeg's short demuxer name (``mov``, ``matroska`` …)."""

    container: str
    format_name: str
    duration_s: float | None = None
    bit_rate: int | None = None
    video: tuple[VideoStream, ...] = ()
    audio: tuple[AudioStream, ...] = ()
    other_streams: int = 0

    @property
    def media_type(self) -> Literal["image", "video", "audio"]:
        """``image`` for a still-image container, ``video`` with pictures, else ``audio``."""
        if self.container in _IMAGE_CONTAINERS:
            return "image"
        return "video" if self.video else "audio"

    @property
    def has_audio(self) -> bool:
        """Whether the file has at least one audio stream."""
        return bool(self.audio)

    @property
    def width(self) -> int | None:
        """Width of the first video stream."""
        return self.video[0].width if self.video else None

    @property
    def height(self) -> int | None:
        """Height of the first video stream."""
        return self.video[0].height if self.video else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (what a worker sends)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> MediaInfo:
        """Validate an untrusted JSON object (``ffmpeg_failed`` when it does not fit)."""
        r = _Reader(data, "media info")
        return r.done(
            cls(
                container=r.req_text("container"),
                format_name=r.req_text("format_name", 200),
                duration_s=r.opt_float("duration_s", 0, MAX_DURATION_S),
                bit_rate=r.opt_int("bit_rate", 0, 1 << 48),
                video=tuple(VideoStream.from_json(v) for v in r.items("video")),
                audio=tuple(AudioStream.from_json(a) for a in r.items("audio")),
                other_streams=r.req_int("other_streams", 0, MAX_STREAMS),
            )
        )


_T = TypeVar("_T")


class _Reader:
    """Reads an untrusted JSON object field by field; anything off is ``ffmpeg_failed``."""

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, dict):
            raise _implausible(what, "not an object")
        self._data: dict[str, object] = data
        self._what = what
        self._seen: set[str] = set()

    def _get(self, key: str) -> object:
        self._seen.add(key)
        return self._data.get(key)

    def _number(self, key: str, lo: float, hi: float, *, whole: bool) -> float | None:
        value = self._get(key)
        if value is None:
            return None
        kinds: tuple[type, ...] = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise _implausible(self._what, f"{key} is not a number")
        number = float(value) if isinstance(value, (int, float)) else math.nan
        if not lo <= number <= hi:
            raise _implausible(self._what, f"{key}={number:g} (allowed {lo:g}-{hi:g})")
        return number

    def req_int(self, key: str, lo: int, hi: int) -> int:
        value = self.opt_int(key, lo, hi)
        if value is None:
            raise _implausible(self._what, f"{key} is missing")
        return value

    def opt_int(self, key: str, lo: int, hi: int) -> int | None:
        value = self._number(key, lo, hi, whole=True)
        return None if value is None else int(value)

    def opt_float(self, key: str, lo: float, hi: float) -> float | None:
        return self._number(key, lo, hi, whole=False)

    def req_text(self, key: str, max_len: int = 64) -> str:
        value = self.opt_text(key, max_len)
        if value is None:
            raise _implausible(self._what, f"{key} is missing")
        return value

    def opt_text(self, key: str, max_len: int = 64) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_len:
            raise _implausible(self._what, f"{key} is not a short string")
        return value

    def items(self, key: str) -> list[object]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > MAX_STREAMS:
            raise _implausible(self._what, f"{key} is not a list of at most {MAX_STREAMS}")
        return value

    def done(self, built: _T) -> _T:
        extra = set(self._data) - self._seen
        if extra:
            raise _implausible(self._what, f"unexpected field {sorted(extra)[0]!r}")
        return built


def _implausible(what: str, detail: str) -> MediagateError:
    return MediagateError(
        "ffmpeg_failed", f"The media processor reported an implausible {what} ({detail})."
    )


async def probe(
    path: Path, *, workers: MediaWorkers | None = None, count_keyframes: bool = False
) -> MediaInfo:
    """Probe ``path`` in a sandboxed worker.

    Raises :class:`MediagateError`: ``ffmpeg_failed`` (not media, corrupt, absurd header,
    unsupported container), ``processor_timeout`` or ``processor_unavailable``.
    """
    from mediagate.media.worker import default_workers, with_output_limit

    pool = workers if workers is not None else default_workers()
    limits = with_output_limit(pool.limits, 1)  # a probe writes no files
    result = await pool.run(
        "probe",
        {"path": str(Path(path).resolve()), "count_keyframes": count_keyframes},
        limits=limits,
    )
    return parse_media_info(result)


def parse_media_info(data: object) -> MediaInfo:
    """A worker's answer as :class:`MediaInfo`; ``ffmpeg_failed`` when it does not fit."""
    return MediaInfo.from_json(data)


# --- worker side -----------------------------------------------------------------------------


def open_input(path: str) -> InputContainer:
    """Open an untrusted local file with the worker's protocol and demuxer allow-lists."""
    import av

    from mediagate.media.worker import INPUT_OPTIONS

    if not path.startswith("/"):
        raise MediagateError("ffmpeg_failed", "The media processor opens absolute paths only.")
    try:
        container = av.open(f"file:{path}", "r", container_options=dict(INPUT_OPTIONS))
    except av.error.ArgumentError:
        # format_whitelist refusals surface as EINVAL: a playlist, concat list, image pattern...
        raise MediagateError(
            "ffmpeg_failed",
            "The file's container is not an accepted media format "
            "(accepted: MP4/MOV, Matroska/WebM, MP3, WAV, Ogg, AAC, FLAC, PNG, JPEG, WebP, GIF).",
        ) from None
    except av.error.InvalidDataError:
        raise MediagateError(
            "ffmpeg_failed",
            "The file is not a recognisable audio, video or image file "
            "(or its container is corrupt).",
        ) from None
    except av.error.FFmpegError as exc:
        raise MediagateError(
            "ffmpeg_failed", f"FFmpeg could not open the file: {exc.strerror or exc}."
        ) from None
    return container


def inspect_container(container: InputContainer, *, count_keyframes: bool = False) -> MediaInfo:
    """Read and sanity-check an open container's header (the worker side of :func:`probe`)."""
    streams = list(container.streams)
    if len(streams) > MAX_STREAMS:
        _absurd(f"the file has {len(streams)} streams; at most {MAX_STREAMS} are accepted")
    video: list[VideoStream] = []
    audio: list[AudioStream] = []
    other = 0
    for stream in streams:
        if stream.type == "video":
            video.append(_video_stream(stream))
        elif stream.type == "audio":
            audio.append(_audio_stream(stream))
        else:
            other += 1
    if not video and not audio:
        raise MediagateError("ffmpeg_failed", "The file has no audio or video stream.")
    duration = _container_duration(container)
    if count_keyframes and video:
        video[0] = replace(video[0], keyframes=_count_keyframes(container))
    format_name = str(container.format.name)
    return MediaInfo(
        container=format_name.split(",")[0],
        format_name=format_name,
        duration_s=duration,
        bit_rate=int(container.bit_rate) if container.bit_rate else None,
        video=tuple(video),
        audio=tuple(audio),
        other_streams=other,
    )


def probe_in_worker(params: Mapping[str, Any]) -> dict[str, Any]:
    """Worker operation ``probe``: ``{"path", "count_keyframes"}`` → :class:`MediaInfo` JSON."""
    container = open_input(str(params["path"]))
    try:
        info = inspect_container(container, count_keyframes=bool(params.get("count_keyframes")))
    finally:
        container.close()
    return info.to_json()


def _absurd(what: str) -> None:
    raise MediagateError("ffmpeg_failed", f"Refusing the file: {what}.")


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None or value <= 0:
        return None
    return float(value * time_base)


def _check_duration(seconds: float | None, what: str) -> float | None:
    if seconds is not None and seconds > MAX_DURATION_S:
        _absurd(f"its {what} claims a duration of {seconds:.0f} s (more than 24 h)")
    return None if seconds is None else round(seconds, 6)


def _container_duration(container: InputContainer) -> float | None:
    raw = container.duration
    seconds = raw / _MICROSECONDS if raw is not None and raw > 0 else None
    return _check_duration(seconds, "header")


def _video_stream(stream: Stream) -> VideoStream:
    ctx: Any = stream.codec_context
    width, height = int(ctx.width or 0), int(ctx.height or 0)
    if width > MAX_DIMENSION or height > MAX_DIMENSION:
        _absurd(f"a video stream claims {width}x{height} pixels (max side {MAX_DIMENSION})")
    if width <= 0 or height <= 0:
        raise MediagateError("ffmpeg_failed", "A video stream has no picture size (corrupt).")
    rate = getattr(stream, "average_rate", None) or getattr(stream, "guessed_rate", None)
    fps = float(rate) if rate else None
    if fps is not None and not 0 < fps <= MAX_FPS:
        fps = None  # a nonsense rate is not fatal; the trim picks its own
    duration = _check_duration(_seconds(stream.duration, stream.time_base), "video stream")
    return VideoStream(
        index=stream.index,
        codec=str(ctx.name),
        width=width,
        height=height,
        fps=round(fps, 6) if fps else None,
        pix_fmt=str(ctx.pix_fmt) if ctx.pix_fmt else None,
        duration_s=duration,
    )


def _audio_stream(stream: Stream) -> AudioStream:
    ctx: Any = stream.codec_context
    channels = int(getattr(ctx, "channels", 0) or 0)
    rate = int(ctx.sample_rate or 0)
    if channels > MAX_CHANNELS or rate > MAX_SAMPLE_RATE:
        _absurd(f"an audio stream claims {channels} channels at {rate} Hz")
    duration = _check_duration(_seconds(stream.duration, stream.time_base), "audio stream")
    return AudioStream(
        index=stream.index,
        codec=str(ctx.name),
        channels=channels,
        sample_rate=rate,
        duration_s=duration,
    )


def _count_keyframes(container: InputContainer) -> int:
    stream = container.streams.video[0]
    return sum(1 for packet in container.demux(stream) if packet.is_keyframe)
