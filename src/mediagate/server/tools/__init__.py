"""Tool modules; ``default_tool_registrars()`` lists what ``mediagate serve`` registers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mediagate.server.app import ToolRegistrar


def default_tool_registrars() -> list[ToolRegistrar]:
    """The registrars ``mediagate serve`` applies, in order."""
    return []
