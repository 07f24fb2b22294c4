"""Cut outputs are caught and downloaded again: the structural check, and the rehoster's use
of it (and of the probe and ``Retry-After``) when a whole HTTP answer holds a broken file."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediagate.errors import MediagateError
from mediagate.media.fetch import FetchResult
from mediagate.media.probe import MediaInfo, VideoStream
from mediagate.media.store import MediaStore
from mediagate.providers.upstream.adapter import UpstreamOutput
from mediagate.providers.upstream.integrity import incomplete
from mediagate.providers.upstream.rehost import Prober, Rehoster
from mediagate.providers.upstream.retry import RetryPolicy

from .helpers import FakeTime


def _image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mp4() -> bytes:
    return (
        _box(b"ftyp", b"isom\x00\x00\x02\x00isom")
        + _box(b"moov", b"\x00" * 40)
        + _box(b"mdat", b"\x01" * 300)
    )


def _glb() -> bytes:
    body = b"\x00" * 100
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


WHOLE = {
    "png": _image("PNG"),
    "jpg": _image("JPEG"),
    "gif": _image("GIF"),
    "webp": _image("WEBP"),
    "mp4": _mp4(),
    "glb": _glb(),
}


@pytest.mark.parametrize("ext", sorted(WHOLE))
def test_a_whole_file_passes_and_a_cut_one_is_caught(ext: str, tmp_path: Path) -> None:
    path = tmp_path / f"f.{ext}"
    path.write_bytes(WHOLE[ext])
    assert incomplete(path, ext) is None
    path.write_bytes(WHOLE[ext][: len(WHOLE[ext]) // 2])
    assert incomplete(path, ext) is not None


def test_trailing_padding_and_unchecked_formats_pass(tmp_path: Path) -> None:
    padded = tmp_path / "p.jpg"
    padded.write_bytes(WHOLE["jpg"] + b"\x00\x00\r\n")
    assert incomplete(padded, "jpg") is None
    mp3 = tmp_path / "a.mp3"
    mp3.write_bytes(b"ID3" + b"\x00" * 50)
    assert incomplete(mp3, "mp3") is None
    empty = tmp_path / "e.png"
    empty.write_bytes(b"")
    assert incomplete(empty, "png") == "the file is empty"


def test_an_mp4_box_running_past_the_end_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(_mp4() + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 10_000))
    reason = incomplete(path, "mp4")
    assert reason is not None and "'mdat'" in reason


# --- the rehoster -------------------------------------------------------------------------


class ScriptedFetcher:
    """Stands in for the guarded fetcher: each fetch writes (or raises) the next step."""

    def __init__(self, *steps: bytes | MediagateError) -> None:
        self.steps = list(steps)
        self.fetches = 0

    async def fetch_to_file(self, url: str, dest: Path, *, field: str) -> FetchResult:
        self.fetches += 1
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, MediagateError):
            raise step
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(step)
        return FetchResult(url=url, size_bytes=len(step), content_type=None, path=dest)

    async def aclose(self) -> None:
        pass


def _rehoster(fetcher: Any, clock: FakeTime, prober: Prober | None = None) -> Rehoster:
    return Rehoster(
        provider="tiny",
        fetcher=fetcher,
        retry=RetryPolicy(max_attempts=3, base_s=0.5),
        prober=prober,
        sleep=clock.sleep,
    )


async def _rehost(rehoster: Rehoster, media: MediaStore) -> Any:
    folder = media.folder("gen_01TEST", create=False)
    return await rehoster.rehost(
        [UpstreamOutput("https://cdn.test/out.png", "image")], folder=folder, media=media
    )


async def test_a_cut_output_is_downloaded_again(media: MediaStore) -> None:
    png = WHOLE["png"]
    fetcher = ScriptedFetcher(png[:100], png)
    clock = FakeTime()
    [stored] = await _rehost(_rehoster(fetcher, clock), media)
    assert fetcher.fetches == 2 and len(clock.sleeps) == 1
    assert stored.size_bytes == len(png)
    assert (media.root / stored.relpath).read_bytes() == png


async def test_an_output_broken_every_time_fails_naming_its_url(media: MediaStore) -> None:
    fetcher = ScriptedFetcher(WHOLE["png"][:100])
    with pytest.raises(MediagateError) as caught:
        await _rehost(_rehoster(fetcher, FakeTime()), media)
    assert fetcher.fetches == 3
    assert caught.value.code == "upstream_error"
    assert caught.value.details["reason"] == "output_unreadable"
    assert caught.value.details["output_url"] == "https://cdn.test/out.png"
    assert not any(media.folder("gen_01TEST", create=False).glob("*"))


async def test_a_file_the_probe_cannot_read_is_downloaded_again(media: MediaStore) -> None:
    answers: list[MediaInfo | MediagateError] = [
        MediagateError("ffmpeg_failed", "The file is not a recognisable image."),
        MediaInfo(
            container="png_pipe",
            format_name="png_pipe",
            duration_s=None,
            video=(VideoStream(index=0, codec="png", width=40, height=30),),
        ),
    ]

    async def prober(path: Path) -> MediaInfo:
        answer = answers.pop(0)
        if isinstance(answer, MediagateError):
            raise answer
        return answer

    fetcher = ScriptedFetcher(WHOLE["png"])
    [stored] = await _rehost(_rehoster(fetcher, FakeTime(), prober), media)
    assert fetcher.fetches == 2
    assert (stored.width, stored.height) == (40, 30)


async def test_a_probe_that_cannot_run_keeps_the_file(media: MediaStore) -> None:
    async def prober(path: Path) -> MediaInfo:
        raise MediagateError("processor_unavailable", "No media worker could start.")

    fetcher = ScriptedFetcher(WHOLE["png"])
    [stored] = await _rehost(_rehoster(fetcher, FakeTime(), prober), media)
    assert fetcher.fetches == 1 and stored.width is None


async def test_a_download_retry_after_is_waited_out(media: MediaStore) -> None:
    limited = MediagateError(
        "source_fetch_failed", "HTTP 429", reason="http_status", status=429, retry_after="7"
    )
    clock = FakeTime()
    await _rehost(_rehoster(ScriptedFetcher(limited, WHOLE["png"]), clock), media)
    assert len(clock.sleeps) == 1 and 7.0 <= clock.sleeps[0] <= 7.7
