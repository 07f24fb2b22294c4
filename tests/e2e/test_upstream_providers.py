"""Generations through the upstream providers (issue #4), end to end: the real ``mediagate
serve`` subprocess, reached through the real mcp client over stdio or streamable HTTP, talks
to the fake GateAI and Kubeez upstreams (``tests/fakes``) on 127.0.0.1.

Each test starts its own fakes (fresh counters, budgets and limits) and its own server, whose
environment carries the fakes' ``MEDIAGATE_<P>_API_KEY``/``_BASE_URL``. The fakes serve their
outputs from 127.0.0.1, so the server runs with ``MEDIAGATE_ALLOW_PRIVATE_URLS=true``.

GateAI's poll plan waits 1 s before an image's first poll and 5 s before a video's, so only
the tests where the transport shapes the result run on both stdio and HTTP (output URLs and
resource links; own-media input URLs, ``file://`` on stdio and ``/media/`` on HTTP, which
must reach Kubeez as uploads); the others run once, on either.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import (
    TERMINAL,
    assert_video,
    call_error,
    call_ok,
    download,
    ok_payload,
    probe_image,
    probe_video,
    resource_links,
    until,
    wait_for_status,
)
from mcp import Client

from fakes import FakeGateAI, FakeKubeez, FakeUpstream
from fakes import kubeez_models as km

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]
Launch = Callable[..., "McpServer"]

TRANSPORTS = ["stdio", "http"]
#: Upper bound for one upstream generation (GateAI video: first poll after 5 s).
WAIT_S = 30
#: Bound for the Kubeez live model list to arrive after start-up.
LIVE_TIMEOUT_S = 20.0


def _env(*fakes: FakeUpstream, **extra: str) -> dict[str, str]:
    """Server environment with the fakes' keys and URLs, private URLs allowed."""
    env = {"MEDIAGATE_ALLOW_PRIVATE_URLS": "true", "MEDIAGATE_LOCAL_DELAY_SCALE": "0"}
    for fake in fakes:
        env.update(fake.env())
    env.update(extra)
    return env


@asynccontextmanager
async def _served(
    launch: Launch, connect: Connect, transport: str, env: dict[str, str]
) -> AsyncIterator[tuple[Client, McpServer]]:
    """A server on ``transport`` with ``env``, and a client connected to it."""
    server = launch(transport, env=env)
    async with connect(server) as client:
        yield client, server


