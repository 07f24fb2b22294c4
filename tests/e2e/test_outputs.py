"""Generated files, end to end: what generate_media returns and what is really on disk/HTTP.

Every result is checked against the file itself (Pillow for images, PyAV for videos), and
the ``url`` is followed: a ``file://`` URI over stdio, a downloadable ``/media/...`` URL over
streamable HTTP and SSE.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from helpers import (
    ImageInfo,
    assert_video,
    call_ok,
    download,
    local_path,
    ok_payload,
    probe_image,
    probe_video,
    resource_links,
)
from mcp import Client

if TYPE_CHECKING:
    from conftest import McpServer

WAIT = 50  # the tools' maximum; at delay scale 0 every file here renders in a few seconds

_MIME_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


@pytest.fixture
def allowed_dir(tmp_path: Path) -> Path:
    return tmp_path / "allowed"


@pytest.fixture
def mcp_server_env(allowed_dir: Path) -> Mapping[str, str]:
    return {"MEDIAGATE_LOCAL_DELAY_SCALE": "0", "MEDIAGATE_OUTPUT_DIRS": str(allowed_dir)}


async def _generate(client: Client, **args: Any) -> tuple[dict[str, Any], list[Any]]:
    result = await client.call_tool("generate_media", {**args, "wait_seconds": WAIT})
    payload = ok_payload(result)
    assert payload["status"] == "completed", payload
    assert payload["progress"] == 100
    assert "next_step" not in payload
    return payload, resource_links(result)


async def _check_url(server: McpServer, url: str, path: Path, mime: str) -> None:
    """``url`` leads to exactly the bytes at ``path``: a file URI on stdio, HTTP otherwise."""
    if server.transport == "stdio":
        assert url.startswith("file://")
        assert local_path(url) == path
        return
    assert url.startswith(f"{server.base_url}/media/"), url
    body, content_type = await download(url)
    assert content_type.split(";")[0] == mime
    assert body == path.read_bytes()


async def _check_output(
    server: McpServer, generation_id: str, out: dict[str, Any], link: Any
) -> Path:
    """The output's fields agree with its resource link and its file; returns the path."""
    path = Path(out["path"])
    assert path.is_file()
    assert out["size_bytes"] == path.stat().st_size
    assert link.uri == f"mediagate://generations/{generation_id}/{path.name}"
    assert (link.mime_type, link.size) == (out["mime_type"], out["size_bytes"])
    await _check_url(server, out["url"], path, out["mime_type"])
    thumb_url = out["thumbnail_url"]
    if server.transport == "stdio":
        thumb = local_path(thumb_url)
    else:
        thumb = path.parent / thumb_url.rsplit("/", 1)[-1]
        await _check_url(server, thumb_url, thumb, "image/jpeg")
    poster = probe_image(thumb)
    assert poster.format == "JPEG"
    # A small preview (not the full frame) with the output's aspect ratio.
    assert 0 < max(poster.width, poster.height) < max(out["width"], out["height"]) or (
        max(out["width"], out["height"]) <= 512
    )
    assert abs(poster.width / poster.height - out["width"] / out["height"]) < 0.02
    return path


# --- images -----------------------------------------------------------------------------------

IMAGE_CASES = [
    # (arguments, expected format, width, height)
    ({"model": "nano-banana", "aspect_ratio": "16:9"}, "PNG", 1024, 576),
    ({"model": "gpt-image-2", "resolution": "2K", "aspect_ratio": "16:9"}, "PNG", 2048, 1152),
    ({"model": "nano-banana", "aspect_ratio": "1:1", "output_format": "jpeg"}, "JPEG", 1024, 1024),
    ({"model": "nano-banana", "aspect_ratio": "9:16", "output_format": "webp"}, "WEBP", 576, 1024),
]


async def test_image_outputs_are_linked_files_of_the_exact_size_and_format(
    mcp_session: Client, mcp_server: McpServer
) -> None:
    for args, fmt, width, height in IMAGE_CASES:
        payload, links = await _generate(mcp_session, prompt="a lighthouse at dusk", **args)

        assert payload["model"] == args["model"]
        assert payload["provider"] == "local"
        [out] = payload["outputs"]
        [link] = links
        assert (out["media_type"], out["width"], out["height"]) == ("image", width, height)
        assert _MIME_FORMAT[out["mime_type"]] == fmt
        path = await _check_output(mcp_server, payload["generation_id"], out, link)
        assert probe_image(path) == ImageInfo(fmt, width, height)


