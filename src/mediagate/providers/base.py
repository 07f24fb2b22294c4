"""What every provider implements: drive one generation to its output files.

The job runner owns state; a provider owns the upstream conversation. ``run`` is called for a
new generation and again after a restart for an unfinished one: a provider that talks to an
upstream records the upstream id through the context before it waits, so a resumed ``run``
polls instead of submitting twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
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
    #: The id of the generation that already owns an upstream id of this provider (``None``
    #: when none does): reconciliation after a lost submit answer must not adopt another
    #: generation's upstream job.
    upstream_id_owner: Callable[[str], Awaitable[str | None]] | None = None


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


# --- optional capabilities --------------------------------------------------------------------
# A provider object may also offer these; server tools ask ``isinstance(p, SupportsBalance)``.


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One change an upstream would make (or made) to fit its budget: ``param`` ``old → new``."""

    param: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        """The wire shape, ``{"param", "from", "to"}`` (as GateAI spells it)."""
        return {"param": self.param, "from": self.old, "to": self.new}


@dataclass(frozen=True, slots=True)
class UpstreamEstimate:
    """The upstream's own price for a request, and whether it fits the remaining budget."""

    cost: float
    currency: str
    fits_in_budget: bool
    #: What the budget has left today, when the upstream says.
    remaining: float | None = None
    #: What the upstream would change to fit the budget (empty when it fits as asked).
    adjustments: tuple[Adjustment, ...] = ()
    #: The price after ``adjustments``.
    adjusted_cost: float | None = None
    #: ``adjustments`` as sentences an agent can read (for ``warnings``).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Balance:
    """A provider account's spending budget (GateAI: dollars per day, per API key)."""

    provider: str
    currency: str
    daily_limit: float | None
    used: float | None
    remaining: float | None
    #: When the budget next resets, if it resets on a known schedule.
    resets_at: datetime | None = None
    #: Shared-pool health the upstream reports (GateAI: ``total_accounts``, ``locked``).
    pool: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class SupportsEstimate(Protocol):
    """A provider that can price a request upstream before submitting it."""

    name: str

    async def estimate(self, request: GenerationRequest, entry: ModelEntry) -> UpstreamEstimate:
        """The upstream's price for ``request``; raise ``MediagateError`` if it cannot say."""
        ...


@runtime_checkable
class SupportsBalance(Protocol):
    """A provider that can report its account's remaining budget."""

    name: str

    async def balance(self) -> Balance:
        """The current budget; raise ``MediagateError`` if the upstream cannot say."""
        ...


@runtime_checkable
class SupportsLiveModels(Protocol):
    """A provider that keeps the upstream's own model list (availability, prices) fresh.

    Our catalog stays the validation source; the live list only informs ``get_models``.
    """

    name: str

    def start_live_models(self, catalog: Catalog) -> None:
        """Fetch the upstream's model list now and keep refreshing it in the background."""
        ...

    def live_status(self, entry: ModelEntry) -> dict[str, Any] | None:
        """What the live list says of ``entry`` (``available``, ``live_price``), or ``None``
        before the first list arrived."""
        ...
