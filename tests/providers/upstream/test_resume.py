"""A server stopped mid-generation and started again: the job is picked up by its upstream id
(or found by reconciling) and completes, with no second submit. Runs through the real job
runner and SQLite store; the "crash" stops the runner without letting it record anything, as
``kill -9`` would."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mediagate.jobs.model import GenerationStatus, canonical_hash
from mediagate.jobs.runner import JobRunner
from mediagate.jobs.store import JobStore
from mediagate.media.store import MediaStore

from .helpers import FakeUpstream, FileServer, TinyAdapter, catalog, image_request, make_provider

_SETTINGS = {"upstream_reconcile_window_s": 1.0, "upstream_retry_base_s": 0.01}


async def _until(predicate: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def _crash_and_resume(
    tmp_path: Path, media: MediaStore, fake: FakeUpstream, crash_when: str
) -> tuple[object, FakeUpstream]:
    db = tmp_path / "jobs.sqlite3"
    adapter = TinyAdapter(first_poll_s=0.01)
    request = image_request()
    store = await JobStore(db).open()
    provider = make_provider(fake, None, adapter=adapter, settings=_SETTINGS)
    runner = JobRunner(store=store, providers={"tiny": provider}, media=media, catalog=catalog())
    gen, _ = await runner.submit(
        request=request, provider="tiny", request_hash=canonical_hash({"p": 1})
    )

    async def reached() -> bool:
        current = await store.get(gen.id)
        if crash_when == "upstream_id":
            return current.upstream_id is not None
        return current.attempts == 1 and len(fake.jobs) == 1

    await _until(reached, crash_when)
    # The crash: tasks die where they stand; nothing more is written.
    await runner.aclose()
    await provider.aclose()
    await store.close()

    store = await JobStore(db).open()
    try:
        stranded = await store.get(gen.id)
        assert not stranded.is_terminal
        for event in (fake.hold_submit, fake.hold_polls):
            if event is not None:
                event.set()
        provider = make_provider(fake, None, adapter=adapter, settings=_SETTINGS)
        runner = JobRunner(
            store=store, providers={"tiny": provider}, media=media, catalog=catalog()
        )
        assert await runner.start() == 1
        done = await runner.wait(gen.id, 30)
        await runner.aclose()
        await provider.aclose()
    finally:
        await store.close()
    return done, fake


async def test_restart_after_submit_resumes_by_upstream_id(
    tmp_path: Path, media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], hold_polls=asyncio.Event())
    done, fake = await _crash_and_resume(tmp_path, media, fake, "upstream_id")
    assert done.status == GenerationStatus.COMPLETED, done.error  # type: ignore[attr-defined]
    assert fake.submits == 1
    assert fake.count("GET", "/v1/jobs") == 0  # resumed by id, no reconcile needed
    assert done.attempts == 1  # type: ignore[attr-defined]
    assert done.outputs[0]["source_url"] == files.url("out.png")  # type: ignore[attr-defined]


async def test_restart_during_submit_reconciles_instead_of_resubmitting(
    tmp_path: Path, media: MediaStore, files: FileServer
) -> None:
    fake = FakeUpstream(outputs=[files.url("out.png")], hold_submit=asyncio.Event())
    done, fake = await _crash_and_resume(tmp_path, media, fake, "submit")
    assert done.status == GenerationStatus.COMPLETED, done.error  # type: ignore[attr-defined]
    assert fake.submits == 1
    assert len(fake.jobs) == 1
    assert done.upstream_id == "job-1"  # type: ignore[attr-defined]
    assert fake.count("GET", "/v1/jobs") >= 1
