"""The Kubeez provider object: built from settings, its live model list shown per entry."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from mediagate.catalog import load_catalog
from mediagate.errors import MediagateError
from mediagate.providers.base import SupportsLiveModels
from mediagate.providers.kubeez import build_kubeez_provider
from mediagate.settings import Settings


def _settings(tmp_path: Any, **over: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        kubeez_api_key=SecretStr("kz-test"),
        kubeez_base_url="https://api.kubeez.test",
        **over,
    )


def test_live_list_marks_disabled_models_and_carries_live_prices(tmp_path: Any) -> None:
    catalog = load_catalog()
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(
            200,
            json={
                "models": [
                    {"model_id": "nano-banana", "enabled": True, "pricing": {"credits": 4}},
                    {"model_id": "flux-2", "enabled": False, "pricing": {"credits": None}},
                ]
            },
        )

    async def scenario() -> tuple[Any, Any, Any]:
        provider = build_kubeez_provider(
            _settings(tmp_path), transport=httpx2.MockTransport(answer)
        )
        assert isinstance(provider, SupportsLiveModels)
        nano = catalog.entry("nano-banana", "kubeez")
        assert provider.live_status(nano) is None  # nothing fetched yet
        provider.start_live_models(catalog)
        assert provider._sync is not None
        await asyncio.wait_for(provider._sync.wait_first(), 10)
        result = (
            provider.live_status(nano),
            provider.live_status(catalog.entry("flux-2", "kubeez")),
            provider.live_status(catalog.entry("flux-dev", "gateai")),
        )
        await provider.aclose()
        return result

    nano, flux, other = asyncio.run(scenario())
    assert nano == {"available": True, "live_price": {"amount": 4, "unit": "credits"}}
    assert flux == {"available": False}
    assert other is None  # another provider's entry: the Kubeez list says nothing of it
    assert seen[0].url.path == "/v1/models"
    assert seen[0].headers["authorization"] == "Bearer kz-test"


def test_missing_key_is_provider_not_configured(tmp_path: Any) -> None:
    with pytest.raises(MediagateError) as err:
        build_kubeez_provider(Settings(data_dir=tmp_path))
    assert err.value.code == "provider_not_configured"


def test_a_blank_base_url_means_the_providers_own_host(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAGATE_KUBEEZ_BASE_URL", "")
    monkeypatch.setenv("MEDIAGATE_GATEAI_BASE_URL", "  ")
    settings = Settings(data_dir=tmp_path, kubeez_api_key=SecretStr("kz"))
    assert settings.kubeez_base_url == "https://api.kubeez.com"
    assert settings.gateai_base_url == "https://core.claude.gg"
    provider = build_kubeez_provider(settings)
    assert provider.upstream.http.base_url == "https://api.kubeez.com"
    asyncio.run(provider.aclose())
