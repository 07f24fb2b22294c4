"""The one explicit list of providers. Nothing registers itself on import."""

from __future__ import annotations

from mediagate.providers.base import Provider
from mediagate.settings import Settings


def build_providers(settings: Settings) -> dict[str, Provider]:
    """Providers configured by ``settings``, the default first.

    The embedded local provider is always available; upstream providers join when their key is
    set (and then come first, as the default).
    """
    from mediagate.providers.local.provider import LocalProvider

    providers: dict[str, Provider] = {}
    providers["local"] = LocalProvider(delay_scale=settings.local_delay_scale)
    return providers
