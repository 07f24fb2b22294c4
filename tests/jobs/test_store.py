"""The durable job store: what survives restarts, idempotency, the state machine, listing."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from mediagate.errors import MediagateError
from mediagate.jobs import (
    Generation,
    GenerationStatus,
    InvalidTransition,
    JobStore,
    canonical_hash,
    new_generation_id,
)

S = GenerationStatus
REQUEST: dict[str, Any] = {"model": "flux-2", "prompt": "a red fox in snow", "seed": 7}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "jobs.sqlite3"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[JobStore]:
    async with JobStore(db_path) as s:
        yield s


async def make(
    store: JobStore,
    *,
    request: dict[str, Any] | None = None,
    key: str | None = None,
    model: str = "flux-2",
    provider: str = "local",
) -> Generation:
    req = REQUEST if request is None else request
    gen, created = await store.create(
        model=model,
        provider=provider,
        request=req,
        idempotency_key=key,
        request_hash=canonical_hash(req),
    )
    assert created
    return gen


async def make_in(store: JobStore, status: GenerationStatus) -> Generation:
    gen = await make(store, request={"prompt": f"job in {status}"})
    if status is not S.PENDING:
        gen = await store.transition(gen.id, status)
    assert gen.status is status
    return gen


# -- durability ---------------------------------------------------------------------------------


async def test_created_job_survives_close_and_reopen(db_path: Path) -> None:
    async with JobStore(db_path) as store:
        gen, _ = await store.create(
            model="flux-2",
            provider="local",
            request=REQUEST,
            idempotency_key="k-1",
            request_hash=canonical_hash(REQUEST),
            warnings=["seed is ignored by this model"],
            estimated_time_seconds=12.5,
            estimated_cost_credits=3.0,
        )
        await store.record_submit_attempt(gen.id)
        await store.transition(gen.id, S.PROCESSING, progress=30, upstream_id="up-9")

    async with JobStore(db_path) as reopened:
        again = await reopened.get(gen.id)
        assert again.status is S.PROCESSING
        assert again.request == REQUEST
        assert again.warnings == ["seed is ignored by this model"]
        assert again.estimated_time_seconds == 12.5
        assert again.estimated_cost_credits == 3.0
        assert again.attempts == 1
        assert again.progress == 30
        assert again.upstream_id == "up-9"
        assert again.idempotency_key == "k-1"
        assert [g.id for g in await reopened.unfinished()] == [gen.id]


CHILD = r"""
import asyncio, sys
from mediagate.jobs import GenerationStatus, JobStore, canonical_hash

async def main():
    store = await JobStore(sys.argv[1]).open()
    request = {"prompt": "written by a doomed process"}
    gen, _ = await store.create(
        model="flux-2", provider="local", request=request,
        request_hash=canonical_hash(request), idempotency_key="doomed",
    )
    await store.record_submit_attempt(gen.id)
    await store.transition(gen.id, GenerationStatus.PROCESSING, progress=42.0, upstream_id="up-1")
    print(gen.id, flush=True)
    sys.stdin.readline()  # never answered: the test SIGKILLs us with the store still open

