"""The one explicit list of providers. Nothing registers itself on import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediagate.settings import Settings

if TYPE_CHECKING:
    from mediagate.media.fetch import GuardedFetcher
    from mediagate.providers.base import Provider
    from mediagate.providers.upstream.rehost import Prober

#: Source images the local provider fetches (seed 000: images are typically ≤ 10 MB).
LOCAL_SOURCE_MAX_BYTES = 25 * 1024 * 1024

#: Upstream providers in order of preference: the first configured one is the default.
UPSTREAMS: tuple[str, ...] = ("kubeez", "gateai")


def configured_upstreams(settings: Settings) -> list[str]:
    """Upstream providers whose API key is set, in :data:`UPSTREAMS` order."""
    names = []
    for name in UPSTREAMS:
        key = getattr(settings, f"{name}_api_key", None)
        if key is not None and key.get_secret_value():
            names.append(name)
    return names


def build_providers(
    settings: Settings, *, probe_output: Prober | None = None
) -> dict[str, Provider]:
    """Providers configured by ``settings``, the default first.

    Upstream providers join when their key is set, and then come first: the local provider
    is the default only when no key is set. It stays available (``provider: "local"``) so
    the whole workflow can still be tried offline. ``probe_output`` describes downloaded
    outputs (the server passes its own sandboxed media workers, so their limits hold).
    """
    from mediagate.providers.local.provider import LocalProvider

    providers: dict[str, Provider] = {}
    for name in configured_upstreams(settings):
        providers[name] = _build_upstream(name, settings, probe_output)

    def source_fetcher() -> GuardedFetcher:
        from mediagate.media.fetch import FetchPolicy, GuardedFetcher

        return GuardedFetcher(FetchPolicy.from_settings(settings, max_bytes=LOCAL_SOURCE_MAX_BYTES))

    providers["local"] = LocalProvider(
        delay_scale=settings.local_delay_scale, fetcher=source_fetcher
    )
    return providers


def _build_upstream(name: str, settings: Settings, probe_output: Prober | None) -> Provider:
    options: dict[str, Any] = {} if probe_output is None else {"prober": probe_output}
    if name == "gateai":
        from mediagate.providers.gateai import build_gateai_provider

        return build_gateai_provider(settings, **options)
    if name == "kubeez":
        from mediagate.providers.kubeez import build_kubeez_provider

        return build_kubeez_provider(settings, **options)
    raise ValueError(f"unknown upstream {name!r}")  # pragma: no cover - UPSTREAMS is fixed
