"""Trim cost: mediagate's sandboxed stream-copy trim beside the ffmpeg command line, same run.

1. A 60 s 1080p H.264+AAC file is generated with PyAV, then the same window is cut by
   ``trim_file`` (a worker process per cut, PyAV inside) and by
   ``ffmpeg -ss S -to E -i in -c copy out`` (plus the same with ``-movflags +faststart``,
   which mediagate always writes), interleaved, median of several rounds. mediagate is timed
   with a warm spare worker (the server default) and cold (a worker started per cut).
2. Download plus trim: a ~200 MB file served on 127.0.0.1 goes through the whole
   ``trim_video`` flow (guarded fetch to disk, then the cut); figures in MB/s of source.

If the ffmpeg CLI is absent the baseline is skipped (nothing is installed); the bench says
how to get it. Run: ``python bench/bench_trim.py``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mediagate.media.clips import MAX_SOURCE_BYTES, trim_to_store
from mediagate.media.fetch import FetchPolicy, GuardedFetcher
from mediagate.media.store import MediaStore
from mediagate.media.trim import TrimWindow, trim_file
from mediagate.media.worker import MediaWorkers
from mediagate.settings import Settings

ROUNDS = 7
FPS = 30
WINDOW = TrimWindow(10.0, 50.0)
BIG_TARGET_BYTES = 200_000_000


def make_video(path: Path, *, seconds: int, noise: float, crf: int) -> float:
    """A 1080p30 H.264 (keyframe every 2 s) + AAC file; returns seconds spent encoding.

    ``noise`` is the share of each frame that is random (what sets the bitrate).
    """
    import av

    started = time.perf_counter()
    width, height = 1920, 1080
    pictures = []
    for k in range(8):
        frame = av.VideoFrame(width, height, "yuv420p")
        for n, plane in enumerate(frame.planes):
            random = os.urandom(int(plane.buffer_size * noise)) if n == 0 else b""
            fill = bytes([60 + 10 * k if n == 0 else 128])
            plane.update(random + fill * (plane.buffer_size - len(random)))
        pictures.append(frame)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.gop_size = 2 * FPS
        video.options = {
            "preset": "ultrafast",
            "crf": str(crf),
            "x264-params": f"keyint={2 * FPS}:min-keyint={2 * FPS}:scenecut=0",
        }
        audio = out.add_stream("aac", rate=48000, layout="stereo")
        for i in range(seconds * FPS):
            picture = pictures[i % len(pictures)]
            picture.pts = i
            for packet in video.encode(picture):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        for start in range(0, seconds * 48000, 1024):
            block = av.AudioFrame(format="s16", layout="stereo", samples=1024)
            block.planes[0].update(bytes(block.planes[0].buffer_size))
            block.sample_rate, block.pts = 48000, start
            for packet in audio.encode(block):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
    return time.perf_counter() - started


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


def ffmpeg_cut(ffmpeg: str, source: Path, dest: Path, *extra: str) -> float:
    window = ["-ss", f"{WINDOW.start_s:g}", "-to", f"{WINDOW.end_s:g}"]
    started = time.perf_counter()
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", *window, "-i", str(source), "-c", "copy", *extra, str(dest)],
        check=True,
    )
    return time.perf_counter() - started


async def bench_stream_copy(folder: Path) -> None:
    source = folder / "source-60s-1080p.mp4"
    spent = make_video(source, seconds=60, noise=0.04, crf=30)
    size_mb = source.stat().st_size / 1e6
    print(f"source: 60 s 1080p30 H.264+AAC, {size_mb:.0f} MB (generated in {spent:.1f} s)")
    print(f"window: {WINDOW.start_s:g}-{WINDOW.end_s:g} s, stream copy, median of {ROUNDS}")
    ffmpeg = shutil.which("ffmpeg")
    ours_warm: list[float] = []
    ours_cold: list[float] = []
    plain: list[float] = []
    faststart: list[float] = []
    async with (
        MediaWorkers(spares=1) as warm,
        MediaWorkers(spares=0) as cold,
    ):
        await warm.warm()
        for _ in range(ROUNDS):
            ours_warm.append(
                await timed(partial(trim_file, source, folder / "warm.mp4", WINDOW, workers=warm))
            )
            ours_cold.append(
                await timed(partial(trim_file, source, folder / "cold.mp4", WINDOW, workers=cold))
            )
            if ffmpeg:
                plain.append(ffmpeg_cut(ffmpeg, source, folder / "ffmpeg.mp4"))
                faststart.append(
                    ffmpeg_cut(ffmpeg, source, folder / "ffmpeg-fs.mp4", "-movflags", "+faststart")
                )
    warm_s, cold_s = statistics.median(ours_warm), statistics.median(ours_cold)
    print(f"  mediagate trim_file, warm spare   {warm_s * 1000:7.0f} ms")
    print(f"  mediagate trim_file, cold worker  {cold_s * 1000:7.0f} ms")
    if not ffmpeg:
        print("  ffmpeg CLI baseline unavailable: no `ffmpeg` on PATH.")
        print("  Install it to compare (e.g. `apt-get install -y ffmpeg`, `brew install ffmpeg`).")
        return
    plain_s, fs_s = statistics.median(plain), statistics.median(faststart)
    print(f"  ffmpeg -ss -to -i -c copy         {plain_s * 1000:7.0f} ms")
    print(f"  ffmpeg ... -movflags +faststart   {fs_s * 1000:7.0f} ms")
    print(f"  ratio warm/ffmpeg {warm_s / plain_s:.2f}  (target <= 1.2)")
    print(f"  ratio warm/ffmpeg+faststart {warm_s / fs_s:.2f}")
    print(f"  ratio cold/ffmpeg {cold_s / plain_s:.2f}")
    ours = (folder / "warm.mp4").stat().st_size
    theirs = (folder / "ffmpeg-fs.mp4").stat().st_size
    print(f"  output sizes: mediagate {ours / 1e6:.1f} MB, ffmpeg {theirs / 1e6:.1f} MB")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Services:
    """What ``trim_to_store`` needs from the server's services."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.media = MediaStore(settings.data_dir / "media")
        self.media.ensure()

    def trusted_url_prefixes(self) -> tuple[str, ...]:
        return (self.media.root.resolve().as_uri() + "/",)


