"""End-to-end fixtures: the real server in a subprocess, reached through the real mcp client.

``mcp_session`` is a connected ``mcp.Client`` (initialize handshake done), parametrized over
``stdio``, ``http`` (streamable HTTP) and ``sse``. Override in a test module or with
``@pytest.mark.parametrize`` on the fixture name:

* ``mcp_transport``       which transports to run (``"stdio"``, ``"http"``, ``"sse"``)
* ``mcp_server_command``  argv prefix of the server (default ``python -m mediagate serve``)
* ``mcp_server_env``      extra environment (``MEDIAGATE_DATA_DIR`` is always a temp dir)
* ``mcp_server_args``     extra ``serve`` options

``mcp_server`` is the launched server (HTTP transports) or its launch recipe (stdio, where
the client spawns the process). ``mcp_connect(server, mode=..., headers=...)`` opens further
sessions and ``mcp_launch(transport, command=..., env=..., args=...)`` starts more servers
(stopped at teardown); tests reach these helpers through fixtures, not imports.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from mcp import Client
from mcp.client.session import MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

TRANSPORTS = ("stdio", "http", "sse")
FIXTURE_SERVER = Path(__file__).with_name("fixture_server.py")
MEDIAGATE_COMMAND = (sys.executable, "-m", "mediagate", "serve")
FIXTURE_COMMAND = (sys.executable, str(FIXTURE_SERVER))

#: Bounds, not waits: a healthy server is ready in well under a second.
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 30.0
_POLL_S = 0.02
_HTTP_TIMEOUT = httpx2.Timeout(CALL_TIMEOUT_S, read=300.0)
_ANNOUNCE = re.compile(r"serving MCP over .+ at (http://\S+)")

T = TypeVar("T")


class ServerStartError(RuntimeError):
    """The server exited or stayed silent before announcing its address."""


@dataclass
class McpServer:
    """A server under test: how to launch it and, for HTTP transports, where it listens."""

    transport: str
    argv: list[str]
    env: dict[str, str]
    workdir: Path
    data_dir: Path
    stderr_path: Path
    url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of an HTTP transport."""
        assert self.url is not None, "stdio servers have no URL"
        return self.url.rsplit("/", 1)[0]

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


