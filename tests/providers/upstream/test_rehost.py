"""Outputs downloaded into the media store: kinds, probing, previews, size cap, retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediagate.errors import MediagateError
from mediagate.media.fetch import FetchPolicy, GuardedFetcher
from mediagate.media.probe import MediaInfo, VideoStream
from mediagate.media.store import MediaStore
from mediagate.providers.upstream.adapter import UpstreamOutput
from mediagate.providers.upstream.rehost import Prober, Rehoster, classify
from mediagate.providers.upstream.retry import RetryPolicy

from .helpers import FakeTime, FileServer


def _rehoster(
    *, max_bytes: int = 10_000_000, prober: Prober | None = None, clock: FakeTime | None = None
) -> Rehoster:
    return Rehoster(
        provider="tiny",
        fetcher=GuardedFetcher(FetchPolicy(allow_private=True, max_bytes=max_bytes)),
        retry=RetryPolicy(max_attempts=3, base_s=0.5),
        prober=prober,
        sleep=(clock or FakeTime()).sleep,
    )


def _folder(media: MediaStore) -> Path:
    return media.folder("gen_01TEST", create=False)


async def test_output_is_stored_with_its_source_url_and_provider_dimensions(
    media: MediaStore, files: FileServer
) -> None:
    rehoster = _rehoster()
    output = UpstreamOutput(files.url("out.png"), "image", extra={"width": 64, "height": 48})
    [stored] = await rehoster.rehost([output], folder=_folder(media), media=media)
    await rehoster.aclose()
    assert stored.relpath == "gen_01TEST/output.png"
    assert stored.source_url == files.url("out.png")
    assert (stored.width, stored.height) == (64, 48)
    assert stored.mime_type == "image/png" and stored.media_type == "image"
    # Described like a local output (what agents receive).
    described = media.describe(stored)
    assert described["source_url"] == files.url("out.png")
    assert described["path"].endswith("output.png")


async def test_probe_fills_in_what_the_file_is(media: MediaStore, files: FileServer) -> None:
    probed: list[Path] = []

    async def prober(path: Path) -> MediaInfo:
        probed.append(path)
        return MediaInfo(
            container="mov",
            format_name="mov,mp4",
            duration_s=5.0,
            video=(VideoStream(index=0, codec="h264", width=1280, height=720),),
        )

    rehoster = _rehoster(prober=prober)
    output = UpstreamOutput(files.url("out.png"), "image", extra={"width": 1, "height": 1})
    [stored] = await rehoster.rehost([output], folder=_folder(media), media=media)
    assert probed and (stored.width, stored.height) == (1280, 720)
    assert stored.duration_s is None  # an image has no duration


async def test_a_glb_is_a_3d_model(media: MediaStore, files: FileServer) -> None:
    [stored] = await _rehoster().rehost(
        [UpstreamOutput(files.url("model.glb"), "image")], folder=_folder(media), media=media
    )
    assert stored.media_type == "model"
    assert stored.mime_type == "model/gltf-binary"
    assert stored.relpath.endswith(".glb")


async def test_a_preview_becomes_the_thumbnail(media: MediaStore, files: FileServer) -> None:
    outputs = [
        UpstreamOutput(files.url("model.glb"), "model"),
        UpstreamOutput(files.url("out.png"), "image", role="preview"),
    ]
    [stored] = await _rehoster().rehost(outputs, folder=_folder(media), media=media)
    assert stored.thumbnail_relpath == "gen_01TEST/preview.png"


async def test_the_size_cap_is_enforced(media: MediaStore, files: FileServer) -> None:
    with pytest.raises(MediagateError) as caught:
        await _rehoster(max_bytes=100_000).rehost(
            [UpstreamOutput(files.url("big.bin"), "video")], folder=_folder(media), media=media
        )
    error = caught.value
    assert error.code == "upstream_error"
    assert error.details["reason"] == "output_too_large"
    assert error.details["max_bytes"] == 100_000
    assert error.details["output_url"] == files.url("big.bin")
    assert not any(_folder(media).glob("*")), "no partial file is left behind"


async def test_transient_download_failures_are_retried(
    media: MediaStore, files: FileServer
) -> None:
    files.script["out.png"] = [503, 502]
    clock = FakeTime()
    [stored] = await _rehoster(clock=clock).rehost(
        [UpstreamOutput(files.url("out.png"), "image")], folder=_folder(media), media=media
    )
    assert stored.size_bytes == (files.root / "out.png").stat().st_size
    assert len(clock.sleeps) == 2


async def test_an_expired_output_url_fails_naming_it(media: MediaStore, files: FileServer) -> None:
    clock = FakeTime()
    with pytest.raises(MediagateError) as caught:
        await _rehoster(clock=clock).rehost(
            [UpstreamOutput(files.url("gone.png"), "image")], folder=_folder(media), media=media
        )
    assert caught.value.details["reason"] == "output_download_failed"
    assert caught.value.details["output_url"] == files.url("gone.png")
    assert clock.sleeps == []  # a 404 is not retried


def test_classify_prefers_the_bytes_then_the_url_then_the_content_type() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    assert classify(png, "https://x/y.jpg", "image/jpeg", "image").mime_type == "image/png"
    unknown = b"\x00" * 20
    assert classify(unknown, "https://x/a.webp?sig=1", None, "image").extension == "webp"
    assert classify(unknown, "https://x/blob", "video/mp4", "video").extension == "mp4"
    assert classify(unknown, "https://x/blob", None, "video").extension == "mp4"
