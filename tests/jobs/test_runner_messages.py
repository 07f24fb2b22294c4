"""The runner persists what a provider says while a job waits (queued → queued messages)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mediagate.catalog import load_catalog, validate_generate
from mediagate.jobs.model import Generation, GenerationStatus, canonical_hash
from mediagate.jobs.runner import JobRunner
from mediagate.jobs.store import JobStore
from mediagate.media.store import MediaStore, StoredFile
from mediagate.providers.base import RunContext


class WaitingProvider:
    """Waits in the queue with two different messages, then fails (no files needed)."""

    name = "waiting"

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def run(self, ctx: RunContext) -> list[StoredFile]:
        await ctx.report(GenerationStatus.QUEUED, None, "waiting for a free slot")
        await ctx.report(GenerationStatus.QUEUED, None, "waiting for a free slot")
        await ctx.report(GenerationStatus.QUEUED, None, "rate limited; retrying in 8 s")
        await self.release.wait()
        from mediagate.errors import MediagateError

        raise MediagateError("upstream_error", "gave up")

    async def cancel(self, generation: Generation) -> None:
        return None

    async def aclose(self) -> None:
        return None


def test_a_queued_job_shows_each_new_message_once(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[str | None], Generation]:
        catalog = load_catalog()
        media = MediaStore(tmp_path / "media")
        media.ensure()
        provider = WaitingProvider()
        seen: list[str | None] = []
        async with JobStore(tmp_path / "jobs.sqlite3") as store:
            runner = JobRunner(
                store=store, providers={"waiting": provider}, media=media, catalog=catalog
            )
            runner.add_listener(lambda g: seen.append(g.status_message))
            args = {"model": "nano-banana", "prompt": "a cat"}
            request = validate_generate(args, catalog)
            gen, _ = await runner.submit(
                request=request, provider="waiting", request_hash=canonical_hash(args)
            )
            for _ in range(200):
                stored = await store.get(gen.id)
                if stored.status_message == "rate limited; retrying in 8 s":
                    break
                await asyncio.sleep(0.01)
            provider.release.set()
            done = await runner.wait(gen.id, 10, None)
            await runner.aclose()
        return seen, done

    seen, done = asyncio.run(scenario())
    waiting = [m for m in seen if m and ("waiting" in m or "retrying" in m)]
    assert waiting == ["waiting for a free slot", "rate limited; retrying in 8 s"]
    assert done.status == GenerationStatus.FAILED