def server_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The inherited environment without any ``MEDIAGATE_*``, plus a temp data dir and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAGATE_")}
    env["MEDIAGATE_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env


def prepare_server(
    transport: str,
    workdir: Path,
    *,
    command: Sequence[str] = MEDIAGATE_COMMAND,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> McpServer:
    """A launch recipe; the server runs in ``workdir`` (so no stray ``.env`` is read)."""
    data_dir = workdir / "data"
    argv = [*command, "--transport", transport]
    if transport != "stdio":
        argv += ["--host", "127.0.0.1", "--port", "0"]
    return McpServer(
        transport=transport,
        argv=[*argv, *args],
        env=server_env(data_dir, env),
        workdir=workdir,
        data_dir=data_dir,
        stderr_path=workdir / f"server-{transport}.stderr",
    )


def start_http_server(server: McpServer, *, timeout: float = READY_TIMEOUT_S) -> None:
    """Start an HTTP-transport server and wait (bounded) until it announces its URL."""
    with server.stderr_path.open("wb") as stderr:
        server.process = subprocess.Popen(
            server.argv,
            cwd=server.workdir,
            env=server.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if match := _ANNOUNCE.search(server.stderr()):
            server.url = match.group(1)
            return
        if server.process.poll() is not None:
            raise ServerStartError(
                f"server exited with {server.process.returncode}:\n{server.stderr()}"
            )
        time.sleep(_POLL_S)
    stop_process(server.process)
    raise ServerStartError(f"server did not announce its URL in {timeout}s:\n{server.stderr()}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)


@asynccontextmanager
async def connect(
    server: McpServer,
    *,
    mode: str = "legacy",
    headers: Mapping[str, str] | None = None,
    message_handler: MessageHandlerFnT | None = None,
) -> AsyncIterator[Client]:
    """A connected ``Client``; ``mode="legacy"`` is the initialize handshake, ``"auto"``
    negotiates the 2026-07-28 protocol."""
    async with AsyncExitStack() as stack:
        transport: AbstractAsyncContextManager[Any]
        if server.transport == "stdio":
            errlog = stack.enter_context(server.stderr_path.open("a"))
            params = StdioServerParameters(
                command=server.argv[0], args=server.argv[1:], env=server.env, cwd=server.workdir
            )
            transport = stdio_client(params, errlog=errlog)
        elif server.transport == "http":
            assert server.url is not None
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=dict(headers or {}), timeout=_HTTP_TIMEOUT)
            )
            transport = streamable_http_client(server.url, http_client=http)
        else:
            assert server.url is not None
            transport = sse_client(server.url, headers=dict(headers or {}))
        client = Client(
            transport,
            mode=mode,
            read_timeout_seconds=CALL_TIMEOUT_S,
            message_handler=message_handler,
        )
        yield await stack.enter_async_context(client)


async def hold_open(
    cm: AbstractAsyncContextManager[T],
) -> tuple[T, asyncio.Task[None], asyncio.Event]:
    """Enter ``cm`` in a task of its own; returns its value, the task and the release event.

    pytest-asyncio runs a fixture's setup and teardown in different tasks, and anyio cancel
    scopes (inside every mcp transport) must be exited by the task that entered them.
    """
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[T] = loop.create_future()
    release = asyncio.Event()

    async def owner() -> None:
        try:
            async with cm as value:
                ready.set_result(value)
                await release.wait()
        except BaseException as exc:
            if ready.done():
                raise
            ready.set_exception(exc)

    task = asyncio.create_task(owner())
    try:
        value = await asyncio.wait_for(asyncio.shield(ready), READY_TIMEOUT_S)
    except BaseException:
        release.set()
        task.cancel()
        raise
    return value, task, release


async def release_held(task: asyncio.Task[None], release: asyncio.Event) -> None:
    """Exit a context entered by ``hold_open`` (bounded) and surface its errors."""
    release.set()
    await asyncio.wait_for(task, STOP_TIMEOUT_S)


@pytest.fixture
def mcp_connect() -> Callable[..., AbstractAsyncContextManager[Client]]:
    """``connect``: ``async with mcp_connect(server, mode="auto", headers={...}) as client``."""
    return connect


@pytest.fixture
def mcp_launch(tmp_path: Path) -> Iterator[Callable[..., McpServer]]:
    """Factory for extra servers: ``mcp_launch("http", command=..., env=..., args=...)``.

    HTTP-transport servers are started (and stopped at teardown); stdio ones are recipes.
    """
    started: list[McpServer] = []

    def launch(
        transport: str,
        *,
        command: Sequence[str] = MEDIAGATE_COMMAND,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> McpServer:
        workdir = tmp_path / f"server-{len(started)}"
        workdir.mkdir()
        server = prepare_server(transport, workdir, command=command, env=env, args=args)
        if transport != "stdio":
            start_http_server(server)
            started.append(server)
        return server

    yield launch
    for server in started:
        assert server.process is not None
        stop_process(server.process)


@pytest.fixture(params=TRANSPORTS)
def mcp_transport(request: pytest.FixtureRequest) -> str:
    """The transport under test; every ``mcp_session`` test runs once per transport."""
    return str(request.param)


@pytest.fixture
def mcp_server_command() -> Sequence[str]:
    """argv prefix that runs the server; options such as ``--transport`` are appended."""
    return MEDIAGATE_COMMAND


@pytest.fixture
def mcp_server_env() -> Mapping[str, str]:
    """Extra environment for the server process."""
    return {}


@pytest.fixture
def mcp_server_args() -> Sequence[str]:
    """Extra ``serve`` options (they win over the defaults the fixture passes)."""
    return ()


@pytest.fixture
def mcp_server(
    mcp_transport: str,
    mcp_server_command: Sequence[str],
    mcp_server_env: Mapping[str, str],
    mcp_server_args: Sequence[str],
    tmp_path: Path,
) -> Iterator[McpServer]:
    """The server for ``mcp_transport``: running (HTTP) or ready to be spawned (stdio)."""
    server = prepare_server(
        mcp_transport,
        tmp_path,
        command=mcp_server_command,
        env=mcp_server_env,
        args=mcp_server_args,
    )
    if mcp_transport == "stdio":
        yield server
        return
    start_http_server(server)
    try:
        yield server
    finally:
        assert server.process is not None
        stop_process(server.process)


@pytest.fixture
async def mcp_session(mcp_server: McpServer) -> AsyncIterator[Client]:
    """A ``Client`` connected to ``mcp_server`` with the initialize handshake."""
    client, task, release = await hold_open(connect(mcp_server))
    try:
        yield client
    finally:
        await release_held(task, release)


# --- one server per test module (added for the tool tests; the fixtures above are unchanged) ---


@pytest.fixture(scope="module")
def mcp_shared_server_env() -> Mapping[str, str]:
    """Extra environment for ``mcp_shared_server``; override it (module scope) in a test module."""
    return {}


@pytest.fixture(scope="module")
def mcp_shared_server(
    mcp_shared_server_env: Mapping[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[McpServer]:
    """One running streamable-HTTP mediagate server shared by every test of a module.

    For tests whose calls do not depend on each other's generations (rejected calls,
    catalog reads); each test opens its own session with ``mcp_connect``.
    """
    server = prepare_server("http", tmp_path_factory.mktemp("shared"), env=mcp_shared_server_env)
    start_http_server(server)
    try:
        yield server
    finally:
        assert server.process is not None
        stop_process(server.process)
