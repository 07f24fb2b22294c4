"""The real ``mediagate serve`` plus the conformance suite's task fixture tools (test only).

Run as a script with the ``mediagate serve`` options::

    python tests/conformance/fixture_server.py --transport http --host 127.0.0.1 --port 0

This exists only so the official suite's tasks scenarios (SEP-2663, the ``extensions`` set of
``run_conformance.py``) exercise mediagate's tasks implementation: those scenarios call tools
by fixed names (``greet``, ``slow_compute``, ``failing_job``, ``protocol_error_job``) that a
media server has no reason to serve. Nothing in ``src/`` ships them. Everything else is the
production server: ``build_server`` with every ``default_tool_registrars`` tool, the media
routes, the services' lifecycle and the same transports as ``mediagate serve``.

The fixture tools are registered the way a mediagate tool becomes task-capable
(``enable_trim_tasks``): one ``ToolCallTasks`` source under ``<data_dir>/conformance-tasks``,
and ``server.tasks.add_tool(name, source.start, required=...)``. They are (docs/dev/
conformance-notes.md, section 4.2):

``greet(name)``
    sync only: ``Hello, {name}!``.
``slow_compute(seconds, label)``
    task-capable (sync for a client without the extension): sleeps ``seconds``, then says so;
    ``tasks/cancel`` interrupts the sleep and the task ends ``cancelled``.
``failing_job()``
    task *required*: after about a second, a rejected call (``MediagateError``, so an
    ``isError`` result): the task ends ``completed`` with ``result.isError``.
``protocol_error_job()``
    task-capable: crashes, so the task ends ``failed`` with a ``-32603`` error.

Not served, because mediagate has no tool that asks the client for input (``input_required``,
``tasks/update`` with responses, MRTR before task creation): ``confirm_delete``,
``multi_input``, ``test_tool_with_task``. Their checks stay in expected-failures-0.2.yml.

Without ``MEDIAGATE_DATA_DIR`` the server uses a throw-away data dir, never the user's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mediagate.cli import add_serve_arguments, configure_logging, media_routes, serve_options
from mediagate.errors import MediagateError
from mediagate.server.app import ToolRegistrar, build_server
from mediagate.server.services import Services
from mediagate.server.tasks import tasks_extension
from mediagate.server.tool_tasks import ToolCallTasks
from mediagate.server.tools import default_tool_registrars
from mediagate.server.transports import ServeConfigError, ServeOptions, run
from mediagate.settings import Settings

#: Long enough for any scenario (each has a 30 s time-out); the data dir is thrown away.
TASK_TTL_S = 3600.0


def task_fixture_tools(settings: Settings) -> ToolRegistrar:
    """The registrar for the suite's task fixture tools (see the module docstring)."""

    def register(server: MCPServer[Any]) -> None:
        tasks = tasks_extension(server)
        if tasks is None:
            raise RuntimeError("the fixture tools need a MediagateServer (its tasks extension)")

        @server.tool()
        def greet(name: str) -> str:
            """Greet ``name`` (sync only)."""
            return f"Hello, {name}!"

        @server.tool()
        async def slow_compute(
            seconds: Annotated[float, Field(ge=0, le=600)], label: str = ""
        ) -> str:
            """Sleep ``seconds``, then report it (a task for task-accepting clients)."""
            await anyio.sleep(seconds)
            return f"slow_compute {label!r}: done after {seconds:g} s"

        @server.tool()
        async def failing_job() -> str:
            """Reject the call after about a second (runs only as a task)."""
            await anyio.sleep(1)
            raise MediagateError("upstream_error", "failing_job always fails.")

        @server.tool()
        async def protocol_error_job() -> str:
            """Crash (a task for task-accepting clients, which then ends failed)."""
            raise RuntimeError("protocol_error_job always crashes")

        background = ToolCallTasks(
            server, settings.data_dir / "conformance-tasks", ttl_s=TASK_TTL_S
        )
        tasks.add_source(background)
        for name, message, required in (
            ("slow_compute", "computing", False),
            ("failing_job", "about to fail", True),
            ("protocol_error_job", "about to crash", False),
        ):
            background.add_tool(name, message)
            tasks.add_tool(name, background.start, required=required)

    return register


def main() -> int:
    configure_logging("info")
    parser = argparse.ArgumentParser(prog="fixture_server", description=__doc__.split("\n")[0])
    add_serve_arguments(parser)
    args = parser.parse_args()
    configure_logging(args.log_level)
    with contextlib.ExitStack() as stack:
        if not os.environ.get("MEDIAGATE_DATA_DIR"):
            temp = stack.enter_context(tempfile.TemporaryDirectory(prefix="mediagate-fixture-"))
            os.environ["MEDIAGATE_DATA_DIR"] = temp
        settings = Settings()
        return serve_with_fixtures(settings, serve_options(args))


def serve_with_fixtures(settings: Settings, options: ServeOptions) -> int:
    """``mediagate.cli.serve`` with the real tools *and* the fixture tools (the CLI's
    ``tools=`` replaces the real tools, routes and lifecycle, which this keeps)."""
    services = Services(settings)
    tools = [*default_tool_registrars(services), task_fixture_tools(settings)]
    server = build_server(settings, tools=tools)
    try:
        run(server, settings, options, routes=media_routes(services), lifecycle=services.running)
    except ServeConfigError as exc:
        print(f"fixture_server: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
