"""generate_media/get_generation_estimate with local-file inputs and probed reference lengths."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from mcp import Client
from PIL import Image

from mediagate.server.app import build_server
from mediagate.server.services import Services
from mediagate.server.tools import default_tool_registrars
from mediagate.settings import Settings


def make_video(path: Path, seconds: float, *, fps: int = 12) -> Path:
    """A tiny real H.264 MP4 of ``seconds``."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 48), (i * 7 % 255, 40, 90)))
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[Client, Path]]:
    """A started server and an in-process client (entered and left in the test's own task:
    the SDK's transports refuse to be closed from another task)."""
    allowed = tmp_path / "inputs"
    allowed.mkdir()
    settings = Settings(data_dir=tmp_path / "data", allowed_dirs=[allowed], local_delay_scale=0.0)
    services = Services(settings)
    server = build_server(settings, tools=default_tool_registrars(services))
    async with services.running(), Client(server) as c:
        yield c, allowed


def _payload(result: Any) -> dict[str, Any]:
    return json.loads(result.content[0].text)  # type: ignore[no-any-return]


async def test_a_local_image_inside_allowed_dirs_is_an_input(tmp_path: Path) -> None:
    async with running(tmp_path) as (c, allowed):
        Image.new("RGB", (200, 100), (240, 10, 10)).save(allowed / "red.png")
        result = await c.call_tool(
            "generate_media",
            {"model": "nano-banana", "prompt": "p", "source_media_urls": [str(allowed / "red.png")],
             "wait_seconds": 30},
        )  # fmt: skip
        data = _payload(result)
        assert not result.is_error, data
        assert data["status"] == "completed"
        assert data["outputs"][0]["width"] == 1024


async def test_a_local_path_outside_allowed_dirs_is_refused_naming_the_setting(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as (c, _):
        Image.new("RGB", (20, 20)).save(tmp_path / "elsewhere.png")
        outside = str(tmp_path / "elsewhere.png")
        result = await c.call_tool(
            "generate_media",
            {"model": "nano-banana", "prompt": "p", "source_media_urls": [outside]},
        )
        data = _payload(result)
        assert result.is_error
        assert data["error"] == "unsafe_source_url"
        assert "MEDIAGATE_ALLOWED_DIRS" in data["message"]


async def test_seedance_reference_over_15_s_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as (c, allowed):
        clip = make_video(allowed / "long.mp4", 17)
        args = {
            "model": "seedance-2-480p-video-ref",
            "prompt": "p",
            "source_media_urls": [str(clip)],
        }
        result = await c.call_tool("generate_media", args)
        data = _payload(result)
        assert result.is_error
        assert data["error"] == "reference_duration_exceeded"
        assert data["max"] == 15
        assert data["got"] == pytest.approx(17, abs=0.2)
        listed = await c.call_tool("list_generations", {})
        assert listed.structured_content == {"generations": []}


async def test_seedance_reference_price_uses_the_probed_length(tmp_path: Path) -> None:
    async with running(tmp_path) as (c, allowed):
        clip = make_video(allowed / "short.mp4", 4)
        result = await c.call_tool(
            "get_generation_estimate",
            {"model": "seedance-2-720p-video-ref",
             "parameters": {"duration": 5, "source_media_urls": [str(clip)]}},
        )  # fmt: skip
        data = _payload(result)
        assert not result.is_error, data
        assert data["breakdown"]["ref_video_seconds_assumed"] is False
        assert data["breakdown"]["ref_video_seconds"] == pytest.approx(4, abs=0.2)
        assert data["estimated_cost_credits"] == pytest.approx((4 + 5) * 25, abs=5)


async def test_combined_reference_audio_over_15_s_is_refused(tmp_path: Path) -> None:
    async with running(tmp_path) as (c, allowed):
        clips = []
        for i in range(2):
            path = allowed / f"a{i}.m4a"
            with av.open(str(path), "w") as out:
                stream = out.add_stream("aac", rate=48000)
                stream.layout = "mono"
                samples = 48000 * 8
                frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
                frame.planes[0].update(bytes(4 * 1024))
                frame.sample_rate = 48000
                for n in range(samples // 1024):
                    frame.pts = n * 1024
                    for packet in stream.encode(frame):
                        out.mux(packet)
                for packet in stream.encode():
                    out.mux(packet)
            clips.append(str(path))
        result = await c.call_tool(
            "generate_media",
            {"model": "seedance-2-480p", "prompt": "p", "source_media_urls": clips},
        )
        data = _payload(result)
        assert result.is_error, data
        assert data["error"] == "reference_duration_exceeded"
        assert data["kind"] == "audio"
