"""GateAI (seed 004): the shared upstream driver plus GateAI's estimate and daily budget.

``mapping.py`` is the pure adapter, ``client.py`` the two calls the driver does not make
(``POST /api/estimate``, ``GET /credits``); :class:`GateAIProvider` puts them together so the
server can ask ``isinstance(provider, SupportsEstimate)`` / ``SupportsBalance``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

    from mediagate.catalog.request import GenerationRequest
    from mediagate.catalog.schema import ModelEntry
    from mediagate.jobs.model import Generation
    from mediagate.media.store import StoredFile
    from mediagate.providers.base import Balance, RunContext, UpstreamEstimate
    from mediagate.providers.gateai.client import GateAIClient
    from mediagate.providers.upstream.driver import UpstreamProvider
    from mediagate.settings import Settings

__all__ = ["GateAIProvider", "build_gateai_provider"]


class GateAIProvider:
    """The GateAI provider: runs generations through the shared driver, and also prices
    requests (:meth:`estimate`) and reports the key's budget (:meth:`balance`)."""

    name = "gateai"

    def __init__(self, upstream: UpstreamProvider, client: GateAIClient) -> None:
        self.upstream = upstream
        self.client = client

    async def run(self, ctx: RunContext) -> list[StoredFile]:
        """Submit (or resume), poll and rehost, as the driver does for every upstream."""
        return await self.upstream.run(ctx)

    async def cancel(self, generation: Generation) -> None:
        """GateAI has no cancel endpoint: this frees our slot; the job runs on upstream."""
        await self.upstream.cancel(generation)

    async def aclose(self) -> None:
        """Close the shared client (the estimate and credits calls use it too)."""
        await self.upstream.aclose()

    async def estimate(self, request: GenerationRequest, entry: ModelEntry) -> UpstreamEstimate:
        """GateAI's price in dollars for ``request`` and whether today's budget covers it."""
        return await self.client.estimate(request, entry)

    async def balance(self) -> Balance:
        """The key's daily budget: limit, used, remaining (dollars) and pool health."""
        return await self.client.balance()


def build_gateai_provider(
    settings: Settings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    **driver_options: Any,
) -> GateAIProvider:
    """The GateAI provider for ``MEDIAGATE_GATEAI_API_KEY`` / ``MEDIAGATE_GATEAI_BASE_URL``.

    Raises ``provider_not_configured`` without a key. ``transport`` and ``driver_options``
    (clock, sleep, fetcher, …) go to :func:`build_upstream_provider` (for tests).
    """
    from mediagate.providers.gateai.client import GateAIClient
    from mediagate.providers.gateai.mapping import GateAIAdapter
    from mediagate.providers.upstream.factory import build_upstream_provider
    from mediagate.providers.upstream.retry import RetryPolicy

    key = settings.gateai_api_key.get_secret_value() if settings.gateai_api_key else None
    upstream = build_upstream_provider(
        GateAIAdapter(api_key=key),
        api_key=key,
        base_url=settings.gateai_base_url,
        settings=settings,
        transport=transport,
        **driver_options,
    )
    # An estimate or a balance is asked while an agent waits: retry briefly, then say why.
    retry = RetryPolicy(
        base_s=settings.upstream_retry_base_s,
        cap_s=min(settings.upstream_retry_cap_s, 10.0),
        max_wait_s=min(settings.upstream_retry_max_wait_s, 30.0),
    )
    options = {k: v for k, v in driver_options.items() if k == "sleep"}
    client = GateAIClient(upstream.http, limiter=upstream.limiter, retry=retry, **options)
    return GateAIProvider(upstream, client)