async def _generate(client: Client, args: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """generate_media waiting for the end; the payload and the raw result."""
    raw = await client.call_tool("generate_media", {**args, "wait_seconds": WAIT_S})
    payload = ok_payload(raw)
    if payload["status"] not in TERMINAL:  # slower than the wait: long-poll the rest
        payload = await wait_for_status(
            client,
            payload["generation_id"],
            lambda r: r["status"] in TERMINAL,
            wait_seconds=20,
        )
    return payload, raw


async def _completed(client: Client, args: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    payload, raw = await _generate(client, args)
    assert payload["status"] == "completed", payload
    return payload, raw


async def _failed(client: Client, args: dict[str, Any]) -> dict[str, Any]:
    payload, _raw = await _generate(client, args)
    assert payload["status"] == "failed", payload
    error = payload["error"]
    assert isinstance(error, dict) and error.get("message"), payload
    return error


def _stored_output(payload: dict[str, Any], server: McpServer) -> tuple[dict[str, Any], Path]:
    """The one output of a completed generation, checked to be a file in our media store."""
    [out] = payload["outputs"]
    path = Path(out["path"])
    assert path.parent == server.data_dir / "media" / payload["generation_id"], path
    assert path.is_file() and path.stat().st_size == out["size_bytes"] > 0
    return out, path


def _assert_rehosted(out: dict[str, Any], fake: FakeUpstream, server: McpServer) -> None:
    """Served from our store, the upstream's URL kept beside it as ``source_url``."""
    assert out["source_url"].startswith(f"{fake.url}/files/"), out
    assert not out["url"].startswith(fake.url), out
    if server.transport == "stdio":
        assert out["url"].startswith("file://"), out
    else:
        assert out["url"].startswith(f"{server.base_url}/media/"), out


def _params(fake: FakeGateAI) -> dict[str, Any]:
    """The ``params`` of the fake's one accepted generate body."""
    [submit] = fake.accepted_submits()
    params = submit.body["params"]
    assert isinstance(params, dict)
    return params


# --- GateAI: images and videos ----------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_gateai_image_completes_into_our_media_store_with_the_mapped_body(
    transport: str, mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    async with _served(mcp_launch, mcp_connect, transport, _env(fake_gateai)) as (client, server):
        payload, raw = await _completed(
            client,
            {"model": "gateai/flux-dev", "prompt": "a lighthouse at dusk", "aspect_ratio": "16:9"},
        )

    assert (payload["provider"], payload["model"]) == ("gateai", "flux-dev")
    out, path = _stored_output(payload, server)
    _assert_rehosted(out, fake_gateai, server)
    # flux-dev's size table: 16:9 is 1368×768; the fake renders that aspect at a 64 px edge.
    image = probe_image(path)
    assert (image.format, image.width, image.height) == ("JPEG", 64, 36)
    assert (out["media_type"], out["mime_type"], out["width"], out["height"]) == (
        "image",
        "image/jpeg",
        64,
        36,
    )
    if transport == "http":  # the URL serves exactly the stored file
        assert await download(out["url"]) == (path.read_bytes(), "image/jpeg")
    [link] = resource_links(raw)
    assert link.uri == f"mediagate://generations/{payload['generation_id']}/{path.name}"
    assert (link.mime_type, link.size) == ("image/jpeg", out["size_bytes"])

    assert fake_gateai.accepted_count == 1
    [submit] = fake_gateai.accepted_submits()
    assert (submit.body["model"], submit.body["type"]) == ("flux-dev", "image")
    assert _params(fake_gateai) == {
        "prompt": "a lighthouse at dusk",
        "width": 1368,
        "height": 768,
        "mode": "FAST",  # quality's default (fast) as flux-dev's mode
    }
    # Without allow_downgrade the budget was checked first.
    assert len(fake_gateai.requests("estimate")) == 1


async def test_a_gateai_video_sends_its_duration_and_tier_and_completes_as_an_mp4(
    mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    args = {
        "model": "kling-3.0",
        "provider": "gateai",
        "prompt": "waves on a pier",
        "aspect_ratio": "9:16",
        "duration": 7,
        "resolution": "720p",
    }
    async with _served(mcp_launch, mcp_connect, "stdio", _env(fake_gateai)) as (client, server):
        payload, _raw = await _completed(client, args)

    assert (payload["provider"], payload["model"]) == ("gateai", "kling-3.0")
    out, path = _stored_output(payload, server)
    _assert_rehosted(out, fake_gateai, server)
    assert out["mime_type"] == "video/mp4"
    # Kling 3.0 at 720p 9:16 is 720×1280 (rendered 36×64 by the fake), 7 s long.
    assert_video(probe_video(path), width=36, height=64, duration_s=7.0, audio=False)
    assert (out["width"], out["height"], out["duration_s"]) == (36, 64, 7.0)

    [submit] = fake_gateai.accepted_submits()
    assert (submit.body["model"], submit.body["type"]) == ("kling-3.0", "video")
    params = _params(fake_gateai)
    assert params["durationSeconds"] == 7 and "duration" not in params
    assert params["mode"] == "RESOLUTION_720"
    assert (params["width"], params["height"]) == (720, 1280)


# --- routing ------------------------------------------------------------------------------------


async def test_with_both_keys_a_shared_id_goes_to_kubeez_unless_gateai_is_named(
    mcp_launch: Launch,
    mcp_connect: Connect,
    fake_gateai: FakeGateAI,
    fake_kubeez: FakeKubeez,
) -> None:
    calls = {
        "bare": {"model": "gpt-image-2", "prompt": "a red kite"},
        "qualified": {"model": "gateai/gpt-image-2", "prompt": "a blue kite"},
        "named": {"model": "gpt-image-2", "provider": "gateai", "prompt": "a green kite"},
    }
    env = _env(fake_gateai, fake_kubeez)
    async with _served(mcp_launch, mcp_connect, "http", env) as (client, server):
        models = await call_ok(client, "get_models", {"model": "gpt-image-2"})
        # Started together, then waited for: the three run at once.
        started = {
            name: await call_ok(client, "generate_media", {**args, "wait_seconds": 0})
            for name, args in calls.items()
        }
        done = {
            name: await wait_for_status(
                client, gen["generation_id"], lambda r: r["status"] in TERMINAL, wait_seconds=20
            )
            for name, gen in started.items()
        }

    [row] = models["models"]
    assert row["providers"] == ["kubeez", "gateai"]
    assert row["provider"] == "kubeez"
    for name, gen in done.items():
        assert gen["status"] == "completed", (name, gen)
    assert {name: gen["provider"] for name, gen in done.items()} == {
        "bare": "kubeez",
        "qualified": "gateai",
        "named": "gateai",
    }
    _assert_rehosted(_stored_output(done["bare"], server)[0], fake_kubeez, server)
    _assert_rehosted(_stored_output(done["named"], server)[0], fake_gateai, server)
    [kubeez] = fake_kubeez.accepted_submits()
    assert (kubeez.body["model"], kubeez.body["prompt"]) == ("gpt-image-2", "a red kite")
    gateai = sorted(
        (s.body["model"], s.body["type"], s.body["params"]["prompt"])
        for s in fake_gateai.accepted_submits()
    )
    assert gateai == [
        ("gpt-image-2", "image", "a blue kite"),
        ("gpt-image-2", "image", "a green kite"),
    ]


async def test_a_gateai_model_without_a_gateai_key_is_provider_not_configured(
    mcp_launch: Launch, mcp_connect: Connect, fake_kubeez: FakeKubeez
) -> None:
    async with _served(mcp_launch, mcp_connect, "stdio", _env(fake_kubeez)) as (client, _server):
        errors = [
            await call_error(client, "generate_media", {"model": model, "prompt": "a fox"})
            for model in ("flux-dev", "gateai/flux-dev")
        ]
        errors.append(
            await call_error(
                client,
                "generate_media",
                {"model": "gpt-image-2", "provider": "gateai", "prompt": "a fox"},
            )
        )
        balance = await call_error(client, "get_balance", {})

    for error in [*errors, balance]:
        assert error["error"] == "provider_not_configured", error
        assert "MEDIAGATE_GATEAI_API_KEY" in error["hint"], error
    assert "gateai" not in errors[0]["available"]
    assert fake_kubeez.accepted_count == 0


async def test_without_any_key_the_local_provider_is_the_default(
    mcp_launch: Launch, mcp_connect: Connect
) -> None:
    env = {"MEDIAGATE_LOCAL_DELAY_SCALE": "0"}
    async with _served(mcp_launch, mcp_connect, "stdio", env) as (client, server):
        done, _ = await _completed(client, {"model": "gpt-image-2", "prompt": "a quiet pond"})
        balance = await call_error(client, "get_balance", {})

    assert done["provider"] == "local"
    probe_image(_stored_output(done, server)[1])
    assert balance["error"] == "provider_not_configured"


# --- GateAI budget --------------------------------------------------------------------------

#: Seedance 2.0 at 720p for 15 s: $1.85 at the fake, which a $1 budget only fits at 8 s.
EXPENSIVE_VIDEO = {
    "model": "gateai/seedance-2.0",
    "prompt": "a long drone flight over a canyon",
    "duration": 15,
    "resolution": "720p",
}
DAILY_LIMIT = 100.0
USED = 99.0


async def test_gateai_budget_refuses_a_silent_downgrade_and_reports_an_allowed_one(
    mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    fake_gateai.set_budget(used=USED, daily_limit=DAILY_LIMIT)
    async with _served(mcp_launch, mcp_connect, "http", _env(fake_gateai)) as (client, server):
        balance = await call_ok(client, "get_balance", {})
        assert balance["provider"] == "gateai"
        assert balance["currency"] == "USD"
        assert (balance["daily_limit"], balance["used"], balance["remaining"]) == (
            DAILY_LIMIT,
            USED,
            fake_gateai.remaining(),
        )
        assert (balance["pool_accounts"], balance["pool_locked"]) == (
            fake_gateai.pool["total_accounts"],
            fake_gateai.pool["locked"],
        )
        assert balance["resets_at"].endswith("T00:00:00Z")

        estimate = await call_ok(
            client,
            "get_generation_estimate",
            {
                "model": EXPENSIVE_VIDEO["model"],
                "parameters": {k: v for k, v in EXPENSIVE_VIDEO.items() if k != "model"},
            },
        )
        quote = estimate["upstream"]
        assert quote["provider"] == "gateai"
        assert quote["currency"] == "USD"
        assert quote["cost"] == pytest.approx(1.85)
        assert quote["fits_in_budget"] is False
        assert quote["daily_remaining"] == pytest.approx(DAILY_LIMIT - USED)
        assert quote["adjustments"] == [{"param": "duration", "from": 15, "to": 8}]
        assert quote["adjusted_cost"] <= DAILY_LIMIT - USED

        refused = await call_error(client, "generate_media", EXPENSIVE_VIDEO)
        assert refused["error"] == "budget_exceeded", refused
        assert refused["suggested_adjustments"] == [{"param": "duration", "from": 15, "to": 8}]
        assert refused["cost_usd"] == pytest.approx(1.85)
        assert refused["daily_remaining_usd"] == pytest.approx(DAILY_LIMIT - USED)
        assert "allow_downgrade" in refused["hint"]
        assert fake_gateai.accepted_count == 0
        assert fake_gateai.requests("submit") == []

        done, _ = await _completed(client, {**EXPENSIVE_VIDEO, "allow_downgrade": True})
        after = await call_ok(client, "get_balance", {})

    assert fake_gateai.accepted_count == 1
    [submit] = fake_gateai.accepted_submits()
    assert submit.body["params"]["duration"] == 15  # asked as is; GateAI downgraded it
    assert submit.adjustments == [{"param": "duration", "from": 15, "to": 8}]
    assert any("duration" in w and "budget" in w for w in done["warnings"]), done["warnings"]
    _out, path = _stored_output(done, server)
    # The downgraded clip is what arrived: 8 s, not 15.
    info = probe_video(path)
    assert abs(info.duration_s - 8.0) <= info.frame_s + 1e-6, info
    assert after["remaining"] == pytest.approx(fake_gateai.remaining())
    assert after["used"] == pytest.approx(USED + submit.cost)
    # Only the two budget checks asked for an estimate; allow_downgrade skipped it.
    assert len(fake_gateai.requests("estimate")) == 2


async def test_with_only_gateai_a_shared_bare_id_names_the_gateai_alternative(
    mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    # Less than one GPT Image 2 (low, $0.003) is left today.
    fake_gateai.set_budget(used=0.0, daily_limit=0.001)
    async with _served(mcp_launch, mcp_connect, "stdio", _env(fake_gateai)) as (client, _server):
        bare = await call_error(client, "generate_media", {"model": "gpt-image-2", "prompt": "a"})
        # Provider names are matched in any case, as generate_media's provider is.
        balance = await call_ok(client, "get_balance", {"provider": "GateAI"})
        listed = await call_ok(client, "get_models", {"provider": "GateAI", "search": "flux-dev"})
        tiny = await call_error(
            client, "generate_media", {"model": "gateai/gpt-image-2", "prompt": "a small cat"}
        )

    # The bare id is Kubeez's entry: refused, pointing at the configured GateAI one.
    assert bare["error"] == "provider_not_configured", bare
    assert "MEDIAGATE_KUBEEZ_API_KEY" in bare["hint"]
    assert "gateai/gpt-image-2" in bare["hint"]
    assert balance["provider"] == "gateai"
    assert balance["remaining"] == pytest.approx(0.001)
    assert [m["id"] for m in listed["models"]] == ["flux-dev"]
    # Sub-cent prices are shown as such, not as "$0.00".
    assert tiny["error"] == "budget_exceeded", tiny
    assert tiny["suggested_adjustments"] == []
    assert "$0.0030" in tiny["message"] and "$0.0010" in tiny["message"], tiny["message"]
    assert "$0.00 " not in tiny["message"]
    assert fake_gateai.accepted_count == 0


async def test_an_idempotent_retry_returns_its_generation_after_the_budget_is_spent(
    mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    # Room for exactly one GPT Image 2 (low, $0.003).
    fake_gateai.set_budget(used=0.0, daily_limit=0.004)
    args = {"model": "gateai/gpt-image-2", "prompt": "a small cat", "idempotency_key": "once"}
    async with _served(mcp_launch, mcp_connect, "http", _env(fake_gateai)) as (client, _server):
        first, _ = await _completed(client, args)
        again = await call_ok(client, "generate_media", args)

    assert again["generation_id"] == first["generation_id"]
    assert again["status"] == "completed"
    assert fake_gateai.accepted_count == 1


# --- Kubeez ----------------------------------------------------------------------------------


def _png(path: Path, size: tuple[int, int] = (48, 32)) -> bytes:
    from PIL import Image

    Image.new("RGB", size, (200, 40, 40)).save(path, format="PNG")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("transport", "via"), [("stdio", "path"), ("http", "upload_media")], ids=["stdio", "http"]
)
async def test_a_kubeez_image_to_image_uploads_the_local_input_to_kubeez(
    transport: str,
    via: str,
    mcp_launch: Launch,
    mcp_connect: Connect,
    fake_kubeez: FakeKubeez,
    tmp_path: Path,
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    local = inputs / "input.png"
    sent = _png(local)
    env = _env(fake_kubeez, MEDIAGATE_ALLOWED_DIRS=str(inputs))
    async with _served(mcp_launch, mcp_connect, transport, env) as (client, server):
        source = str(local)
        if via == "upload_media":
            source = (await call_ok(client, "upload_media", {"path": source}))["url"]
            assert not source.startswith(fake_kubeez.url)
        done, _ = await _completed(
            client,
            {
                "model": "gpt-image-2",
                "generation_type": "image-to-image",
                "prompt": "repaint it in blue",
                "source_media_urls": [source],
            },
        )

    assert done["provider"] == "kubeez"
    _assert_rehosted(_stored_output(done, server)[0], fake_kubeez, server)
    [upload] = fake_kubeez.requests("upload")
    assert (upload.method, upload.status) == ("POST", 200)
    [submit] = fake_kubeez.accepted_submits()
    assert submit.body["generation_type"] == "image-to-image"
    # The fake's own upload URL, never ours (Kubeez cannot reach this server's files).
    [url] = submit.body["source_media_urls"]
    assert url.startswith(f"{fake_kubeez.url}/files/uploads/"), url
    # The fake holds exactly the bytes of the local file.
    assert fake_kubeez.files[url.removeprefix(f"{fake_kubeez.url}/files/")].data == sent


async def test_kubeez_refusals_come_back_as_stable_errors_and_live_models_arrive(
    mcp_launch: Launch, mcp_connect: Connect, fake_kubeez: FakeKubeez
) -> None:
    async with _served(mcp_launch, mcp_connect, "http", _env(fake_kubeez)) as (client, _server):
        filtered = await call_ok(
            client,
            "generate_media",
            {"model": "nano-banana", "prompt": "a harbour [content_policy]", "wait_seconds": 0},
        )

        async def accepted() -> bool:
            return fake_kubeez.accepted_count == 1

        await until(accepted, timeout=WAIT_S, what="the first submit")
        fake_kubeez.set_credits(0)
        broke = await _failed(client, {"model": "nano-banana", "prompt": "a harbour"})
        ended = await wait_for_status(
            client, filtered["generation_id"], lambda r: r["status"] in TERMINAL, wait_seconds=20
        )
        # get_models shows Kubeez's live list (fetched in the background after start-up).
        seen: dict[str, Any] = {}

        async def live() -> bool:
            one = await call_ok(client, "get_models", {"model": "gpt-image-2"})
            seen.update(one["models"][0])
            return "live" in seen

        await until(live, timeout=LIVE_TIMEOUT_S, what="the live Kubeez model list")

    assert ended["status"] == "failed", ended
    assert ended["error"]["error"] == "content_filtered", ended
    assert ended["error"]["upstream_code"] == "content_policy_violation"
    assert ended["error"]["hint"]
    assert broke["error"] == "upstream_rejected", broke
    assert broke["upstream_code"] == "insufficient_credits"
    assert "credits" in broke["hint"]
    # The job that failed upstream was accepted; the refused one never was.
    assert fake_kubeez.accepted_count == 1
    assert [r.status for r in fake_kubeez.requests("submit")] == [200, 402]
    listed = km.model_row(km.catalog().models["gpt-image-2"])["pricing"]
    assert seen["live"] == {
        "available": True,
        "live_price": {"amount": listed["credits"], "unit": listed["unit"]},
    }
    assert fake_kubeez.requests("models")


# --- rate limits -----------------------------------------------------------------------------


async def test_a_429_on_submit_is_waited_out_and_the_generation_completes_once(
    mcp_launch: Launch, mcp_connect: Connect, fake_gateai: FakeGateAI
) -> None:
    fake_gateai.inject("submit", "429_seconds", retry_after=1)
    async with _served(mcp_launch, mcp_connect, "http", _env(fake_gateai)) as (client, server):
        started = time.monotonic()
        done, _ = await _completed(client, {"model": "gateai/flux-dev", "prompt": "a windmill"})
        took = time.monotonic() - started

    probe_image(_stored_output(done, server)[1])
    assert fake_gateai.accepted_count == 1
    submits = fake_gateai.requests("submit")
    assert [r.status for r in submits] == [429, 200]
    assert [e.reason for e in fake_gateai.rate_limited] == ["injected"]
    # The retry honoured Retry-After: 1.
    assert submits[1].at - submits[0].at >= 1.0 - 0.05
    assert took < WAIT_S
