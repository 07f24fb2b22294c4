"""generate_media as an MCP task (tasks extension, 2026-07-28), in-process through the real
client: the wire shapes, the lifecycle, cancellation, errors and the gating by capability."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, METHOD_NOT_FOUND, CallToolResult
from mcp_types.jsonrpc import MISSING_REQUIRED_CLIENT_CAPABILITY
from tasks_client import (
    TASKS,
    CreateTask,
    ListTasksRequest,
    ResultTaskRequest,
    TaskIdParams,
    TasksClient,
    cancel_task,
    get_task,
    update_task,
    wait_task,
)

from mediagate.errors import MediagateError
from mediagate.jobs.model import GENERATION_ID_PATTERN, Generation, GenerationStatus
from mediagate.server.app import MediagateServer, build_server
from mediagate.server.services import Services
from mediagate.server.tasks import GenerationTasks, iso_time, poll_interval_ms
from mediagate.server.tools import default_tool_registrars
from mediagate.settings import Settings

#: ~144 s of simulated upstream time: ~3 s at scale 0.02, "forever" at 1.0.
SLOW_VIDEO = {"model": "kling-3-0-std", "prompt": "a slow pan over hills", "duration": 3}
IMAGE = {"model": "nano-banana", "prompt": "a red barn"}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
TASK_KEYS = {
    "resultType",
    "taskId",
    "status",
    "statusMessage",
    "createdAt",
    "lastUpdatedAt",
    "ttlMs",
    "pollIntervalMs",
}


@asynccontextmanager
async def serving(data_dir: Path, scale: float) -> AsyncIterator[tuple[MediagateServer, Services]]:
    settings = Settings(data_dir=data_dir, local_delay_scale=scale)
    services = Services(settings)
    server = build_server(settings, tools=default_tool_registrars(services))
    async with services.running():
        yield server, services


def payload(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return dict(result.structured_content)


def error_of(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error, result
    data = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert isinstance(data, dict)
    return data


# --- negotiation --------------------------------------------------------------------------------


async def test_the_extension_is_advertised_under_extensions_and_not_as_v1_tasks(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, 0.0) as (server, _), Client(server, mode="auto") as client:
        capabilities = client.server_capabilities
    assert capabilities.extensions == {TASKS: {}}
    assert capabilities.tasks is None


async def test_without_the_extension_generate_media_answers_as_it_always_did(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, 1.0) as (server, _):
        for mode in ("auto", "legacy"):
            async with Client(server, mode=mode) as client:
                result = await client.call_tool("generate_media", SLOW_VIDEO)
            started = payload(result)
            assert started["status"] in ("pending", "queued", "processing"), started
            assert "taskId" not in started and result.result_type == "complete"


async def test_tasks_methods_require_the_extension_on_the_request(tmp_path: Path) -> None:
    async with serving(tmp_path, 0.0) as (server, _), Client(server, mode="auto") as client:
        for call in (get_task, cancel_task, update_task):
            with pytest.raises(MCPError) as caught:
                await call(client.session, "gen_00000000000000000000000000")
            assert caught.value.code == MISSING_REQUIRED_CLIENT_CAPABILITY
            data = caught.value.error.data
            assert isinstance(data, dict)
            assert TASKS in data["requiredCapabilities"]["extensions"]


async def test_tasks_methods_do_not_exist_on_a_handshake_era_connection(tmp_path: Path) -> None:
    async with serving(tmp_path, 0.0) as (server, _), Client(server, mode="legacy") as client:
        with pytest.raises(MCPError) as caught:
            await get_task(client.session, "gen_00000000000000000000000000")
    assert caught.value.code == METHOD_NOT_FOUND


async def test_the_2025_methods_tasks_result_and_tasks_list_are_not_served(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, 0.0) as (server, _),
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        requests = [
            ResultTaskRequest(method="tasks/result", params=TaskIdParams(task_id="x")),
            ListTasksRequest(method="tasks/list", params=TaskIdParams(task_id="x")),
        ]
        for request in requests:
            with pytest.raises(MCPError) as caught:
                await client.session.send_request(request, CreateTask)
            assert caught.value.code == METHOD_NOT_FOUND


# --- lifecycle ----------------------------------------------------------------------------------


async def test_a_declaring_client_gets_a_flat_task_that_is_durable_before_the_answer(
    tmp_path: Path,
) -> None:
    async with (
        serving(tmp_path, 1.0) as (server, services),
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        created = await client.session.call_tool("generate_media", SLOW_VIDEO, allow_claimed=True)
        assert isinstance(created, CreateTask)
        stored = await services.store.get(created.task_id)  # the task is the generation
        right_after = await get_task(client.session, created.task_id)
        await cancel_task(client.session, created.task_id)

    wire = created.wire()
    assert set(wire) <= TASK_KEYS and {"result", "error", "task", "ttl"}.isdisjoint(wire)
    assert wire["resultType"] == "task" and wire["status"] == "working"
    assert re.fullmatch(GENERATION_ID_PATTERN, wire["taskId"])
    assert ISO.fullmatch(wire["createdAt"]) and ISO.fullmatch(wire["lastUpdatedAt"])
    assert "ttlMs" in wire and wire["ttlMs"] is None  # generations are kept: unlimited
    assert wire["pollIntervalMs"] == 5000  # a ~144 s video: poll every 5 s at first
    assert not stored.is_terminal
    assert right_after["taskId"] == created.task_id and right_after["status"] == "working"
    assert right_after["resultType"] == "complete"


async def test_the_task_advances_and_its_result_is_what_get_generation_status_returns(
    tmp_path: Path,
) -> None:
    tasks = TasksClient()
    async with (
        serving(tmp_path, 0.02) as (server, _),
        Client(server, mode="auto", extensions=[tasks]) as client,
    ):
        result = await client.call_tool("generate_media", SLOW_VIDEO)
        [created] = tasks.created
        status = await client.call_tool("get_generation_status", {"generation_id": created.task_id})

    done = payload(result)
    assert done["status"] == "completed" and done["generation_id"] == created.task_id
    assert result.content == status.content
    assert result.structured_content == status.structured_content
    assert result.is_error is status.is_error is False

    working = [t for t in tasks.seen if t["status"] == "working"]
    percents = [
        int(m.group(1))
        for t in working
        if (m := re.fullmatch(r"rendering (\d+)%", t.get("statusMessage", "")))
    ]
    assert len(set(percents)) >= 2, [t.get("statusMessage") for t in working]
    assert percents == sorted(percents)
    assert all(1000 <= t["pollIntervalMs"] <= 5000 for t in working)
    final = tasks.seen[-1]
    assert final["status"] == "completed" and "pollIntervalMs" not in final
    assert final["statusMessage"] == "completed" and "error" not in final


async def test_tasks_cancel_ends_the_generation_and_is_acknowledged_empty(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, 1.0) as (server, _),
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        created = await client.session.call_tool("generate_media", SLOW_VIDEO, allow_claimed=True)
        assert isinstance(created, CreateTask)
        await wait_task(client.session, created.task_id, until=frozenset({"working"}))
        ack = await cancel_task(client.session, created.task_id)
        task = await get_task(client.session, created.task_id)
        status = await client.call_tool("get_generation_status", {"generation_id": task["taskId"]})
        again = await cancel_task(client.session, created.task_id)  # terminal: same ack

    assert ack == again == {"resultType": "complete"}
    assert task["status"] == "cancelled"
    assert {"result", "error", "pollIntervalMs"}.isdisjoint(task)
    assert payload(status)["status"] == "canceled"


async def test_tasks_update_is_acknowledged_and_ignored(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, 1.0) as (server, _),
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        created = await client.session.call_tool("generate_media", SLOW_VIDEO, allow_claimed=True)
        assert isinstance(created, CreateTask)
        ack = await update_task(client.session, created.task_id)
        task = await get_task(client.session, created.task_id)
        await cancel_task(client.session, created.task_id)
    assert ack == {"resultType": "complete"}
    assert task["status"] == "working"


async def test_unknown_task_ids_are_invalid_params(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, 0.0) as (server, _),
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        for task_id in ("gen_00000000000000000000000000", "task_00000000000000000000000000"):
            for call in (get_task, cancel_task, update_task):
                with pytest.raises(MCPError) as caught:
                    await call(client.session, task_id)
                assert caught.value.code == INVALID_PARAMS, (call, task_id)
        with pytest.raises(MCPError) as caught:
            await get_task(client.session, "../../jobs.sqlite3")
        assert caught.value.code == INVALID_PARAMS


async def test_a_rejected_call_is_answered_at_once_with_its_error(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, 0.0) as (server, _),
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        result = await client.session.call_tool(
            "generate_media", {"model": "nano-bananna", "prompt": "x"}, allow_claimed=True
        )
    assert isinstance(result, CallToolResult)
    assert error_of(result)["error"] == "unknown_model"


async def test_a_generation_finished_within_its_wait_answers_with_the_plain_result(
    tmp_path: Path,
) -> None:
    async with (
        serving(tmp_path, 0.0) as (server, _),
        Client(server, mode="auto", extensions=[TasksClient()]) as client,
    ):
        result = await client.session.call_tool(
            "generate_media", {**IMAGE, "wait_seconds": 50}, allow_claimed=True
        )
    assert isinstance(result, CallToolResult)
    assert payload(result)["status"] == "completed"


async def test_any_generation_is_a_task_and_a_failed_one_carries_a_json_rpc_error(
    tmp_path: Path,
) -> None:
    failure = MediagateError("upstream_rejected", "The upstream refused the prompt.", hint="x")
    async with serving(tmp_path, 0.0) as (server, services):
        store = await services.job_store()
        gen, _ = await store.create(
            model="kling-3-0-std",
            provider="local",
            request={"model": "kling-3-0-std", "prompt": "p"},
            request_hash="0" * 64,
        )
        await store.transition(gen.id, GenerationStatus.PROCESSING, progress=10.0)
        await store.transition(gen.id, GenerationStatus.FAILED, error=failure.payload)
        async with Client(server, mode="auto", extensions=[TasksClient()]) as client:
            task = await get_task(client.session, gen.id)
            status = await client.call_tool("get_generation_status", {"generation_id": gen.id})

    assert task["status"] == "failed" and "result" not in task
    assert task["statusMessage"] == "The upstream refused the prompt."
    assert task["error"] == {
        "code": -32603,
        "message": "The upstream refused the prompt.",
        "data": status.structured_content,
    }
    assert task["error"]["data"]["error"] == failure.payload


# --- pure parts ---------------------------------------------------------------------------------


def _generation(**changes: Any) -> Generation:
    base: dict[str, Any] = {
        "id": "gen_01M7YEKJ6ZC89QV7KZTGD80DRW",
        "status": GenerationStatus.PENDING,
        "model": "kling-3-0-std",
        "provider": "local",
        "request": {},
        "request_hash": "0" * 64,
        "created_at": 1_000.0,
        "updated_at": 1_000.0,
    }
    return Generation.model_validate({**base, **changes})


@pytest.mark.parametrize(
    ("changes", "now", "expected"),
    [
        ({"estimated_time_seconds": 8.0}, 1_000.0, 1000),  # an image: ~1 s
        ({"estimated_time_seconds": 144.0}, 1_000.0, 5000),  # a long video: a few s
        ({"estimated_time_seconds": 30.0}, 1_000.0, 3000),
        ({}, 1_000.0, 2000),  # nothing known
        # rendering: the rest is extrapolated from the progress so far
        ({"estimated_time_seconds": 144.0, "progress": 20.0, "started_at": 990.0}, 1_000.0, 4000),
        ({"estimated_time_seconds": 144.0, "progress": 90.0, "started_at": 990.0}, 1_000.0, 1000),
    ],
)
def test_the_poll_interval_suits_the_job(
    changes: dict[str, Any], now: float, expected: int
) -> None:
    assert poll_interval_ms(_generation(**changes), now) == expected


@pytest.mark.parametrize(
    ("status", "task_status"),
    [
        ("pending", "working"),
        ("queued", "working"),
        ("processing", "working"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("canceled", "cancelled"),
    ],
)
def test_generation_statuses_map_onto_task_statuses(
    tmp_path: Path, status: str, task_status: str
) -> None:
    services = Services(Settings(data_dir=tmp_path))
    state = GenerationTasks(services).task_state(_generation(status=status), now=1_000.0)
    assert state.status == task_status
    assert (state.result is not None) is (task_status == "completed")
    assert (state.error is not None) is (task_status == "failed")


def test_timestamps_are_iso_8601_utc_with_milliseconds() -> None:
    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_time(1_764_066_600.5) == "2025-11-25T10:30:00.500Z"