# --- videos -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mcp_transport", ["stdio"])
async def test_video_outputs_are_h264_of_the_exact_size_duration_and_audio(
    mcp_session: Client, mcp_server: McpServer
) -> None:
    cases: list[tuple[dict[str, Any], int, int, float, bool]] = [
        # kling with sound: AAC audio; veo 3.1 always has audio; kling silent by default.
        (
            {"model": "kling-3-0-std", "duration": 3, "sound": True, "aspect_ratio": "16:9"},
            1280,
            720,
            3.0,
            True,
        ),
        ({"model": "veo3-1", "aspect_ratio": "9:16"}, 720, 1280, 8.0, True),
        ({"model": "kling-3-0-std", "duration": 3, "aspect_ratio": "1:1"}, 720, 720, 3.0, False),
    ]
    for args, width, height, duration, audio in cases:
        payload, links = await _generate(mcp_session, prompt="waves on a beach", **args)

        [out] = payload["outputs"]
        assert out["media_type"] == "video"
        assert out["mime_type"] == "video/mp4"
        assert (out["width"], out["height"], out["duration_s"]) == (width, height, duration)
        assert out["has_audio"] is audio
        path = await _check_output(mcp_server, payload["generation_id"], out, links[0])
        assert_video(
            probe_video(path), width=width, height=height, duration_s=duration, audio=audio
        )


async def test_image_to_video_takes_an_earlier_output_of_this_server_as_its_source(
    mcp_session: Client, mcp_server: McpServer
) -> None:
    image, _ = await _generate(
        mcp_session, model="nano-banana", prompt="a red kite", aspect_ratio="16:9"
    )
    source_url = image["outputs"][0]["url"]  # file:// on stdio, http://.../media/ otherwise

    payload, links = await _generate(
        mcp_session,
        model="v1-pro-fast-i2v",
        prompt="the kite flies away",
        source_media_urls=[source_url],
    )

    [out] = payload["outputs"]
    assert (out["width"], out["height"], out["duration_s"]) == (1280, 720, 5.0)
    assert out["has_audio"] is False  # Seedance 1.0 is silent
    path = await _check_output(mcp_server, payload["generation_id"], out, links[0])
    assert_video(probe_video(path), width=1280, height=720, duration_s=5.0, audio=False)


# --- output_dir -------------------------------------------------------------------------------


@pytest.mark.parametrize("mcp_transport", ["stdio", "http"])
async def test_output_dir_inside_the_allowed_dirs_receives_a_copy_of_each_output(
    mcp_session: Client, allowed_dir: Path
) -> None:
    target = allowed_dir / "renders"
    first, _ = await _generate(
        mcp_session, model="nano-banana", prompt="a fox", output_dir=str(target)
    )
    second, _ = await _generate(
        mcp_session, model="nano-banana", prompt="a hare", output_dir=str(target)
    )

    copies = [Path(gen["outputs"][0]["copied_to"]) for gen in (first, second)]
    assert copies[0] != copies[1], "the second copy must not overwrite the first"
    for gen, copy in zip((first, second), copies, strict=True):
        assert copy.parent == target
        assert copy.read_bytes() == Path(gen["outputs"][0]["path"]).read_bytes()
        assert "copy_error" not in gen["outputs"][0]
    # The copy is recorded with the generation, not just in the first answer.
    again = await call_ok(
        mcp_session, "get_generation_status", {"generation_id": first["generation_id"]}
    )
    assert again["outputs"][0]["copied_to"] == str(copies[0])


@pytest.mark.parametrize("mcp_transport", ["http"])
async def test_the_media_route_serves_stored_files_only(
    mcp_session: Client, mcp_server: McpServer
) -> None:
    payload, _ = await _generate(mcp_session, model="nano-banana", prompt="a gate")
    gid = payload["generation_id"]
    media = f"{mcp_server.base_url}/media"
    assert (mcp_server.data_dir / "jobs.sqlite3").is_file()

    async with httpx2.AsyncClient(timeout=30.0) as http:
        for path in (
            "/",
            f"/{gid}/",
            "/%2e%2e/jobs.sqlite3",
            f"/{gid}/%2e%2e/%2e%2e/jobs.sqlite3",
            "/..%2fjobs.sqlite3",
            f"/{gid}/nothing.png",
        ):
            response = await http.get(httpx2.URL(media + path))
            assert response.status_code in (404, 400, 405), (path, response.status_code)
            assert not response.content.startswith(b"SQLite format"), path
