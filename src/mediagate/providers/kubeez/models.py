"""Kubeez's live model list (``GET /v1/models``) beside our limit tables.

Our tables stay the validation source: live data never makes a call valid that the tables
refuse. What the live list adds is whether a model is enabled right now and its current price
(for ``get_models``), and where the two disagree (a model live but not in our tables, one of
ours disabled or missing live, other generation types, another price) each disagreement is
logged once per process, however often the list is refreshed.

The parsing and the comparison are pure; :class:`KubeezModelSync` fetches at start and every
``refresh_s`` through an injected ``httpx2.AsyncClient`` and never lets an error escape: a
failed refresh is logged and the last good snapshot stays.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2

from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry
from mediagate.providers.kubeez.mapping import MODELS_PATH
from mediagate.providers.upstream.answers import finite_number

log = logging.getLogger(__name__)

DisagreementKind = Literal[
    "not_in_tables", "missing_live", "disabled_live", "generation_types_differ", "price_differs"
]


class LiveModelsError(ValueError):
    """A ``GET /v1/models`` answer that is not a model list at all."""


@dataclass(frozen=True, slots=True)
class LiveModel:
    """One row of ``GET /v1/models``."""

    model_id: str
    enabled: bool
    generation_types: tuple[str, ...] = ()
    name: str | None = None
    requires_input_media: bool | None = None
    input_media_types: tuple[str, ...] = ()
    usage_notes: str | None = None
    #: ``pricing.credits`` (``None`` when Kubeez lists no price) in ``pricing.unit``.
    credits: float | None = None
    unit: str | None = None

    @property
    def per_second(self) -> bool:
        """Whether the price is a rate per second of output ("credits / sec")."""
        unit = (self.unit or "").lower().replace(" ", "")
        return any(mark in unit for mark in ("/s", "sec", "per_second"))


@dataclass(frozen=True, slots=True)
class LiveModels:
    """A snapshot of Kubeez's enabled models and prices, by model id."""

    models: Mapping[str, LiveModel]
    #: Wall-clock time (``time.time()``) the snapshot was fetched.
    fetched_at: float = 0.0
    #: Rows of the answer that could not be read (each a short reason), for the log.
    skipped: tuple[str, ...] = ()

    def get(self, model_id: str) -> LiveModel | None:
        """The live row of ``model_id`` exactly as Kubeez spells it."""
        return self.models.get(model_id)

    def for_entry(self, entry: ModelEntry) -> LiveModel | None:
        """The live row of one catalog entry: its id, else its first listed pricing row.

        Kubeez lists some variants under their rate-table names (``gemini-omni-video-hd-6s``
        prices ``gemini-omni-video-720p-6s``), which the entry records in ``pricing.rows``.
        """
        for name in (entry.id, *entry.pricing.rows):
            row = self.models.get(name)
            if row is not None:
                return row
        return None

    def available(self, entry: ModelEntry) -> bool:
        """Whether Kubeez lists the model as enabled right now."""
        row = self.for_entry(entry)
        return row is not None and row.enabled

    def price(self, entry: ModelEntry) -> tuple[float, str | None] | None:
        """The live price of the model as ``(credits, unit)``, when Kubeez lists one."""
        row = self.for_entry(entry)
        if row is None or row.credits is None:
            return None
        return row.credits, row.unit


def parse_models(body: Any, *, fetched_at: float = 0.0) -> LiveModels:
    """Read a ``GET /v1/models`` answer; unreadable rows are skipped (and named in ``skipped``).

    Raises :class:`LiveModelsError` when the answer holds no model list at all.
    """
    rows = body.get("models") if isinstance(body, Mapping) else body
    if not isinstance(rows, list):
        raise LiveModelsError("the answer has no models array")
    models: dict[str, LiveModel] = {}
    skipped: list[str] = []
    for i, row in enumerate(rows):
        model = _parse_row(row)
        if isinstance(model, str):
            skipped.append(f"models[{i}]: {model}")
        else:
            models[model.model_id] = model
    return LiveModels(models=models, fetched_at=fetched_at, skipped=tuple(skipped))


def _strings(value: object) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return tuple(value)


