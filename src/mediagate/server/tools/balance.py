"""get_balance: how much of a provider's spending budget is left (GateAI: dollars per day)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from mediagate.errors import MediagateError
from mediagate.server.results import tool_result
from mediagate.server.services import Services

#: Asked for first when no provider is named: the upstream whose budget this tool was made for.
DEFAULT_BALANCE_PROVIDER = "gateai"


class BalanceResult(BaseModel):
    """A provider's spending budget now."""

    model_config = ConfigDict(extra="forbid")
    provider: str
    currency: str
    daily_limit: float | None = None
    used: float | None = None
    remaining: float | None = None
    #: When the budget next resets (ISO 8601, UTC).
    resets_at: str | None = None
    #: The upstream's shared account pool (GateAI's ``pool``): accounts, and how many locked.
    pool_accounts: int | None = None
    pool_locked: int | None = None


def register(services: Services) -> Any:
    """The registrar for get_balance, closed over ``services``."""

    def registrar(server: MCPServer[Any]) -> None:
        @server.tool()
        async def get_balance(
            provider: str | None = Field(None, description="Default: gateai"),
        ) -> Annotated[CallToolResult, BalanceResult]:
            """Provider's daily budget: limit, used, remaining (GateAI: USD, resets 00:00 UTC)."""
            from mediagate.providers.base import SupportsBalance

            name = _balance_provider(services, provider)
            target = services.providers[name]
            if not isinstance(target, SupportsBalance):
                raise _no_balance(services, f"Provider {name!r} reports no balance.")
            balance = await target.balance()
            resets = balance.resets_at
            return tool_result(
                BalanceResult(
                    provider=balance.provider,
                    currency=balance.currency,
                    daily_limit=balance.daily_limit,
                    used=balance.used,
                    remaining=balance.remaining,
                    resets_at=resets.isoformat().replace("+00:00", "Z") if resets else None,
                    pool_accounts=_int(balance.pool.get("total_accounts")),
                    pool_locked=_int(balance.pool.get("locked")),
                )
            )

    return registrar


def _balance_provider(services: Services, requested: str | None) -> str:
    """The provider asked for, else GateAI, else the first configured one with a balance."""
    from mediagate.providers.base import SupportsBalance

    if requested is not None:
        return services.resolve_provider(requested)
    if DEFAULT_BALANCE_PROVIDER in services.providers:
        return DEFAULT_BALANCE_PROVIDER
    for name, candidate in services.providers.items():
        if isinstance(candidate, SupportsBalance):
            return name
    raise _no_balance(services, "No configured provider reports a balance.")


def _no_balance(services: Services, message: str) -> MediagateError:
    from mediagate.providers.base import SupportsBalance

    return MediagateError(
        "provider_not_configured",
        message,
        available=sorted(
            n for n, p in services.providers.items() if isinstance(p, SupportsBalance)
        ),
        hint="Set MEDIAGATE_GATEAI_API_KEY to enable GateAI, whose daily budget this reports.",
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)
