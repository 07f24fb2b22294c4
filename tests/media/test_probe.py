"""Probing in the sandboxed worker: real files made with PyAV, and a hostile corpus.

The hostile files are generated here (never downloaded): a truncated MP4, HLS playlists and an
ffconcat list that point at a local file and at a listening loopback port, headers claiming
absurd sizes and durations, 200 streams, random bytes. Each must end as a clean
``ffmpeg_failed`` while the test process is untouched and nothing dials out.

The ``make_*`` helpers here are shared with ``test_trim.py`` and ``test_worker_limits.py``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediagate.errors import MediagateError
from mediagate.media.probe import MAX_DIMENSION, MediaInfo, parse_media_info, probe
from mediagate.media.worker import MediaWorkers

# --- media factories (shared) -----------------------------------------------------------------


def luma_of(index: int) -> int:
    """The flat luma value ``make_video`` paints frame ``index`` with (cycles every 44 frames)."""
    return 16 + (index * 5) % 220


def make_video(
    path: Path,
    *,
    seconds: float = 4.0,
    fps: int = 24,
    size: tuple[int, int] = (160, 120),
    audio: bool = True,
    preset: str = "ultrafast",
    audio_codec: str = "aac",
    noise: float = 0.0,
) -> Path:
    """An H.264 file with a keyframe exactly every second (GOP = fps, no scene cuts).

    Frame ``i`` is a flat picture of luma :func:`luma_of(i) <luma_of>`, so a decoded frame says
    which source frame it is; ``noise`` (0-1) fills that share of each frame with random bytes
    to make encoding costly. ``preset="medium"`` gives B-frames.
    """
    import av

    width, height = size
    container_format = "matroska" if path.suffix == ".mkv" else "mp4"
    with av.open(str(path), "w", format=container_format) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.gop_size = fps
        video.options = {
            "preset": preset,
            "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0",
        }
        sound = out.add_stream(audio_codec, rate=48000, layout="stereo") if audio else None
        frames = round(seconds * fps)
        for i in range(frames):
            frame = av.VideoFrame(width, height, "yuv420p")
            for n, plane in enumerate(frame.planes):
                random = os.urandom(int(plane.buffer_size * noise)) if n == 0 and noise else b""
                fill = luma_of(i) if n == 0 else 128
                plane.update(random + bytes([fill]) * (plane.buffer_size - len(random)))
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if sound is not None:
            samples, chunk = round(seconds * 48000), 1024
            for start in range(0, samples, chunk):
                block = av.AudioFrame(format="s16", layout="stereo", samples=chunk)
                block.planes[0].update(bytes(block.planes[0].buffer_size))
                block.sample_rate, block.pts = 48000, start
                for packet in sound.encode(block):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def make_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (pixel data only when small)."""
    rows = (
        b"".join(b"\x00" + bytes(width * 3) for _ in range(height))
        if width * height <= 1 << 20
        else b""
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(rows or bytes(100))
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body)
    path.write_bytes(data + _png_chunk(b"IEND", b""))
    return path