def _parse_row(row: object) -> LiveModel | str:
    if not isinstance(row, Mapping):
        return "not an object"
    model_id = row.get("model_id", row.get("id"))
    if not isinstance(model_id, str) or not model_id.strip():
        return "no model_id"
    types = _strings(row.get("generation_types"))
    media = _strings(row.get("input_media_types"))
    if types is None or media is None:
        return f"{model_id}: generation_types/input_media_types are not string arrays"
    enabled = row.get("enabled", True)
    requires = row.get("requires_input_media")
    pricing = row.get("pricing")
    credits: float | None = None
    unit: str | None = None
    if isinstance(pricing, Mapping):
        credits = finite_number(pricing.get("credits"))
        unit = pricing.get("unit") if isinstance(pricing.get("unit"), str) else None
    name, notes = row.get("name"), row.get("usage_notes")
    return LiveModel(
        model_id=model_id.strip(),
        enabled=enabled is not False,
        generation_types=types,
        name=name if isinstance(name, str) else None,
        requires_input_media=requires if isinstance(requires, bool) else None,
        input_media_types=media,
        usage_notes=notes if isinstance(notes, str) else None,
        credits=credits,
        unit=unit,
    )


# --- comparison -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One way the live list and our tables differ. Equal disagreements are logged once."""

    kind: DisagreementKind
    model_id: str
    ours: str | None = None
    live: str | None = None

    @property
    def message(self) -> str:
        """One line for the log."""
        m = self.model_id
        if self.kind == "not_in_tables":
            return f"Kubeez lists model {m!r}, which our tables do not have (it stays unusable)."
        if self.kind == "missing_live":
            return f"Kubeez does not list model {m!r} from our tables (calls may be refused)."
        if self.kind == "disabled_live":
            return f"Kubeez lists model {m!r} as disabled (calls may be refused)."
        if self.kind == "generation_types_differ":
            return f"Kubeez model {m!r} takes {self.live}; our tables say {self.ours}."
        return f"Kubeez prices {m!r} at {self.live}; our tables say {self.ours}."


def _expected_prices(entry: ModelEntry) -> dict[str, tuple[float, ...]]:
    """Live ids → the prices our table allows for them (no entry: nothing to compare)."""
    p = entry.pricing
    if p.kind == "flat" and p.credits is not None:
        return {name: (p.credits,) for name in (entry.id, *p.rows)}
    if p.kind == "per_second" and p.rate is not None:
        out: dict[str, tuple[float, ...]] = {name: (p.rate,) for name in (entry.id, *p.rows)}
        for row in p.rows:
            if row.endswith("-audio") and p.audio_rate is not None:
                out[row] = (p.audio_rate,)
        return out
    if p.kind == "per_tier" and entry.resolution is not None:
        tiers = tuple(t.credits for t in entry.resolution.tiers if t.credits is not None)
        return {entry.id: tiers}
    return {}


def _show(prices: Iterable[float], unit: str | None = None) -> str:
    text = " or ".join(f"{p:g}" for p in prices)
    return f"{text} {unit}" if unit else f"{text} credits"


def compare(
    catalog: Catalog, snapshot: LiveModels, *, provider: str = "kubeez"
) -> list[Disagreement]:
    """Every disagreement between our ``provider`` entries and a live snapshot (pure)."""
    entries = [e for e in catalog.models.values() if e.provider == provider]
    found: dict[tuple[DisagreementKind, str], Disagreement] = {}

    def add(d: Disagreement) -> None:
        found.setdefault((d.kind, d.model_id), d)

    known: set[str] = set(catalog.families)
    for entry in entries:
        known.add(entry.id)
        known.update(entry.pricing.rows)
        row = snapshot.for_entry(entry)
        if row is None:
            add(Disagreement("missing_live", entry.id))
            continue
        if not row.enabled:
            add(Disagreement("disabled_live", entry.id))
        if row.generation_types and set(row.generation_types) != set(entry.generation_types):
            add(
                Disagreement(
                    "generation_types_differ",
                    entry.id,
                    ours=", ".join(sorted(entry.generation_types)),
                    live=", ".join(sorted(row.generation_types)),
                )
            )
        for live_id, allowed in _expected_prices(entry).items():
            live_row = snapshot.get(live_id)
            if live_row is None or live_row.credits is None or not allowed:
                continue
            if not any(math.isclose(live_row.credits, a, rel_tol=1e-6) for a in allowed):
                add(
                    Disagreement(
                        "price_differs",
                        live_id,
                        ours=_show(allowed),
                        live=_show((live_row.credits,), live_row.unit),
                    )
                )
    folded = {k.casefold() for k in known}
    for model_id in snapshot.models:
        if model_id.casefold() not in folded:
            add(Disagreement("not_in_tables", model_id))
    return list(found.values())