asyncio.run(main())
"""


async def test_job_written_by_a_process_killed_with_sigkill_is_there_after_reopen(
    db_path: Path,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(db_path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    generation_id = line.decode().strip()
    # The process never closed the store: the rows live only in the WAL it left behind.
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists()
    assert wal.stat().st_size > 0

    async with JobStore(db_path) as store:
        gen = await store.get(generation_id)
        assert gen.status is S.PROCESSING
        assert gen.progress == 42.0
        assert gen.attempts == 1
        assert gen.upstream_id == "up-1"
        assert [g.id for g in await store.unfinished()] == [generation_id]
        assert await store.find_by_upstream_id("local", "up-1") == gen


async def test_database_runs_in_wal_mode(store: JobStore, db_path: Path) -> None:
    await make(store)
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_schema_version_is_recorded_and_a_newer_file_is_refused(db_path: Path) -> None:
    async with JobStore(db_path):
        pass
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="newer"):
        await JobStore(db_path).open()


async def test_using_a_store_before_open_is_an_error(db_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await JobStore(db_path).get("gen_x")


# -- idempotency --------------------------------------------------------------------------------


async def test_same_key_and_same_request_returns_the_existing_generation(store: JobStore) -> None:
    first = await make(store, key="retry-me")
    # Same arguments in another key order hash the same.
    again, created = await store.create(
        model="flux-2",
        provider="local",
        request=REQUEST,
        idempotency_key="retry-me",
        request_hash=canonical_hash(dict(reversed(REQUEST.items()))),
    )
    assert created is False
    assert again.id == first.id
    assert len(await store.list(limit=100)) == 1


async def test_same_key_with_a_different_request_is_an_idempotency_conflict(
    store: JobStore,
) -> None:
    first = await make(store, key="k")
    other = {**REQUEST, "prompt": "something else"}
    with pytest.raises(MediagateError) as info:
        await store.create(
            model="flux-2",
            provider="local",
            request=other,
            idempotency_key="k",
            request_hash=canonical_hash(other),
        )
    assert info.value.code == "idempotency_conflict"
    assert info.value.payload["generation_id"] == first.id
    assert "hint" in info.value.payload


async def test_fifty_concurrent_creates_with_one_key_make_exactly_one_row(
    store: JobStore,
) -> None:
    results = await asyncio.gather(
        *(
            store.create(
                model="flux-2",
                provider="local",
                request=REQUEST,
                idempotency_key="burst",
                request_hash=canonical_hash(REQUEST),
            )
            for _ in range(50)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({gen.id for gen, _ in results}) == 1
    assert len(await store.list(limit=100)) == 1


async def test_concurrent_creates_from_two_connections_make_exactly_one_row(
    db_path: Path,
) -> None:
    async with JobStore(db_path) as a, JobStore(db_path) as b:
        results = await asyncio.gather(
            *(
                s.create(
                    model="flux-2",
                    provider="local",
                    request=REQUEST,
                    idempotency_key="shared",
                    request_hash=canonical_hash(REQUEST),
                )
                for _ in range(20)
                for s in (a, b)
            )
        )
        assert sum(created for _, created in results) == 1
        assert len({gen.id for gen, _ in results}) == 1
        assert len(await a.list(limit=100)) == 1


async def test_requests_without_a_key_are_never_deduplicated(store: JobStore) -> None:
    one = await make(store)
    two = await make(store)
    assert one.id != two.id


# -- state machine ------------------------------------------------------------------------------

LEGAL = {
    S.PENDING: {S.QUEUED, S.PROCESSING, S.COMPLETED, S.FAILED, S.CANCELED},
    S.QUEUED: {S.QUEUED, S.PROCESSING, S.COMPLETED, S.FAILED, S.CANCELED},
    S.PROCESSING: {S.PROCESSING, S.COMPLETED, S.FAILED, S.CANCELED},
    S.COMPLETED: set(),
    S.FAILED: set(),
    S.CANCELED: set(),
}


def test_statuses_are_exactly_the_public_six() -> None:
    assert [s.value for s in S] == [
        "pending",
        "queued",
        "processing",
        "completed",
        "failed",
        "canceled",
    ]
    assert {s for s in S if s.is_terminal} == {S.COMPLETED, S.FAILED, S.CANCELED}


@pytest.mark.parametrize("current", list(S))
async def test_transition_table_is_enforced(store: JobStore, current: GenerationStatus) -> None:
    for target in S:
        gen = await make_in(store, current)
        if target in LEGAL[current]:
            moved = await store.transition(gen.id, target)
            assert moved.status is target
            assert (await store.get(gen.id)).status is target
        elif current.is_terminal and target is current:
            assert await store.transition(gen.id, target) == gen
        else:
            with pytest.raises(InvalidTransition):
                await store.transition(gen.id, target)
            assert await store.get(gen.id) == gen


async def test_timestamps_follow_the_lifecycle(store: JobStore) -> None:
    gen = await make(store)
    assert gen.started_at is None
    assert gen.finished_at is None
    assert gen.created_at == gen.updated_at

    queued = await store.transition(gen.id, S.QUEUED, status_message="position 3")
    assert queued.started_at is None
    assert queued.updated_at >= gen.updated_at

    running = await store.transition(gen.id, S.PROCESSING, progress=10)
    assert running.started_at is not None
    assert running.status_message == "position 3"  # kept unless a new one is given

    still = await store.transition(gen.id, S.PROCESSING, progress=20, status_message="rendering")
    assert still.started_at == running.started_at
    assert still.finished_at is None

    outputs = [{"url": "file:///x.png", "media_type": "image"}]
    done = await store.transition(gen.id, S.COMPLETED, outputs=outputs)
    assert done.finished_at is not None
    assert done.finished_at >= done.started_at  # type: ignore[operator]
    assert done.progress == 100
    assert done.outputs == outputs
    assert done.is_terminal


async def test_progress_never_goes_down(store: JobStore) -> None:
    gen = await make(store)
    assert (await store.transition(gen.id, S.PROCESSING, progress=50)).progress == 50
    assert (await store.transition(gen.id, S.PROCESSING, progress=20)).progress == 50
    assert (await store.transition(gen.id, S.PROCESSING)).progress == 50
    assert (await store.transition(gen.id, S.PROCESSING, progress=70.5)).progress == 70.5
    assert (await store.get(gen.id)).progress == 70.5


@pytest.mark.parametrize("bad", [-1.0, 100.5, float("nan")])
async def test_progress_outside_0_to_100_is_rejected(store: JobStore, bad: float) -> None:
    gen = await make(store)
    with pytest.raises(ValueError, match="progress"):
        await store.transition(gen.id, S.PROCESSING, progress=bad)
    assert (await store.get(gen.id)).status is S.PENDING


async def test_failed_generation_keeps_its_error_and_progress(store: JobStore) -> None:
    gen = await make(store)
    await store.transition(gen.id, S.PROCESSING, progress=40)
    error = {"error": "content_filtered", "message": "The upstream refused the prompt."}
    failed = await store.transition(gen.id, S.FAILED, error=error)
    assert failed.error == error
    assert failed.progress == 40


async def test_terminal_generations_are_immutable(store: JobStore) -> None:
    gen = await make(store)
    outputs = [{"url": "file:///a.png"}]
    done = await store.transition(gen.id, S.COMPLETED, outputs=outputs)

    # Repeating the final status is a harmless no-op that changes nothing.
    same = await store.transition(gen.id, S.COMPLETED, outputs=[{"url": "file:///b.png"}])
    assert same == done
    with pytest.raises(InvalidTransition) as info:
        await store.transition(gen.id, S.CANCELED)
    assert info.value.current is S.COMPLETED
    with pytest.raises(InvalidTransition):
        await store.record_submit_attempt(gen.id)
    with pytest.raises(InvalidTransition):
        await store.set_upstream_id(gen.id, "late-id")
    assert await store.get(gen.id) == done


async def test_expected_from_makes_a_transition_conditional(store: JobStore) -> None:
    gen = await make(store)
    await store.transition(gen.id, S.CANCELED)
    # A poller that still believes the job is processing must not overwrite the cancel.
    with pytest.raises(InvalidTransition):
        await store.transition(gen.id, S.COMPLETED, expected_from={S.PROCESSING})
    other = await make(store)
    with pytest.raises(InvalidTransition):
        await store.transition(other.id, S.PROCESSING, expected_from={S.QUEUED})
    moved = await store.transition(other.id, S.PROCESSING, expected_from={S.PENDING, S.QUEUED})
    assert moved.status is S.PROCESSING


async def test_submit_attempts_and_upstream_id_are_recorded(store: JobStore) -> None:
    gen = await make(store, provider="gateai")
    assert gen.attempts == 0
    assert (await store.record_submit_attempt(gen.id)).attempts == 1
    assert (await store.record_submit_attempt(gen.id)).attempts == 2
    await store.set_upstream_id(gen.id, "task-123")
    found = await store.find_by_upstream_id("gateai", "task-123")
    assert found is not None
    assert found.id == gen.id
    assert found.attempts == 2
    assert await store.find_by_upstream_id("kubeez", "task-123") is None
    assert await store.find_by_upstream_id("gateai", "task-999") is None


async def test_unknown_generation_is_generation_not_found(store: JobStore) -> None:
    missing = new_generation_id()
    for call in (
        store.get(missing),
        store.transition(missing, S.CANCELED),
        store.record_submit_attempt(missing),
        store.set_upstream_id(missing, "x"),
    ):
        with pytest.raises(MediagateError) as info:
            await call
        assert info.value.code == "generation_not_found"
        assert info.value.payload["generation_id"] == missing


# -- listing ------------------------------------------------------------------------------------


async def test_list_is_newest_first_with_a_cursor(store: JobStore) -> None:
    made = [await make(store, request={"n": i}) for i in range(7)]
    newest_first = [g.id for g in reversed(made)]

    assert [g.id for g in await store.list(limit=100)] == newest_first
    page1 = await store.list(limit=3)
    page2 = await store.list(limit=3, before=page1[-1].id)
    page3 = await store.list(limit=3, before=page2[-1].id)
    assert [g.id for g in page1 + page2 + page3] == newest_first
    assert len(page3) == 1
    assert await store.list(before=page3[-1].id) == []
    with pytest.raises(ValueError, match="limit"):
        await store.list(limit=0)


async def test_list_filters_by_one_or_several_statuses(store: JobStore) -> None:
    pending = await make_in(store, S.PENDING)
    queued = await make_in(store, S.QUEUED)
    done = await make_in(store, S.COMPLETED)
    failed = await make_in(store, S.FAILED)

    assert [g.id for g in await store.list(status=S.COMPLETED)] == [done.id]
    assert [g.id for g in await store.list(status={S.FAILED, S.PENDING})] == [
        failed.id,
        pending.id,
    ]
    assert [g.id for g in await store.list(status=[S.QUEUED])] == [queued.id]
    assert await store.list(status=S.CANCELED) == []
    assert await store.list(status=[]) == []


async def test_unfinished_lists_only_live_jobs_oldest_first(store: JobStore) -> None:
    a = await make_in(store, S.PROCESSING)
    await make_in(store, S.COMPLETED)
    b = await make_in(store, S.PENDING)
    await make_in(store, S.CANCELED)
    c = await make_in(store, S.QUEUED)
    await make_in(store, S.FAILED)
    assert [g.id for g in await store.unfinished()] == [a.id, b.id, c.id]


# -- ids and hashes -----------------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _timestamp_ms(generation_id: str) -> int:
    value = 0
    for char in generation_id.removeprefix("gen_")[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def test_ten_thousand_ids_are_unique_and_sort_by_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_generation_id() for _ in range(10_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 30 and i.startswith("gen_") for i in ids)
    assert before <= _timestamp_ms(ids[0]) <= _timestamp_ms(ids[-1]) <= after + 1


async def test_stored_generations_sort_by_creation_time(store: JobStore) -> None:
    made = [await make(store, request={"n": i}) for i in range(50)]
    assert [g.id for g in made] == sorted(g.id for g in made)
    assert [g.created_at for g in made] == sorted(g.created_at for g in made)


def test_canonical_hash_ignores_key_order_but_not_values() -> None:
    assert canonical_hash({"a": 1, "b": "é"}) == canonical_hash({"b": "é", "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 2})
    assert len(canonical_hash({})) == 64
