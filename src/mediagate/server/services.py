"""Process-wide services shared by every connection: catalog, job store, runner, media, providers.

Built once per process from ``Settings`` (not per MCP connection: on SSE the SDK's lifespan runs
per connection) and started around serving by ``transports.run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediagate.errors import MediagateError
from mediagate.media.store import MediaStore
from mediagate.settings import Settings

if TYPE_CHECKING:
    from mediagate.catalog import Catalog
    from mediagate.catalog.schema import ModelEntry
    from mediagate.jobs.runner import JobRunner
    from mediagate.jobs.store import JobStore
    from mediagate.media.probe import MediaInfo
    from mediagate.providers.base import Provider

# Heavier modules (catalog models, job store, providers, media workers) are imported where they
# are first used: the server answers initialize/tools/list before they are needed.

log = logging.getLogger(__name__)

#: The embedded offline provider (always configured; the default when no upstream key is set).
LOCAL = "local"


#: How long start-up work waits for the client's handshake before starting by itself.
STARTUP_IDLE_S = 0.5


class Services:
    """Everything the tools use. ``runner`` and ``store`` exist only while started."""

    _upkeep: asyncio.Task[None] | None = None

    def __init__(self, settings: Settings, *, catalog: Catalog | None = None) -> None:
        self.settings = settings
        self._catalog = catalog
        self.media = MediaStore(settings.data_dir / "media")
        self.providers: dict[str, Provider] = {}
        self._store: JobStore | None = None
        self._runner: JobRunner | None = None
        self._ready: asyncio.Event | None = None
        self._kick: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._trusted: tuple[tuple[Path, str | None], tuple[str, ...]] | None = None

    @property
    def catalog(self) -> Catalog:
        """The model catalog (loaded on first use: start-up does not wait for it)."""
        if self._catalog is None:
            from mediagate.catalog import load_catalog

            self._catalog = load_catalog()
        return self._catalog

    async def started(self) -> Services:
        """Wait until ``running`` has opened the job store and resumed unfinished jobs.

        Tools await this before touching ``store``/``runner``: the server answers
        ``initialize`` and ``tools/list`` while the services are still starting.
        """
        if self._ready is None or self._kick is None:
            raise RuntimeError("services not started")
        self._kick.set()
        await self._ready.wait()
        if self._startup_error is not None:
            raise RuntimeError("mediagate failed to start its services") from self._startup_error
        return self

    async def job_store(self) -> JobStore:
        """The job store, once started."""
        return (await self.started()).store

    async def job_runner(self) -> JobRunner:
        """The job runner, once started."""
        return (await self.started()).runner

    @property
    def store(self) -> JobStore:
        if self._store is None:
            raise RuntimeError("services not started")
        return self._store

    @property
    def runner(self) -> JobRunner:
        if self._runner is None:
            raise RuntimeError("services not started")
        return self._runner

    @property
    def default_provider(self) -> str:
        return next(iter(self.providers))

    async def _probe_output(self, path: Path) -> MediaInfo:
        """Describe an upstream's downloaded output in this server's media workers."""
        from mediagate.media.clips import media_workers
        from mediagate.media.probe import probe

        return await probe(path, workers=media_workers(self))

    def live_status(self, entry: ModelEntry) -> dict[str, Any] | None:
        """What a provider's live model list says of ``entry`` (see ``SupportsLiveModels``)."""
        from mediagate.providers.base import SupportsLiveModels

        provider = self.providers.get(entry.provider)
        if isinstance(provider, SupportsLiveModels):
            return provider.live_status(entry)
        return None

    def trusted_url_prefixes(self) -> tuple[str, ...]:
        """This server's own media URLs: outputs may be fed back as inputs as they are."""
        key = (self.media.root, self.media.base_url)
        if self._trusted is None or self._trusted[0] != key:
            prefixes = [self.media.root.resolve().as_uri() + "/"]
            if self.media.base_url is not None:
                prefixes.append(self.media.base_url + "/media/")
            self._trusted = (key, tuple(prefixes))
        return self._trusted[1]

    @contextlib.asynccontextmanager
    async def running(self, base_url: str | None = None) -> AsyncIterator[Services]:
        """Start the services in the background (store, runner, resumed jobs, media upkeep);
        stop them all on exit. Use ``started()`` to wait for them."""
        self.media.base_url = base_url.rstrip("/") if base_url else None
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.media.ensure()
        from mediagate.providers.registry import build_providers

        self.providers = build_providers(self.settings, probe_output=self._probe_output)
        self._ready = asyncio.Event()
        self._kick = asyncio.Event()
        self._startup_error = None
        startup = asyncio.create_task(self._start(), name="mediagate services start-up")
        try:
            yield self
        finally:
            startup.cancel()
            await asyncio.gather(startup, return_exceptions=True)
            await self._stop()

    async def _start(self) -> None:
        assert self._ready is not None and self._kick is not None
        # Let the handshake (initialize, tools/list) go first: start on the first call that
        # needs the services, or after a short idle moment, whichever comes first. Unfinished
        # jobs still resume right after start-up without anyone asking.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), STARTUP_IDLE_S)
        try:
            from mediagate.jobs.runner import JobRunner
            from mediagate.jobs.store import JobStore
            from mediagate.media.clips import start_media_upkeep

            store = JobStore(self.settings.data_dir / "jobs.sqlite3")
            await store.open()
            self._store = store
            self._runner = JobRunner(
                store=store, providers=self.providers, media=self.media, catalog=self.catalog
            )
            await self._runner.start()
            from mediagate.providers.base import SupportsLiveModels

            for provider in self.providers.values():
                if isinstance(provider, SupportsLiveModels):
                    provider.start_live_models(self.catalog)
            # Expires trimmed clips and uploads; stops idle media workers on exit.
            self._upkeep = start_media_upkeep(self)
        except Exception as exc:
            log.exception("mediagate services failed to start")
            self._startup_error = exc
        finally:
            self._ready.set()

    async def _stop(self) -> None:
        upkeep = self._upkeep
        if upkeep is not None:
            upkeep.cancel()
            await asyncio.gather(upkeep, return_exceptions=True)
            self._upkeep = None
        if self._runner is not None:
            await self._runner.aclose()
        for provider in self.providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
        if self._store is not None:
            await self._store.close()
        self._runner = None
        self._store = None

    def resolve_provider(
        self,
        requested: str | None,
        *,
        model_provider: str | None = None,
        model_id: str | None = None,
    ) -> str:
        """The provider a call goes to.

        ``requested`` is the provider the agent named (the ``provider`` argument or a
        ``provider/`` model prefix, any case): it must be configured. Otherwise
        ``model_provider``, the catalog entry's own provider, serves the call when configured;
        with no upstream key set at all the local provider stands in for every entry (so the
        whole workflow can be tried offline); with some keys set, an entry whose provider has
        none is refused, naming the configured providers that serve ``model_id`` too.
        """
        if requested is not None:
            requested = requested.strip().lower()
            if requested not in self.providers:
                raise self._not_configured(requested)
            return requested
        if model_provider is None:
            return self.default_provider
        if model_provider in self.providers:
            return model_provider
        if LOCAL in self.providers and set(self.providers) == {LOCAL}:
            return LOCAL
        raise self._not_configured(model_provider, model_id=model_id)

    def requested_provider(self, call: Mapping[str, Any]) -> str | None:
        """The provider a ``generate_media`` call names, checked before validation (an
        unconfigured one is ``provider_not_configured`` whatever else is wrong with the call).

        ``provider="local"`` wins over a model prefix: the local provider renders any entry,
        so ``gateai/gpt-image-2`` with ``provider="local"`` is GateAI's limits, rendered offline.
        """
        provider = call.get("provider")
        model = call.get("model")
        named = provider.strip().lower() if isinstance(provider, str) and provider else None
        if named is None and isinstance(model, str) and "/" in model:
            named = model.split("/", 1)[0].strip().lower() or None
        if named is None or named in self.providers:
            return named
        if named in self.catalog.providers:
            raise self._not_configured(named)
        return None  # not a provider at all: validation answers unknown_model

    def _not_configured(self, provider: str, *, model_id: str | None = None) -> MediagateError:
        upstream = provider.upper().replace("-", "_")
        hint = f"Set MEDIAGATE_{upstream}_API_KEY to enable it" + (
            ", or pass provider='local' to render it offline." if LOCAL in self.providers else "."
        )
        # A shared id (gpt-image-2 on Kubeez and GateAI) whose primary provider has no key:
        # point at the configured provider that serves it too (its own limits and parameters).
        others = [
            p
            for p in (self.catalog.providers_of(model_id) if model_id else [])
            if p != provider and p in self.providers
        ]
        if others:
            hint += f" {others[0]} serves this id too: use model '{others[0]}/{model_id}'."
        return MediagateError(
            "provider_not_configured",
            f"Provider {provider!r} is not configured on this server.",
            available=sorted(self.providers),
            hint=hint,
        )

    def allowed_output_dir(self, requested: str) -> Path:
        """``requested`` resolved, if it lies inside one of ``MEDIAGATE_OUTPUT_DIRS``."""
        target = Path(requested).expanduser()
        if not target.is_absolute():
            raise MediagateError(
                "invalid_arguments",
                "output_dir must be an absolute path.",
                field="output_dir",
                got=requested,
            )
        resolved = target.resolve()
        for allowed in self.settings.output_dirs:
            root = allowed.expanduser().resolve()
            if resolved == root or root in resolved.parents:
                return resolved
        raise MediagateError(
            "invalid_arguments",
            "output_dir is not inside a folder allowed by MEDIAGATE_OUTPUT_DIRS.",
            field="output_dir",
            got=requested,
            allowed=[str(p) for p in self.settings.output_dirs],
            hint="Add the folder to MEDIAGATE_OUTPUT_DIRS (comma-separated) to allow it.",
        )
