"""Resource updates for long jobs: a client subscribed to ``mediagate://generations/{id}`` gets
one ``notifications/resources/updated`` per persisted change (handshake era), or a
``ResourceUpdated`` event on its ``subscriptions/listen`` stream (2026-07-28). In-process,
through the real client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types import INVALID_PARAMS, CallToolResult

from mediagate.jobs.model import Generation
from mediagate.server.app import MediagateServer, build_server
from mediagate.server.services import Services
from mediagate.server.subscriptions import GenerationSubscriptions
from mediagate.server.tools import default_tool_registrars
from mediagate.settings import Settings

SLOW_VIDEO = {"model": "kling-3-0-std", "prompt": "a slow pan over hills", "duration": 3}
TIMEOUT_S = 60.0


@asynccontextmanager
async def serving(data_dir: Path, scale: float) -> AsyncIterator[tuple[MediagateServer, Services]]:
    settings = Settings(data_dir=data_dir, local_delay_scale=scale)
    services = Services(settings)
    server = build_server(settings, tools=default_tool_registrars(services))
    async with services.running():
        yield server, services


def feed(server: MediagateServer) -> GenerationSubscriptions:
    assert server.generation_subscriptions is not None
    return server.generation_subscriptions


class Updates:
    """Collects ``notifications/resources/updated`` per URI (a client message handler)."""

    def __init__(self) -> None:
        self.uris: list[str] = []

    async def __call__(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.uris.append(str(message.params.uri))

    def count(self, uri: str) -> int:
        return self.uris.count(uri)


class Deliverable:
    """Counts a generation's changes that happen while someone is subscribed to it.

    Registered on the runner before the server's own listener (which attaches on the first
    subscribe), it sees each change just before the server decides whom to tell.
    """

    def __init__(self, subscriptions: GenerationSubscriptions, uri: str) -> None:
        self.subscriptions = subscriptions
        self.uri = uri
        self.watched = 0
        self.changes = 0
        self.last: Generation | None = None

    def __call__(self, gen: Generation) -> None:
        if self.uri.endswith(gen.id):
            self.changes += 1
            self.last = gen
            if self.subscriptions.subscriber_count(self.uri) > 0:
                self.watched += 1


async def subscribe(client: Client, uri: str) -> None:
    request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
    await client.session.send_request(request, types.EmptyResult)


async def unsubscribe(client: Client, uri: str) -> None:
    request = types.UnsubscribeRequest(params=types.UnsubscribeRequestParams(uri=uri))
    await client.session.send_request(request, types.EmptyResult)


async def until(check: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.02)


def generation_id(result: CallToolResult) -> str:
    assert result.structured_content is not None, result
    return str(result.structured_content["generation_id"])


async def test_a_subscriber_gets_one_update_per_change_until_the_generation_is_final(
    tmp_path: Path,
) -> None:
    updates = Updates()
    async with (
        serving(tmp_path, 0.02) as (server, services),
        Client(server, mode="legacy", message_handler=updates) as client,
    ):
        assert client.server_capabilities.resources is not None
        assert client.server_capabilities.resources.subscribe is True
        gid = generation_id(await client.call_tool("generate_media", SLOW_VIDEO))
        uri = f"mediagate://generations/{gid}"
        counter = Deliverable(feed(server), uri)
        services.runner.add_listener(counter)
        await subscribe(client, uri)
        await subscribe(client, uri)  # again on the same connection: still one subscriber
        assert feed(server).subscriber_count(uri) == 1
        await until(lambda: counter.last is not None and counter.last.is_terminal, "the end")
        await until(lambda: updates.count(uri) >= counter.watched, "the last update")
        final = await client.read_resource(uri)

    assert counter.last is not None and counter.last.status.value == "completed"
    assert updates.count(uri) == counter.watched >= 5  # queued/rendering steps/completed
    assert feed(server).subscriber_count(uri) == 0  # forgotten once final
    assert '"status": "completed"' in final.contents[0].text  # type: ignore[union-attr]


async def test_unsubscribing_stops_the_updates(tmp_path: Path) -> None:
    updates = Updates()
    async with (
        serving(tmp_path, 0.02) as (server, services),
        Client(server, mode="legacy", message_handler=updates) as client,
    ):
        gid = generation_id(await client.call_tool("generate_media", SLOW_VIDEO))
        uri = f"mediagate://generations/{gid}"
        counter = Deliverable(feed(server), uri)
        services.runner.add_listener(counter)
        await subscribe(client, uri)
        await until(lambda: updates.count(uri) >= 2, "two updates")
        await unsubscribe(client, uri)  # another request: the connection is the subscriber
        assert feed(server).subscriber_count(uri) == 0
        await until(lambda: counter.last is not None and counter.last.is_terminal, "the end")
        await until(lambda: updates.count(uri) >= counter.watched, "the updates in flight")

    assert updates.count(uri) == counter.watched < counter.changes


async def test_only_existing_generations_can_be_subscribed_to(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, 0.0) as (server, _),
        Client(server, mode="legacy") as client,
    ):
        uris = (
            "mediagate://generations/gen_01M7YEKJ6ZC89QV7KZTGD80DRW",
            "mediagate://generations/gen_01M7YEKJ6ZC89QV7KZTGD80DRW/video.mp4",
            "https://example.com/",
        )
        for uri in uris:
            with pytest.raises(MCPError) as caught:
                await subscribe(client, uri)
            assert caught.value.code == INVALID_PARAMS, uri
        assert all(feed(server).subscriber_count(uri) == 0 for uri in uris)


async def test_a_2026_listen_stream_gets_the_generation_updates(tmp_path: Path) -> None:
    events: list[str] = []
    async with serving(tmp_path, 0.02) as (server, services):
        async with Client(server, mode="legacy") as starter:
            gid = generation_id(await starter.call_tool("generate_media", SLOW_VIDEO))
        uri = f"mediagate://generations/{gid}"
        counted = Deliverable(feed(server), uri)
        async with (
            Client(server, mode="auto") as client,
            client.listen(resource_subscriptions=[uri]) as stream,
        ):
            services.runner.add_listener(counted)  # changes from here on are surely seen
            with anyio.fail_after(TIMEOUT_S):
                async for event in stream:
                    assert isinstance(event, ResourceUpdated)
                    events.append(event.uri)
                    last = counted.last
                    if last is not None and last.is_terminal and len(events) >= counted.changes:
                        break

    assert set(events) == {uri}
    assert counted.changes >= 5 and len(events) >= counted.changes
