"""mediagate: an MCP server that gives AI agents one safe door to AI media generation."""

__version__ = "0.1.0"
