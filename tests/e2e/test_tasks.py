"""Long jobs as MCP tasks end to end: a client that declares the tasks extension (through the
SDK's client extension API, protocol 2026-07-28) runs generations and trims as tasks against
the real server over stdio and streamable HTTP: progress in the status messages, the result
through ``tasks/get``, ``tasks/cancel``, and a server restart in the middle of a task."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx2
import mcp_types as types
import pytest
from helpers import SLOW_VIDEO, assert_video, ok_payload, probe_video
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from pydantic import ConfigDict, TypeAdapter

if TYPE_CHECKING:
    from conftest import McpServer

Launch = Callable[..., "McpServer"]

TASKS = "io.modelcontextprotocol/tasks"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
TIMEOUT_S = 60.0
POLL_S = 0.05
#: SLOW_VIDEO (~144 s upstream) in about two seconds; at 1.0 it outlasts every test.
FEW_SECONDS = {"MEDIAGATE_LOCAL_DELAY_SCALE": "0.015"}
FOREVER = {"MEDIAGATE_LOCAL_DELAY_SCALE": "1.0"}
RESUME = {"MEDIAGATE_LOCAL_DELAY_SCALE": "0.01"}
_ANY = TypeAdapter(dict[str, Any])


# --- the client side of the extension -----------------------------------------------------------


class CreateTask(types.Result):
    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"]
    task_id: str
    status: str


class TaskIdParams(types.RequestParams):
    task_id: str


class GetTask(types.Request[TaskIdParams, Literal["tasks/get"]]):
    name_param = "taskId"  # SEP-2663: Mcp-Name carries the task id on HTTP


class CancelTask(types.Request[TaskIdParams, Literal["tasks/cancel"]]):
    name_param = "taskId"


async def get_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    request = GetTask(method="tasks/get", params=TaskIdParams(task_id=task_id))
    return await session.send_request(request, _ANY)


async def cancel_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    request = CancelTask(method="tasks/cancel", params=TaskIdParams(task_id=task_id))
    return await session.send_request(request, _ANY)


async def wait_task(
    session: ClientSession,
    task_id: str,
    accept: Callable[[dict[str, Any]], bool] = lambda t: t["status"] in TERMINAL,
    seen: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Poll ``tasks/get`` until ``accept(task)``; fail after ``TIMEOUT_S``."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        task = await get_task(session, task_id)
        if seen is not None:
            seen.append(task)
        if accept(task):
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} never got there: {task}")
        await anyio.sleep(POLL_S)


class TasksClient(ClientExtension):
    """Declares the extension; ``call_tool`` resolves a task by polling ``tasks/get``."""

    identifier = TASKS

    def __init__(self) -> None:
        self.created: list[CreateTask] = []
        self.seen: list[dict[str, Any]] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreateTask, resolve=self._resolve)]

    async def _resolve(self, created: CreateTask, ctx: ClaimContext) -> types.CallToolResult:
        self.created.append(created)
        task = await wait_task(ctx.session, created.task_id, seen=self.seen)
        assert task["status"] == "completed", task
        return types.CallToolResult.model_validate(task["result"], by_name=False)


@asynccontextmanager
async def connect_tasks(server: McpServer, extension: ClientExtension) -> AsyncIterator[Client]:
    """A 2026-07-28 client declaring ``extension``, over the server's transport."""
    async with AsyncExitStack() as stack:
        if server.transport == "stdio":
            errlog = stack.enter_context(server.stderr_path.open("a"))
            params = StdioServerParameters(
                command=server.argv[0], args=server.argv[1:], env=server.env, cwd=server.workdir
            )
            transport: Any = stdio_client(params, errlog=errlog)
        else:
            assert server.url is not None
            timeout = httpx2.Timeout(30.0, read=300.0)
            http = await stack.enter_async_context(httpx2.AsyncClient(timeout=timeout))
            transport = streamable_http_client(server.url, http_client=http)
        client = Client(transport, mode="auto", read_timeout_seconds=30.0, extensions=[extension])
        yield await stack.enter_async_context(client)


def rendering_percents(seen: list[dict[str, Any]]) -> list[int]:
    found = (re.fullmatch(r"rendering (\d+)%", t.get("statusMessage", "")) for t in seen)
    return [int(m.group(1)) for m in found if m]


@pytest.fixture(params=["stdio", "http"])
def mcp_transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mcp_server_env", [FEW_SECONDS], ids=["few-seconds"])
async def test_a_video_generation_runs_as_a_task(mcp_server: McpServer) -> None:
    tasks = TasksClient()
    async with connect_tasks(mcp_server, tasks) as client:
        assert client.server_capabilities.extensions == {TASKS: {}}
        result = await client.call_tool("generate_media", SLOW_VIDEO)
        [created] = tasks.created
        status = await client.call_tool("get_generation_status", {"generation_id": created.task_id})

    done = ok_payload(result)
    assert done["status"] == "completed" and done["generation_id"] == created.task_id
    # tasks/get delivered exactly what get_generation_status returns
    assert (result.content, result.structured_content) == (
        status.content,
        status.structured_content,
    )
    percents = rendering_percents(tasks.seen)
    assert len(set(percents)) >= 2 and percents == sorted(percents), percents
    assert tasks.seen[-1]["status"] == "completed"
    [out] = done["outputs"]
    assert_video(probe_video(Path(out["path"])), width=720, height=720, duration_s=3.0, audio=False)


