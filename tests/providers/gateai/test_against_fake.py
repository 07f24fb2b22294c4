"""The GateAI provider's own calls against the fake GateAI over real HTTP on 127.0.0.1.

The unit tests pin each answer's reading; these check the pieces agree with the fake's
contract end to end: the estimate body it accepts, its adjustments, /credits, /api/me.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fakes.gateai import CONTENT_POLICY_ERROR, GENERIC_ERROR, TIMEOUT_ERROR, FakeGateAI
from mediagate.catalog import load_catalog, validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.providers.base import SupportsBalance, SupportsEstimate
from mediagate.providers.gateai import GateAIProvider, build_gateai_provider
from mediagate.providers.gateai.mapping import GateAIAdapter
from mediagate.settings import Settings

CATALOG: Catalog = load_catalog()


@pytest.fixture
async def provider(fake_gateai: FakeGateAI, tmp_path: Path) -> AsyncIterator[GateAIProvider]:
    settings = Settings(
        data_dir=tmp_path,
        gateai_api_key=fake_gateai.api_key,
        gateai_base_url=fake_gateai.url,
        allow_private_urls=True,
    )
    built = build_gateai_provider(settings)
    try:
        yield built
    finally:
        await built.aclose()


def _call(model: str, **args: Any) -> tuple[GenerationRequest, ModelEntry]:
    request = validate_generate(
        {"prompt": "a kite over dunes", "model": f"gateai/{model}", **args}, CATALOG
    )
    return request, CATALOG.entry_of(request)


def test_the_provider_offers_estimate_and_balance(provider: GateAIProvider) -> None:
    assert isinstance(provider, SupportsEstimate)
    assert isinstance(provider, SupportsBalance)
    assert provider.name == "gateai"


async def test_balance_reads_the_fake_budget(
    provider: GateAIProvider, fake_gateai: FakeGateAI
) -> None:
    fake_gateai.set_budget(used=12.5)
    balance = await provider.balance()
    assert (balance.daily_limit, balance.used, balance.remaining) == (100.0, 12.5, 87.5)
    assert dict(balance.pool) == {"total_accounts": 12, "locked": 1}
    assert balance.resets_at is not None


@pytest.mark.parametrize(
    ("model", "args"),
    [
        ("gpt-image-2", {"quality": "high", "resolution": "2K", "aspect_ratio": "16:9"}),
        ("seedance-2.0", {"duration": 12, "aspect_ratio": "9:16"}),
        ("kling-3.0", {"resolution": "4k", "duration": 15, "sound": True}),
        ("hailuo-2_3", {"resolution": "768p", "duration": 10}),
        ("rodin-v2", {"quality": "low"}),
    ],
)
async def test_the_fake_accepts_the_estimate_body(
    provider: GateAIProvider, model: str, args: dict[str, Any]
) -> None:
    request, entry = _call(model, **args)
    estimate = await provider.estimate(request, entry)
    assert estimate.fits_in_budget
    assert estimate.cost >= 0
    assert estimate.remaining == 100.0
    assert estimate.adjustments == ()


async def test_over_budget_estimate_lists_the_downgrades(
    provider: GateAIProvider, fake_gateai: FakeGateAI
) -> None:
    # The fake prices Kling 3.0 at $0.03 at 1080p and by pixels above: 4K is $0.12.
    fake_gateai.set_budget(used=99.95)
    request, entry = _call("kling-3.0", resolution="4k")
    estimate = await provider.estimate(request, entry)
    assert not estimate.fits_in_budget
    assert estimate.remaining == 0.05
    assert [a.param for a in estimate.adjustments] == ["mode"]
    assert estimate.adjustments[0].old == "RESOLUTION_2160"
    assert len(estimate.notes) == 1 and "would lower the resolution" in estimate.notes[0]
    assert estimate.adjusted_cost is not None and estimate.adjusted_cost <= 0.05


async def test_me_listing_finds_a_submit_whose_answer_was_lost(
    provider: GateAIProvider, fake_gateai: FakeGateAI
) -> None:
    request, entry = _call("seedance-2.0")
    adapter = GateAIAdapter(api_key=fake_gateai.api_key)
    submitted = await provider.upstream.http.send(adapter.submit_call(request, entry, []))
    assert submitted.ok, submitted.body
    task_id = adapter.parse_submit(submitted.body).upstream_id

    reconcile = adapter.reconcile_call()
    assert reconcile is not None
    listing = await provider.upstream.http.send(reconcile)
    assert listing.ok, listing.body

    def find(known: frozenset[str]) -> Any:
        return adapter.find_submitted(
            listing.body, request=request, entry=entry, submitted_after_s=5.0, known_ids=known
        )

    assert find(frozenset()) == task_id
    assert find(frozenset({task_id})) == "absent"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (CONTENT_POLICY_ERROR, "content_filtered"),
        (TIMEOUT_ERROR, "upstream_error"),
        (GENERIC_ERROR, "upstream_error"),
    ],
)
def test_the_fake_failure_texts_map_to_our_codes(text: str, code: str) -> None:
    status = GateAIAdapter().parse_status({"status": "FAILED", "error": text}, elapsed_s=60)
    assert status.error is not None
    assert status.error.code == code
    if text == TIMEOUT_ERROR:
        assert "40-minute hard limit" in status.error.message
