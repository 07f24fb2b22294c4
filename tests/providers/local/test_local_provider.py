"""The local provider end to end below the MCP layer: lifecycle, files, fetched sources."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from mediagate.catalog import load_catalog, validate_generate
from mediagate.jobs.model import GenerationStatus, canonical_hash
from mediagate.jobs.runner import JobRunner
from mediagate.jobs.store import JobStore
from mediagate.media.fetch import FetchPolicy, GuardedFetcher
from mediagate.media.store import MediaStore
from mediagate.providers.local.provider import LocalProvider


@pytest.fixture
def image_server(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server with one solid red PNG."""
    Image.new("RGB", (320, 200), (230, 10, 10)).save(tmp_path / "red.png")
    Image.new("RGB", (360, 640), (10, 10, 230)).save(tmp_path / "tall.png")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def _run(tmp_path: Path, args: dict[str, object], fetcher: GuardedFetcher | None) -> dict:
    catalog = load_catalog()
    media = MediaStore(tmp_path / "media")
    media.ensure()
    provider = LocalProvider(delay_scale=0, fetcher=fetcher)
    async with JobStore(tmp_path / "jobs.sqlite3") as store:
        runner = JobRunner(store=store, providers={"local": provider}, media=media, catalog=catalog)
        request = validate_generate(args, catalog, allow_private_urls=True)
        gen, _ = await runner.submit(
            request=request, provider="local", request_hash=canonical_hash(args)
        )
        seen: list[GenerationStatus] = []

        async def note(update: object) -> None:
            seen.append(update.status)  # type: ignore[attr-defined]

        done = await runner.wait(gen.id, 60, note)
        await runner.aclose()
        await provider.aclose()
    assert done.status == GenerationStatus.COMPLETED, done.error
    return {"gen": done, "seen": seen, "media": media}


def _mean_rgb(path: Path) -> tuple[float, float, float]:
    with Image.open(path) as im:
        small = im.convert("RGB").resize((32, 32))
        pixels = [small.getpixel((x, y)) for x in range(32) for y in range(32)]
    n = len(pixels)
    return (
        sum(p[0] for p in pixels) / n,  # type: ignore[index]
        sum(p[1] for p in pixels) / n,  # type: ignore[index]
        sum(p[2] for p in pixels) / n,  # type: ignore[index]
    )


def test_image_to_image_starts_from_the_fetched_source(tmp_path: Path, image_server: str) -> None:
    fetcher = GuardedFetcher(FetchPolicy(allow_private=True, max_bytes=5_000_000))
    args = {
        "model": "nano-banana",
        "prompt": "a poster",
        "source_media_urls": [f"{image_server}/red.png"],
        "seed": 7,
    }
    out = asyncio.run(_run(tmp_path, args, fetcher))
    media: MediaStore = out["media"]
    path = media.resolve(out["gen"].outputs[0]["relpath"])
    assert path is not None
    r, g, b = _mean_rgb(path)
    assert r > g + 40 and r > b + 40, (r, g, b)


def test_unfetchable_source_still_renders_from_the_prompt(tmp_path: Path) -> None:
    fetcher = GuardedFetcher(FetchPolicy(allow_private=True, max_bytes=5_000_000))
    args = {
        "model": "nano-banana",
        "prompt": "a poster",
        "source_media_urls": ["http://127.0.0.1:9/missing.png"],
    }
    out = asyncio.run(_run(tmp_path, args, fetcher))
    assert out["gen"].outputs[0]["width"] == 1024
    # The agent is told its source was not used.
    assert any("source image not usable" in w for w in out["gen"].warnings)


