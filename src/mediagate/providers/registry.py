"""The one explicit list of providers. Nothing registers itself on import."""

from __future__ import annotations

from mediagate.providers.base import Provider
from mediagate.settings import Settings

#: Source images the local provider fetches (seed 000: images are typically ≤ 10 MB).
LOCAL_SOURCE_MAX_BYTES = 25 * 1024 * 1024


def build_providers(settings: Settings) -> dict[str, Provider]:
    """Providers configured by ``settings``, the default first.

    The embedded local provider is always available; upstream providers join when their key is
    set (and then come first, as the default).
    """
    from mediagate.media.fetch import FetchPolicy, GuardedFetcher
    from mediagate.providers.local.provider import LocalProvider

    fetcher = GuardedFetcher(FetchPolicy.from_settings(settings, max_bytes=LOCAL_SOURCE_MAX_BYTES))
    providers: dict[str, Provider] = {}
    providers["local"] = LocalProvider(delay_scale=settings.local_delay_scale, fetcher=fetcher)
    return providers
