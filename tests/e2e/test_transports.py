"""The server shell over stdio, streamable HTTP and SSE, driven by the real mcp client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import mcp_types
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream
from fixture_server import NOISE
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp_types import CallToolResult, TextContent
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]
Launch = Callable[..., "McpServer"]

FIXTURE_COMMAND = (sys.executable, str(Path(__file__).with_name("fixture_server.py")))
MEDIAGATE_COMMAND = (sys.executable, "-m", "mediagate", "serve")
TIMEOUT_S = 30.0
TOKEN = "s3cret-test-token"
HTTP_TRANSPORTS = ("http", "sse")


@pytest.fixture
def mcp_server_command() -> Sequence[str]:
    return FIXTURE_COMMAND


def _text(result: CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


def _endpoint_request(server: McpServer, **headers: str) -> httpx2.Request:
    """The first request of a session on ``server``'s transport (nothing is consumed)."""
    assert server.url is not None
    if server.transport == "sse":
        return httpx2.Request("GET", server.url, headers={"accept": "text/event-stream", **headers})
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_PROTOCOL_VERSIONS[-1],
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        },
    }
    return httpx2.Request(
        "POST",
        server.url,
        json=initialize,
        headers={"accept": "application/json, text/event-stream", **headers},
    )


def _status(server: McpServer, **headers: str) -> tuple[int, bytes]:
    """Status and (for rejections) body of the session-opening request; streams are not read."""
    with httpx2.Client(timeout=TIMEOUT_S) as http:
        response = http.send(_endpoint_request(server, **headers), stream=True)
        try:
            body = response.read() if response.status_code >= 400 else b""
        finally:
            response.close()
    return response.status_code, body


async def _wait_for(path: Path) -> None:
    with anyio.fail_after(TIMEOUT_S):
        while not path.exists():
            await anyio.sleep(0.02)


# --- every transport --------------------------------------------------------------------------


async def test_initialize_reports_identity_instructions_and_tools_capability(
    mcp_session: Client,
) -> None:
    assert mcp_session.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
    assert mcp_session.server_info is not None
    assert mcp_session.server_info.name == "mediagate"
    assert mcp_session.instructions
    assert mcp_session.server_capabilities.tools is not None


async def test_tools_list_shows_tools_with_their_output_schemas(mcp_session: Client) -> None:
    tools = {tool.name: tool for tool in (await mcp_session.list_tools()).tools}

    assert {"echo", "slow", "progress_requested", "fail", "noisy"} <= tools.keys()
    echo = tools["echo"]
    assert echo.output_schema is not None
    assert set(echo.output_schema["properties"]) == {"text", "repeat", "joined"}
    assert echo.input_schema["required"] == ["text"]
    assert tools["slow"].output_schema is not None


async def test_tool_result_has_structured_content_equal_to_its_json_text(
    mcp_session: Client,
) -> None:
    result = await mcp_session.call_tool("echo", {"text": "héllo", "repeat": 2})

    assert not result.is_error
    assert result.structured_content == {"text": "héllo", "repeat": 2, "joined": "héllo héllo"}
    assert json.loads(_text(result)) == result.structured_content


async def test_progress_notifications_arrive_in_order_with_messages(mcp_session: Client) -> None:
    steps = 5
    seen: list[tuple[float, float | None, str | None]] = []
    all_seen = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))
        if len(seen) == steps:
            all_seen.set()

    result = await mcp_session.call_tool("slow", {"steps": steps}, progress_callback=on_progress)
    with anyio.fail_after(TIMEOUT_S):
        await all_seen.wait()

    assert not result.is_error
    assert [p for p, _, _ in seen] == [1, 2, 3, 4, 5]
    assert {total for _, total, _ in seen} == {steps}
    assert [m for _, _, m in seen] == [f"step {i} of {steps}" for i in range(1, steps + 1)]


