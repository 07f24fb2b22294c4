"""Trimming in the sandboxed worker, checked by decoding the clips.

Sources come from ``make_video`` (keyframe every second, frame ``i`` painted with luma
``luma_of(i)``), so a clip's first decoded frame says exactly where the cut started.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_probe import luma_of, make_hostile_corpus, make_video

from mediagate.errors import MediagateError
from mediagate.media.clips import (
    media_workers,
    retention_interval,
    start_media_upkeep,
    sweep_expired,
)
from mediagate.media.store import MediaStore
from mediagate.media.trim import MAX_WINDOW_S, TrimWindow, parse_window, trim_file
from mediagate.media.worker import MediaWorkers
from mediagate.settings import Settings

FPS = 24


@dataclass(frozen=True)
class Clip:
    video_codec: str
    pix_fmt: str
    width: int
    height: int
    video_start: float
    video_duration: float
    frames: int
    lumas: list[int]
    audio_codec: str | None
    audio_duration: float | None


def inspect(path: Path) -> Clip:
    """Decode every video frame of a clip we made (in-process: our own, trusted file)."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        lumas = []
        for frame in container.decode(video):
            plane = frame.planes[0]
            middle = plane.line_size * (frame.height // 2) + frame.width // 2
            lumas.append(bytes(plane)[middle])
        assert video.duration is not None and video.time_base is not None
        audio_duration = None
        if audio is not None and audio.duration is not None and audio.time_base is not None:
            audio_duration = float(audio.duration * audio.time_base)
        return Clip(
            video_codec=video.codec_context.name,
            pix_fmt=str(video.codec_context.pix_fmt),
            width=video.codec_context.width,
            height=video.codec_context.height,
            video_start=float((video.start_time or 0) * video.time_base),
            video_duration=float(video.duration * video.time_base),
            frames=len(lumas),
            lumas=lumas,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_duration=audio_duration,
        )


def close_to(actual: int, frame: int) -> bool:
    """The luma of a decoded frame matches source frame ``frame`` (lossy: ±2)."""
    return abs(actual - luma_of(frame)) <= 2


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("trim-sources")
    return {
        "audio": make_video(folder / "audio.mp4", seconds=6),
        "bframes": make_video(folder / "bframes.mp4", seconds=5, audio=False, preset="medium"),
        "pcm_mkv": make_video(folder / "pcm.mkv", seconds=4, audio_codec="pcm_s16le"),
    }


@pytest.fixture
async def workers() -> AsyncIterator[MediaWorkers]:
    async with MediaWorkers(spares=1) as pool:
        yield pool


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (0, 5, None),
        ("1.5", "3", None),
        (None, 2, None),
        (5, 65, None),
        (-1, 5, "invalid_trim_range"),
        (5, 5, "invalid_trim_range"),
        (6, 5, "invalid_trim_range"),
        ("abc", 5, "invalid_trim_range"),
        (0, "soon", "invalid_trim_range"),
        (0, float("nan"), "invalid_trim_range"),
        (0, float("inf"), "invalid_trim_range"),
        (True, 5, "invalid_trim_range"),
        (0, None, "invalid_trim_range"),
        (0, MAX_WINDOW_S + 0.5, "trim_too_long"),
        (10, 100, "trim_too_long"),
    ],
)
def test_parse_window(start: object, end: object, code: str | None) -> None:
    if code is None:
        window = parse_window(start, end)
        assert 0 < window.length_s <= MAX_WINDOW_S
        return
    with pytest.raises(MediagateError) as caught:
        parse_window(start, end)
    assert caught.value.code == code


async def test_stream_copy_snaps_to_the_keyframe_and_keeps_audio(
    tmp_path: Path, sources: dict[str, Path], workers: MediaWorkers
) -> None:
    out = await trim_file(
        sources["audio"], tmp_path / "clip.mp4", TrimWindow(2.5, 4.5), workers=workers
    )
    assert out.actual_start_s == pytest.approx(2.0)  # the keyframe before 2.5, ≤ 1 s early
    clip = inspect(out.path)
    assert (clip.video_codec, clip.audio_codec) == ("h264", "aac")
    assert clip.video_start == 0
    expected = 4.5 - out.actual_start_s
    assert expected - 1 / FPS <= clip.video_duration <= expected + 1.0  # within one GOP
    assert clip.audio_duration == pytest.approx(expected, abs=0.1)
    assert close_to(clip.lumas[0], 2 * FPS)
    assert out.duration_s == pytest.approx(expected, abs=0.1)
    data = out.path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart


async def test_stream_copy_of_bframes_decodes_cleanly(
    tmp_path: Path, sources: dict[str, Path], workers: MediaWorkers
) -> None:
    out = await trim_file(
        sources["bframes"], tmp_path / "clip.mp4", TrimWindow(1.3, 3.7), workers=workers
    )
    assert out.actual_start_s == pytest.approx(1.0)
    clip = inspect(out.path)
    assert clip.audio_codec is None
    assert close_to(clip.lumas[0], FPS)
    first, last = FPS, round(3.7 * FPS)  # frames 24 .. ~89
    assert last - first - 1 <= clip.frames <= last - first + 4
    assert all(close_to(luma, first + i) for i, luma in enumerate(clip.lumas))


