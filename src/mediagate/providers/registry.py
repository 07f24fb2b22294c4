"""The one explicit list of providers. Nothing registers itself on import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mediagate.settings import Settings

if TYPE_CHECKING:
    from mediagate.media.fetch import GuardedFetcher
    from mediagate.providers.base import Provider

#: Source images the local provider fetches (seed 000: images are typically ≤ 10 MB).
LOCAL_SOURCE_MAX_BYTES = 25 * 1024 * 1024


def build_providers(settings: Settings) -> dict[str, Provider]:
    """Providers configured by ``settings``, the default first.

    The embedded local provider is always available; upstream providers join when their key is
    set (and then come first, as the default).
    """
    from mediagate.providers.local.provider import LocalProvider

    def source_fetcher() -> GuardedFetcher:
        from mediagate.media.fetch import FetchPolicy, GuardedFetcher

        return GuardedFetcher(FetchPolicy.from_settings(settings, max_bytes=LOCAL_SOURCE_MAX_BYTES))

    providers: dict[str, Provider] = {}
    providers["local"] = LocalProvider(
        delay_scale=settings.local_delay_scale, fetcher=source_fetcher
    )
    return providers
