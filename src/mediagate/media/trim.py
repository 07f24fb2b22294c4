"""Cut a window out of a video into an MP4 clip, in a sandboxed worker.

Two ways to cut, both ending in an MP4 whose moov atom comes first (``+faststart``) and whose
timestamps start at 0:

* **stream copy** (default, like ``ffmpeg -ss S -to E -i in -c copy``): packets are copied
  untouched from the last video keyframe at or before ``start_s`` up to ``end_s``, so the clip
  starts up to one GOP early (``actual_start_s`` says where) and costs about as much as
  reading the bytes. Audio is copied along (re-encoded to AAC only when its codec cannot live
  in MP4). Video must be H.264, HEVC, AV1, VP9, MPEG-4 or MJPEG to be copied.
* **accurate** (``accurate=True``): decodes from that keyframe, drops frames before
  ``start_s`` and re-encodes the window to H.264 (yuv420p) + AAC: frame-accurate, slower
  and lossy.

:func:`parse_window` checks a requested window; :func:`trim_file` runs one cut in a worker
(:func:`trim_in_worker` is its worker side). The ``trim_video`` flow around it (fetching the
source, storing the clip, expiry) is in :mod:`mediagate.media.clips`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediagate.errors import MediagateError
from mediagate.media.probe import MediaInfo

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import InputContainer, OutputContainer
    from av.packet import Packet
    from av.stream import Stream
    from av.video.stream import VideoStream

    from mediagate.media.worker import MediaWorkers

#: Longest window a trim may cut (the seed's cap).
MAX_WINDOW_S = 60.0
#: A stream copy writes at most the source plus this much (headers, index).
_COPY_OUTPUT_SLACK = 16 << 20

_COPY_VIDEO = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4", "mjpeg"})
_COPY_AUDIO = frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"})
_AAC_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000})
_EPS = 1e-4
_DEFAULT_FPS = Fraction(30)
_X264_OPTIONS = {"preset": "veryfast", "crf": "18"}


# --- the window -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrimWindow:
    """A validated ``[start_s, end_s)`` window, in seconds."""

    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        """``end_s - start_s``."""
        return self.end_s - self.start_s


def parse_window(start_s: object, end_s: object) -> TrimWindow:
    """Check a requested window: ``invalid_trim_range`` or ``trim_too_long`` when it is wrong.

    Numbers and numeric strings are accepted (``"5.2"``); anything else, negative starts,
    ``end_s <= start_s`` and non-finite values are ``invalid_trim_range``.
    """
    start = 0.0 if start_s is None else _seconds_arg(start_s, "start_s")
    if end_s is None:
        raise MediagateError(
            "invalid_trim_range", "end_s is required (the window's end, in seconds).", field="end_s"
        )
    end = _seconds_arg(end_s, "end_s")
    if start < 0:
        raise MediagateError(
            "invalid_trim_range", "start_s must not be negative.", field="start_s", got=start
        )
    if end <= start:
        raise MediagateError(
            "invalid_trim_range",
            f"end_s ({end:g}) must be greater than start_s ({start:g}).",
            field="end_s",
            start_s=start,
            end_s=end,
        )
    if end - start > MAX_WINDOW_S + 1e-9:
        raise MediagateError(
            "trim_too_long",
            f"The window is {end - start:g} s; at most {MAX_WINDOW_S:g} s can be cut at once.",
            max=MAX_WINDOW_S,
            got=round(end - start, 6),
            hint="Cut several windows of at most 60 s each.",
        )
    return TrimWindow(start, end)


def _seconds_arg(value: object, field: str) -> float:
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value.strip().removesuffix("s").strip())
    if number is None or not math.isfinite(number):
        raise MediagateError(
            "invalid_trim_range",
            f"{field} must be a number of seconds.",
            field=field,
            got=str(value)[:50],
        )
    return number


# --- one cut, in a worker ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrimOutcome:
    """What a cut produced. ``actual_start_s`` is where the clip really starts in the source."""

    path: Path
    size_bytes: int
    actual_start_s: float
    accurate: bool
    source: MediaInfo
    output: MediaInfo

    @property
    def duration_s(self) -> float | None:
        """The clip's duration."""
        return self.output.duration_s


