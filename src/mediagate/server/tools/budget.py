"""Upstream budgets: never let an upstream downgrade a call silently.

GateAI fits an over-budget request into what is left of its daily budget by lowering the
resolution or shortening the video, and says so only in the answer. So before a submit that
did not pass ``allow_downgrade: true``, :func:`check_budget` asks the upstream's estimate and
refuses with ``budget_exceeded`` (and the suggested adjustments) when anything would change.
With ``allow_downgrade`` the estimate is skipped (it would spend one of GateAI's 5 requests
per 30 s): the submit answer's adjustments reach the generation's ``warnings``.

:func:`upstream_estimate` is the same estimate, shaped for ``get_generation_estimate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from mediagate.errors import MediagateError

if TYPE_CHECKING:
    from mediagate.catalog.request import GenerationRequest
    from mediagate.catalog.schema import ModelEntry
    from mediagate.providers.base import UpstreamEstimate


class UpstreamCost(BaseModel):
    """The upstream's own price for a call, and whether today's budget covers it."""

    model_config = ConfigDict(extra="forbid")
    provider: str
    cost: float = Field(description="Price as asked, in currency.")
    currency: str
    fits_in_budget: bool
    daily_remaining: float | None = None
    adjustments: list[dict[str, Any]] = Field(
        default_factory=list,
        description="What the upstream would change to fit the budget: {param, from, to}.",
    )
    adjusted_cost: float | None = None
    warnings: list[str] = Field(default_factory=list)


async def upstream_estimate(
    provider: object, request: GenerationRequest, entry: ModelEntry
) -> UpstreamCost | None:
    """The upstream's price for ``request``; ``None`` when ``provider`` cannot price calls.

    Raises the provider's ``MediagateError`` (``rate_limited``, ``upstream_error`` …) when the
    upstream cannot answer.
    """
    from mediagate.providers.base import SupportsEstimate

    if not isinstance(provider, SupportsEstimate):
        return None
    estimate = await provider.estimate(request, entry)
    return UpstreamCost(
        provider=provider.name,
        cost=estimate.cost,
        currency=estimate.currency,
        fits_in_budget=estimate.fits_in_budget,
        daily_remaining=estimate.remaining,
        adjustments=[a.to_dict() for a in estimate.adjustments],
        adjusted_cost=estimate.adjusted_cost,
        warnings=list(estimate.notes),
    )


async def check_budget(
    provider: object, request: GenerationRequest, entry: ModelEntry, allow_downgrade: bool
) -> list[str]:
    """Refuse a call the upstream would downgrade to fit its budget, unless allowed.

    Returns warnings for the generation (none today: with ``allow_downgrade`` the upstream's
    own adjustments arrive with its submit answer). Raises ``budget_exceeded`` with
    ``suggested_adjustments``, ``cost_usd``/``daily_remaining_usd`` (in the upstream's currency)
    and a ``hint``; the estimate's own errors propagate (nothing is submitted then either).
    """
    from mediagate.providers.base import SupportsEstimate

    if allow_downgrade or not isinstance(provider, SupportsEstimate):
        return []
    estimate = await provider.estimate(request, entry)
    if estimate.fits_in_budget and not estimate.adjustments:
        return []
    raise budget_exceeded(provider.name, estimate)


def budget_exceeded(provider: str, estimate: UpstreamEstimate) -> MediagateError:
    """``budget_exceeded`` for an estimate that does not fit as asked."""
    unit = "_usd" if estimate.currency == "USD" else ""
    remaining = (
        f"only {_money(estimate.remaining, estimate.currency)} of today's budget is left"
        if estimate.remaining is not None
        else "it does not fit today's remaining budget"
    )
    message = (
        f"This call costs about {_money(estimate.cost, estimate.currency)} on {provider} "
        f"but {remaining}."
    )
    if estimate.adjustments:
        hint = " ".join(
            [
                "Apply suggested_adjustments yourself, or call again with allow_downgrade: "
                "true to accept them.",
                *estimate.notes,
            ]
        )
    else:
        hint = (
            f"{provider} cannot downgrade this call enough; pick a cheaper model or shorter "
            "output, or wait for the daily reset (00:00 UTC)."
        )
    details: dict[str, Any] = {
        "provider": provider,
        "suggested_adjustments": [a.to_dict() for a in estimate.adjustments],
        f"cost{unit}": estimate.cost,
        f"daily_remaining{unit}": estimate.remaining,
        f"adjusted_cost{unit}": estimate.adjusted_cost,
        "currency": estimate.currency,
        "hint": hint,
    }
    return MediagateError("budget_exceeded", message, **details)


def _money(amount: float | None, currency: str) -> str:
    if amount is None:
        return "an unknown amount"
    if currency != "USD":
        return f"{amount:g} {currency}"
    # GateAI images cost fractions of a cent (GPT Image 2 low: $0.003): "$0.00" would hide it.
    return f"${amount:.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.4f}"