@pytest.mark.parametrize("mcp_server_env", [FOREVER], ids=["forever"])
async def test_tasks_cancel_stops_the_generation(mcp_server: McpServer) -> None:
    async with connect_tasks(mcp_server, TasksClient()) as client:
        created = await client.session.call_tool("generate_media", SLOW_VIDEO, allow_claimed=True)
        assert isinstance(created, CreateTask)
        running = await wait_task(
            client.session, created.task_id, lambda t: "rendering" in t.get("statusMessage", "")
        )
        ack = await cancel_task(client.session, created.task_id)
        task = await get_task(client.session, created.task_id)
        status = await client.call_tool("get_generation_status", {"generation_id": created.task_id})

    assert running["status"] == "working"
    assert ack.get("resultType") == "complete" and "status" not in ack
    assert task["status"] == "cancelled" and "result" not in task
    assert ok_payload(status)["status"] == "canceled"


async def _start_task(server: McpServer) -> str:
    """Start SLOW_VIDEO as a task on ``server`` and return its id once it is rendering."""
    async with connect_tasks(server, TasksClient()) as client:
        created = await client.session.call_tool("generate_media", SLOW_VIDEO, allow_claimed=True)
        assert isinstance(created, CreateTask)
        await wait_task(
            client.session, created.task_id, lambda t: "rendering" in t.get("statusMessage", "")
        )
    return created.task_id


async def test_a_task_survives_a_server_restart(mcp_transport: str, mcp_launch: Launch) -> None:
    first = mcp_launch(mcp_transport, env=FOREVER)
    task_id = await _start_task(first)  # on stdio, leaving the session stops the server
    if first.process is not None:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=15)

    if first.process is None:  # stdio: the recipe again, now fast
        second = replace(first, env={**first.env, **RESUME})
    else:
        env: Mapping[str, str] = {**RESUME, "MEDIAGATE_DATA_DIR": str(first.data_dir)}
        second = mcp_launch(mcp_transport, env=env)
    async with connect_tasks(second, TasksClient()) as client:
        done = await wait_task(client.session, task_id)
        status = await client.call_tool("get_generation_status", {"generation_id": task_id})

    assert done["status"] == "completed"
    result = types.CallToolResult.model_validate(done["result"], by_name=False)
    assert (result.content, result.structured_content) == (
        status.content,
        status.structured_content,
    )
    [out] = ok_payload(result)["outputs"]
    assert Path(out["path"]).parent == first.data_dir / "media" / task_id


@pytest.mark.parametrize("mcp_transport", ["http"])
@pytest.mark.parametrize("mcp_server_env", [FOREVER], ids=["forever"])
async def test_on_http_the_mcp_name_header_must_name_the_task(mcp_server: McpServer) -> None:
    async with connect_tasks(mcp_server, TasksClient()) as client:
        created = await client.session.call_tool("generate_media", SLOW_VIDEO, allow_claimed=True)
        assert isinstance(created, CreateTask)
    assert mcp_server.url is not None
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS: {}}},
    }
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tasks/get",
        "params": {"taskId": created.task_id, "_meta": meta},
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tasks/get",
    }
    answers = {}
    async with httpx2.AsyncClient(timeout=30.0) as http:
        for name in (created.task_id, "gen_00000000000000000000000000", None):
            sent = {**headers, "Mcp-Name": name} if name else headers
            response = await http.post(mcp_server.url, json=body, headers=sent)
            answers[name] = response.json()
    assert answers[created.task_id]["result"]["taskId"] == created.task_id
    assert answers["gen_00000000000000000000000000"]["error"]["code"] == -32020
    assert answers[None]["result"]["status"] == "working"  # the header is optional here


@pytest.mark.parametrize("mcp_server_env", [{"MEDIAGATE_LOCAL_DELAY_SCALE": "0"}], ids=["fast"])
async def test_a_trim_runs_as_a_task(mcp_server: McpServer) -> None:
    tasks = TasksClient()
    async with connect_tasks(mcp_server, tasks) as client:
        made = await client.call_tool(
            "generate_media", {**SLOW_VIDEO, "wait_seconds": 50}
        )  # finished within its wait: the plain result, no task
        [source] = ok_payload(made)["outputs"]
        clip = await client.call_tool(
            "trim_video", {"source_url": source["url"], "start_s": 0.5, "end_s": 2.5}
        )
    [trim] = tasks.created
    assert trim.task_id.startswith("task_")
    trimmed = ok_payload(clip)
    assert (trimmed["start_s"], trimmed["end_s"]) == (0.5, 2.5)
    assert Path(trimmed["path"]).is_file()
