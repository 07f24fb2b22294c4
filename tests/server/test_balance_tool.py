"""get_balance in-process through the real MCP client, on stand-in providers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp import Client

from mediagate.errors import MediagateError
from mediagate.providers.base import Balance, SupportsBalance
from mediagate.server.app import build_server
from mediagate.server.services import Services
from mediagate.server.tools import default_tool_registrars
from mediagate.settings import Settings


class BudgetedProvider:
    """Stands in for the GateAI provider: only the balance matters here."""

    def __init__(self, name: str = "gateai", error: MediagateError | None = None) -> None:
        self.name = name
        self.error = error
        self.calls = 0

    async def run(self, ctx: Any) -> list[Any]:
        raise AssertionError("not used")

    async def cancel(self, generation: Any) -> None:
        raise AssertionError("not used")

    async def aclose(self) -> None:
        return None

    async def balance(self) -> Balance:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return Balance(
            provider=self.name,
            currency="USD",
            daily_limit=100.0,
            used=5.22,
            remaining=94.78,
            resets_at=datetime(2026, 5, 5, tzinfo=UTC),
            pool={"total_accounts": 12, "locked": 1},
        )


class PlainProvider:
    """A provider with no budget (like the local renderer)."""

    name = "local"

    async def run(self, ctx: Any) -> list[Any]:
        raise AssertionError("not used")

    async def cancel(self, generation: Any) -> None:
        raise AssertionError("not used")

    async def aclose(self) -> None:
        return None


async def _call(tmp_path: Path, providers: dict[str, Any], args: dict[str, Any]) -> Any:
    settings = Settings(data_dir=tmp_path)
    services = Services(settings)
    services.providers = providers
    server = build_server(settings, tools=default_tool_registrars(services))
    async with Client(server) as client:
        return await client.call_tool("get_balance", args)


def test_stand_in_provider_has_the_balance_capability() -> None:
    assert isinstance(BudgetedProvider(), SupportsBalance)
    assert not isinstance(PlainProvider(), SupportsBalance)


async def test_balance_defaults_to_gateai(tmp_path: Path) -> None:
    gateai = BudgetedProvider()
    result = await _call(tmp_path, {"local": PlainProvider(), "gateai": gateai}, {})
    assert not result.is_error
    assert gateai.calls == 1
    expected = {
        "provider": "gateai",
        "currency": "USD",
        "daily_limit": 100.0,
        "used": 5.22,
        "remaining": 94.78,
        "resets_at": "2026-05-05T00:00:00Z",
        "pool_accounts": 12,
        "pool_locked": 1,
    }
    structured = result.structured_content
    assert structured == expected
    assert json.loads(result.content[0].text) == structured


async def test_balance_of_a_named_provider(tmp_path: Path) -> None:
    other = BudgetedProvider(name="other")
    result = await _call(
        tmp_path, {"local": PlainProvider(), "other": other}, {"provider": "other"}
    )
    assert not result.is_error
    assert result.structured_content["provider"] == "other"


async def test_without_gateai_the_first_provider_with_a_balance_answers(tmp_path: Path) -> None:
    other = BudgetedProvider(name="other")
    result = await _call(tmp_path, {"local": PlainProvider(), "other": other}, {})
    assert result.structured_content["provider"] == "other"


async def test_no_provider_with_a_balance_is_provider_not_configured(tmp_path: Path) -> None:
    result = await _call(tmp_path, {"local": PlainProvider()}, {})
    assert result.is_error
    payload = json.loads(result.content[0].text)
    assert payload["error"] == "provider_not_configured"
    assert payload["available"] == []
    assert "MEDIAGATE_GATEAI_API_KEY" in payload["hint"]


async def test_provider_without_a_balance_is_provider_not_configured(tmp_path: Path) -> None:
    result = await _call(
        tmp_path, {"local": PlainProvider(), "gateai": BudgetedProvider()}, {"provider": "local"}
    )
    payload = json.loads(result.content[0].text)
    assert payload["error"] == "provider_not_configured"
    assert payload["available"] == ["gateai"]


async def test_unconfigured_provider_is_provider_not_configured(tmp_path: Path) -> None:
    result = await _call(tmp_path, {"local": PlainProvider()}, {"provider": "gateai"})
    payload = json.loads(result.content[0].text)
    assert payload["error"] == "provider_not_configured"


async def test_upstream_failure_is_returned_as_its_error(tmp_path: Path) -> None:
    failing = BudgetedProvider(
        error=MediagateError("rate_limited", "GateAI's rate limit is reached.", retry_after_s=30.0)
    )
    result = await _call(tmp_path, {"gateai": failing}, {})
    payload = json.loads(result.content[0].text)
    assert payload["error"] == "rate_limited"
    assert payload["retry_after_s"] == 30.0
