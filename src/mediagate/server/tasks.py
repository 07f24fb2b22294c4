"""Long jobs as MCP tasks: the ``io.modelcontextprotocol/tasks`` extension (SEP-2663, 2026-07-28).

A client that declares the extension in a request's capabilities may get a *task handle*
(``resultType: "task"``) instead of a blocking result from a task-capable tool, then polls
``tasks/get`` until the task is terminal; a completed task inlines the very result the tool
would have returned. ``tasks/cancel`` ends the job; ``tasks/update`` is acknowledged (no
mediagate task ever needs input). ``tasks/result`` and ``tasks/list`` belong to the 2025-11-25
shape and stay unserved (``-32601``). Clients that do not declare the extension, and every
handshake-era (2025) connection, get exactly the plain tool results.

The extension owns the wire format only. Where task state lives is up to its *sources*:

* ``GenerationTasks``: ``generate_media``. A task is a generation (same id, same durable job
  store), so ``tasks/get`` works for any generation id and a task survives a restart.
* ``mediagate.server.tool_tasks.ToolCallTasks``: tool calls run in the background and recorded
  durably (``trim_video``).

Status mapping: pending/queued/processing → ``working``; completed → ``completed``; failed →
``failed`` with a JSON-RPC ``error`` (code ``-32603``, our error payload in the generation
result as ``data``); canceled → ``cancelled``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_NAME_HEADER, decode_header_value
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, CallToolRequestParams, CallToolResult
from mcp_types.jsonrpc import HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mediagate.jobs.model import Generation
    from mediagate.server.services import Services

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"

TaskStatus = Literal["working", "input_required", "completed", "failed", "cancelled"]

#: Poll hints are clamped to this range: about a second for images, a few for videos.
MIN_POLL_MS = 1000
MAX_POLL_MS = 5000
#: Poll hint when nothing is known about the job's length.
DEFAULT_POLL_MS = 2000

TaskStarter = Callable[
    [CallToolRequestParams, ServerRequestContext[Any, Any], CallNext], Awaitable[HandlerResult]
]
"""Answers a ``tools/call`` from a task-accepting client: a task (``created()``), or the
tool's own result when no task is needed (rejected calls, jobs already finished)."""


def iso_time(timestamp: float) -> str:
    """``timestamp`` (epoch seconds) as ISO 8601 UTC with milliseconds (``...T10:30:00.000Z``)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tool_result_json(result: CallToolResult) -> dict[str, Any]:
    """A tool result as it goes on the wire (what ``tasks/get`` inlines once completed)."""
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


@dataclass(frozen=True, slots=True)
class TaskState:
    """One task as the wire shows it; ``result`` once completed, ``error`` once failed."""

    task_id: str
    status: TaskStatus
    created_at: float
    updated_at: float
    status_message: str | None = None
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    def task(self) -> dict[str, Any]:
        """The ``Task`` fields (``ttlMs`` is always present: ``null`` means unlimited)."""
        task: dict[str, Any] = {
            "taskId": self.task_id,
            "status": self.status,
            "createdAt": iso_time(self.created_at),
            "lastUpdatedAt": iso_time(self.updated_at),
            "ttlMs": self.ttl_ms,
        }
        if self.status_message is not None:
            task["statusMessage"] = self.status_message
        if self.poll_interval_ms is not None and not self.is_terminal:
            task["pollIntervalMs"] = self.poll_interval_ms
        return task

    def created(self) -> dict[str, Any]:
        """The ``CreateTaskResult`` answering the ``tools/call`` (flat ``Result & Task``)."""
        return {"resultType": "task", **self.task()}

    def detailed(self) -> dict[str, Any]:
        """The ``tasks/get`` result: the task plus its ``result`` or ``error`` when terminal."""
        detailed: dict[str, Any] = {"resultType": "complete", **self.task()}
        if self.status == "completed" and self.result is not None:
            detailed["result"] = self.result
        elif self.status == "failed" and self.error is not None:
            detailed["error"] = self.error
        return detailed


class TaskNotFound(LookupError):
    """No such task (never created, or purged after its TTL)."""


class TaskSource(Protocol):
    """Where one kind of task lives; the extension asks the source that ``owns`` an id."""

    def owns(self, task_id: str) -> bool:
        """Whether ``task_id`` has this source's shape (it may still not exist)."""
        ...

    async def state(self, task_id: str) -> TaskState:
        """The task now; raises ``TaskNotFound``."""
        ...

    async def cancel(self, task_id: str) -> None:
        """End the task's job if it is still running; raises ``TaskNotFound``."""
        ...


