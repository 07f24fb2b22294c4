"""The Kubeez provider: the shared upstream driver for :class:`KubeezAdapter`, plus the live
model list (``GET /v1/models``) kept fresh in the background."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry
from mediagate.jobs.model import Generation
from mediagate.media.store import StoredFile
from mediagate.providers.base import RunContext
from mediagate.providers.kubeez.mapping import KubeezAdapter
from mediagate.providers.kubeez.models import KubeezModelSync, LiveModels
from mediagate.providers.upstream.driver import UpstreamProvider

if TYPE_CHECKING:
    import httpx2

    from mediagate.settings import Settings


class KubeezProvider:
    """Generations through Kubeez, and its live model list for ``get_models``."""

    name = "kubeez"

    def __init__(self, upstream: UpstreamProvider, *, refresh_s: float) -> None:
        self.upstream = upstream
        self._refresh_s = refresh_s
        self._sync: KubeezModelSync | None = None

    async def run(self, ctx: RunContext) -> list[StoredFile]:
        return await self.upstream.run(ctx)

    async def cancel(self, generation: Generation) -> None:
        await self.upstream.cancel(generation)

    def start_live_models(self, catalog: Catalog) -> None:
        """Fetch ``GET /v1/models`` now and every ``kubeez_models_refresh_s`` (in the
        background; failures are logged and the last good list is kept)."""
        if self._sync is None:
            self._sync = KubeezModelSync(
                self.upstream.http.client, catalog, refresh_s=self._refresh_s
            )
            self._sync.start()

    @property
    def live_models(self) -> LiveModels | None:
        """The last good live model list, ``None`` before the first one arrived."""
        return self._sync.snapshot if self._sync is not None else None

    def live_status(self, entry: ModelEntry) -> dict[str, Any] | None:
        """``available`` and ``live_price`` (credits) from the live list, if it arrived."""
        live = self.live_models
        if live is None or entry.provider != self.name:
            return None
        status: dict[str, Any] = {"available": live.available(entry)}
        price = live.price(entry)
        if price is not None:
            status["live_price"] = {"amount": price[0], "unit": price[1] or "credits"}
        return status

    async def aclose(self) -> None:
        if self._sync is not None:
            await self._sync.aclose()
        await self.upstream.aclose()


def build_kubeez_provider(
    settings: Settings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    **driver_options: Any,
) -> KubeezProvider:
    """The Kubeez provider for ``MEDIAGATE_KUBEEZ_API_KEY`` / ``MEDIAGATE_KUBEEZ_BASE_URL``.

    Raises ``provider_not_configured`` without a key. ``transport`` and ``driver_options``
    go to :func:`build_upstream_provider` (for tests).
    """
    from mediagate.providers.upstream.factory import build_upstream_provider

    upstream = build_upstream_provider(
        KubeezAdapter(),
        api_key=settings.kubeez_api_key,
        base_url=settings.kubeez_base_url,
        settings=settings,
        transport=transport,
        **driver_options,
    )
    return KubeezProvider(upstream, refresh_s=settings.kubeez_models_refresh_s)
