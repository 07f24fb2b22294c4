"""The baseline for ``bench_server.py``: a bare ``MCPServer`` with one ``echo`` tool, on stdio.

It is the floor any server built on the same SDK pays: the interpreter, the SDK import, one
tool and the stdio transport. It is served the same way ``mediagate serve`` serves stdio
(``anyio.run`` around ``run_stdio_async``), and nothing else is imported.
Run: ``python bench/bare_server.py`` (speaks MCP on stdin/stdout).
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer

server: MCPServer = MCPServer(name="bare", version="0")


@server.tool()
async def echo(text: str) -> str:
    """Return ``text`` unchanged."""
    return text


if __name__ == "__main__":
    anyio.run(server.run_stdio_async)