class TaskParams(types.RequestParams):
    """Params of ``tasks/get`` and ``tasks/cancel``."""

    task_id: str


class UpdateTaskParams(TaskParams):
    """Params of ``tasks/update``."""

    input_responses: dict[str, Any] | None = None


def client_accepts_tasks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request may be answered with a task: a 2026-07-28 request whose own
    capabilities declare the extension (the handshake era cannot carry ``resultType``)."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return False
    capabilities = ctx.session.client_capabilities
    declared = capabilities.extensions if capabilities is not None else None
    return declared is not None and TASKS_EXTENSION in declared


class TasksExtension(Extension):
    """The server side of the tasks extension (the SDK has none).

    Tool registrars add task-capable tools (``add_tool``) and the sources of their tasks
    (``add_source``); everything else passes straight through.
    """

    identifier = TASKS_EXTENSION

    def __init__(self) -> None:
        self._starters: dict[str, TaskStarter] = {}
        self._required: set[str] = set()
        self._sources: list[TaskSource] = []

    def add_tool(self, name: str, starter: TaskStarter, *, required: bool = False) -> None:
        """Answer calls of tool ``name`` from task-accepting clients with ``starter``.

        A ``required`` tool cannot run without a task: other clients get ``-32021``.
        """
        self._starters[name] = starter
        if required:
            self._required.add(name)

    def add_source(self, source: TaskSource) -> None:
        """Serve ``tasks/*`` for the ids ``source`` owns."""
        self._sources.append(source)

    @property
    def task_tools(self) -> frozenset[str]:
        """The tools that may answer with a task."""
        return frozenset(self._starters)

    def settings(self) -> dict[str, Any]:
        return {}  # the extension defines no settings; an empty object declares support

    def methods(self) -> Sequence[MethodBinding]:
        modern = frozenset(MODERN_PROTOCOL_VERSIONS)
        return (
            MethodBinding("tasks/get", TaskParams, self._get, protocol_versions=modern),
            MethodBinding("tasks/update", UpdateTaskParams, self._update, protocol_versions=modern),
            MethodBinding("tasks/cancel", TaskParams, self._cancel, protocol_versions=modern),
        )

    async def intercept_tool_call(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        starter = self._starters.get(params.name)
        if starter is None:
            return await call_next(ctx)
        if not client_accepts_tasks(ctx):
            if params.name in self._required:
                raise MCPError(
                    code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                    message=f"{params.name} runs only as a task: declare {TASKS_EXTENSION}.",
                    data={"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
                )
            return await call_next(ctx)
        return await starter(params, ctx, call_next)

    # --- tasks/* ------------------------------------------------------------------------------

    async def _find(
        self, ctx: ServerRequestContext[Any, Any], task_id: str
    ) -> tuple[TaskSource, TaskState]:
        """The task and its source, once the request may ask about it at all.

        Several sources may share an id shape (two background-call stores, say): the first
        that knows the id answers.
        """
        require_client_extension(ctx, TASKS_EXTENSION)
        # SEP-2663: on HTTP the Mcp-Name header carries the task id; the SDK checks it only for
        # tools/call, prompts/get and resources/read. A request without it is let through.
        headers = getattr(ctx.request, "headers", None)
        named = headers.get(MCP_NAME_HEADER) if headers is not None else None
        if named is not None and decode_header_value(named) != task_id:
            raise MCPError(
                code=HEADER_MISMATCH,
                message=f"{MCP_NAME_HEADER} header does not match the request's taskId",
            )
        for source in self._sources:
            if source.owns(task_id):
                try:
                    return source, await source.state(task_id)
                except TaskNotFound:
                    continue
        raise _not_found(task_id)

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> Any:
        _source, state = await self._find(ctx, params.task_id)
        return state.detailed()

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> Any:
        await self._find(ctx, params.task_id)
        # No mediagate task ever asks for input, so every response is for an unknown key:
        # acknowledged and ignored, as the spec asks.
        return {"resultType": "complete"}

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> Any:
        source, state = await self._find(ctx, params.task_id)
        if not state.is_terminal:
            try:
                await source.cancel(params.task_id)
            except TaskNotFound:
                raise _not_found(params.task_id) from None
        # Acknowledged the same way whether the task was running or already terminal.
        return {"resultType": "complete"}


def _not_found(task_id: str) -> MCPError:
    return MCPError(
        code=INVALID_PARAMS,
        message=f"Failed to retrieve task: no task {task_id!r}",
        data={"taskId": task_id},
    )


def tasks_extension(server: MCPServer[Any]) -> TasksExtension | None:
    """The tasks extension of ``server`` (a ``MediagateServer``), if it has one."""
    found = getattr(server, "tasks", None)
    return found if isinstance(found, TasksExtension) else None


# --- generations as tasks ---------------------------------------------------------------------


def poll_interval_ms(gen: Generation, now: float) -> int:
    """How often to poll ``gen``: a tenth of its expected remaining time, 1-5 s.

    Remaining time comes from progress so far once it is rendering (so it adapts to the real
    speed), else from the model's estimate.
    """
    remaining: float | None = gen.estimated_time_seconds
    progress = gen.progress or 0.0
    if gen.started_at is not None and 0.0 < progress < 100.0:
        elapsed = max(0.0, now - gen.started_at)
        remaining = elapsed * (100.0 - progress) / progress
    if remaining is None:
        return DEFAULT_POLL_MS
    interval = min(MAX_POLL_MS, max(MIN_POLL_MS, remaining * 1000.0 / 10.0))
    return int(interval // 100 * 100)


def _status_message(gen: Generation) -> str:
    from mediagate.jobs.model import GenerationStatus

    if gen.status is GenerationStatus.FAILED:
        return str((gen.error or {}).get("message") or gen.status_message or "failed")
    message = gen.status_message or gen.status.value
    if (
        gen.status is GenerationStatus.PROCESSING
        and gen.progress is not None
        and "%" not in message
    ):
        message = f"{message} {gen.progress:.0f}%"
    return message


_TASK_STATUS: dict[str, TaskStatus] = {
    "pending": "working",
    "queued": "working",
    "processing": "working",
    "completed": "completed",
    "failed": "failed",
    "canceled": "cancelled",
}


class GenerationTasks:
    """``generate_media`` as a task; the task id is the generation id.

    ``ttlMs`` is ``null`` (unlimited): the job store keeps every generation and its files;
    nothing purges them.
    """

    def __init__(self, services: Services) -> None:
        self._services = services

    def owns(self, task_id: str) -> bool:
        from mediagate.jobs.model import GENERATION_ID_PATTERN

        return re.fullmatch(GENERATION_ID_PATTERN, task_id) is not None

    async def start(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        """Run the tool as usual (validation, submit, its own ``wait_seconds``); answer with a
        task while the generation is unfinished, else with the tool's result."""
        result = await call_next(ctx)
        if not isinstance(result, CallToolResult) or result.is_error:
            return result
        generation_id = (result.structured_content or {}).get("generation_id")
        if not isinstance(generation_id, str):
            return result
        store = await self._services.job_store()
        gen = await store.get(generation_id)  # committed before submit returned
        if gen.is_terminal:
            return result
        return self.task_state(gen).created()

    async def state(self, task_id: str) -> TaskState:
        from mediagate.errors import MediagateError

        store = await self._services.job_store()
        try:
            gen = await store.get(task_id)
        except MediagateError as exc:
            raise TaskNotFound(task_id) from exc
        return self.task_state(gen)

    async def cancel(self, task_id: str) -> None:
        from mediagate.errors import MediagateError

        runner = await self._services.job_runner()
        try:
            await runner.cancel(task_id)
        except MediagateError as exc:
            raise TaskNotFound(task_id) from exc

    def task_state(self, gen: Generation, *, now: float | None = None) -> TaskState:
        """``gen`` as a task; a completed one carries exactly get_generation_status's result."""
        import time

        from mediagate.server.results import generation_result, generation_tool_result

        status = _TASK_STATUS[gen.status.value]
        result = error = None
        if status == "completed":
            result = tool_result_json(generation_tool_result(gen, self._services.media))
        elif status == "failed":
            payload = generation_result(gen, self._services.media)
            error = {
                "code": INTERNAL_ERROR,
                "message": _status_message(gen),
                "data": payload.model_dump(mode="json", exclude_none=True),
            }
        return TaskState(
            task_id=gen.id,
            status=status,
            created_at=gen.created_at,
            updated_at=gen.updated_at,
            status_message=_status_message(gen),
            ttl_ms=None,
            poll_interval_ms=poll_interval_ms(gen, time.time() if now is None else now),
            result=result,
            error=error,
        )


def enable_generation_tasks(server: MCPServer[Any], services: Services) -> None:
    """Let ``generate_media`` answer task-accepting clients with a task."""
    tasks = tasks_extension(server)
    if tasks is None:
        return
    generations = GenerationTasks(services)
    tasks.add_source(generations)
    tasks.add_tool("generate_media", generations.start)
