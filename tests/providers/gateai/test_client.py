"""GateAI's estimate and credits calls through the driver's sender, on a mock transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from mediagate.catalog import load_catalog, validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.providers.gateai.client import PLACEHOLDER_IMAGE, GateAIClient
from mediagate.providers.gateai.mapping import GateAIAdapter, generate_body
from mediagate.providers.upstream.adapter import UpstreamLimits
from mediagate.providers.upstream.breaker import CircuitBreaker
from mediagate.providers.upstream.client import Timeouts, UpstreamHttp
from mediagate.providers.upstream.limits import KeyLimiter

BASE = "https://core.example.test"
KEY = "sk-test-key"
NOW = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)
Handler = Callable[[httpx2.Request], httpx2.Response]

IMAGE_MODEL = "gateai/gemini-image-2"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _call(catalog: Catalog, **args: Any) -> tuple[GenerationRequest, ModelEntry]:
    request = validate_generate(
        {"prompt": "a lighthouse at dusk", "model": IMAGE_MODEL, **args},
        catalog,
        allow_private_urls=True,
    )
    return request, catalog.entry_of(request)


class Recorder:
    """A mock upstream answering from a list (the last answer repeats), recording requests."""

    def __init__(self, *answers: httpx2.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _client(
    recorder: Recorder, *, limiter: KeyLimiter | None = None
) -> tuple[GateAIClient, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = UpstreamHttp(
        name="gateai",
        base_url=BASE,
        headers=GateAIAdapter().auth_headers(KEY),
        timeouts=Timeouts(),
        breaker=CircuitBreaker("gateai", threshold=50),
        transport=httpx2.MockTransport(recorder),
    )
    client = GateAIClient(http, limiter=limiter, sleep=sleep, clock=lambda: NOW)
    return client, slept


def _json(status: int, body: Any, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


FITS = {"cost": 0.11, "daily_remaining": 100.0, "fits_in_budget": True}


async def test_estimate_posts_the_generate_body_with_bearer_auth(catalog: Catalog) -> None:
    request, entry = _call(catalog)
    recorder = Recorder(_json(200, FITS))
    client, _ = _client(recorder)
    estimate = await client.estimate(request, entry)
    (sent,) = recorder.requests
    assert sent.method == "POST"
    assert str(sent.url) == f"{BASE}/api/estimate"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(sent.content) == generate_body(request, entry, [])
    assert (estimate.cost, estimate.remaining, estimate.fits_in_budget) == (0.11, 100.0, True)


async def test_estimate_over_budget_returns_the_suggested_adjustments(catalog: Catalog) -> None:
    request, entry = _call(catalog)
    body = {
        "cost": 3.33,
        "daily_remaining": 1.0,
        "fits_in_budget": False,
        "adjustments": [{"param": "quality", "from": "high", "to": "low"}],
        "adjusted_cost": 0.4,
    }
    client, _ = _client(Recorder(_json(200, body)))
    estimate = await client.estimate(request, entry)
    assert not estimate.fits_in_budget
    assert [a.to_dict() for a in estimate.adjustments] == [
        {"param": "quality", "from": "high", "to": "low"}
    ]
    assert estimate.adjusted_cost == 0.4


async def test_estimate_replaces_unreachable_local_inputs_with_a_placeholder(
    catalog: Catalog,
) -> None:
    request, entry = _call(
        catalog,
        generation_type="image-to-image",
        source_media_urls=["https://cdn.example.test/a.png", "https://cdn.example.test/b.png"],
    )
    first, second = request.sources
    local = request._replace(sources=[first._replace(url="file:///data/media/in.png"), second])
    recorder = Recorder(_json(200, FITS))
    client, _ = _client(recorder)
    await client.estimate(local, entry)
    sent = json.loads(recorder.requests[0].content)
    assert sent["params"]["image_urls"] == [PLACEHOLDER_IMAGE, "https://cdn.example.test/b.png"]


async def test_estimate_retries_server_errors_then_answers(catalog: Catalog) -> None:
    request, entry = _call(catalog)
    recorder = Recorder(_json(503, {"error": "busy"}), _json(502, "x"), _json(200, FITS))
    client, slept = _client(recorder)
    estimate = await client.estimate(request, entry)
    assert estimate.cost == 0.11
    assert len(recorder.requests) == 3
    assert len(slept) == 2


async def test_estimate_gives_up_after_three_server_errors(catalog: Catalog) -> None:
    request, entry = _call(catalog)
    recorder = Recorder(_json(500, {"error": "boom"}))
    client, _ = _client(recorder)
    with pytest.raises(MediagateError) as info:
        await client.estimate(request, entry)
    assert info.value.code == "upstream_error"
    assert len(recorder.requests) == 3


async def test_rate_limited_estimate_waits_the_retry_after(catalog: Catalog) -> None:
    request, entry = _call(catalog)
    recorder = Recorder(
        _json(429, {"error": "RATE_LIMITED"}, **{"Retry-After": "4"}), _json(200, FITS)
    )
    client, slept = _client(recorder)
    await client.estimate(request, entry)
    assert len(recorder.requests) == 2
    (wait,) = slept
    assert 4.0 <= wait <= 4.4


async def test_rate_limited_estimate_pauses_the_key_limiter(catalog: Catalog) -> None:
    request, entry = _call(catalog)
    clock = [100.0]
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock[0] += seconds

    limiter = KeyLimiter(
        UpstreamLimits(max_in_flight=5, window_requests=5, window_s=30.0),
        clock=lambda: clock[0],
        sleep=sleep,
    )
    recorder = Recorder(
        _json(429, {"error": "RATE_LIMITED"}, **{"Retry-After": "6"}), _json(200, FITS)
    )
    client, slept = _client(recorder, limiter=limiter)
    await client.estimate(request, entry)
    assert len(recorder.requests) == 2
    assert slept == []  # the limiter held the retry back, not a sleep of the client's own
    assert 6.0 <= sum(waited) <= 6.6


async def test_rate_limited_for_longer_than_the_cap_fails_at_once(catalog: Catalog) -> None:
    request, entry = _call(catalog)
    recorder = Recorder(_json(429, {"error": "RATE_LIMITED"}, **{"Retry-After": "600"}))
    client, slept = _client(recorder)
    with pytest.raises(MediagateError) as info:
        await client.estimate(request, entry)
    assert info.value.code == "rate_limited"
    assert info.value.details["retry_after_s"] == 600.0
    assert slept == []
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"error": "Invalid API key"}, "upstream_rejected"),
        (400, {"error": "PROMPT_TOO_LONG", "message": "too long"}, "upstream_rejected"),
    ],
)
async def test_refusals_are_mapped_and_not_retried(
    catalog: Catalog, status: int, body: Any, code: str
) -> None:
    request, entry = _call(catalog)
    recorder = Recorder(_json(status, body))
    client, slept = _client(recorder)
    with pytest.raises(MediagateError) as info:
        await client.estimate(request, entry)
    assert info.value.code == code
    assert len(recorder.requests) == 1
    assert slept == []
    if status == 401:
        assert "MEDIAGATE_GATEAI_API_KEY" in info.value.details["hint"]
    else:
        assert info.value.details["upstream_code"] == "PROMPT_TOO_LONG"


async def test_balance_reads_credits() -> None:
    body = {
        "your_budget": {"daily_limit": 100, "used": 5.22, "remaining": 94.78},
        "pool": {"total_accounts": 12, "locked": 1},
    }
    recorder = Recorder(_json(200, body))
    client, _ = _client(recorder)
    balance = await client.balance()
    (sent,) = recorder.requests
    assert (sent.method, str(sent.url)) == ("GET", f"{BASE}/credits")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert (balance.daily_limit, balance.used, balance.remaining) == (100.0, 5.22, 94.78)
    assert dict(balance.pool) == {"total_accounts": 12, "locked": 1}
    assert balance.resets_at == datetime(2026, 5, 5, tzinfo=UTC)


async def test_balance_tolerates_the_trailing_comma_of_the_documented_example() -> None:
    text = (
        '{"your_budget": {"daily_limit": 100, "used": 5.22, "remaining": 94.78, },'
        ' "pool": {"total_accounts": 12, "locked": 1}}'
    )
    response = httpx2.Response(200, text=text, headers={"content-type": "application/json"})
    client, _ = _client(Recorder(response))
    assert (await client.balance()).remaining == 94.78


async def test_balance_retries_a_dropped_connection_then_reports_unavailable() -> None:
    recorder = Recorder(httpx2.ConnectError("refused"))
    client, slept = _client(recorder)
    with pytest.raises(MediagateError) as info:
        await client.balance()
    assert info.value.code == "upstream_unavailable"
    assert len(recorder.requests) == 3
    assert len(slept) == 2


async def test_balance_that_is_not_json_is_an_upstream_error() -> None:
    response = httpx2.Response(200, text="<html>maintenance</html>")
    client, _ = _client(Recorder(response))
    with pytest.raises(MediagateError) as info:
        await client.balance()
    assert info.value.code == "upstream_error"