async def test_accurate_trim_is_frame_exact(
    tmp_path: Path, sources: dict[str, Path], workers: MediaWorkers
) -> None:
    window = TrimWindow(1.5, 3.25)
    out = await trim_file(
        sources["audio"], tmp_path / "clip.mp4", window, accurate=True, workers=workers
    )
    assert out.actual_start_s == 1.5
    clip = inspect(out.path)
    assert (clip.video_codec, clip.pix_fmt, clip.audio_codec) == ("h264", "yuv420p", "aac")
    assert clip.video_duration == pytest.approx(window.length_s, abs=1 / FPS)
    assert clip.frames == round(window.length_s * FPS)
    assert close_to(clip.lumas[0], 36) and close_to(clip.lumas[-1], 77)
    assert clip.audio_duration == pytest.approx(window.length_s, abs=0.03)


async def test_stream_copy_reencodes_audio_mp4_cannot_hold(
    tmp_path: Path, sources: dict[str, Path], workers: MediaWorkers
) -> None:
    out = await trim_file(
        sources["pcm_mkv"], tmp_path / "clip.mp4", TrimWindow(1.0, 3.0), workers=workers
    )
    assert out.source.container == "matroska"
    assert out.source.audio[0].codec == "pcm_s16le"
    clip = inspect(out.path)
    assert (clip.video_codec, clip.audio_codec) == ("h264", "aac")
    assert clip.audio_duration == pytest.approx(2.0, abs=0.05)
    assert close_to(clip.lumas[0], FPS)


async def test_window_past_the_end(
    tmp_path: Path, sources: dict[str, Path], workers: MediaWorkers
) -> None:
    dest = tmp_path / "clip.mp4"
    with pytest.raises(MediagateError) as caught:
        await trim_file(sources["audio"], dest, TrimWindow(7, 9), workers=workers)
    assert caught.value.code == "invalid_trim_range"
    assert caught.value.details["duration_s"] == pytest.approx(6, abs=0.05)
    assert not dest.exists()
    # A window running past the end gives the part that exists.
    out = await trim_file(sources["audio"], dest, TrimWindow(5, 9), workers=workers)
    assert out.duration_s == pytest.approx(1.0, abs=0.1)


async def test_source_without_video_is_refused(tmp_path: Path, workers: MediaWorkers) -> None:
    import av

    song = tmp_path / "song.m4a"
    with av.open(str(song), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000, layout="stereo")
        for start in range(0, 48000, 1024):
            block = av.AudioFrame(format="s16", layout="stereo", samples=1024)
            block.planes[0].update(bytes(block.planes[0].buffer_size))
            block.sample_rate, block.pts = 48000, start
            for packet in stream.encode(block):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(MediagateError) as caught:
        await trim_file(song, tmp_path / "clip.mp4", TrimWindow(0, 0.5), workers=workers)
    assert caught.value.code == "ffmpeg_failed"
    assert "no video" in caught.value.message


async def test_hostile_sources_fail_cleanly_in_both_modes(
    tmp_path: Path, sources: dict[str, Path], workers: MediaWorkers
) -> None:
    good = tmp_path / "good.mp4"
    good.write_bytes(sources["audio"].read_bytes())
    corpus = make_hostile_corpus(tmp_path / "hostile", good, port=9)
    for name, path in corpus.items():
        for accurate in (False, True):
            dest = tmp_path / f"{name}.{accurate}.mp4"
            with pytest.raises(MediagateError) as caught:
                await trim_file(path, dest, TrimWindow(0, 2), accurate=accurate, workers=workers)
            assert caught.value.code == "ffmpeg_failed", (name, caught.value)
            assert not dest.exists()


async def test_expired_clips_and_uploads_are_swept(tmp_path: Path) -> None:
    media, work = tmp_path / "media", tmp_path / "work"
    now = time.time()
    week = 7 * 86400.0
    files = {
        media / "trims" / "old.mp4": now - week - 60,
        media / "trims" / "new.mp4": now - 60,
        media / "uploads" / "old.png": now - week - 60,
        media / "gen_1" / "video.mp4": now - 10 * week,  # generation outputs are kept
        work / "trim-crashed" / "source": now - 2 * 86400,
        work / "trim-running" / "source": now - 60,
    }
    for path, mtime in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (mtime, mtime))
        os.utime(path.parent, (mtime, mtime))
    assert sweep_expired(media, work, week) == 3
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["media/gen_1/video.mp4", "media/trims/new.mp4", "work/trim-running/source"]
    assert retention_interval(week) == 3600 and retention_interval(2.0) == 1.0


async def test_media_upkeep_sweeps_at_start_and_stops_spares_at_exit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, trim_retention_days=1, media_worker_spares=1)

    class Services:
        def __init__(self) -> None:
            self.settings = settings
            self.media = MediaStore(tmp_path / "media")

        def trusted_url_prefixes(self) -> tuple[str, ...]:
            return ()

    services = Services()
    old = tmp_path / "media" / "trims" / "old.mp4"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    workers = media_workers(services)
    assert media_workers(services) is workers
    await workers.warm()
    (spare,) = workers.idle_pids
    task = start_media_upkeep(services)
    deadline = time.monotonic() + 10
    while old.exists():
        assert time.monotonic() < deadline, "the start-up sweep never ran"
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert workers.stats.alive == 0 and not workers.idle_pids
    assert not Path(f"/proc/{spare}").exists()  # killed and reaped
    assert media_workers(services) is not workers  # a fresh pool after shutdown
    await media_workers(services).aclose()