async def trim_file(
    source: Path,
    dest: Path,
    window: TrimWindow,
    *,
    accurate: bool = False,
    workers: MediaWorkers | None = None,
) -> TrimOutcome:
    """Cut ``window`` of ``source`` into the MP4 ``dest`` in a sandboxed worker.

    Raises :class:`MediagateError`: ``ffmpeg_failed`` (not a usable video, or a codec that
    cannot be stream-copied), ``invalid_trim_range`` (window past the end),
    ``processor_timeout``, ``processor_unavailable``.
    """
    from mediagate.media.worker import default_workers, with_output_limit

    pool = workers if workers is not None else default_workers()
    source, dest = Path(source).resolve(), Path(dest).resolve()
    limits = pool.limits
    if not accurate:
        size = await asyncio.to_thread(lambda: source.stat().st_size)
        limits = with_output_limit(limits, size + _COPY_OUTPUT_SLACK)
    params = {
        "source": str(source),
        "dest": str(dest),
        "start_s": window.start_s,
        "end_s": window.end_s,
        "accurate": accurate,
    }
    try:
        raw = await pool.run("trim", params, limits=limits)
        source_info = MediaInfo.from_json(raw.get("source"))
        output_info = MediaInfo.from_json(raw.get("output"))
        actual = raw.get("actual_start_s")
        if isinstance(actual, bool) or not isinstance(actual, (int, float)) or actual < 0:
            raise MediagateError(
                "ffmpeg_failed", "The media processor sent an implausible trim result."
            )
        size_bytes = await asyncio.to_thread(lambda: dest.stat().st_size)
    except BaseException:
        await asyncio.to_thread(dest.unlink, missing_ok=True)
        raise
    return TrimOutcome(
        path=dest,
        size_bytes=size_bytes,
        actual_start_s=float(actual),
        accurate=accurate,
        source=source_info,
        output=output_info,
    )


def trim_in_worker(params: Mapping[str, Any]) -> dict[str, Any]:
    """Worker operation ``trim``: probe the source, cut, probe the clip."""
    from mediagate.media.probe import inspect_container, open_input

    source, dest = str(params["source"]), str(params["dest"])
    start, end = float(params["start_s"]), float(params["end_s"])
    container = open_input(source)
    try:
        info = inspect_container(container)
        if not info.video or info.media_type == "image":
            kind = "a still image" if info.video else "audio only"
            raise MediagateError(
                "ffmpeg_failed", f"The source has no video stream to trim (it is {kind})."
            )
        if info.duration_s is not None and start >= info.duration_s:
            raise MediagateError(
                "invalid_trim_range",
                f"start_s ({start:g}) is past the end of the source ({info.duration_s:g} s).",
                field="start_s",
                duration_s=info.duration_s,
            )
        if params.get("accurate"):
            actual = _reencode(container, dest, start, end)
        else:
            actual = _stream_copy(container, dest, start, end)
    finally:
        container.close()
    clip = open_input(dest)
    try:
        output = inspect_container(clip)
    finally:
        clip.close()
    return {
        "source": info.to_json(),
        "output": output.to_json(),
        "actual_start_s": round(max(actual, 0.0), 6),
    }


def _open_output(dest: str) -> OutputContainer:
    import av

    return av.open(dest, "w", format="mp4", container_options={"movflags": "+faststart"})


def _seek_keyframe(container: InputContainer, video: VideoStream, start: float) -> None:
    """Position the demuxer at the last video keyframe at or before ``start`` (best effort)."""
    import av

    if start <= 0 or video.time_base is None:
        return
    with contextlib.suppress(av.error.FFmpegError):
        container.seek(int(start / video.time_base), stream=video, backward=True)


def _packet_time(packet: Packet[Any]) -> float | None:
    """Presentation time in seconds (decode time when a packet has no pts)."""
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return float(ts * packet.time_base)


def _no_frames(start: float, end: float) -> MediagateError:
    return MediagateError(
        "invalid_trim_range",
        f"The window {start:g}-{end:g} s holds no video frames of the source.",
        field="start_s",
    )


