"""The MCP tools. Each module exposes ``register(services)`` returning a registrar."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mediagate.server.app import ToolRegistrar
    from mediagate.server.services import Services


def default_tool_registrars(services: Services) -> list[ToolRegistrar]:
    """Every tool mediagate serves, closed over the process's ``services``."""
    from mediagate.server.resources import register as resources
    from mediagate.server.tools import balance, generation, media, models

    return [
        models.register(services),
        generation.register(services),
        media.register(services),
        balance.register(services),
        resources(services),
    ]
