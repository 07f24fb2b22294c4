"""What every provider implements: drive one generation to its output files.

The job runner owns state; a provider owns the upstream conversation. ``run`` is called for a
new generation and again after a restart for an unfinished one: a provider that talks to an
upstream records the upstream id through the context before it waits, so a resumed ``run``
polls instead of submitting twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest
from mediagate.jobs.model import Generation, GenerationStatus
from mediagate.media.store import MediaStore, StoredFile

Report = Callable[[GenerationStatus, float | None, str | None], Awaitable[None]]


@dataclass(slots=True)
class RunContext:
    """Everything a provider needs for one generation, and the hooks to report back."""

    generation: Generation
    request: GenerationRequest
    catalog: Catalog
    media: MediaStore
    #: Where output files go; not created yet (the writer creates it, off the event loop).
    folder: Path
    #: Persist a status/progress/message change (monotonic progress; durable).
    report: Report
    #: Durably note that a submit is about to be sent (before the bytes leave).
    record_submit_attempt: Callable[[], Awaitable[None]]
    #: Durably remember the upstream's id for this generation.
    set_upstream_id: Callable[[str], Awaitable[None]]
    #: Something the agent should know about the result (shown under ``warnings``).
    warn: Callable[[str], Awaitable[None]]


class Provider(Protocol):
    """One upstream (or the embedded local renderer)."""

    name: str

    async def run(self, ctx: RunContext) -> list[StoredFile]:
        """Drive the generation to completion and return its stored output files.

        Raise ``MediagateError`` for a failure with a stable code.
        """
        ...

    async def cancel(self, generation: Generation) -> None:
        """Best-effort cancel upstream (the runner stops waiting regardless)."""
        ...

    async def aclose(self) -> None:
        """Release clients, pools and workers."""
        ...