def _stream_copy(container: InputContainer, dest: str, start: float, end: float) -> float:
    """Copy packets from the keyframe at/before ``start`` to ``end``; returns that keyframe."""
    import av

    video = container.streams.video[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    codec = str(video.codec_context.name)
    if codec not in _COPY_VIDEO:
        raise MediagateError(
            "ffmpeg_failed",
            f"{codec} video cannot be stream-copied into MP4.",
            hint="Call trim_video with accurate=true to re-encode the window to H.264.",
        )
    out = _open_output(dest)
    try:
        out_video = out.add_stream_from_template(video)
        copy_audio = audio is not None and str(audio.codec_context.name) in _COPY_AUDIO
        out_audio = out.add_stream_from_template(audio) if copy_audio and audio else None
        encoder = _AudioEncoder(out, audio, end) if audio is not None and not copy_audio else None
        targets: dict[int, Stream] = {video.index: out_video}
        if audio is not None and out_audio is not None:
            targets[audio.index] = out_audio

        snapped: float | None = None
        pending: list[Packet[Any]] = []
        streaming = False
        video_done, audio_done = False, audio is None
        written = 0
        # With B-frames, packets arrive in decode order and a frame shown before end_s may
        # need a reference shown after it: the clip then ends with the mini-GOP that crosses
        # end_s (no frame is left out in between), i.e. at the next anchor packet (one
        # presented later than everything so far) once that latest time is past end_s.
        reorders = bool(video.codec_context.has_b_frames)
        latest: float | None = None

        def emit(packet: Packet[Any]) -> None:
            nonlocal written, latest
            assert snapped is not None
            when = _packet_time(packet)
            if packet.stream.index == video.index:
                written += 1
                if when is not None:
                    latest = when if latest is None else max(latest, when)
            elif when is None or when < snapped - _EPS:
                return  # audio from before the keyframe the clip starts at
            if encoder is not None and packet.stream.index != video.index:
                for frame in packet.decode():
                    if isinstance(frame, av.AudioFrame):
                        encoder.push(frame)
                return
            offset = round(snapped / packet.time_base)
            if packet.pts is not None:
                packet.pts -= offset
            if packet.dts is not None:
                packet.dts -= offset
            packet.stream = targets[packet.stream.index]
            out.mux(packet)

        def flush() -> None:
            nonlocal streaming
            assert snapped is not None
            streaming = True
            if encoder is not None:
                encoder.begin(snapped)
            for held in pending:
                emit(held)
            pending.clear()

        _seek_keyframe(container, video, start)
        demuxed = [video] if audio is None else [video, audio]
        for packet in container.demux(demuxed):
            when = _packet_time(packet)
            if when is None:
                continue
            if packet.stream.index == video.index:
                if video_done:
                    continue
                if not streaming:
                    if packet.is_keyframe and (when <= start + _EPS or snapped is None):
                        snapped, pending = when, [packet]
                        if when > start + _EPS:
                            flush()  # the video starts after start_s: begin at its first frame
                    elif snapped is not None:
                        pending.append(packet)
                        if when > start + _EPS:
                            flush()
                    continue
                if not reorders:
                    video_done = when >= end - _EPS
                else:
                    crossed = latest is not None and latest >= end - _EPS
                    video_done = crossed and latest is not None and when > latest + _EPS
                if not video_done:
                    emit(packet)
            elif not audio_done:
                if when >= end - _EPS:
                    audio_done = True
                elif streaming:
                    emit(packet)
                else:
                    pending.append(packet)
            if video_done and audio_done:
                break
        if not streaming and snapped is not None:
            flush()
        if written == 0 or snapped is None:
            raise _no_frames(start, end)
        if encoder is not None:
            encoder.finish()
    finally:
        out.close()
    return snapped


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _frame_rate(video: VideoStream) -> Fraction:
    for rate in (video.average_rate, video.guessed_rate):
        if rate and 1 <= rate <= 240:
            return Fraction(rate).limit_denominator(1001)
    return _DEFAULT_FPS


def _reencode(container: InputContainer, dest: str, start: float, end: float) -> float:
    """Decode from the keyframe before ``start``; encode frames in ``[start, end)``."""
    import av

    video = container.streams.video[0]
    video.thread_type = "AUTO"
    audio = container.streams.audio[0] if container.streams.audio else None
    rate = _frame_rate(video)
    tick = float(1 / rate)
    out = _open_output(dest)
    try:
        out_video = out.add_stream("libx264", rate=rate)
        width, height = _even(video.codec_context.width), _even(video.codec_context.height)
        out_video.width, out_video.height, out_video.pix_fmt = width, height, "yuv420p"
        out_video.options = dict(_X264_OPTIONS)
        encoder = _AudioEncoder(out, audio, end) if audio is not None else None
        if encoder is not None:
            encoder.begin(start)
        time_base = Fraction(1) / rate
        last_pts, written = -1, 0
        last_time: float | None = None
        video_done = False
        _seek_keyframe(container, video, start)
        demuxed = [video] if audio is None else [video, audio]
        for packet in container.demux(demuxed):
            if packet.stream.index == video.index:
                if video_done:
                    continue
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame):
                        continue
                    when = frame.time
                    if when is None:
                        when = last_time + tick if last_time is not None else start
                    last_time = when
                    # Frames are kept by presentation time, with a quarter-frame tolerance
                    # for timestamps rounded in the source's time base.
                    if when < start - tick / 4:
                        continue
                    if when >= end - tick / 4:
                        video_done = True
                        break
                    pts = max(round((when - start) * rate), last_pts + 1)
                    picture = frame.reformat(width=width, height=height, format="yuv420p")
                    picture.pts, picture.time_base = pts, time_base
                    last_pts = pts
                    written += 1
                    for encoded in out_video.encode(picture):
                        out.mux(encoded)
            elif encoder is not None and not encoder.done:
                for sound in packet.decode():
                    if isinstance(sound, av.AudioFrame):
                        encoder.push(sound)
            if video_done and (encoder is None or encoder.done):
                break
        if written == 0:
            raise _no_frames(start, end)
        for encoded in out_video.encode(None):
            out.mux(encoded)
        if encoder is not None:
            encoder.finish()
    finally:
        out.close()
    return start