def test_video_job_walks_the_lifecycle_and_writes_a_playable_file(tmp_path: Path) -> None:
    import av

    args = {"model": "kling-2-6-text-to-video", "prompt": "waves", "sound": True}
    out = asyncio.run(_run(tmp_path, args, None))
    # It went through processing (started_at is set on the first processing state).
    assert out["gen"].started_at is not None
    assert out["gen"].finished_at >= out["gen"].started_at
    media: MediaStore = out["media"]
    stored = out["gen"].outputs[0]
    path = media.resolve(stored["relpath"])
    assert path is not None
    with av.open(str(path)) as container:
        kinds = sorted(s.type for s in container.streams)
        assert kinds == ["audio", "video"]
        video = container.streams.video[0]
        assert (video.width, video.height) == (720, 720)
    assert abs(stored["duration_s"] - 5.0) < 1 / 24 + 1e-6
    assert media.resolve(stored["thumbnail_relpath"]) is not None


def test_auto_aspect_follows_the_source_image(tmp_path: Path, image_server: str) -> None:
    import av

    fetcher = GuardedFetcher(FetchPolicy(allow_private=True, max_bytes=5_000_000))
    args = {
        "model": "v1-pro-fast-i2v",
        "prompt": "slow zoom",
        "source_media_urls": [f"{image_server}/tall.png"],
    }
    out = asyncio.run(_run(tmp_path, args, fetcher))
    stored = out["gen"].outputs[0]
    assert (stored["width"], stored["height"]) == (720, 1280)
    media: MediaStore = out["media"]
    path = media.resolve(stored["relpath"])
    assert path is not None
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (720, 1280)
        assert not container.streams.audio  # Seedance 1.0 is silent


def _glb_document(data: bytes) -> tuple[dict, bytes]:
    """Split a binary glTF into its JSON document and binary chunk, checking the framing."""
    import json
    import struct

    magic, version, total = struct.unpack("<III", data[:12])
    assert (magic, version, total) == (0x46546C67, 2, len(data))
    json_len, json_type = struct.unpack("<II", data[12:20])
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    doc = json.loads(data[20 : 20 + json_len])
    bin_len, bin_type = struct.unpack("<II", data[20 + json_len : 28 + json_len])
    assert bin_type == 0x004E4942
    return doc, data[28 + json_len : 28 + json_len + bin_len]


def test_3d_job_writes_a_valid_glb_model_with_a_preview(tmp_path: Path) -> None:
    import struct

    args = {"model": "gateai/rodin-v2", "prompt": "a wooden chair", "seed": 11}
    out = asyncio.run(_run(tmp_path, args, None))
    media: MediaStore = out["media"]
    (output,) = out["gen"].outputs
    assert output["media_type"] == "model"
    assert output["mime_type"] == "model/gltf-binary"
    path = media.resolve(output["relpath"])
    assert path is not None and path.suffix == ".glb"
    doc, binary = _glb_document(path.read_bytes())
    positions, indices = doc["accessors"]
    corners = [struct.unpack_from("<3f", binary, 12 * i) for i in range(positions["count"])]
    # Every vertex lies inside the declared bounds, and every index names a vertex.
    for axis in range(3):
        assert min(c[axis] for c in corners) == pytest.approx(positions["min"][axis], abs=1e-6)
        assert max(c[axis] for c in corners) == pytest.approx(positions["max"][axis], abs=1e-6)
    view = doc["bufferViews"][indices["bufferView"]]
    idx = struct.unpack_from(f"<{indices['count']}H", binary, view["byteOffset"])
    assert indices["count"] == 36 and max(idx) < positions["count"]
    preview = media.resolve(output["thumbnail_relpath"])
    assert preview is not None
    with Image.open(preview) as im:
        assert im.format == "JPEG"


def test_3d_models_differ_by_seed(tmp_path: Path) -> None:
    from mediagate.providers.local.mesh import render_glb

    a, _ = render_glb(prompt="a chair", seed=1)
    b, _ = render_glb(prompt="a chair", seed=2)
    assert _glb_document(a)[0]["accessors"][0]["max"] != _glb_document(b)[0]["accessors"][0]["max"]
