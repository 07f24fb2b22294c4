"""Tool calls run in the background as durable tasks (``trim_video``).

A tool that is not a generation (it has no row in the job store) becomes a task by recording
the call in ``<data_dir>/tasks/<task id>.json`` *before* the task handle is returned, then
running the very same tool call in the background. The record is rewritten (atomically,
fsynced) when the call ends, with the tool's result as it would have been returned, so
``tasks/get`` serves it after a restart. A call that was still running when the process
stopped is run again on the next start (the first task request of the new process resumes
it): the tools handled here are idempotent (a trim of the same window makes the same clip).

Outcomes: a tool result, including a rejected call (``isError``), is ``completed``; a crash
inside the tool is ``failed`` with a JSON-RPC ``-32603`` error; ``tasks/cancel`` stops the
call and makes it ``cancelled``. Records are kept for ``ttl_s`` after creation (the retention
of what they point at: trimmed clips expire after ``MEDIAGATE_TRIM_RETENTION_DAYS``), then
purged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import INTERNAL_ERROR, CallToolResult, TextContent

from mediagate.server.tasks import TaskNotFound, TaskState, TaskStatus, tool_result_json

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import MCPServer
    from mcp_types import CallToolRequestParams

log = logging.getLogger(__name__)

TASK_ID_PREFIX = "task_"
#: ``task_`` + the 26 sortable, unguessable characters of a generation id (80 random bits).
TASK_ID_PATTERN = re.compile(r"^task_[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def new_task_id() -> str:
    """A fresh task id: sortable by creation time and hard to guess."""
    from mediagate.jobs.model import ID_PREFIX, new_generation_id

    return TASK_ID_PREFIX + new_generation_id().removeprefix(ID_PREFIX)


@dataclass(frozen=True, slots=True)
class ToolTaskRecord:
    """One background tool call as stored."""

    task_id: str
    tool: str
    arguments: dict[str, Any]
    status: TaskStatus
    status_message: str
    created_at: float
    updated_at: float
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


class ToolCallTasks:
    """The task source for background tool calls, stored one JSON file per task."""

    def __init__(
        self,
        server: MCPServer[Any],
        directory: Path,
        *,
        ttl_s: float,
        poll_interval_ms: int = 1000,
    ) -> None:
        self._server = server
        self._directory = directory
        self._ttl_s = ttl_s
        self._poll_interval_ms = poll_interval_ms
        self._messages: dict[str, str] = {}
        self._records: dict[str, ToolTaskRecord] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._writing = asyncio.Lock()
        self._loading = asyncio.Lock()
        self._loaded = False

    @property
    def ttl_ms(self) -> int:
        return int(self._ttl_s * 1000)

    def add_tool(self, name: str, working_message: str) -> None:
        """Run ``name`` as a background task; ``working_message`` is its status while it runs."""
        self._messages[name] = working_message

    def owns(self, task_id: str) -> bool:
        return TASK_ID_PATTERN.fullmatch(task_id) is not None

    # --- the task source ----------------------------------------------------------------------

    async def start(
        self,
        params: CallToolRequestParams,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
    ) -> HandlerResult:
        """Record the call durably, start it in the background, answer with the task."""
        await self._resume()
        now = time.time()
        record = ToolTaskRecord(
            task_id=new_task_id(),
            tool=params.name,
            arguments=dict(params.arguments or {}),
            status="working",
            status_message=self._messages.get(params.name, "working"),
            created_at=now,
            updated_at=now,
        )
        await self._save(record)
        self._spawn(record)
        return self._state(record).created()

    async def state(self, task_id: str) -> TaskState:
        return self._state(await self._get(task_id))

    async def cancel(self, task_id: str) -> None:
        record = await self._get(task_id)
        if record.is_terminal:
            return
        running = self._running.get(task_id)
        if running is not None and not running.done():
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        # A call that finished meanwhile keeps its outcome (_finish never rewrites one).
        await self._finish(record, "cancelled", "cancelled")

    # --- running --------------------------------------------------------------------------------

    def _spawn(self, record: ToolTaskRecord) -> None:
        if record.task_id in self._running:
            return
        task = asyncio.create_task(self._run(record), name=f"task {record.task_id}")
        self._running[record.task_id] = task
        task.add_done_callback(functools.partial(self._forget, record.task_id))

    def _forget(self, task_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(task_id, None)

    async def _run(self, record: ToolTaskRecord) -> None:
        # Cancellation (a cancel request, or the server stopping) propagates from the call:
        # cancel() records "cancelled" itself, and on a stop the record stays "working" so
        # the next start runs the call again.
        try:
            outcome = await self._server.call_tool(record.tool, dict(record.arguments))
        except ToolError as exc:
            if isinstance(exc, UnexpectedToolError):
                log.exception("background %s call %s crashed", record.tool, record.task_id)
                message = f"{record.tool} failed unexpectedly: {type(exc.__cause__).__name__}"
                error = {"code": INTERNAL_ERROR, "message": message}
                await asyncio.shield(self._finish(record, "failed", message, error=error))
                return
            # What the SDK answers for a plain ToolError on the synchronous path.
            outcome = CallToolResult(
                content=[TextContent(type="text", text=str(exc))], is_error=True
            )
        if not isinstance(outcome, CallToolResult):
            message = f"{record.tool} asked for input, which a background call cannot give"
            error = {"code": INTERNAL_ERROR, "message": message}
            await asyncio.shield(self._finish(record, "failed", message, error=error))
            return
        message = "completed with an error result" if outcome.is_error else "completed"
        # Shielded: once the outcome exists, a cancel arriving now must not tear its write.
        await asyncio.shield(
            self._finish(record, "completed", message, result=tool_result_json(outcome))
        )

    async def _finish(
        self,
        record: ToolTaskRecord,
        status: TaskStatus,
        message: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        async with self._writing:
            current = self._records.get(record.task_id, record)
            if current.is_terminal:
                return
            done = replace(
                current,
                status=status,
                status_message=message,
                updated_at=time.time(),
                result=result,
                error=error,
            )
            await self._save(done)

    # --- storage ----------------------------------------------------------------------------

    def _state(self, record: ToolTaskRecord) -> TaskState:
        return TaskState(
            task_id=record.task_id,
            status=record.status,
            created_at=record.created_at,
            updated_at=record.updated_at,
            status_message=record.status_message,
            ttl_ms=self.ttl_ms,
            poll_interval_ms=self._poll_interval_ms,
            result=record.result,
            error=record.error,
        )

    async def _get(self, task_id: str) -> ToolTaskRecord:
        await self._resume()
        record = self._records.get(task_id)
        if record is None or time.time() - record.created_at > self._ttl_s:
            raise TaskNotFound(task_id)
        return record

    async def _save(self, record: ToolTaskRecord) -> None:
        await asyncio.to_thread(_write_record, self._directory, record)
        self._records[record.task_id] = record

    async def _resume(self) -> None:
        """Once per process: load the records, purge expired ones, rerun unfinished calls."""
        if self._loaded:
            return
        async with self._loading:
            if self._loaded:
                return
            records = await asyncio.to_thread(_load_records, self._directory, self._ttl_s)
            for record in records:
                self._records.setdefault(record.task_id, record)
            self._loaded = True
        for record in records:
            if not record.is_terminal:
                log.info("resuming background %s call %s", record.tool, record.task_id)
                self._spawn(record)


def _write_record(directory: Path, record: ToolTaskRecord) -> None:
    """Write ``record`` atomically and durably (temp file, fsync, rename, fsync the folder)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{record.task_id}.json"
    temp = target.with_suffix(".json.part")
    data = json.dumps(asdict(record), ensure_ascii=False, separators=(",", ":"))
    with temp.open("w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_records(directory: Path, ttl_s: float) -> list[ToolTaskRecord]:
    """Every stored record younger than ``ttl_s``; older ones (and torn temp files) go."""
    if not directory.is_dir():
        return []
    now = time.time()
    records = []
    for path in sorted(directory.iterdir()):
        if path.name.endswith(".part"):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if path.suffix != ".json" or not TASK_ID_PATTERN.fullmatch(path.stem):
            continue
        try:
            record = ToolTaskRecord(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable task record %s: %s", path.name, exc)
            continue
        if now - record.created_at > ttl_s:
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        records.append(record)
    return records