def make_hostile_corpus(folder: Path, good: Path, port: int) -> dict[str, Path]:
    """Files that must never be processed; ``good`` is a real MP4 they point at."""
    import av

    folder.mkdir(parents=True, exist_ok=True)
    corpus: dict[str, Path] = {}

    def write(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        corpus[name] = folder / name

    data = good.read_bytes()
    write("truncated_moov.mp4", data[: int(len(data) * 0.6)])  # our MP4s keep moov at the end
    remote = f"http://127.0.0.1:{port}/segment.ts"
    for name, target in (("local", str(good)), ("http", remote)):
        playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{target}\n#EXT-X-ENDLIST\n"
        write(f"hls_{name}.mp4", playlist.encode())
        write(f"hls_{name}.m3u8", playlist.encode())  # the extension FFmpeg's HLS probe wants
    write("ffconcat.mp4", f"ffconcat version 1.0\nfile {good.name}\n".encode())
    write("ffconcat_http.mp4", f"ffconcat version 1.0\nfile {remote}\n".encode())
    corpus["absurd_dimensions.png"] = make_png(folder / "absurd_dimensions.png", 30000, 16)
    # A Matroska copy of the good file whose Duration element claims 10^9 seconds.
    mkv = folder / "copy.mkv"
    with av.open(str(good)) as source, av.open(str(mkv), "w") as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
    raw = bytearray(mkv.read_bytes())
    at = raw.find(b"\x44\x89\x88")  # EBML Duration, 8-byte float, in milliseconds
    assert at > 0
    raw[at + 3 : at + 11] = struct.pack(">d", 1e12)
    mkv.unlink()
    write("billion_seconds.mkv", bytes(raw))
    many = folder / "many_streams.mkv"
    with av.open(str(many), "w") as out:
        streams = [out.add_stream("pcm_s16le", rate=8000, layout="mono") for _ in range(200)]
        for stream in streams:
            block = av.AudioFrame(format="s16", layout="mono", samples=160)
            block.planes[0].update(bytes(block.planes[0].buffer_size))
            block.sample_rate, block.pts = 8000, 0
            for packet in [*stream.encode(block), *stream.encode(None)]:
                out.mux(packet)
    corpus["many_streams.mkv"] = many
    write("random.mp4", os.urandom(64 * 1024))
    write("empty.mp4", b"")
    return corpus


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening loopback port that nothing should ever connect to."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def assert_never_dialled(sock: socket.socket) -> None:
    """No connection reached the listener (the kernel queues them even without accept)."""
    with pytest.raises(BlockingIOError):
        sock.accept()


# --- tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("probe")
    return {
        "with_audio": make_video(folder / "with_audio.mp4", seconds=3),
        "silent": make_video(folder / "silent.mp4", seconds=2, fps=25, audio=False),
        "mkv": make_video(folder / "clip.mkv", seconds=2),
        "png": make_png(folder / "image.png", 64, 48),
    }


async def test_probe_reads_video_and_audio_streams(videos: dict[str, Path]) -> None:
    info = await probe(videos["with_audio"], workers=MediaWorkers(), count_keyframes=True)
    assert info.container == "mov"
    assert info.media_type == "video" and info.has_audio
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    (video,) = info.video
    assert (video.codec, video.width, video.height, video.pix_fmt) == (
        "h264",
        160,
        120,
        "yuv420p",
    )
    assert video.fps == pytest.approx(24)
    assert video.keyframes == 3  # one per second
    (audio,) = info.audio
    assert (audio.codec, audio.channels, audio.sample_rate) == ("aac", 2, 48000)


async def test_probe_without_audio_and_other_containers(videos: dict[str, Path]) -> None:
    workers = MediaWorkers()
    silent, mkv, png = await asyncio.gather(
        probe(videos["silent"], workers=workers),
        probe(videos["mkv"], workers=workers),
        probe(videos["png"], workers=workers),
    )
    assert not silent.has_audio and silent.video[0].fps == pytest.approx(25)
    assert silent.video[0].keyframes is None  # counted only when asked
    assert mkv.container == "matroska" and mkv.has_audio
    assert png.media_type == "image" and (png.width, png.height) == (64, 48)


async def test_hostile_corpus_fails_cleanly_and_dials_nothing(
    tmp_path: Path, videos: dict[str, Path], listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    good = tmp_path / "good.mp4"
    good.write_bytes(videos["with_audio"].read_bytes())
    corpus = make_hostile_corpus(tmp_path / "hostile", good, port)
    workers = MediaWorkers()

    async def outcome(path: Path) -> MediagateError:
        with pytest.raises(MediagateError) as caught:
            await probe(path, workers=workers)
        return caught.value

    errors = dict(
        zip(corpus, await asyncio.gather(*(outcome(p) for p in corpus.values())), strict=True)
    )
    assert {name: e.code for name, e in errors.items()} == dict.fromkeys(corpus, "ffmpeg_failed")
    assert "16384" in errors["absurd_dimensions.png"].message
    assert "24 h" in errors["billion_seconds.mkv"].message
    assert "200 streams" in errors["many_streams.mkv"].message
    # Playlists and concat lists are refused by the demuxer allow-list, whatever their name.
    assert "not an accepted media format" in errors["hls_local.m3u8"].message
    assert "not an accepted media format" in errors["ffconcat.mp4"].message
    assert_never_dialled(listener)
    assert workers.stats.running == 0 and workers.stats.alive == 0


async def test_worker_answer_is_validated_again_in_the_parent() -> None:
    good = {"container": "mov", "format_name": "mov,mp4", "other_streams": 0}
    assert isinstance(parse_media_info(good), MediaInfo)
    lying = {
        **good,
        "video": [{"index": 0, "codec": "h264", "width": MAX_DIMENSION + 1, "height": 8}],
    }
    with pytest.raises(MediagateError) as caught:
        parse_media_info(lying)
    assert caught.value.code == "ffmpeg_failed"
    with pytest.raises(MediagateError):
        parse_media_info({**good, "duration_s": 1e9})
    with pytest.raises(MediagateError):
        parse_media_info({**good, "extra": "field"})


async def test_probe_refuses_relative_and_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(MediagateError) as caught:
        await probe(tmp_path / "missing.mp4", workers=MediaWorkers())
    assert caught.value.code == "ffmpeg_failed"
