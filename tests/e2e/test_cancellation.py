"""Cancelling a request that waits for a generation ends the wait, never the generation:
``notifications/cancelled`` (every transport), and on the 2026-07-28 HTTP wire, closing the
response stream. Only ``cancel_generation`` and ``tasks/cancel`` (test_tasks.py) end a job."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import pytest
from helpers import SLOW_VIDEO, call_ok, wait_until_completed
from mcp import Client

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]

UNFINISHED = {"pending", "queued", "processing"}
MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"
#: A waiting call is answered within this long once cancelled (it would otherwise wait 50 s).
ENDED_WITHIN_S = 10.0


@pytest.fixture
def mcp_server_env() -> dict[str, str]:
    return {"MEDIAGATE_LOCAL_DELAY_SCALE": "0.015"}  # SLOW_VIDEO in about two seconds


async def test_a_cancelled_wait_leaves_the_generation_running(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    call = {**SLOW_VIDEO, "idempotency_key": "cancelled-wait", "wait_seconds": 50}
    waiting = anyio.Event()

    async def progressed(progress: float, total: float | None, message: str | None) -> None:
        waiting.set()

    async with mcp_connect(mcp_server) as client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:

                async def wait_for_it() -> None:
                    await client.call_tool("generate_media", call, progress_callback=progressed)

                tg.start_soon(wait_for_it)
                with anyio.fail_after(ENDED_WITHIN_S):
                    await waiting.wait()
                scope.cancel()  # the client sends notifications/cancelled
        assert scope.cancelled_caught

        # Same session, still usable; the same key finds the same, still running job.
        again = await call_ok(client, "generate_media", {**call, "wait_seconds": 0})
        assert again["status"] in UNFINISHED | {"completed"}, again
        done = await wait_until_completed(client, again["generation_id"])

    assert done["outputs"]


def _modern_meta(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
        **(extra or {}),
    }


@pytest.mark.parametrize("mcp_transport", ["http"])
async def test_closing_the_response_stream_ends_the_wait_not_the_generation(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    assert mcp_server.url is not None
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "generate_media",
            "arguments": {**SLOW_VIDEO, "idempotency_key": "dropped", "wait_seconds": 50},
            "_meta": _modern_meta({"progressToken": "p"}),
        },
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": "generate_media",
    }
    async with (
        httpx2.AsyncClient(timeout=30.0) as http,
        http.stream("POST", mcp_server.url, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data:") and "notifications/progress" in line:
                break  # it is waiting: hang up
    async with mcp_connect(mcp_server, mode="auto") as client:
        [row] = (await call_ok(client, "list_generations", {}))["generations"]
        assert row["status"] in UNFINISHED | {"completed"}, row
        done = await wait_until_completed(client, row["generation_id"])
    assert done["outputs"]


@pytest.mark.parametrize("mcp_transport", ["http"])
@pytest.mark.parametrize("mcp_server_env", [{"MEDIAGATE_LOCAL_DELAY_SCALE": "1.0"}])
async def test_notifications_cancelled_ends_the_waiting_response_at_once(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    """Handshake-era HTTP: the server answers the cancelled request (``-32800``) right away
    rather than after its 50 s wait, and the job (~144 s here) carries on."""
    assert mcp_server.url is not None
    base = {"Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=30.0) as http:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": HANDSHAKE,
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        }
        opened = await http.post(mcp_server.url, json=init, headers=base)
        assert opened.status_code == 200
        session = {
            **base,
            "Mcp-Session-Id": opened.headers["mcp-session-id"],
            "MCP-Protocol-Version": HANDSHAKE,
        }
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(mcp_server.url, json=initialized, headers=session)).is_success
        call = {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {
                "name": "generate_media",
                "arguments": {**SLOW_VIDEO, "idempotency_key": "told", "wait_seconds": 50},
                "_meta": {"progressToken": "p"},
            },
        }
        answer: dict[str, Any] | None = None
        async with http.stream("POST", mcp_server.url, json=call, headers=session) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("data:") and "notifications/progress" in line:
                    break
            cancel = {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": 7, "reason": "the user moved on"},
            }
            sent = time.monotonic()
            assert (await http.post(mcp_server.url, json=cancel, headers=session)).is_success
            with anyio.fail_after(ENDED_WITHIN_S):
                async for line in lines:
                    if line.startswith("data:") and '"id":7' in line.replace(" ", ""):
                        answer = json.loads(line[5:])
                        break
            took = time.monotonic() - sent

    assert answer is not None and answer["error"]["code"] == -32800, answer
    assert took < ENDED_WITHIN_S
    async with mcp_connect(mcp_server) as client:
        [row] = (await call_ok(client, "list_generations", {}))["generations"]
        status = await call_ok(
            client, "get_generation_status", {"generation_id": row["generation_id"]}
        )
    assert status["status"] == "processing", status
