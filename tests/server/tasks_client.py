"""The client side of the tasks extension for the tests, on the SDK's client extension API.

``TasksClient`` declares ``io.modelcontextprotocol/tasks`` in every request's capabilities and
claims ``resultType: "task"`` results: ``client.call_tool`` then polls ``tasks/get`` (bounded)
and returns the inlined tool result, recording every state it saw in ``seen``.
``client.session.call_tool(..., allow_claimed=True)`` returns the raw ``CreateTask`` instead.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import anyio
import mcp_types as types
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.session import ClientSession
from pydantic import ConfigDict, TypeAdapter

TASKS = "io.modelcontextprotocol/tasks"
TERMINAL = frozenset({"completed", "failed", "cancelled"})
POLL_S = 0.05
TASK_TIMEOUT_S = 60.0

_ANY = TypeAdapter(dict[str, Any])


class CreateTask(types.Result):
    """A ``CreateTaskResult``: the task fields flat on the result (extra keys kept)."""

    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"]
    task_id: str
    status: str

    def wire(self) -> dict[str, Any]:
        """The result as it came over the wire (minus the SDK's ``_meta`` stamp)."""
        data = self.model_dump(by_alias=True, mode="json")
        data.pop("_meta", None)
        return data


class TaskIdParams(types.RequestParams):
    task_id: str


class UpdateTaskParams(TaskIdParams):
    input_responses: dict[str, Any]


class GetTaskRequest(types.Request[TaskIdParams, Literal["tasks/get"]]):
    name_param = "taskId"


class CancelTaskRequest(types.Request[TaskIdParams, Literal["tasks/cancel"]]):
    name_param = "taskId"


class UpdateTaskRequest(types.Request[UpdateTaskParams, Literal["tasks/update"]]):
    name_param = "taskId"


class ListTasksRequest(types.Request[types.RequestParams, Literal["tasks/list"]]):
    pass


class ResultTaskRequest(types.Request[TaskIdParams, Literal["tasks/result"]]):
    pass


def _plain(result: dict[str, Any]) -> dict[str, Any]:
    result = dict(result)
    result.pop("_meta", None)
    return result


async def get_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    """``tasks/get``: the task as the server returned it (without the ``_meta`` stamp)."""
    request = GetTaskRequest(method="tasks/get", params=TaskIdParams(task_id=task_id))
    return _plain(await session.send_request(request, _ANY))


async def cancel_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    """``tasks/cancel``: the acknowledgement (without the ``_meta`` stamp)."""
    request = CancelTaskRequest(method="tasks/cancel", params=TaskIdParams(task_id=task_id))
    return _plain(await session.send_request(request, _ANY))


async def update_task(session: ClientSession, task_id: str) -> dict[str, Any]:
    """``tasks/update`` with a response for a key the task never asked for."""
    params = UpdateTaskParams(task_id=task_id, input_responses={"unknown": {"action": "decline"}})
    request = UpdateTaskRequest(method="tasks/update", params=params)
    return _plain(await session.send_request(request, _ANY))


async def wait_task(
    session: ClientSession,
    task_id: str,
    *,
    until: frozenset[str] = TERMINAL,
    timeout: float = TASK_TIMEOUT_S,
    seen: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Poll ``tasks/get`` until its status is in ``until``; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        task = await get_task(session, task_id)
        if seen is not None:
            seen.append(task)
        if task["status"] in until:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} never reached {sorted(until)}: {task}")
        await anyio.sleep(POLL_S)


class TaskEnded(Exception):
    """A claimed task ended without a result (``failed`` or ``cancelled``)."""

    def __init__(self, task: dict[str, Any]) -> None:
        super().__init__(f"task {task['taskId']} ended {task['status']}: {task.get('error')}")
        self.task = task


class TasksClient(ClientExtension):
    """Declares the tasks extension and resolves task results by polling ``tasks/get``."""

    identifier = TASKS

    def __init__(self) -> None:
        self.created: list[CreateTask] = []
        self.seen: list[dict[str, Any]] = []

    def claims(self) -> list[ResultClaim[Any]]:
        return [ResultClaim(result_type="task", model=CreateTask, resolve=self._resolve)]

    async def _resolve(self, created: CreateTask, ctx: ClaimContext) -> types.CallToolResult:
        self.created.append(created)
        task = await wait_task(ctx.session, created.task_id, seen=self.seen)
        if task["status"] != "completed":
            raise TaskEnded(task)
        return types.CallToolResult.model_validate(task["result"], by_name=False)
