"""MCP resources: ``mediagate://generations/{id}`` (JSON) and its files (bytes).

Clients may subscribe to a generation to be told of each change (``subscriptions.py``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from mediagate.server.results import generation_result
from mediagate.server.services import Services
from mediagate.server.subscriptions import GenerationSubscriptions

#: Larger files are not inlined into a resource read (they would flood the agent's context);
#: their url/path are the way to open them.
MAX_INLINE_BYTES = 8 * 1024 * 1024


def register(services: Services) -> Any:
    """The registrar for the generation resources, closed over ``services``."""

    def registrar(server: MCPServer[Any]) -> None:
        @server.resource(
            "mediagate://generations/{generation_id}",
            name="generation",
            description="A generation's status, outputs and error as JSON.",
            mime_type="application/json",
        )
        async def generation(generation_id: str) -> str:
            store = await services.job_store()
            gen = await store.get(generation_id)
            result = generation_result(gen, services.media)
            return json.dumps(result.model_dump(mode="json", exclude_none=True))

        @server.resource(
            "mediagate://generations/{generation_id}/{filename}",
            name="generation file",
            description="One output file of a generation (bytes; large videos: use its url).",
        )
        async def generation_file(generation_id: str, filename: str) -> bytes:
            store = await services.job_store()
            gen = await store.get(generation_id)
            for out in gen.outputs:
                for key in ("relpath", "thumbnail_relpath"):
                    rel = out.get(key)
                    if rel and str(rel).rsplit("/", 1)[-1] == filename:
                        path = services.media.resolve(str(rel))
                        if path is None:
                            break
                        size = path.stat().st_size
                        if size > MAX_INLINE_BYTES:
                            raise ResourceError(
                                f"{filename} is {size} bytes; open it at "
                                f"{services.media.url_for(str(rel))} instead."
                            )
                        return await asyncio.to_thread(path.read_bytes)
            raise ResourceError(f"generation {generation_id} has no file {filename!r}")

        enable_subscriptions(server, services)

    return registrar


def enable_subscriptions(server: MCPServer[Any], services: Services) -> GenerationSubscriptions:
    """Push ``notifications/resources/updated`` for every change of a subscribed generation."""
    from mediagate.server.app import MediagateServer

    mediagate = server if isinstance(server, MediagateServer) else None
    subscriptions = GenerationSubscriptions(
        services, mediagate.subscription_bus if mediagate is not None else None
    )
    subscriptions.install(server)
    if mediagate is not None:
        mediagate.generation_subscriptions = subscriptions
    return subscriptions