async def test_progress_is_sent_only_when_the_client_sends_a_progress_token(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    progress: list[mcp_types.ProgressNotification] = []
    three_seen = anyio.Event()

    async def record(message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ProgressNotification):
            progress.append(message)
            if len(progress) == 3:
                three_seen.set()

    async def ignore(progress: float, total: float | None, message: str | None) -> None:
        pass

    async with mcp_connect(mcp_server, message_handler=record) as client:
        await client.call_tool("slow", {"steps": 3})
        # The ping's answer travels behind any notification the call could have emitted.
        await client.session.send_ping()
        without_token = len(progress)
        await client.call_tool("slow", {"steps": 3}, progress_callback=ignore)
        with anyio.fail_after(TIMEOUT_S):
            await three_seen.wait()

    assert without_token == 0
    assert [n.params.progress for n in progress] == [1, 2, 3]


async def test_a_tool_can_tell_whether_the_client_asked_for_progress(mcp_session: Client) -> None:
    async def ignore(progress: float, total: float | None, message: str | None) -> None:
        pass

    without = await mcp_session.call_tool("progress_requested", {})
    with_callback = await mcp_session.call_tool("progress_requested", {}, progress_callback=ignore)

    assert without.structured_content == {"result": False}
    assert with_callback.structured_content == {"result": True}


async def test_mediagate_error_comes_back_as_is_error_with_the_json_payload(
    mcp_session: Client,
) -> None:
    result = await mcp_session.call_tool("fail", {"code": "unknown_model"})

    assert result.is_error
    assert json.loads(_text(result)) == {
        "error": "unknown_model",
        "message": "Model 'nano-banana-3' does not exist.",
        "suggestions": ["nano-banana-2"],
    }


async def test_arguments_the_schema_rejects_come_back_as_invalid_arguments(
    mcp_session: Client,
) -> None:
    result = await mcp_session.call_tool("echo", {"text": "x", "repeat": 9})

    assert result.is_error
    payload = json.loads(_text(result))
    assert payload["error"] == "invalid_arguments"
    assert payload["field"] == "repeat"
    assert "less than or equal to 5" in payload["message"]


async def test_ping_is_answered(mcp_session: Client) -> None:
    assert await mcp_session.session.send_ping() == mcp_types.EmptyResult()


async def test_cancelling_a_call_cancels_the_tool_on_the_server(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    async with mcp_connect(mcp_server) as client:
        started = anyio.Event()

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            started.set()

        async with anyio.create_task_group() as tg:

            async def call() -> None:
                args = {"steps": 1, "hold": True, "tag": "cancel-me"}
                await client.call_tool("slow", args, progress_callback=on_progress)

            tg.start_soon(call)
            with anyio.fail_after(TIMEOUT_S):
                await started.wait()
            tg.cancel_scope.cancel()

        await _wait_for(mcp_server.data_dir / "cancelled-cancel-me")
        # The connection survives the cancellation.
        assert not (await client.call_tool("echo", {"text": "still here"})).is_error


async def test_a_2026_protocol_client_gets_results_progress_and_errors(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    steps: list[float] = []
    both_seen = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(progress)
        if len(steps) == 2:
            both_seen.set()

    async with mcp_connect(mcp_server, mode="auto") as client:
        echo = await client.call_tool("echo", {"text": "modern"})
        slow = await client.call_tool("slow", {"steps": 2}, progress_callback=on_progress)
        with anyio.fail_after(TIMEOUT_S):
            await both_seen.wait()
        failed = await client.call_tool("fail", {"code": "unknown_model"})
        protocol = client.protocol_version

    assert protocol in MODERN_PROTOCOL_VERSIONS
    assert echo.structured_content == {"text": "modern", "repeat": 1, "joined": "modern"}
    assert not slow.is_error
    assert steps == [1, 2]
    assert failed.is_error
    assert json.loads(_text(failed))["error"] == "unknown_model"


# --- HTTP transports ---------------------------------------------------------------------------


@pytest.mark.parametrize("mcp_transport", HTTP_TRANSPORTS)
def test_a_foreign_host_header_is_rejected(mcp_server: McpServer) -> None:
    status, body = _status(mcp_server, host="attacker.example:8000")

    assert status == 421
    assert b"Invalid Host header" in body


@pytest.mark.parametrize("mcp_transport", HTTP_TRANSPORTS)
def test_a_foreign_origin_is_rejected(mcp_server: McpServer) -> None:
    status, _ = _status(mcp_server, origin="http://attacker.example")

    assert status == 403


@pytest.mark.parametrize("mcp_transport", HTTP_TRANSPORTS)
@pytest.mark.parametrize("mcp_server_env", [{"MEDIAGATE_AUTH_TOKEN": TOKEN}])
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, "Bearer"]
)
def test_requests_without_the_bearer_token_get_401(
    mcp_server: McpServer, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}

    status, body = _status(mcp_server, **headers)

    assert status == 401
    assert json.loads(body)["error"] == "unauthorized"


@pytest.mark.parametrize("mcp_transport", HTTP_TRANSPORTS)
@pytest.mark.parametrize("mcp_server_env", [{"MEDIAGATE_AUTH_TOKEN": TOKEN}])
async def test_a_client_with_the_bearer_token_can_call_tools(
    mcp_server: McpServer, mcp_connect: Connect
) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with mcp_connect(mcp_server, headers=bearer) as client:
        result = await client.call_tool("echo", {"text": "authorized"})

    assert not result.is_error


@pytest.mark.parametrize("mcp_transport", HTTP_TRANSPORTS)
@pytest.mark.parametrize("mcp_server_env", [{"MEDIAGATE_AUTH_TOKEN": TOKEN}])
def test_healthz_answers_without_credentials(mcp_server: McpServer) -> None:
    response = httpx2.get(f"{mcp_server.base_url}/healthz", timeout=TIMEOUT_S)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("command", [MEDIAGATE_COMMAND, FIXTURE_COMMAND])
@pytest.mark.parametrize("transport", HTTP_TRANSPORTS)
def test_a_non_loopback_host_without_a_token_is_refused_at_startup(
    mcp_launch: Launch, command: Sequence[str], transport: str
) -> None:
    # A stdio recipe carries the argv and environment without starting anything.
    recipe = mcp_launch("stdio", command=command)
    argv = [*recipe.argv[:-2], "--transport", transport, "--host", "0.0.0.0", "--port", "0"]

    done = subprocess.run(
        argv, cwd=recipe.workdir, env=recipe.env, capture_output=True, timeout=TIMEOUT_S
    )

    assert done.returncode == 2
    assert b"MEDIAGATE_AUTH_TOKEN" in done.stderr
    assert done.stdout == b""


@pytest.mark.parametrize("transport", HTTP_TRANSPORTS)
def test_a_non_loopback_host_with_a_token_accepts_its_own_and_allowed_host_names(
    mcp_launch: Launch, transport: str
) -> None:
    server = mcp_launch(
        transport,
        command=FIXTURE_COMMAND,
        env={"MEDIAGATE_AUTH_TOKEN": TOKEN},
        args=["--host", "0.0.0.0", "--allowed-host", "mediagate.test"],
    )
    port = server.base_url.rsplit(":", 1)[1]
    auth = {"authorization": f"Bearer {TOKEN}"}

    assert _status(server, host=f"0.0.0.0:{port}", **auth)[0] == 200
    assert _status(server, host=f"mediagate.test:{port}", **auth)[0] == 200
    assert _status(server, host=f"elsewhere.test:{port}", **auth)[0] == 421


# --- stdio ---------------------------------------------------------------------------------------


class _RawStdio:
    """Line-level JSON-RPC over a server's stdin/stdout, recording every stdout line."""

    def __init__(self, process: anyio.abc.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._stdin = process.stdin
        self._stdout = BufferedByteReceiveStream(process.stdout)
        self.lines: list[bytes] = []

    async def send(self, message: Mapping[str, Any]) -> None:
        await self._stdin.send(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")

    async def request(self, id_: int, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        await self.send({"id": id_, "method": method, "params": params})
        while True:
            line = await self._stdout.receive_until(b"\n", 1 << 20)
            self.lines.append(line)
            message = json.loads(line)
            if message.get("id") == id_:
                return dict(message)

    async def drain(self) -> None:
        """Close stdin and record the rest of stdout until the server exits."""
        await self._stdin.aclose()
        rest = b""
        try:
            while True:
                rest += await self._stdout.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            pass
        self.lines.extend(line for line in rest.split(b"\n") if line)


@pytest.mark.parametrize("mcp_transport", ["stdio"])
async def test_stdio_stdout_carries_nothing_but_json_rpc(mcp_server: McpServer) -> None:
    with mcp_server.stderr_path.open("wb") as stderr:
        process = await anyio.open_process(
            mcp_server.argv, cwd=mcp_server.workdir, env=mcp_server.env, stderr=stderr
        )
    async with process:
        raw = _RawStdio(process)
        with anyio.fail_after(TIMEOUT_S):
            init = {
                "protocolVersion": HANDSHAKE_PROTOCOL_VERSIONS[-1],
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            }
            assert "result" in await raw.request(1, "initialize", init)
            await raw.send({"method": "notifications/initialized"})
            await raw.request(2, "tools/list", {})
            noisy = await raw.request(3, "tools/call", {"name": "noisy", "arguments": {}})
            slow = {"name": "slow", "arguments": {"steps": 3}, "_meta": {"progressToken": "t"}}
            await raw.request(4, "tools/call", slow)
            await raw.request(5, "tools/call", {"name": "fail", "arguments": {}})
            await raw.drain()
            assert await process.wait() == 0

    assert noisy["result"]["content"][0]["text"] == "done"
    assert len(raw.lines) >= 8  # 5 responses + 3 progress notifications
    for line in raw.lines:
        mcp_types.jsonrpc_message_adapter.validate_json(line)
    assert mcp_server.stderr().count(NOISE) == 3


@pytest.mark.parametrize("mcp_transport", ["stdio"])
@pytest.mark.parametrize("mcp_server_command", [MEDIAGATE_COMMAND])
async def test_python_m_mediagate_serve_answers_over_stdio(mcp_session: Client) -> None:
    assert mcp_session.server_info is not None
    assert mcp_session.server_info.name == "mediagate"
    await mcp_session.list_tools()
