"""Shared helpers for the mediagate end-to-end tests: calling tools, reading results and
checking the generated files (Pillow for images, PyAV for videos).

Plain functions only (fixtures live in ``conftest.py``); every wait is a bounded poll.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import httpx2
from mcp import Client
from mcp_types import CallToolResult, ResourceLink, TextContent

#: Upper bound for one generation to finish when a test waits for it.
FINISH_TIMEOUT_S = 60.0
POLL_S = 0.05

STATUSES = frozenset({"pending", "queued", "processing", "completed", "failed", "canceled"})
TERMINAL = frozenset({"completed", "failed", "canceled"})

#: The generation and catalog tools (the brief's list for these tests).
TOOL_NAMES = frozenset(
    {
        "get_models",
        "list_voices",
        "generate_media",
        "get_generation_status",
        "get_generation_estimate",
        "cancel_generation",
        "list_generations",
        # Issue #4: the upstream's remaining budget (answers provider_not_configured offline).
        "get_balance",
    }
)
#: Media tools being added alongside (``trim_video`` is a fixed name in GUIDE §3); accepted
#: but not required, so these tests do not depend on their progress. Adding any other tool
#: should be a deliberate change here (every tool costs agents context on every turn).
OPTIONAL_TOOL_NAMES = frozenset({"trim_video", "upload_media"})


def served_tools_ok(names: set[str]) -> bool:
    """The tools above: all of ``TOOL_NAMES``, nothing outside ``OPTIONAL_TOOL_NAMES``."""
    return TOOL_NAMES <= names <= TOOL_NAMES | OPTIONAL_TOOL_NAMES


#: A video model that is slow enough to observe (its typical time is ~144 s for 3 s of
#: video; the delay scale turns that into a few seconds or "forever").
SLOW_VIDEO = {"model": "kling-3-0-std", "prompt": "a slow pan over hills", "duration": 3}


def text_of(result: CallToolResult) -> str:
    """The first content item's text."""
    assert result.content, "empty tool result"
    first = result.content[0]
    assert isinstance(first, TextContent), f"first content item is {first.type}, not text"
    return first.text


def ok_payload(result: CallToolResult) -> dict[str, Any]:
    """A successful result's structured content (checked equal to its JSON text)."""
    assert not result.is_error, f"tool call failed: {text_of(result)}"
    assert result.structured_content is not None
    assert json.loads(text_of(result)) == result.structured_content
    return dict(result.structured_content)


def error_payload(result: CallToolResult) -> dict[str, Any]:
    """A rejected result's JSON payload (GUIDE §3: ``error`` code and one-sentence ``message``)."""
    assert result.is_error, f"expected an error, got {result.structured_content}"
    payload = json.loads(text_of(result))
    assert isinstance(payload, dict)
    assert isinstance(payload.get("error"), str) and payload["error"]
    assert isinstance(payload.get("message"), str) and payload["message"]
    return payload


async def call_ok(client: Client, tool: str, args: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """Call ``tool`` and return its structured content (the call must succeed)."""
    return ok_payload(await client.call_tool(tool, args, **kw))


async def call_error(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call ``tool`` and return its error payload (the call must be rejected)."""
    return error_payload(await client.call_tool(tool, args))


def resource_links(result: CallToolResult) -> list[ResourceLink]:
    return [item for item in result.content if isinstance(item, ResourceLink)]


async def wait_for_status(
    client: Client,
    generation_id: str,
    accept: Callable[[dict[str, Any]], bool],
    *,
    timeout: float = FINISH_TIMEOUT_S,
    wait_seconds: float = 0,
) -> dict[str, Any]:
    """Poll get_generation_status until ``accept(result)``; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await call_ok(
            client,
            "get_generation_status",
            {"generation_id": generation_id, "wait_seconds": wait_seconds},
        )
        if accept(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{generation_id} never reached the expected state: {result}")
        await anyio.sleep(POLL_S)


async def wait_until_completed(client: Client, generation_id: str) -> dict[str, Any]:
    """Long-poll until the generation is terminal; assert it completed."""
    result = await wait_for_status(
        client, generation_id, lambda r: r["status"] in TERMINAL, wait_seconds=20
    )
    assert result["status"] == "completed", result
    return result


async def until(
    check: Callable[[], Awaitable[bool]], *, timeout: float = FINISH_TIMEOUT_S, what: str = ""
) -> None:
    """Poll ``check`` until it is true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        await anyio.sleep(POLL_S)


def local_path(url: str) -> Path:
    """The local file behind a ``file://`` URL."""
    parts = urlsplit(url)
    assert parts.scheme == "file", url
    return Path(unquote(parts.path))


async def download(url: str) -> tuple[bytes, str]:
    """GET ``url`` (an http:// media URL of the server under test): body and content-type."""
    async with httpx2.AsyncClient(timeout=30.0) as http:
        response = await http.get(url)
    assert response.status_code == 200, f"GET {url} -> {response.status_code}"
    return response.content, response.headers.get("content-type", "")


# --- media checks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def probe_image(path: Path) -> ImageInfo:
    """Format (PNG, JPEG, WEBP) and pixel size of an image file, decoded in full."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()  # a truncated file fails here, not just on its header
        return ImageInfo(str(image.format), image.width, image.height)


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    audio_codec: str | None

    @property
    def frame_s(self) -> float:
        return 1.0 / self.fps


def probe_video(path: Path) -> VideoInfo:
    """Codec, size, rate, frame count and duration of a video file (and its audio codec)."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.average_rate is not None, "no frame rate"
        fps = float(video.average_rate)
        audio = container.streams.audio[0] if container.streams.audio else None
        # Demuxing (no decoding) counts the frames cheaply and proves the file is readable.
        frames = sum(1 for packet in container.demux(video) if packet.size)
        if video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        else:
            assert container.duration is not None, "no duration"
            duration = float(container.duration) / 1_000_000
        return VideoInfo(
            codec=str(video.codec_context.name),
            pix_fmt=str(video.codec_context.pix_fmt),
            width=int(video.codec_context.width),
            height=int(video.codec_context.height),
            fps=fps,
            frames=frames,
            duration_s=duration,
            audio_codec=str(audio.codec_context.name) if audio is not None else None,
        )


def assert_video(
    info: VideoInfo, *, width: int, height: int, duration_s: float, audio: bool
) -> None:
    """H.264 in yuv420p of the exact size, ``duration_s`` within one frame, AAC iff ``audio``."""
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p"), info
    assert (info.width, info.height) == (width, height), info
    assert abs(info.duration_s - duration_s) <= info.frame_s + 1e-6, info
    assert abs(info.frames / info.fps - duration_s) <= info.frame_s + 1e-6, info
    assert info.audio_codec == ("aac" if audio else None), info
