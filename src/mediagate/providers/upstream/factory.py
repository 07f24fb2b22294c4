"""Build an :class:`UpstreamProvider` for an adapter from :class:`Settings`.

Everything the driver needs per provider — one HTTP client, one circuit breaker, one limiter
per API key, the retry policy, the output fetcher — is made here, once, at start-up (the
client and fetcher themselves are built on first use).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from pydantic import SecretStr

from mediagate.providers.upstream.adapter import UpstreamAdapter, UpstreamLimits
from mediagate.providers.upstream.breaker import CircuitBreaker
from mediagate.providers.upstream.client import Timeouts, UpstreamHttp
from mediagate.providers.upstream.driver import UpstreamProvider
from mediagate.providers.upstream.errors import not_configured
from mediagate.providers.upstream.limits import KeyLimiter
from mediagate.providers.upstream.poll import PlanFor
from mediagate.providers.upstream.rehost import Prober, Rehoster
from mediagate.providers.upstream.retry import RetryPolicy

if TYPE_CHECKING:
    from mediagate.media.fetch import GuardedFetcher
    from mediagate.media.probe import MediaInfo
    from mediagate.settings import Settings

#: Settings suffixes that override an adapter's published limits (``<provider>_<suffix>``).
_LIMIT_SETTINGS = {
    "max_in_flight": "max_in_flight",
    "window_requests": "window_requests",
    "window_s": "window_s",
    "polls_count": "polls_count_in_window",
}


def limits_for(adapter: UpstreamAdapter, settings: Settings) -> UpstreamLimits:
    """The adapter's limits with any ``MEDIAGATE_<PROVIDER>_*`` limit setting applied.

    A setting left at ``None`` (unpublished) keeps the adapter's value.
    """
    changes: dict[str, Any] = {}
    for suffix, field in _LIMIT_SETTINGS.items():
        value = getattr(settings, f"{adapter.name}_{suffix}", None)
        if value is not None:
            changes[field] = value
    return replace(adapter.limits, **changes)


async def probe_output(path: Path) -> MediaInfo:
    """Probe a downloaded output in the sandboxed media workers."""
    from mediagate.media.probe import probe

    return await probe(path)


def build_upstream_provider(
    adapter: UpstreamAdapter,
    *,
    api_key: str | SecretStr | None,
    base_url: str | None,
    settings: Settings,
    transport: httpx2.AsyncBaseTransport | None = None,
    limits: UpstreamLimits | None = None,
    limiter: KeyLimiter | None = None,
    fetcher: GuardedFetcher | Callable[[], GuardedFetcher] | None = None,
    prober: Prober | None = probe_output,
    max_job_s: float | None = None,
    reconcile_rounds: int = 4,
    poll_plan: PlanFor | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> UpstreamProvider:
    """The provider for ``adapter``, talking to ``base_url`` with ``api_key``.

    Raises ``provider_not_configured`` when the key or base URL is missing. ``limits``
    defaults to the adapter's with the settings applied (:func:`limits_for`); pass ``limiter``
    to share one key's limits between providers. ``transport`` (an ``httpx2.MockTransport``
    in tests), ``fetcher``, ``prober`` (``None``: no probing), ``poll_plan`` (replaces the
    adapter's poll intervals) and ``clock``/``wall``/``sleep`` are for tests.
    """
    name = adapter.name
    key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    if not key:
        raise not_configured(name, "api_key")
    if not base_url:
        raise not_configured(name, "base_url")
    resolved = limits if limits is not None else limits_for(adapter, settings)
    breaker = CircuitBreaker(
        name,
        threshold=settings.upstream_breaker_threshold,
        cooldown_s=settings.upstream_breaker_cooldown_s,
        clock=clock,
    )
    http = UpstreamHttp(
        name=name,
        base_url=base_url.rstrip("/"),
        headers=adapter.auth_headers(key),
        timeouts=Timeouts(
            connect_s=settings.upstream_connect_timeout_s,
            read_s=settings.upstream_read_timeout_s,
            write_s=settings.upstream_write_timeout_s,
            pool_s=settings.upstream_connect_timeout_s,
            total_s=settings.upstream_total_timeout_s,
        ),
        breaker=breaker,
        transport=transport,
    )
    retry = RetryPolicy(
        max_attempts=settings.upstream_retry_max_attempts,
        base_s=settings.upstream_retry_base_s,
        cap_s=settings.upstream_retry_cap_s,
        max_wait_s=settings.upstream_retry_max_wait_s,
    )
    if limiter is None:
        limiter = KeyLimiter(
            resolved,
            margin_s=settings.upstream_window_margin_s,
            max_slowdown=settings.upstream_poll_slowdown_max,
            clock=clock,
            sleep=sleep,
        )

    def output_fetcher() -> GuardedFetcher:
        from mediagate.media.fetch import FetchPolicy, GuardedFetcher

        return GuardedFetcher(
            FetchPolicy(
                allow_private=settings.allow_private_urls,
                max_bytes=settings.upstream_output_max_bytes,
                connect_timeout=settings.upstream_connect_timeout_s,
                read_timeout=settings.upstream_read_timeout_s,
                total_timeout=settings.upstream_output_timeout_s,
            )
        )

    rehoster = Rehoster(
        provider=name,
        fetcher=fetcher if fetcher is not None else output_fetcher,
        retry=retry,
        prober=prober,
        sleep=sleep,
    )
    return UpstreamProvider(
        adapter,
        http=http,
        limiter=limiter,
        retry=retry,
        rehoster=rehoster,
        max_job_s=max_job_s or resolved.max_job_s or settings.upstream_max_job_s,
        job_grace_s=settings.upstream_job_grace_s,
        reconcile_window_s=settings.upstream_reconcile_window_s,
        reconcile_rounds=reconcile_rounds,
        poll_plan=poll_plan,
        clock=clock,
        wall=wall,
        sleep=sleep,
    )
