"""The upstream budget check before a submit, and the upstream estimate shown with estimates."""

from __future__ import annotations

from typing import Any

import pytest

from mediagate.catalog import load_catalog, validate_generate
from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.providers.base import Adjustment, UpstreamEstimate
from mediagate.server.tools.budget import check_budget, upstream_estimate

CATALOG = load_catalog()
REQUEST = validate_generate(
    {"prompt": "a kite", "model": "gateai/seedance-2.0", "duration": 12}, CATALOG
)
ENTRY = CATALOG.entry_of(REQUEST)

FITS = UpstreamEstimate(cost=0.49, currency="USD", fits_in_budget=True, remaining=80.0)
DOWNGRADED = UpstreamEstimate(
    cost=3.33,
    currency="USD",
    fits_in_budget=False,
    remaining=1.2,
    adjustments=(Adjustment("duration", 12, 8),),
    adjusted_cost=1.1,
    notes=("GateAI would lower the duration from 12 s to 8 s to fit the daily budget.",),
)
SPENT = UpstreamEstimate(cost=3.33, currency="USD", fits_in_budget=False, remaining=0.0)


class Priced:
    """A provider with an upstream estimate (answers ``answer``, or raises it)."""

    name = "gateai"

    def __init__(self, answer: UpstreamEstimate | MediagateError) -> None:
        self.answer = answer
        self.asked: list[tuple[GenerationRequest, ModelEntry]] = []

    async def estimate(self, request: GenerationRequest, entry: ModelEntry) -> UpstreamEstimate:
        self.asked.append((request, entry))
        if isinstance(self.answer, MediagateError):
            raise self.answer
        return self.answer


class Unpriced:
    name = "local"


async def test_a_call_that_fits_passes_without_warnings() -> None:
    provider = Priced(FITS)
    assert await check_budget(provider, REQUEST, ENTRY, allow_downgrade=False) == []
    assert provider.asked == [(REQUEST, ENTRY)]


async def test_a_downgrade_is_refused_with_the_suggested_adjustments() -> None:
    with pytest.raises(MediagateError) as info:
        await check_budget(Priced(DOWNGRADED), REQUEST, ENTRY, allow_downgrade=False)
    err = info.value
    assert err.code == "budget_exceeded"
    assert err.details["suggested_adjustments"] == [{"param": "duration", "from": 12, "to": 8}]
    assert err.details["cost_usd"] == 3.33
    assert err.details["daily_remaining_usd"] == 1.2
    assert err.details["adjusted_cost_usd"] == 1.1
    assert "allow_downgrade: true" in err.details["hint"]
    assert "12 s to 8 s" in err.details["hint"]
    assert "$3.33" in err.message and "$1.20" in err.message


async def test_adjustments_on_a_fitting_estimate_are_refused_too() -> None:
    odd = UpstreamEstimate(
        cost=1.0,
        currency="USD",
        fits_in_budget=True,
        remaining=1.0,
        adjustments=(Adjustment("mode", "RESOLUTION_1080", "RESOLUTION_720"),),
    )
    with pytest.raises(MediagateError) as info:
        await check_budget(Priced(odd), REQUEST, ENTRY, allow_downgrade=False)
    assert info.value.code == "budget_exceeded"


async def test_nothing_left_to_downgrade_says_so() -> None:
    with pytest.raises(MediagateError) as info:
        await check_budget(Priced(SPENT), REQUEST, ENTRY, allow_downgrade=False)
    err = info.value
    assert err.code == "budget_exceeded"
    assert err.details["suggested_adjustments"] == []
    assert "00:00 UTC" in err.details["hint"]


async def test_allow_downgrade_skips_the_estimate() -> None:
    provider = Priced(DOWNGRADED)
    assert await check_budget(provider, REQUEST, ENTRY, allow_downgrade=True) == []
    assert provider.asked == []


async def test_providers_without_an_estimate_are_not_checked() -> None:
    assert await check_budget(Unpriced(), REQUEST, ENTRY, allow_downgrade=False) == []


async def test_estimate_errors_propagate() -> None:
    limited = MediagateError("rate_limited", "Slow down.", retry_after_s=12.0)
    with pytest.raises(MediagateError) as info:
        await check_budget(Priced(limited), REQUEST, ENTRY, allow_downgrade=False)
    assert info.value is limited


async def test_upstream_estimate_shapes_the_estimate_for_agents() -> None:
    view = await upstream_estimate(Priced(DOWNGRADED), REQUEST, ENTRY)
    assert view is not None
    dumped: dict[str, Any] = view.model_dump(exclude_none=True)
    assert dumped == {
        "provider": "gateai",
        "cost": 3.33,
        "currency": "USD",
        "fits_in_budget": False,
        "daily_remaining": 1.2,
        "adjustments": [{"param": "duration", "from": 12, "to": 8}],
        "adjusted_cost": 1.1,
        "warnings": ["GateAI would lower the duration from 12 s to 8 s to fit the daily budget."],
    }


async def test_upstream_estimate_is_none_without_an_upstream_price() -> None:
    assert await upstream_estimate(Unpriced(), REQUEST, ENTRY) is None
