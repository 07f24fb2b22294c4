"""The generation tools end to end: listing, waiting, progress, resources, cancel, paging and
idempotency, through the real mcp client over stdio, streamable HTTP and SSE.

Delay scale 0 renders as fast as possible; tests that need a job to stay running for a while
use a small scale on a slow video model (``SLOW_VIDEO``, ~144 s typical), so the job takes a
few seconds (``FEW_SECONDS``) or practically forever (``FOREVER``).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types
import pytest
from helpers import (
    OPTIONAL_TOOL_NAMES,
    SLOW_VIDEO,
    STATUSES,
    TOOL_NAMES,
    call_error,
    call_ok,
    until,
    wait_for_status,
    wait_until_completed,
)
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPError
from mcp_types import BlobResourceContents, TextResourceContents

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]

FAST = {"MEDIAGATE_LOCAL_DELAY_SCALE": "0"}
#: SLOW_VIDEO then takes ~2 s: long enough to observe, short enough to wait for.
FEW_SECONDS = {"MEDIAGATE_LOCAL_DELAY_SCALE": "0.015"}
#: SLOW_VIDEO then takes ~144 s: it is still running whenever the test looks.
FOREVER = {"MEDIAGATE_LOCAL_DELAY_SCALE": "1.0"}

IMAGE = {"model": "nano-banana", "prompt": "a lighthouse", "aspect_ratio": "16:9"}
UNFINISHED = frozenset({"pending", "queued", "processing"})


@pytest.fixture
def mcp_server_env() -> Mapping[str, str]:
    return FAST


async def _image(client: Client, **extra: Any) -> dict[str, Any]:
    result = await call_ok(client, "generate_media", {**IMAGE, **extra, "wait_seconds": 50})
    assert result["status"] == "completed", result
    return result


# --- tools/list -------------------------------------------------------------------------------


async def test_tools_list_is_exactly_the_generation_tools_with_output_schemas_in_16kb(
    mcp_session: Client,
) -> None:
    listed = await mcp_session.list_tools()

    names = [tool.name for tool in listed.tools]
    assert len(names) == len(set(names))
    assert set(names) - OPTIONAL_TOOL_NAMES == TOOL_NAMES
    for tool in listed.tools:
        assert tool.description, tool.name
        assert tool.output_schema is not None, tool.name
        assert tool.output_schema.get("type") == "object", tool.name
        assert tool.output_schema.get("properties"), tool.name
        assert tool.input_schema.get("additionalProperties") is False, tool.name
    wire = json.dumps(listed.model_dump(mode="json", by_alias=True, exclude_none=True))
    assert len(wire.encode()) < 16 * 1024, f"tools/list is {len(wire.encode())} bytes"
    generate = next(t for t in listed.tools if t.name == "generate_media")
    assert set(generate.input_schema["required"]) == {"prompt", "model"}


async def test_catalog_tools_answer_with_their_output_shapes(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    async with mcp_connect(mcp_shared_server) as client:
        models = await call_ok(client, "get_models", {"media_type": "video"})
        one = await call_ok(client, "get_models", {"model": "veo3-1"})
        # detail=true leaves out the hint: it must be absent, not null (the client checks
        # every result against the tool's output schema).
        detailed = await call_ok(client, "get_models", {"media_type": "image", "detail": True})
        voices = await call_ok(client, "list_voices", {})
        estimate = await call_ok(
            client,
            "get_generation_estimate",
            {"model": "kling-3-0-std", "parameters": {"duration": 5, "sound": True}},
        )

    assert models["count"] == len(models["models"]) > 0
    assert {"veo3-1", "kling-3-0-std", "v1-pro-fast-i2v"} <= {m["id"] for m in models["models"]}
    assert one["count"] == 1
    assert one["models"][0]["id"] == "veo3-1"
    assert detailed["count"] == len(detailed["models"]) > 0
    assert "hint" not in detailed
    assert voices["catalogs"]
    assert estimate["model"] == "kling-3-0-std"
    assert estimate["estimated_time_seconds"] > 0
    assert estimate["estimated_cost_credits"] > 0
    assert estimate["normalized"]["duration_s"] == 5
    assert estimate["normalized"]["has_audio"] is True


# --- waiting and progress ---------------------------------------------------------------------


@pytest.mark.parametrize("mcp_server_env", [FEW_SECONDS], ids=["few-seconds"])
async def test_waiting_with_a_progress_callback_relays_monotonic_rendering_progress(
    mcp_session: Client,
) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    result = await call_ok(
        mcp_session,
        "generate_media",
        {**SLOW_VIDEO, "wait_seconds": 30},
        progress_callback=on_progress,
    )

    assert result["status"] == "completed"

    # The final (100 %) notification precedes the response; allow for callback dispatch.
    async def finished() -> bool:
        return bool(seen) and seen[-1][0] == 100

    await until(finished, timeout=5, what="the 100 % notification")
    values = [p for p, _, _ in seen]
    assert len(values) >= 3, seen
    assert values == sorted(values), f"progress went down: {values}"
    assert values[-1] == 100
    assert {total for _, total, _ in seen} == {100}
    messages = [m or "" for _, _, m in seen]
    rendering = [m for m in messages if re.fullmatch(r"rendering \d{1,2}%", m)]
    assert len(rendering) >= 2, messages
    assert messages[-1] == "completed"


@pytest.mark.parametrize("mcp_transport", ["http"])
@pytest.mark.parametrize("mcp_server_env", [FEW_SECONDS], ids=["few-seconds"])
async def test_no_progress_is_sent_without_a_progress_token(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    progress: list[mcp_types.ProgressNotification] = []

    async def record(message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ProgressNotification):
            progress.append(message)

    async with mcp_connect(mcp_server, message_handler=record) as client:
        result = await call_ok(client, "generate_media", {**SLOW_VIDEO, "wait_seconds": 30})
        await client.list_tools()  # a later round trip: anything sent earlier has arrived

    assert result["status"] == "completed"
    assert progress == []


@pytest.mark.parametrize("mcp_server_env", [FEW_SECONDS], ids=["few-seconds"])
async def test_a_wait_that_ends_first_returns_the_next_step_then_status_waits_to_completion(
    mcp_session: Client,
) -> None:
    started = time.monotonic()
    first = await call_ok(mcp_session, "generate_media", {**SLOW_VIDEO, "wait_seconds": 1})
    waited = time.monotonic() - started

    assert first["status"] in UNFINISHED
    assert first["outputs"] == []
    assert "get_generation_status" in first["next_step"]
    assert first["generation_id"] in first["next_step"] or "generation_id" in first["next_step"]
    assert 0.9 <= waited < 15, waited

    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    done = await call_ok(
        mcp_session,
        "get_generation_status",
        {"generation_id": first["generation_id"], "wait_seconds": 30},
        progress_callback=on_progress,
    )

    assert done["status"] == "completed"

    async def got_100() -> bool:
        return bool(seen) and seen[-1] == 100

    await until(got_100, timeout=5, what="the status long-poll's final progress")
    assert seen == sorted(seen)
    assert done["progress"] == 100
    assert "next_step" not in done
    [out] = done["outputs"]
    assert (out["media_type"], out["duration_s"]) == ("video", 3.0)


@pytest.mark.parametrize("mcp_transport", ["http", "sse"])
@pytest.mark.parametrize("mcp_server_env", [FEW_SECONDS], ids=["few-seconds"])
async def test_a_client_that_gives_up_waiting_and_disconnects_leaves_the_job_running(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    call = {**SLOW_VIDEO, "idempotency_key": "abandoned", "wait_seconds": 30}
    with anyio.move_on_after(0.5) as gave_up:
        async with mcp_connect(mcp_server) as client:
            await client.call_tool("generate_media", call)  # cancelled, then disconnected
    assert gave_up.cancelled_caught

    async with mcp_connect(mcp_server) as client:
        listed = await call_ok(client, "list_generations", {})
        [row] = listed["generations"]
        assert row["status"] in UNFINISHED | {"completed"}
        done = await wait_until_completed(client, row["generation_id"])
        retry = await call_ok(client, "generate_media", call)

    assert done["outputs"]
    assert retry["generation_id"] == row["generation_id"]


# --- resources --------------------------------------------------------------------------------


async def test_generation_resources_give_its_json_and_its_file_bytes(
    mcp_session: Client,
) -> None:
    generated = await _image(mcp_session)
    gid = generated["generation_id"]
    out = generated["outputs"][0]

    status = await mcp_session.read_resource(f"mediagate://generations/{gid}")
    [doc] = status.contents
    assert isinstance(doc, TextResourceContents)
    assert doc.mime_type == "application/json"
    assert json.loads(doc.text) == generated

    image = await mcp_session.read_resource(f"mediagate://generations/{gid}/image.png")
    [blob] = image.contents
    assert isinstance(blob, BlobResourceContents)
    data = base64.b64decode(blob.blob)
    with open(out["path"], "rb") as stored:
        assert data == stored.read()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")

    thumb = await mcp_session.read_resource(f"mediagate://generations/{gid}/thumbnail.jpg")
    [thumb_blob] = thumb.contents
    assert isinstance(thumb_blob, BlobResourceContents)
    assert base64.b64decode(thumb_blob.blob).startswith(b"\xff\xd8\xff")

    templates = await mcp_session.list_resource_templates()
    assert {t.uri_template for t in templates.resource_templates} >= {
        "mediagate://generations/{generation_id}",
        "mediagate://generations/{generation_id}/{filename}",
    }


async def test_missing_generation_resources_are_errors_and_never_escape_the_store(
    mcp_session: Client,
) -> None:
    gid = (await _image(mcp_session))["generation_id"]

    for uri in (
        "mediagate://generations/gen_doesnotexist",
        f"mediagate://generations/{gid}/nothing.png",
        f"mediagate://generations/{gid}/..",
        f"mediagate://generations/{gid}/%2e%2e%2fjobs.sqlite3",
        "mediagate://generations/../jobs.sqlite3",
    ):
        with pytest.raises(MCPError):
            await mcp_session.read_resource(uri)

    await mcp_session.list_tools()  # still serving


# --- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mcp_transport", ["stdio", "http"])
@pytest.mark.parametrize("mcp_server_env", [FOREVER], ids=["forever"])
async def test_cancel_ends_a_running_generation_for_good(
    mcp_session: Client, mcp_server: McpServer
) -> None:
    started = await call_ok(mcp_session, "generate_media", SLOW_VIDEO)
    gid = started["generation_id"]
    await wait_for_status(mcp_session, gid, lambda r: r["status"] == "processing", timeout=30)

    waited: dict[str, Any] = {}

    async def wait_for_it() -> None:
        began = time.monotonic()
        waited.update(
            await call_ok(
                mcp_session, "get_generation_status", {"generation_id": gid, "wait_seconds": 30}
            )
        )
        waited["took"] = time.monotonic() - began

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait_for_it)  # a long-poll in flight while the cancel arrives
        canceled = await call_ok(mcp_session, "cancel_generation", {"generation_id": gid})

    assert waited["status"] == "canceled"
    assert waited["took"] < 10, "the cancel must wake a waiting get_generation_status"
    assert canceled["status"] == "canceled"
    assert canceled["outputs"] == []
    assert "next_step" not in canceled
    # Waiting on a canceled generation returns at once, still canceled.
    began = time.monotonic()
    later = await call_ok(
        mcp_session, "get_generation_status", {"generation_id": gid, "wait_seconds": 20}
    )
    assert later["status"] == "canceled"
    assert time.monotonic() - began < 5
    again = await call_ok(mcp_session, "cancel_generation", {"generation_id": gid})
    assert again == later
    listed = await call_ok(mcp_session, "list_generations", {"status": "canceled"})
    assert [g["generation_id"] for g in listed["generations"]] == [gid]

    # The render already under way is thrown away, not left in the store as a stray file.
    folder = mcp_server.data_dir / "media" / gid

    async def no_video() -> bool:
        return not list(folder.glob("video*"))

    await until(no_video, timeout=30, what="the canceled render's files to be removed")


async def test_cancel_of_a_completed_generation_returns_it_unchanged(
    mcp_session: Client,
) -> None:
    done = await _image(mcp_session)
    gid = done["generation_id"]

    after = await call_ok(mcp_session, "cancel_generation", {"generation_id": gid})
    status = await call_ok(mcp_session, "get_generation_status", {"generation_id": gid})

    assert after == done
    assert status == done


# --- list_generations -------------------------------------------------------------------------


@pytest.mark.parametrize("mcp_transport", ["http"])
@pytest.mark.parametrize("mcp_server_env", [FEW_SECONDS], ids=["few-seconds"])
async def test_list_generations_is_newest_first_filters_by_status_and_pages(
    mcp_session: Client,
) -> None:
    assert (await call_ok(mcp_session, "list_generations", {}))["generations"] == []
    created: list[str] = []
    for n in range(4):
        created.append((await _image(mcp_session, prompt=f"image {n}"))["generation_id"])
    running = await call_ok(mcp_session, "generate_media", SLOW_VIDEO)  # ~3 s: still running
    await call_ok(mcp_session, "cancel_generation", {"generation_id": running["generation_id"]})
    created.append(running["generation_id"])
    newest_first = created[::-1]

    everything = await call_ok(mcp_session, "list_generations", {})
    rows = everything["generations"]
    assert [g["generation_id"] for g in rows] == newest_first
    assert everything.get("next_before") is None
    stamps = [g["created_at"] for g in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert {g["status"] for g in rows} <= STATUSES
    assert rows[0]["prompt"] == SLOW_VIDEO["prompt"]
    assert rows[-1]["prompt"] == "image 0"

    completed = await call_ok(mcp_session, "list_generations", {"status": "completed"})
    assert [g["generation_id"] for g in completed["generations"]] == newest_first[1:]
    canceled = await call_ok(mcp_session, "list_generations", {"status": "canceled"})
    assert [g["generation_id"] for g in canceled["generations"]] == newest_first[:1]
    failed = await call_ok(mcp_session, "list_generations", {"status": "failed"})
    assert failed["generations"] == []

    pages: list[list[str]] = []
    before: str | None = None
    for _ in range(10):  # bounded: 5 rows at 2 per page is 3 pages
        args: dict[str, Any] = {"limit": 2}
        if before is not None:
            args["before"] = before
        page = await call_ok(mcp_session, "list_generations", args)
        pages.append([g["generation_id"] for g in page["generations"]])
        before = page.get("next_before")
        if before is None:
            break
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]

    first = await call_ok(mcp_session, "list_generations", {"status": "completed", "limit": 3})
    rest = await call_ok(
        mcp_session,
        "list_generations",
        {"status": "completed", "limit": 3, "before": first["next_before"]},
    )
    ids = [g["generation_id"] for g in first["generations"] + rest["generations"]]
    assert ids == newest_first[1:]


# --- idempotency ------------------------------------------------------------------------------


@pytest.mark.parametrize("mcp_transport", ["http"])
async def test_an_idempotency_key_returns_the_same_generation_and_refuses_other_arguments(
    mcp_session: Client,
) -> None:
    call = {**IMAGE, "idempotency_key": "order-42"}

    first = await call_ok(mcp_session, "generate_media", call)
    retry = await call_ok(mcp_session, "generate_media", {**call, "wait_seconds": 50})

    assert retry["generation_id"] == first["generation_id"]
    assert retry["status"] == "completed"  # the retry waited on the original generation

    conflict = await call_error(mcp_session, "generate_media", {**call, "prompt": "a windmill"})
    assert conflict["error"] == "idempotency_conflict"
    assert conflict["generation_id"] == first["generation_id"]
    assert conflict.get("hint")

    # Concurrent retries (an agent resending after a timeout) still make one generation.
    other = {**IMAGE, "prompt": "a barn", "idempotency_key": "order-43"}
    ids: list[str] = []

    async def send() -> None:
        ids.append((await call_ok(mcp_session, "generate_media", other))["generation_id"])

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(send)
    assert len(set(ids)) == 1

    listed = await call_ok(mcp_session, "list_generations", {})
    assert sorted(g["generation_id"] for g in listed["generations"]) == sorted(
        {first["generation_id"], ids[0]}
    )
    await wait_until_completed(mcp_session, ids[0])