# --- sync -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Reported:
    disagreements: set[Disagreement] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    last_error: str | None = None


class KubeezModelSync:
    """Keeps a :class:`LiveModels` snapshot fresh: fetched at start, then every ``refresh_s``.

    ``client`` is the provider's shared client (its ``base_url`` is Kubeez's; ``headers``
    authenticate, e.g. ``KubeezAdapter().auth_headers(key)``). The client belongs to the
    caller and is not closed here. ``refresh_s <= 0`` fetches once, at start.
    """

    def __init__(
        self,
        client: httpx2.AsyncClient,
        catalog: Catalog,
        *,
        refresh_s: float,
        headers: Mapping[str, str] | None = None,
        path: str = MODELS_PATH,
        timeout_s: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._refresh_s = refresh_s
        self._headers = dict(headers or {})
        self._path = path
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._clock = clock
        self._snapshot: LiveModels | None = None
        self._disagreements: tuple[Disagreement, ...] = ()
        self._reported = _Reported()
        self._task: asyncio.Task[None] | None = None
        self._first_done = asyncio.Event()

    @property
    def snapshot(self) -> LiveModels | None:
        """The last good snapshot, ``None`` until one was fetched."""
        return self._snapshot

    @property
    def disagreements(self) -> tuple[Disagreement, ...]:
        """What the last good snapshot disagrees with our tables about."""
        return self._disagreements

    def start(self) -> None:
        """Begin syncing in the background: a first fetch now, then every ``refresh_s``."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="kubeez model sync")

    async def wait_first(self) -> None:
        """Wait until the first fetch finished (successfully or not)."""
        await self._first_done.wait()

    async def aclose(self) -> None:
        """Stop the refresh loop (the client stays open: it is the caller's)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # asyncio.wait, not ``await task``: a cancel of aclose itself must propagate, and
            # must not be mistaken for (and swallowed as) the loop's own cancellation.
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                log.error("Kubeez model sync ended with an error", exc_info=task.exception())

    async def __aenter__(self) -> KubeezModelSync:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def refresh(self) -> LiveModels | None:
        """Fetch once now; return the new snapshot, or ``None`` (logged) when that failed."""
        try:
            response = await self._client.get(
                self._path, headers=self._headers, timeout=self._timeout_s
            )
            if response.status_code != 200:
                raise LiveModelsError(f"HTTP {response.status_code}")
            snapshot = parse_models(response.json(), fetched_at=self._clock())
        except (httpx2.HTTPError, ValueError) as exc:
            # json() raises a ValueError subclass on a non-JSON body, as does parse_models.
            self._log_failure(f"{type(exc).__name__}: {exc}"[:300])
            return None
        self._reported.last_error = None
        self._snapshot = snapshot
        self._disagreements = tuple(compare(self._catalog, snapshot))
        for reason in snapshot.skipped:
            if reason not in self._reported.skipped:
                self._reported.skipped.add(reason)
                log.warning("Kubeez GET /v1/models: skipped an unreadable row (%s).", reason)
        for d in self._disagreements:
            if d not in self._reported.disagreements:
                self._reported.disagreements.add(d)
                log.warning("Kubeez model list: %s", d.message)
        return snapshot

    def _log_failure(self, why: str) -> None:
        kept = "keeping the last snapshot" if self._snapshot is not None else "no snapshot yet"
        # The same failure every refresh (an outage) is logged once, then at debug level.
        level = logging.DEBUG if why == self._reported.last_error else logging.WARNING
        self._reported.last_error = why
        log.log(level, "Kubeez GET /v1/models failed (%s); %s.", why, kept)

    async def _loop(self) -> None:
        try:
            await self._refresh_guarded()
        finally:
            self._first_done.set()
        if self._refresh_s <= 0:
            return
        while True:
            await self._sleep(self._refresh_s)
            await self._refresh_guarded()

    async def _refresh_guarded(self) -> None:
        try:
            await self.refresh()
        except Exception:  # the loop must outlive any surprise; refresh handles the known ones
            log.exception("Kubeez model sync: unexpected error; keeping the last snapshot.")