class _AudioEncoder:
    """Re-encodes decoded audio to AAC for exactly the samples in ``[start, end)``.

    Samples are resampled to planar float (what the AAC encoder takes) and queued in a FIFO,
    which makes cutting at a sample boundary easy: the first frame's offset from ``start``
    says how many samples to drop (or how much silence to insert to keep sync).
    """

    def __init__(self, out: OutputContainer, source: AudioStream, end: float) -> None:
        import av

        ctx = source.codec_context
        self.rate = int(ctx.sample_rate) if int(ctx.sample_rate or 0) in _AAC_RATES else 48000
        channels = int(getattr(ctx, "channels", 2) or 2)
        self.layout = "mono" if channels == 1 else "stereo"
        self.out = out
        self.stream = out.add_stream("aac", rate=self.rate, layout=self.layout)
        self.stream.bit_rate = 96_000 if channels == 1 else 192_000
        self.resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
        self.fifo = av.AudioFifo()
        self.end = end
        self.start: float | None = None
        self.needed = 0
        self.emitted = 0
        self.skip = 0
        self.started = False
        self.done = False

    def begin(self, start: float) -> None:
        """Set where the clip starts (known only once the first keyframe is found)."""
        self.start = start
        self.needed = max(0, round((self.end - start) * self.rate))

    def push(self, frame: AudioFrame) -> None:
        """Queue one decoded frame; encodes whole AAC frames as they fill."""
        if self.done or self.start is None:
            return
        when = frame.time
        for converted in self.resampler.resample(frame):
            self._queue(converted, when)
            when = None

    def finish(self) -> None:
        """Encode what is left (a last, shorter frame) and flush the encoder."""
        if self.start is None:
            return
        if self.started:
            for converted in self.resampler.resample(None):
                self._queue(converted, None)
        self._drain(final=True)
        for encoded in self.stream.encode(None):
            self.out.mux(encoded)

    def _queue(self, frame: AudioFrame, when: float | None) -> None:
        import av

        assert self.start is not None
        if not self.started:
            self.started = True
            offset = round((when - self.start) * self.rate) if when is not None else 0
            if offset > 0:
                silence = av.AudioFrame(format="fltp", layout=self.layout, samples=offset)
                for plane in silence.planes:
                    plane.update(bytes(plane.buffer_size))
                silence.sample_rate = self.rate
                self.fifo.write(silence)
            else:
                self.skip = -offset
        frame.pts = None
        self.fifo.write(frame)
        if self.skip:
            dropped = min(self.skip, self.fifo.samples)
            if dropped:
                self.fifo.read(dropped)
                self.skip -= dropped
        self._drain(final=False)

    def _drain(self, *, final: bool) -> None:
        size = self.stream.codec_context.frame_size or 1024
        while not self.done:
            want = min(size, self.needed - self.emitted)
            if want <= 0:
                self.done = True
                return
            if self.fifo.samples < want and not (final and self.fifo.samples):
                return
            frame = self.fifo.read(want, partial=final)
            if frame is None:
                return
            frame.pts, frame.time_base = self.emitted, Fraction(1, self.rate)
            self.emitted += frame.samples
            for encoded in self.stream.encode(frame):
                self.out.mux(encoded)