async def bench_download_and_trim(folder: Path) -> None:
    served = folder / "served"
    served.mkdir()
    source = served / "big.mp4"
    # Noise 1080p: about 18 MB per second of video at this quality.
    spent = make_video(source, seconds=12, noise=1.0, crf=30)
    size = source.stat().st_size
    print(f"\nsource: {size / 1e6:.0f} MB served on 127.0.0.1 (generated in {spent:.1f} s)")
    if not 0.8 * BIG_TARGET_BYTES <= size <= MAX_SOURCE_BYTES:
        print(f"  (not the ~{BIG_TARGET_BYTES / 1e6:.0f} MB intended; x264 differs here)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/big.mp4"
    settings = Settings(data_dir=folder / "data", allow_private_urls=True)
    services = _Services(settings)
    policy = FetchPolicy(allow_private=True, max_bytes=MAX_SOURCE_BYTES, total_timeout=300)
    try:
        async with GuardedFetcher(policy) as fetcher, MediaWorkers(spares=1) as workers:
            await workers.warm()
            fetch_only: list[float] = []
            flow: list[float] = []
            for n in range(3):
                fetch_only.append(
                    await timed(partial(fetcher.fetch_to_file, url, folder / f"fetched-{n}"))
                )
                (folder / f"fetched-{n}").unlink()
                flow.append(
                    await timed(
                        partial(
                            trim_to_store,
                            url,
                            2.0,
                            10.0,
                            accurate=False,
                            services=services,
                            fetcher=fetcher,
                            workers=workers,
                        )
                    )
                )
    finally:
        server.shutdown()
        server.server_close()
    f_s, t_s = statistics.median(fetch_only), statistics.median(flow)
    print("  median of 3:")
    print(f"  guarded download only        {f_s:6.2f} s  {size / 1e6 / f_s:7.0f} MB/s")
    print(f"  download + trim (trim_video) {t_s:6.2f} s  {size / 1e6 / t_s:7.0f} MB/s")
    print(f"  trim share                   {t_s - f_s:6.2f} s")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-trim-") as tmp:
        folder = Path(tmp)
        await bench_stream_copy(folder)
        await bench_download_and_trim(folder)


if __name__ == "__main__":
    asyncio.run(main())
