"""Learning of a generation's progress without polling, end to end: a client subscribed to
``mediagate://generations/{id}`` receives ``notifications/resources/updated`` as the job moves
(handshake era, every transport) or ``ResourceUpdated`` events on a ``subscriptions/listen``
stream (2026-07-28), up to and including the change that finishes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import anyio
import mcp_types as types
import pytest
from helpers import SLOW_VIDEO, call_ok, until
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.subscriptions import ResourceUpdated

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]

TIMEOUT_S = 60.0


@pytest.fixture
def mcp_server_env() -> dict[str, str]:
    return {"MEDIAGATE_LOCAL_DELAY_SCALE": "0.015"}  # SLOW_VIDEO in about two seconds


async def status_of(client: Client, uri: str) -> str:
    read = await client.read_resource(uri)
    content = read.contents[0]
    assert isinstance(content, types.TextResourceContents)
    return str(json.loads(content.text)["status"])


async def test_a_subscribed_client_hears_of_every_step_up_to_completion(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    updates: list[str] = []

    async def record(message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async with mcp_connect(mcp_server, message_handler=record) as client:
        assert client.server_capabilities.resources is not None
        assert client.server_capabilities.resources.subscribe is True
        started = await call_ok(client, "generate_media", SLOW_VIDEO)
        uri = f"mediagate://generations/{started['generation_id']}"
        request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
        await client.session.send_request(request, types.EmptyResult)

        statuses: list[str] = []

        async def finished() -> bool:
            # Read the resource after each update, as a client would; stop once completed.
            while len(statuses) < len(updates):
                statuses.append(await status_of(client, uri))
            return bool(statuses) and statuses[-1] == "completed"

        await until(finished, timeout=TIMEOUT_S, what="an update that finds it completed")

    assert set(updates) == {uri}
    assert len(updates) >= 5, updates  # the steps of rendering, then completion
    assert statuses.count("completed") >= 1


@pytest.mark.parametrize("mcp_transport", ["stdio", "http"])
async def test_a_2026_listen_stream_follows_the_generation(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    events: list[str] = []
    async with mcp_connect(mcp_server, mode="auto") as client:
        started = await call_ok(client, "generate_media", SLOW_VIDEO)
        uri = f"mediagate://generations/{started['generation_id']}"
        async with client.listen(resource_subscriptions=[uri]) as stream:
            with anyio.fail_after(TIMEOUT_S):
                async for event in stream:
                    assert isinstance(event, ResourceUpdated)
                    events.append(event.uri)
                    if await status_of(client, uri) == "completed":
                        break

    assert set(events) == {uri}
    assert len(events) >= 3, events
