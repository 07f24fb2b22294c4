"""The job runner: one asyncio task per unfinished generation, driven through its provider.

A generation is durable before any provider sees it (``JobStore.create``); the runner then
calls ``provider.run`` and persists every status change it reports. On start-up every
unfinished generation is resumed. Callers wait for a generation with ``wait``, which returns
at the first terminal state or when the wait times out, calling back on each change.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest
from mediagate.errors import MediagateError
from mediagate.jobs.model import (
    Generation,
    GenerationStatus,
    InvalidTransition,
    can_transition,
)
from mediagate.jobs.store import JobStore
from mediagate.media.store import MediaStore
from mediagate.providers.base import Provider, RunContext

log = logging.getLogger(__name__)

Listener = Callable[[Generation], None]
OnUpdate = Callable[[Generation], Awaitable[None]]

#: Persist progress only when it moved this much (each write is an fsync).
_PROGRESS_STEP = 1.0


@dataclass(slots=True)
class _Reported:
    """What was last persisted for a generation (to skip redundant writes)."""

    status: GenerationStatus
    progress: float
    message: str | None


class JobRunner:
    """Drives generations through providers and broadcasts their changes."""

    def __init__(
        self,
        *,
        store: JobStore,
        providers: Mapping[str, Provider],
        media: MediaStore,
        catalog: Catalog,
    ) -> None:
        self.store = store
        self.providers = dict(providers)
        self.media = media
        self.catalog = catalog
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._changed: dict[str, asyncio.Event] = {}
        self._canceling: set[str] = set()
        self._listeners: list[Listener] = []
        self._closing = False

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> int:
        """Resume every unfinished generation; return how many were resumed."""
        unfinished = await self.store.unfinished()
        for gen in unfinished:
            self._spawn(gen)
        if unfinished:
            log.info("resumed %d unfinished generation(s)", len(unfinished))
        return len(unfinished)

    async def aclose(self) -> None:
        """Stop driving (jobs stay unfinished in the store and resume on the next start)."""
        self._closing = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every persisted change; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # --- submitting -------------------------------------------------------------------------

    async def submit(
        self,
        *,
        request: GenerationRequest,
        provider: str,
        request_hash: str,
        idempotency_key: str | None = None,
        estimated_time_seconds: float | None = None,
        estimated_cost_credits: float | None = None,
        output_dir: str | None = None,
    ) -> tuple[Generation, bool]:
        """Record the generation durably, then start driving it. Idempotent by key.

        ``output_dir`` (already checked as allowed) receives a copy of each output file.
        """
        if provider not in self.providers:
            raise MediagateError(
                "provider_not_configured",
                f"Provider {provider!r} is not configured.",
                available=sorted(self.providers),
            )
        gen, created = await self.store.create(
            model=request.model,
            provider=provider,
            request={**request.to_dict(), "output_dir": output_dir},
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            warnings=request.warnings,
            estimated_time_seconds=estimated_time_seconds,
            estimated_cost_credits=estimated_cost_credits,
        )
        if created:
            self._notify(gen)
            self._spawn(gen)
        return gen, created

    def _spawn(self, gen: Generation) -> None:
        if gen.id in self._tasks or self._closing:
            return
        task = asyncio.create_task(self._drive(gen), name=f"generation {gen.id}")
        self._tasks[gen.id] = task
        task.add_done_callback(functools.partial(self._forget, gen.id))

    def _forget(self, generation_id: str, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(generation_id, None)

    # --- driving ----------------------------------------------------------------------------

    async def _drive(self, gen: Generation) -> None:
        provider = self.providers.get(gen.provider)
        if provider is None:
            await self._finish(
                gen.id,
                GenerationStatus.FAILED,
                error=MediagateError(
                    "provider_not_configured",
                    f"Provider {gen.provider!r} is not configured on this server any more.",
                ).payload,
            )
            return
        request = GenerationRequest.from_dict(gen.request)
        state = _Reported(gen.status, gen.progress or 0.0, gen.status_message)
        #: Provider warnings, stored with the final state.
        pending_warnings: list[str] = []

        async def report(
            status: GenerationStatus, progress: float | None, message: str | None
        ) -> None:
            if not can_transition(state.status, status) and status != state.status:
                # A generation resumed after a restart is already processing, but its provider
                # walks the lifecycle from the start ("queued" first). Persisting that backward
                # move raised InvalidTransition and failed every resumed job; skip it instead.
                return
            moved = progress is not None and progress - state.progress >= _PROGRESS_STEP
            if status == state.status and not moved and message == state.message:
                return  # nothing new
            updated = await self.store.transition(
                gen.id, status, progress=progress, status_message=message
            )
            state.status, state.progress, state.message = (
                updated.status,
                updated.progress or 0.0,
                message,
            )
            self._notify(updated)

        async def record_submit_attempt() -> None:
            self._notify(await self.store.record_submit_attempt(gen.id))

        async def set_upstream_id(upstream_id: str) -> None:
            self._notify(await self.store.set_upstream_id(gen.id, upstream_id))

        async def warn(message: str) -> None:
            pending_warnings.append(message)

        async def upstream_id_owner(upstream_id: str) -> str | None:
            owner = await self.store.find_by_upstream_id(gen.provider, upstream_id)
            return owner.id if owner is not None else None

        ctx = RunContext(
            generation=gen,
            request=request,
            catalog=self.catalog,
            media=self.media,
            folder=self.media.folder(gen.id, create=False),
            report=report,
            record_submit_attempt=record_submit_attempt,
            set_upstream_id=set_upstream_id,
            warn=warn,
            upstream_id_owner=upstream_id_owner,
        )
        try:
            files = await provider.run(ctx)
        except asyncio.CancelledError:
            if gen.id in self._canceling:
                await self._finish(gen.id, GenerationStatus.CANCELED, message="canceled")
                return
            raise
        except MediagateError as exc:
            await self._finish(
                gen.id, GenerationStatus.FAILED, error=exc.payload, warnings=pending_warnings
            )
            return
        except Exception as exc:
            log.exception("generation %s failed in provider %s", gen.id, gen.provider)
            await self._finish(
                gen.id,
                GenerationStatus.FAILED,
                error=MediagateError(
                    "upstream_error",
                    f"The {gen.provider} provider failed: {type(exc).__name__}: {exc}",
                ).payload,
            )
            return
        outputs = [f.to_json() for f in files]
        target = gen.request.get("output_dir")
        if target:
            try:
                for out, stored in zip(outputs, files, strict=True):
                    copied = await asyncio.to_thread(self.media.copy_out, stored, Path(target))
                    out["copied_to"] = str(copied)
            except OSError as exc:
                log.warning("copying %s outputs to %s failed: %s", gen.id, target, exc)
                for out in outputs:
                    out.setdefault("copy_error", f"could not copy to {target}: {exc}")
        await self._finish(
            gen.id,
            GenerationStatus.COMPLETED,
            outputs=outputs,
            message="completed",
            warnings=pending_warnings,
        )

    async def _finish(
        self,
        generation_id: str,
        status: GenerationStatus,
        *,
        outputs: list[dict[str, Any]] | None = None,
        error: dict[str, Any] | None = None,
        message: str | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        try:
            gen = await self.store.transition(
                generation_id,
                status,
                progress=100.0 if status == GenerationStatus.COMPLETED else None,
                outputs=outputs,
                error=error,
                status_message=message or (error or {}).get("message"),
                add_warnings=warnings or (),
            )
        except InvalidTransition:
            gen = await self.store.get(generation_id)  # already terminal (raced a cancel)
        self._notify(gen)

    # --- control ----------------------------------------------------------------------------

    async def cancel(self, generation_id: str) -> Generation:
        """End a generation: stop driving it, cancel upstream, mark it canceled."""
        gen = await self.store.get(generation_id)
        if gen.is_terminal:
            return gen
        self._canceling.add(generation_id)
        try:
            provider = self.providers.get(gen.provider)
            if provider is not None:
                try:
                    await provider.cancel(gen)
                except Exception:
                    log.warning("upstream cancel of %s failed", generation_id, exc_info=True)
            task = self._tasks.get(generation_id)
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            gen = await self.store.get(generation_id)
            if not gen.is_terminal:
                await self._finish(generation_id, GenerationStatus.CANCELED, message="canceled")
        finally:
            self._canceling.discard(generation_id)
        return await self.store.get(generation_id)

    async def wait(
        self, generation_id: str, timeout: float, on_update: OnUpdate | None = None
    ) -> Generation:
        """Return the generation once terminal or after ``timeout`` seconds, whichever first.

        ``on_update`` is awaited with each persisted change seen while waiting. Cancelling the
        caller ends the wait, never the generation.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        gen = await self.store.get(generation_id)
        while not gen.is_terminal:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            event = self._changed.setdefault(generation_id, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
            gen = await self.store.get(generation_id)
            if on_update is not None:
                await on_update(gen)
        return gen

    def _notify(self, gen: Generation) -> None:
        event = self._changed.pop(gen.id, None)
        if event is not None:
            event.set()
        for listener in list(self._listeners):
            try:
                listener(gen)
            except Exception:
                log.warning("generation listener failed", exc_info=True)
