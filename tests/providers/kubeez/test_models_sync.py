"""Kubeez's live model list: parsing, comparison with our tables, and the refresh loop."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest

from mediagate.catalog import load_catalog
from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry
from mediagate.providers.kubeez import (
    Disagreement,
    KubeezAdapter,
    KubeezModelSync,
    compare,
    parse_models,
)
from mediagate.providers.kubeez.models import LiveModelsError

BASE = "https://api.kubeez.test"
LOGGER = "mediagate.providers.kubeez.models"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _price(entry: ModelEntry) -> dict[str, Any]:
    p = entry.pricing
    if p.kind == "flat":
        return {"credits": p.credits, "unit": "credits"}
    if p.kind == "per_second":
        return {"credits": p.rate, "unit": "credits / sec"}
    if p.kind == "per_tier" and entry.resolution is not None:
        return {"credits": entry.resolution.tiers[0].credits, "unit": "credits"}
    return {"credits": None, "unit": "credits"}


def _row(entry: ModelEntry, **over: Any) -> dict[str, Any]:
    row = {
        "model_id": entry.id,
        "name": entry.name,
        "enabled": True,
        "generation_types": list(entry.generation_types),
        "requires_input_media": False,
        "input_media_types": ["image"],
        "usage_notes": entry.usage_notes,
        "pricing": _price(entry),
    }
    row.update(over)
    return row


def _agreeing_body(catalog: Catalog) -> dict[str, Any]:
    """A live list that agrees with our tables on every Kubeez model."""
    return {"models": [_row(e) for e in catalog.models.values() if e.provider == "kubeez"]}


def _replace(body: dict[str, Any], model_id: str, **over: Any) -> dict[str, Any]:
    rows = [({**r, **over} if r["model_id"] == model_id else r) for r in body["models"]]
    return {"models": rows}


def _without(body: dict[str, Any], model_id: str) -> dict[str, Any]:
    return {"models": [r for r in body["models"] if r["model_id"] != model_id]}


# --- parsing ----------------------------------------------------------------------------------


def test_snapshot_reads_availability_price_and_generation_types(catalog: Catalog) -> None:
    body = _replace(_agreeing_body(catalog), "flux-2", enabled=False)
    snapshot = parse_models(body, fetched_at=123.0)
    kling, flux = catalog.models["kling-3-0-std"], catalog.models["flux-2"]
    assert snapshot.fetched_at == 123.0
    assert snapshot.available(kling) is True
    assert snapshot.available(flux) is False
    assert snapshot.price(kling) == (17.0, "credits / sec")
    assert snapshot.price(flux) is None
    row = snapshot.get("kling-3-0-std")
    assert row is not None
    assert row.per_second
    assert row.generation_types == ("text-to-video", "image-to-video")


def test_a_model_listed_under_its_rate_row_is_found(catalog: Catalog) -> None:
    entry = catalog.models["gemini-omni-video-720p-6s"]
    body = {
        "models": [
            {
                "model_id": "gemini-omni-video-hd-6s",
                "enabled": True,
                "generation_types": ["text-to-video", "image-to-video"],
                "pricing": {"credits": 140, "unit": "credits"},
            }
        ]
    }
    snapshot = parse_models(body)
    assert snapshot.available(entry)
    assert snapshot.price(entry) == (140.0, "credits")


def test_unreadable_rows_are_skipped_not_fatal() -> None:
    body = {
        "models": [
            {"model_id": "ok-model", "generation_types": ["text-to-image"]},
            "garbage",
            {"name": "no id"},
            {"model_id": "bad-types", "generation_types": "text-to-image"},
            {"model_id": "bad-price", "pricing": {"credits": "cheap", "unit": 5}},
        ]
    }
    snapshot = parse_models(body)
    assert sorted(snapshot.models) == ["bad-price", "ok-model"]
    assert snapshot.models["ok-model"].enabled is True  # enabled defaults to listed = enabled
    assert snapshot.models["bad-price"].credits is None
    assert snapshot.models["bad-price"].unit is None
    assert len(snapshot.skipped) == 3


@pytest.mark.parametrize("body", [None, "models", {"models": None}, {"data": []}, 5])
def test_an_answer_without_a_model_list_is_an_error(body: Any) -> None:
    with pytest.raises(LiveModelsError):
        parse_models(body)


# --- comparison -------------------------------------------------------------------------------


def test_an_agreeing_list_has_no_disagreements(catalog: Catalog) -> None:
    assert compare(catalog, parse_models(_agreeing_body(catalog))) == []


def test_every_kind_of_disagreement_is_found(catalog: Catalog) -> None:
    body = _agreeing_body(catalog)
    body = _without(body, "nano-banana")
    body = _replace(body, "flux-2", enabled=False)
    body = _replace(body, "kling-3-0-std", generation_types=["text-to-video"])
    body = _replace(body, "seedance-2-480p", pricing={"credits": 20, "unit": "credits / sec"})
    body["models"].append({"model_id": "brand-new-model", "generation_types": ["text-to-image"]})
    body["models"].append(
        {"model_id": "kling-3-0-std-audio", "pricing": {"credits": 25, "unit": "credits / sec"}}
    )
    body["models"].append({"model_id": "seedance-2-fast"})  # a family label is known to us
    found = set(compare(catalog, parse_models(body)))
    assert found == {
        Disagreement("missing_live", "nano-banana"),
        Disagreement("disabled_live", "flux-2"),
        Disagreement(
            "generation_types_differ",
            "kling-3-0-std",
            ours="image-to-video, text-to-video",
            live="text-to-video",
        ),
        Disagreement(
            "price_differs", "seedance-2-480p", ours="18 credits", live="20 credits / sec"
        ),
        Disagreement(
            "price_differs", "kling-3-0-std-audio", ours="23 credits", live="25 credits / sec"
        ),
        Disagreement("not_in_tables", "brand-new-model"),
    }
    assert all(d.message for d in found)


def test_a_tier_priced_model_agrees_with_any_of_its_tiers(catalog: Catalog) -> None:
    body = _replace(_agreeing_body(catalog), "gpt-image-2", pricing={"credits": 21})
    assert compare(catalog, parse_models(body)) == []
    body = _replace(body, "gpt-image-2", pricing={"credits": 12})
    assert [d.kind for d in compare(catalog, parse_models(body))] == ["price_differs"]


def test_live_data_never_adds_models_to_the_catalog(catalog: Catalog) -> None:
    body = _agreeing_body(catalog)
    body["models"].append({"model_id": "brand-new-model", "generation_types": ["text-to-image"]})
    compare(catalog, parse_models(body))
    assert "brand-new-model" not in catalog.models


# --- the sync ---------------------------------------------------------------------------------


class FakeKubeez:
    """A ``GET /v1/models`` handler whose next answers the test sets."""

    def __init__(self, body: Any) -> None:
        self.answers: list[Callable[[httpx2.Request], httpx2.Response]] = []
        self.body = body
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)(request)
        return httpx2.Response(200, json=self.body)


def _raise_connect(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("connection refused", request=request)


@pytest.fixture
async def client_and_fake(catalog: Catalog) -> AsyncIterator[tuple[httpx2.AsyncClient, FakeKubeez]]:
    fake = FakeKubeez(_agreeing_body(catalog))
    async with httpx2.AsyncClient(base_url=BASE, transport=httpx2.MockTransport(fake)) as client:
        yield client, fake


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelname == "WARNING"]


async def test_refresh_fetches_with_the_key_and_sets_the_snapshot(
    catalog: Catalog, client_and_fake: tuple[httpx2.AsyncClient, FakeKubeez]
) -> None:
    client, fake = client_and_fake
    sync = KubeezModelSync(
        client,
        catalog,
        refresh_s=600,
        headers=KubeezAdapter().auth_headers("kz-key"),
        clock=lambda: 42.0,
    )
    assert sync.snapshot is None
    snapshot = await sync.refresh()
    assert snapshot is not None and sync.snapshot is snapshot
    assert snapshot.fetched_at == 42.0
    assert snapshot.available(catalog.models["veo3-1"])
    (request,) = fake.requests
    assert (request.method, str(request.url)) == ("GET", f"{BASE}/v1/models")
    assert request.headers["Authorization"] == "Bearer kz-key"
    assert sync.disagreements == ()


async def test_a_disagreement_is_logged_once_across_refreshes(
    catalog: Catalog,
    client_and_fake: tuple[httpx2.AsyncClient, FakeKubeez],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, fake = client_and_fake
    fake.body = _replace(fake.body, "flux-2", enabled=False)
    sync = KubeezModelSync(client, catalog, refresh_s=600)
    caplog.set_level(logging.INFO, logger=LOGGER)
    await sync.refresh()
    await sync.refresh()
    flux = [m for m in _warnings(caplog) if "'flux-2'" in m]
    assert len(flux) == 1
    assert "disabled" in flux[0]
    assert sync.disagreements == (Disagreement("disabled_live", "flux-2"),)
    # A new disagreement is logged (once) when it appears later.
    fake.body = _replace(fake.body, "veo3-1", enabled=False)
    await sync.refresh()
    await sync.refresh()
    assert len([m for m in _warnings(caplog) if "'veo3-1'" in m]) == 1
    assert len([m for m in _warnings(caplog) if "'flux-2'" in m]) == 1


async def test_failed_refreshes_keep_the_last_snapshot(
    catalog: Catalog,
    client_and_fake: tuple[httpx2.AsyncClient, FakeKubeez],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, fake = client_and_fake
    sync = KubeezModelSync(client, catalog, refresh_s=600)
    good = await sync.refresh()
    assert good is not None
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    fake.answers = [
        lambda r: httpx2.Response(500, json={"error": "internal_error"}),
        _raise_connect,
        lambda r: httpx2.Response(200, content=b"<html>not json</html>"),
        lambda r: httpx2.Response(200, json={"data": []}),
        lambda r: httpx2.Response(401, json={"error": "invalid_api_key"}),
    ]
    for _ in range(5):
        assert await sync.refresh() is None
        assert sync.snapshot is good
    assert len(fake.requests) == 6
    assert len(_warnings(caplog)) == 5
    assert all("keeping the last snapshot" in m for m in _warnings(caplog))


async def test_the_same_failure_again_is_not_logged_again_as_a_warning(
    catalog: Catalog,
    client_and_fake: tuple[httpx2.AsyncClient, FakeKubeez],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, fake = client_and_fake
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    fake.answers = [_raise_connect, _raise_connect, _raise_connect]
    sync = KubeezModelSync(client, catalog, refresh_s=600)
    for _ in range(3):
        assert await sync.refresh() is None
    assert sync.snapshot is None
    assert len(_warnings(caplog)) == 1
    assert "no snapshot yet" in _warnings(caplog)[0]
    # Recovery and a new failure: logged again.
    assert await sync.refresh() is not None
    fake.answers = [_raise_connect]
    assert await sync.refresh() is None
    assert len(_warnings(caplog)) == 2


class ManualSleep:
    """An injected ``sleep``: reports each call and returns only when the test wakes it."""

    def __init__(self) -> None:
        self.slept: asyncio.Queue[float] = asyncio.Queue()
        self.wake: asyncio.Queue[None] = asyncio.Queue()

    async def __call__(self, seconds: float) -> None:
        self.slept.put_nowait(seconds)
        await self.wake.get()

    async def next_sleep(self) -> float:
        return await asyncio.wait_for(self.slept.get(), timeout=5)


async def test_the_loop_refreshes_every_period_and_stops_on_close(
    catalog: Catalog, client_and_fake: tuple[httpx2.AsyncClient, FakeKubeez]
) -> None:
    client, fake = client_and_fake
    sleep = ManualSleep()
    sync = KubeezModelSync(client, catalog, refresh_s=90.0, sleep=sleep)
    sync.start()
    await asyncio.wait_for(sync.wait_first(), timeout=5)
    assert await sleep.next_sleep() == 90.0
    assert len(fake.requests) == 1
    first = sync.snapshot
    assert first is not None

    fake.answers = [_raise_connect]  # an error inside the loop does not end it
    sleep.wake.put_nowait(None)
    assert await sleep.next_sleep() == 90.0
    assert len(fake.requests) == 2
    assert sync.snapshot is first

    sleep.wake.put_nowait(None)
    assert await sleep.next_sleep() == 90.0
    assert len(fake.requests) == 3
    assert sync.snapshot is not first

    task = sync._task
    await asyncio.wait_for(sync.aclose(), timeout=5)
    assert task is not None and task.done()
    assert len(fake.requests) == 3
    assert sleep.slept.empty()
    assert not client.is_closed  # the client is the caller's


async def test_refresh_zero_fetches_once_and_the_context_manager_closes(
    catalog: Catalog, client_and_fake: tuple[httpx2.AsyncClient, FakeKubeez]
) -> None:
    client, fake = client_and_fake
    sleep = ManualSleep()
    async with KubeezModelSync(client, catalog, refresh_s=0, sleep=sleep) as sync:
        await asyncio.wait_for(sync.wait_first(), timeout=5)
        assert sync.snapshot is not None
        task = sync._task
        assert task is not None
        await asyncio.wait_for(task, timeout=5)
    assert len(fake.requests) == 1
    assert sleep.slept.empty()


async def test_an_unexpected_error_does_not_end_the_loop(
    catalog: Catalog,
    client_and_fake: tuple[httpx2.AsyncClient, FakeKubeez],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, fake = client_and_fake

    def boom(request: httpx2.Request) -> httpx2.Response:
        raise RuntimeError("surprise")

    fake.answers = [boom]
    sleep = ManualSleep()
    sync = KubeezModelSync(client, catalog, refresh_s=5.0, sleep=sleep)
    sync.start()
    try:
        await asyncio.wait_for(sync.wait_first(), timeout=5)
        assert sync.snapshot is None
        sleep.wake.put_nowait(None)
        await sleep.next_sleep()
        await sleep.next_sleep()
        assert sync.snapshot is not None
    finally:
        await sync.aclose()
    assert any("unexpected" in r.getMessage() for r in caplog.records if r.name == LOGGER)


def test_get_models_reads_availability_and_price_per_entry(catalog: Catalog) -> None:
    # get_models reads availability and price straight off the snapshot for an entry.
    snapshot = parse_models(json.loads(json.dumps(_agreeing_body(catalog))))
    entry = catalog.models["gemini-omni-video-4k-10s"]
    assert snapshot.available(entry)
    assert snapshot.price(entry) == (320.0, "credits")
