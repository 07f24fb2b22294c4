"""Tool calls as durable background tasks: trim_video through the real server, and the task
store's own guarantees (crash → failed, cancel, resume after a restart, purge after the TTL)
on small servers built for the purpose, in-process through the real client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult
from mcp_types.jsonrpc import MISSING_REQUIRED_CLIENT_CAPABILITY
from tasks_client import CreateTask, TasksClient, cancel_task, get_task, wait_task

from mediagate.server.app import MediagateServer, build_server
from mediagate.server.services import Services
from mediagate.server.tool_tasks import TASK_ID_PATTERN, ToolCallTasks, new_task_id
from mediagate.server.tools import default_tool_registrars
from mediagate.settings import Settings

WEEK_MS = 7 * 86400 * 1000


@asynccontextmanager
async def serving(data_dir: Path) -> AsyncIterator[MediagateServer]:
    settings = Settings(data_dir=data_dir, local_delay_scale=0.0)
    services = Services(settings)
    server = build_server(settings, tools=default_tool_registrars(services))
    async with services.running():
        yield server


async def generated_video(client: Client) -> str:
    args = {"model": "kling-3-0-std", "prompt": "hills", "duration": 5, "wait_seconds": 50}
    result = await client.call_tool("generate_media", args)
    assert result.structured_content is not None and not result.is_error
    assert result.structured_content["status"] == "completed"
    return str(result.structured_content["outputs"][0]["url"])


def created_task(result: object) -> CreateTask:
    assert isinstance(result, CreateTask), result
    return result


# --- trim_video ---------------------------------------------------------------------------------


async def test_trim_video_runs_as_a_background_task_and_inlines_the_tool_result(
    tmp_path: Path,
) -> None:
    async with (
        serving(tmp_path) as server,
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        source = await generated_video(client)
        args = {"source_url": source, "start_s": 1.0, "end_s": 3.0}
        created = created_task(
            await client.session.call_tool("trim_video", args, allow_claimed=True)
        )
        done = await wait_task(client.session, created.task_id)
        async with Client(server, mode="auto") as plain:
            direct = await plain.call_tool("trim_video", args)

    wire = created.wire()
    assert TASK_ID_PATTERN.fullmatch(created.task_id)
    assert (wire["status"], wire["statusMessage"]) == ("working", "trimming the video")
    assert wire["ttlMs"] == WEEK_MS  # as long as the clip it makes is kept
    assert wire["pollIntervalMs"] == 1000
    assert done["status"] == "completed" and done["statusMessage"] == "completed"
    result = CallToolResult.model_validate(done["result"], by_name=False)
    assert not result.is_error and direct.structured_content is not None
    clip = dict(result.structured_content or {})
    expected = dict(direct.structured_content)
    # The same window of the same source makes an equal clip (its own file); the time differs.
    for key in ("url", "path", "elapsed_s"):
        assert type(clip.pop(key)) is type(expected.pop(key))
    assert clip == expected
    assert [c.type for c in result.content] == [c.type for c in direct.content]
    clip_path = Path(result.structured_content["path"])  # type: ignore[index]
    assert clip_path.is_file() and clip_path.parent.name == "trims"
    record = json.loads((tmp_path / "tasks" / f"{created.task_id}.json").read_text())
    assert record["status"] == "completed" and record["result"] == done["result"]


async def test_a_rejected_trim_completes_with_exactly_the_error_the_tool_returns(
    tmp_path: Path,
) -> None:
    args = {"source_url": "https://example.com/a.mp4", "start_s": 5, "end_s": 2}
    async with (
        serving(tmp_path) as server,
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        created = created_task(
            await client.session.call_tool("trim_video", args, allow_claimed=True)
        )
        done = await wait_task(client.session, created.task_id)
        async with Client(server, mode="auto") as plain:
            direct = await plain.call_tool("trim_video", args)

    assert direct.is_error
    assert done["status"] == "completed"  # a tool error is a completed call (SEP-2663)
    # Equal to the direct result, but for the serverInfo stamp on a response envelope.
    plain = direct.model_copy(update={"meta": None})
    assert done["result"] == plain.model_dump(by_alias=True, mode="json", exclude_none=True)
    assert json.loads(done["result"]["content"][0]["text"])["error"] == "invalid_trim_range"


# --- the task store -----------------------------------------------------------------------------


class Probe:
    """A server with three background tools: one that crashes, one that waits for a release,
    one that returns its argument; and a log of what ran."""

    def __init__(self, directory: Path, *, ttl_s: float = 600.0) -> None:
        self.ran: list[str] = []
        self.cancelled = 0
        self.release = asyncio.Event()
        self.server = server = MediagateServer(name="probe")

        @server.tool()
        async def explode() -> str:
            raise RuntimeError("boom")

        @server.tool()
        async def hold() -> str:
            self.ran.append("hold")
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            return "released"

        @server.tool()
        async def echo(text: str) -> str:
            self.ran.append(text)
            return text

        @server.tool()
        async def only_as_task() -> str:
            return "ran"

        self.tasks = ToolCallTasks(server, directory, ttl_s=ttl_s)
        for name in ("explode", "hold", "echo", "only_as_task"):
            self.tasks.add_tool(name, f"running {name}")
            server.tasks.add_tool(name, self.tasks.start, required=name == "only_as_task")
        server.tasks.add_source(self.tasks)


async def test_a_crash_inside_the_tool_fails_the_task_with_a_json_rpc_error(
    tmp_path: Path,
) -> None:
    probe = Probe(tmp_path)
    async with Client(probe.server, mode="auto", extensions=[TasksClient()]) as client:
        created = created_task(await client.session.call_tool("explode", {}, allow_claimed=True))
        done = await wait_task(client.session, created.task_id)
    assert done["status"] == "failed" and "result" not in done
    assert done["error"]["code"] == -32603
    assert done["error"]["message"] == "explode failed unexpectedly: RuntimeError"


async def test_tasks_cancel_stops_the_running_call(tmp_path: Path) -> None:
    probe = Probe(tmp_path)
    async with Client(probe.server, mode="auto", extensions=[TasksClient()]) as client:
        created = created_task(await client.session.call_tool("hold", {}, allow_claimed=True))
        running = await get_task(client.session, created.task_id)
        ack = await cancel_task(client.session, created.task_id)
        task = await get_task(client.session, created.task_id)
    assert running["status"] == "working" and running["statusMessage"] == "running hold"
    assert ack == {"resultType": "complete"}
    assert task["status"] == "cancelled" and probe.cancelled == 1
    record = json.loads((tmp_path / f"{created.task_id}.json").read_text())
    assert record["status"] == "cancelled"


async def test_a_call_unfinished_at_a_stop_runs_again_after_the_restart(tmp_path: Path) -> None:
    # What a stopped (or killed) process leaves behind: a "working" record.
    task_id = new_task_id()
    now = time.time()
    record = {
        "task_id": task_id,
        "tool": "echo",
        "arguments": {"text": "again"},
        "status": "working",
        "status_message": "running echo",
        "created_at": now,
        "updated_at": now,
        "result": None,
        "error": None,
    }
    (tmp_path / f"{task_id}.json").write_text(json.dumps(record))
    (tmp_path / f"{task_id}.json.part").write_text("{torn")

    probe = Probe(tmp_path)  # the restarted server
    async with Client(probe.server, mode="auto", extensions=[TasksClient()]) as client:
        done = await wait_task(client.session, task_id)
    assert probe.ran == ["again"]
    assert done["status"] == "completed"
    result = CallToolResult.model_validate(done["result"], by_name=False)
    assert result.structured_content == {"result": "again"}
    assert not (tmp_path / f"{task_id}.json.part").exists()


async def test_finished_tasks_outlive_a_restart_and_are_purged_after_their_ttl(
    tmp_path: Path,
) -> None:
    first = Probe(tmp_path, ttl_s=600.0)
    async with Client(first.server, mode="auto", extensions=[TasksClient()]) as client:
        created = created_task(
            await client.session.call_tool("echo", {"text": "kept"}, allow_claimed=True)
        )
        done = await wait_task(client.session, created.task_id)

    second = Probe(tmp_path, ttl_s=600.0)
    async with Client(second.server, mode="auto", extensions=[TasksClient()]) as client:
        again = await get_task(client.session, created.task_id)
    assert again == done and second.ran == []

    expired = Probe(tmp_path, ttl_s=0.001)
    async with Client(expired.server, mode="auto", extensions=[TasksClient()]) as client:
        with pytest.raises(MCPError) as caught:
            await get_task(client.session, created.task_id)
    assert caught.value.code == INVALID_PARAMS
    assert not (tmp_path / f"{created.task_id}.json").exists()


async def test_tasks_of_two_stores_with_the_same_id_shape_are_both_found(tmp_path: Path) -> None:
    probe = Probe(tmp_path / "first")  # its store is asked first for every task_ id

    @probe.server.tool()
    async def twice(text: str) -> str:
        return text * 2

    second = ToolCallTasks(probe.server, tmp_path / "second", ttl_s=600.0)
    second.add_tool("twice", "doubling")
    probe.server.tasks.add_tool("twice", second.start)
    probe.server.tasks.add_source(second)
    async with Client(probe.server, mode="auto", extensions=[TasksClient()]) as client:
        doubled = await client.call_tool("twice", {"text": "ab"})
        echoed = await client.call_tool("echo", {"text": "cd"})
        [from_second, from_first] = [t.task_id for t in client_tasks(client)]
        cancelled = await cancel_task(client.session, from_second)
    assert doubled.structured_content == {"result": "abab"}
    assert echoed.structured_content == {"result": "cd"}
    assert (tmp_path / "second" / f"{from_second}.json").is_file()
    assert (tmp_path / "first" / f"{from_first}.json").is_file()
    assert cancelled == {"resultType": "complete"}  # found, and already terminal


def client_tasks(client: Client) -> list[CreateTask]:
    [extension] = client.extensions or []
    assert isinstance(extension, TasksClient)
    return extension.created


async def test_a_task_only_tool_refuses_clients_without_the_extension(tmp_path: Path) -> None:
    probe = Probe(tmp_path)
    for mode in ("auto", "legacy"):
        async with Client(probe.server, mode=mode) as client:
            with pytest.raises(MCPError) as caught:
                await client.call_tool("only_as_task", {})
            assert caught.value.code == MISSING_REQUIRED_CLIENT_CAPABILITY
            assert caught.value.error.data == {
                "requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}
            }
            # the optional ones simply run
            echoed = await client.call_tool("echo", {"text": "plain"})
            assert echoed.structured_content == {"result": "plain"}
    async with Client(probe.server, mode="auto", extensions=[TasksClient()]) as client:
        ran = await client.call_tool("only_as_task", {})
    assert ran.structured_content == {"result": "ran"}


@pytest.mark.parametrize(
    "task_id", ["task_../../etc/passwd", "task_", "gen_01M7YEKJ6ZC89QV7KZTGD80DRW", "task_x" * 6]
)
def test_only_well_formed_ids_reach_the_task_files(tmp_path: Path, task_id: str) -> None:
    assert not Probe(tmp_path).tasks.owns(task_id)


def test_task_ids_are_fresh_and_well_formed() -> None:
    ids = {new_task_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(TASK_ID_PATTERN.fullmatch(i) for i in ids)
