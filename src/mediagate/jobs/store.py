"""The durable job store: every generation lives in one SQLite file (``<data_dir>/jobs.sqlite3``).

Durability guarantees
---------------------
* Every write method commits before it returns. ``create`` returns only once the ``pending``
  row is committed, so a generation id handed to an agent (and any request a provider later
  sees) always has a row behind it.
* The file runs in WAL mode with ``synchronous=FULL``: a commit appends to the WAL *and fsyncs
  it* before returning. It therefore survives the process being killed (``kill -9``: the frames
  were already handed to the OS) and also an OS crash or power loss (they are on the disk).
  With ``NORMAL`` the WAL is only fsynced at checkpoints, so a power loss may roll back the
  most recent commits; the file stays consistent but rows vanish. For us that would be a job
  an agent already holds an id for, or a submit attempt recorded just before an upstream call
  that may be billing, silently forgotten. One fsync per commit (~0.2 ms on the dev box)
  is cheap next to any upstream call, so we pay it; ``synchronous="NORMAL"`` remains available
  for throwaway stores (tests, benchmarks). The one exception is a progress-only move
  (``queued``/``processing`` with a percentage or message): losing that to a power cut loses
  nothing (the job resumes from its last durable state), so it commits without its own fsync;
  the next durable commit fsyncs the WAL, and those frames with it.
* ``record_submit_attempt`` is its own committed write, made before the runner contacts the
  upstream: after a crash, ``attempts > 0`` without an ``upstream_id`` means "the upstream may
  have this job", so the resumer must look it up rather than blindly submit again.
* One worker thread owns the one connection. Writes are serialized within the process, no
  SQLite call blocks the event loop, and a cancelled caller either never started its statement
  or had it committed in full: a transaction is never abandoned half-way. Write transactions are
  ``BEGIN IMMEDIATE``, so another process on the same file waits (``busy_timeout``) instead of
  interleaving, which is what makes idempotency keys race-free even across processes.
* The schema is a numbered list of migrations tracked in ``PRAGMA user_version``; each runs in
  one transaction. A file written by a newer mediagate is refused, never guessed at.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from mediagate.errors import MediagateError
from mediagate.jobs.model import (
    UNFINISHED_STATUSES,
    Generation,
    GenerationStatus,
    InvalidTransition,
    can_transition,
    new_generation_id,
)

T = TypeVar("T")

#: Migration N (1-based) brings ``user_version`` from N-1 to N. Append only; never edit one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE generations (
            id                     TEXT PRIMARY KEY NOT NULL,
            status                 TEXT NOT NULL CHECK (status IN
                ('pending', 'queued', 'processing', 'completed', 'failed', 'canceled')),
            model                  TEXT NOT NULL,
            provider               TEXT NOT NULL,
            request                TEXT NOT NULL,
            idempotency_key        TEXT,
            request_hash           TEXT NOT NULL,
            progress               REAL,
            status_message         TEXT,
            upstream_id            TEXT,
            outputs                TEXT NOT NULL DEFAULT '[]',
            error                  TEXT,
            warnings               TEXT NOT NULL DEFAULT '[]',
            estimated_time_seconds REAL,
            estimated_cost_credits REAL,
            attempts               INTEGER NOT NULL DEFAULT 0,
            created_at             REAL NOT NULL,
            updated_at             REAL NOT NULL,
            started_at             REAL,
            finished_at            REAL
        )
        """,
        # Ids are time-ordered, so (status, id) serves "by status, newest first" and unfinished().
        "CREATE INDEX generations_status_id ON generations (status, id)",
        """
        CREATE UNIQUE INDEX generations_idempotency_key
            ON generations (idempotency_key) WHERE idempotency_key IS NOT NULL
        """,
        """
        CREATE INDEX generations_upstream
            ON generations (provider, upstream_id) WHERE upstream_id IS NOT NULL
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS: tuple[str, ...] = tuple(Generation.model_fields)
_JSON_COLUMNS = frozenset({"request", "outputs", "error", "warnings"})
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM generations"
_INSERT = (
    f"INSERT INTO generations ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_UPDATE = (
    "UPDATE generations SET "
    + ", ".join(f"{c} = ?" for c in _COLUMNS if c != "id")
    + " WHERE id = ?"
)
_UNFINISHED = tuple(sorted(s.value for s in UNFINISHED_STATUSES))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _from_row(row: Sequence[Any]) -> Generation:
    data = dict(zip(_COLUMNS, row, strict=True))
    for column in _JSON_COLUMNS:
        if data[column] is not None:
            data[column] = json.loads(data[column])
    return Generation.model_validate(data)


def _to_row(gen: Generation) -> builtins.list[Any]:
    values: builtins.list[Any] = []
    for column in _COLUMNS:
        value = getattr(gen, column)
        if column in _JSON_COLUMNS and value is not None:
            value = _dumps(value)
        elif column == "status":
            value = value.value
        values.append(value)
    return values


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _fetch(conn: sqlite3.Connection, generation_id: str) -> Generation:
    row = conn.execute(_SELECT + " WHERE id = ?", (generation_id,)).fetchone()
    if row is None:
        raise MediagateError(
            "generation_not_found",
            f"No generation with id {generation_id!r}.",
            generation_id=generation_id,
            hint="Use the generation_id returned by generate_media.",
        )
    return _from_row(row)


def _save(conn: sqlite3.Connection, gen: Generation) -> None:
    values = _to_row(gen)
    conn.execute(_UPDATE, [*values[1:], values[0]])


def _migrate(conn: sqlite3.Connection) -> None:
    def step(conn: sqlite3.Connection) -> bool:
        # Re-read inside the write lock: another process may have migrated meanwhile.
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"job database schema v{version} is newer than this mediagate "
                f"(v{SCHEMA_VERSION}); upgrade mediagate or point it at another data dir"
            )
        if version == SCHEMA_VERSION:
            return False
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version + 1}")
        return True

    while _in_transaction(conn, step):
        pass


class JobStore:
    """Async, durable store of generations backed by one SQLite file.

    Use as ``async with JobStore(path) as store: ...`` or ``await store.open()`` /
    ``await store.close()``. Every method runs on the store's single worker thread.
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def open(self) -> Self:
        """Open (creating the file and parent directory if needed) and migrate the schema."""
        if self._executor is not None:
            return self
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mediagate-jobs")
        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(executor, self._connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor
        return self

    async def close(self) -> None:
        """Finish queued operations, then close the connection. Safe to call twice."""
        executor, conn = self._executor, self._conn
        self._executor = self._conn = None
        if executor is None or conn is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(executor, _disconnect, conn)
        finally:
            executor.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves. The connection is
        # created on, and only ever used by, the worker thread (check_same_thread stays on).
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000
        )
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(
                    f"{self.path}: SQLite refused WAL mode (got {mode!r}); "
                    "the job database needs a local filesystem"
                )
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Bound the WAL file after a burst; checkpoints still run every ~1000 pages.
            conn.execute("PRAGMA journal_size_limit = 67108864")
            _migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        executor, conn = self._executor, self._conn
        if executor is None or conn is None:
            raise RuntimeError("JobStore is not open: use `async with JobStore(path)` or open()")
        return await asyncio.get_running_loop().run_in_executor(executor, fn, conn)

    async def _write(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        if durable or self._synchronous != "FULL":
            return await self._run(lambda conn: _in_transaction(conn, fn))

        def relaxed(conn: sqlite3.Connection) -> T:
            conn.execute("PRAGMA synchronous = NORMAL")
            try:
                return _in_transaction(conn, fn)
            finally:
                conn.execute("PRAGMA synchronous = FULL")

        return await self._run(relaxed)

    # -- writes ---------------------------------------------------------------------------------

    async def create(
        self,
        *,
        model: str,
        provider: str,
        request: Mapping[str, Any],
        idempotency_key: str | None = None,
        request_hash: str,
        warnings: Iterable[str] = (),
        estimated_time_seconds: float | None = None,
        estimated_cost_credits: float | None = None,
    ) -> tuple[Generation, bool]:
        """Record a new ``pending`` generation; return ``(generation, created)``.

        With an ``idempotency_key`` already on file, the existing generation is returned with
        ``created=False`` if ``request_hash`` matches; otherwise ``idempotency_conflict`` is
        raised (with the existing ``generation_id``). Concurrent creates with one key, even
        from several processes, yield exactly one row.
        """
        request_copy = dict(request)
        warnings_copy = builtins.list(warnings)

        def insert(conn: sqlite3.Connection) -> tuple[Generation, bool]:
            if idempotency_key is not None:
                row = conn.execute(
                    _SELECT + " WHERE idempotency_key = ?", (idempotency_key,)
                ).fetchone()
                if row is not None:
                    return _from_row(row), False
            now = time.time()
            gen = Generation(
                id=new_generation_id(),
                status=GenerationStatus.PENDING,
                model=model,
                provider=provider,
                request=request_copy,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                warnings=warnings_copy,
                estimated_time_seconds=estimated_time_seconds,
                estimated_cost_credits=estimated_cost_credits,
                created_at=now,
                updated_at=now,
            )
            conn.execute(_INSERT, _to_row(gen))
            return gen, True

        gen, created = await self._write(insert)
        if not created and gen.request_hash != request_hash:
            raise MediagateError(
                "idempotency_conflict",
                f"idempotency_key {idempotency_key!r} was already used for a different request.",
                generation_id=gen.id,
                hint=(
                    "Reuse an idempotency_key only to retry the identical call; "
                    "use a new key for a new request."
                ),
            )
        return gen, created

    async def transition(
        self,
        generation_id: str,
        status: GenerationStatus,
        *,
        progress: float | None = None,
        status_message: str | None = None,
        upstream_id: str | None = None,
        outputs: Sequence[Mapping[str, Any]] | None = None,
        error: Mapping[str, Any] | None = None,
        expected_from: Collection[GenerationStatus] | None = None,
        add_warnings: Sequence[str] = (),
    ) -> Generation:
        """Move a generation to ``status`` and record what came with the move.

        ``add_warnings`` are appended to the generation's warnings (duplicates skipped).

        ``None`` arguments leave the stored value alone. Progress never goes down (a lower
        value is ignored) and ``completed`` sets it to 100; ``started_at`` is set on the first
        move to ``processing``, ``finished_at`` on reaching a terminal state, ``updated_at``
        always. ``expected_from`` makes the move conditional (compare-and-set) on the current
        status. A terminal generation is returned unchanged if ``status`` equals its status.

        Raises ``InvalidTransition`` for a move the table forbids (including any change to a
        terminal generation or a failed ``expected_from``), ``ValueError`` for progress outside
        0-100 and ``MediagateError("generation_not_found")`` for an unknown id.
        """
        status = GenerationStatus(status)
        if progress is not None and not 0 <= progress <= 100:
            raise ValueError(f"progress must be within 0-100, got {progress!r}")
        expected = (
            None if expected_from is None else frozenset(GenerationStatus(s) for s in expected_from)
        )
        outputs_copy = None if outputs is None else [dict(o) for o in outputs]
        error_copy = None if error is None else dict(error)

        def move(conn: sqlite3.Connection) -> Generation:
            current = _fetch(conn, generation_id)
            if current.is_terminal and status is current.status:
                return current
            if current.is_terminal:
                raise InvalidTransition(
                    generation_id,
                    current.status,
                    status,
                    f"is {current.status} (final) and cannot become {status}",
                )
            if expected is not None and current.status not in expected:
                allowed = ", ".join(sorted(expected))
                raise InvalidTransition(
                    generation_id,
                    current.status,
                    status,
                    f"is {current.status}, expected one of: {allowed}",
                )
            if not can_transition(current.status, status):
                raise InvalidTransition(
                    generation_id,
                    current.status,
                    status,
                    f"cannot move from {current.status} to {status}",
                )
            now = time.time()
            new_progress = current.progress
            if progress is not None:
                new_progress = progress if new_progress is None else max(new_progress, progress)
            if status is GenerationStatus.COMPLETED:
                new_progress = 100.0
            changes: dict[str, Any] = {
                "status": status,
                "progress": new_progress,
                "updated_at": now,
            }
            if status_message is not None:
                changes["status_message"] = status_message
            if upstream_id is not None:
                changes["upstream_id"] = upstream_id
            if outputs_copy is not None:
                changes["outputs"] = outputs_copy
            if error_copy is not None:
                changes["error"] = error_copy
            fresh = [w for w in add_warnings if w not in current.warnings]
            if fresh:
                changes["warnings"] = [*current.warnings, *fresh]
            if status is GenerationStatus.PROCESSING and current.started_at is None:
                changes["started_at"] = now
            if status.is_terminal:
                changes["finished_at"] = now
            # Validate the whole record before writing, so a bad value never reaches the file.
            new = Generation.model_validate({**current.model_dump(), **changes})
            _save(conn, new)
            return new

        # Only progress-only moves skip their own fsync (see the module docstring).
        durable = (
            status.is_terminal
            or outputs_copy is not None
            or error_copy is not None
            or upstream_id is not None
            or bool(add_warnings)
        )
        return await self._write(move, durable=durable)

    async def record_submit_attempt(self, generation_id: str) -> Generation:
        """Count one submit attempt (``attempts += 1``), committed before the caller sends.

        Call it *before* contacting the upstream: after a crash, a non-zero count tells the
        resumer the upstream may already hold the job. Raises ``InvalidTransition`` on a
        terminal generation.
        """

        def bump(conn: sqlite3.Connection) -> Generation:
            current = _fetch(conn, generation_id)
            if current.is_terminal:
                raise InvalidTransition(
                    generation_id,
                    current.status,
                    None,
                    f"is {current.status} (final); it cannot be submitted again",
                )
            new = current.model_copy(
                update={"attempts": current.attempts + 1, "updated_at": time.time()}
            )
            _save(conn, new)
            return new

        return await self._write(bump)

    async def set_upstream_id(self, generation_id: str, upstream_id: str) -> Generation:
        """Record the upstream's id for a generation (as soon as the submit answers).

        A terminal generation is returned unchanged if it already has this id; any other
        change to it raises ``InvalidTransition``.
        """

        def assign(conn: sqlite3.Connection) -> Generation:
            current = _fetch(conn, generation_id)
            if current.upstream_id == upstream_id:
                return current
            if current.is_terminal:
                raise InvalidTransition(
                    generation_id,
                    current.status,
                    None,
                    f"is {current.status} (final); its upstream id cannot change",
                )
            new = current.model_copy(update={"upstream_id": upstream_id, "updated_at": time.time()})
            _save(conn, new)
            return new

        return await self._write(assign)

    # -- reads ----------------------------------------------------------------------------------

    async def get(self, generation_id: str) -> Generation:
        """Return one generation or raise ``MediagateError("generation_not_found")``."""
        return await self._run(lambda conn: _fetch(conn, generation_id))

    async def list(
        self,
        *,
        status: GenerationStatus | Collection[GenerationStatus] | None = None,
        limit: int = 20,
        before: str | None = None,
    ) -> builtins.list[Generation]:
        """Generations newest first, optionally filtered by one or several statuses.

        ``before`` is a cursor: pass the last id of the previous page to get the next one.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if status is not None:
            statuses = (
                [GenerationStatus(status)]
                if isinstance(status, str)
                else sorted({GenerationStatus(s) for s in status})
            )
            if not statuses:
                return []
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params.extend(s.value for s in statuses)
        if before is not None:
            where.append("id < ?")
            params.append(before)
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return await self._run(lambda conn: [_from_row(r) for r in conn.execute(sql, params)])

    async def unfinished(self) -> builtins.list[Generation]:
        """Every pending, queued or processing generation, oldest first (resume on start-up)."""
        sql = f"{_SELECT} WHERE status IN ({', '.join('?' * len(_UNFINISHED))}) ORDER BY id ASC"
        return await self._run(lambda conn: [_from_row(r) for r in conn.execute(sql, _UNFINISHED)])

    async def find_by_idempotency_key(self, idempotency_key: str) -> Generation | None:
        """The generation created with ``idempotency_key``, if any."""
        sql = _SELECT + " WHERE idempotency_key = ?"

        def find(conn: sqlite3.Connection) -> Generation | None:
            row = conn.execute(sql, (idempotency_key,)).fetchone()
            return None if row is None else _from_row(row)

        return await self._run(find)

    async def find_by_upstream_id(self, provider: str, upstream_id: str) -> Generation | None:
        """The generation a provider knows as ``upstream_id`` (the newest, if ever reused)."""
        sql = f"{_SELECT} WHERE provider = ? AND upstream_id = ? ORDER BY id DESC LIMIT 1"

        def find(conn: sqlite3.Connection) -> Generation | None:
            row = conn.execute(sql, (provider, upstream_id)).fetchone()
            return None if row is None else _from_row(row)

        return await self._run(find)


def _disconnect(conn: sqlite3.Connection) -> None:
    try:
        # Cheap, and keeps query plans good as the table grows (SQLite's recommendation).
        conn.execute("PRAGMA optimize")
    finally:
        conn.close()
