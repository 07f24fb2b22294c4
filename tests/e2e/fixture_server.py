"""mediagate's real ``serve`` path with test-only tools, launched by the e2e fixtures.

Run as a script with the ``mediagate serve`` options::

    python tests/e2e/fixture_server.py --transport http --port 0

Tools:
    ``echo``   structured output (``EchoResult``) with the same JSON as text
    ``slow``   reports ``steps`` progress notifications; ``hold=true`` then waits to be
               cancelled and writes ``<data_dir>/cancelled-<tag>`` when it is
    ``progress_requested``  whether the call carried a progress token
    ``fail``   raises ``MediagateError`` (code from the ``code`` argument)
    ``noisy``  prints to stdout, writes to fd 1 and logs, to prove stdio stays clean
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel, Field

from mediagate.cli import add_serve_arguments, configure_logging, serve, serve_options
from mediagate.errors import MediagateError
from mediagate.server.app import ToolRegistrar
from mediagate.settings import Settings

NOISE = "noise-that-must-not-reach-stdout"


class EchoResult(BaseModel):
    text: str
    repeat: int
    joined: str


class SlowResult(BaseModel):
    steps: int
    tag: str


def fixture_tools(settings: Settings) -> ToolRegistrar:
    """The registrar for the test tools; markers go under ``settings.data_dir``."""

    def register(server: MCPServer[Any]) -> None:
        @server.tool()
        def echo(text: str, repeat: Annotated[int, Field(ge=1, le=5)] = 1) -> EchoResult:
            """Return ``text`` repeated ``repeat`` times."""
            return EchoResult(text=text, repeat=repeat, joined=" ".join([text] * repeat))

        @server.tool()
        async def slow(
            steps: Annotated[int, Field(ge=1, le=1000)],
            ctx: Context,
            hold: bool = False,
            tag: str = "slow",
        ) -> SlowResult:
            """Report ``steps`` progress notifications; with ``hold``, then wait until cancelled."""
            try:
                for step in range(1, steps + 1):
                    await ctx.report_progress(step, steps, f"step {step} of {steps}")
                if hold:
                    await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                (settings.data_dir / f"cancelled-{tag}").write_text("cancelled")
                raise
            return SlowResult(steps=steps, tag=tag)

        @server.tool()
        async def progress_requested(ctx: Context) -> bool:
            """Whether this call's request carried a progress token."""
            return "progress_token" in (ctx.request_context.meta or {})

        @server.tool()
        def fail(code: str = "unknown_model") -> EchoResult:
            """Reject the call with ``code``."""
            raise MediagateError(
                code, "Model 'nano-banana-3' does not exist.", suggestions=["nano-banana-2"]
            )

        @server.tool()
        def noisy() -> str:
            """Write to stdout three ways; over stdio none of it may reach the protocol stream."""
            print(f"{NOISE} (print)")
            os.write(1, f"{NOISE} (fd 1)\n".encode())
            logging.getLogger("fixture_server").warning("%s (logging)", NOISE)
            return "done"

    return register


def main() -> int:
    configure_logging("info")
    parser = argparse.ArgumentParser(prog="fixture_server")
    add_serve_arguments(parser)
    args = parser.parse_args()
    configure_logging(args.log_level)
    settings = Settings()
    return serve(settings, serve_options(args), tools=[fixture_tools(settings)])


if __name__ == "__main__":
    raise SystemExit(main())
