"""Rejected calls end to end: each comes back as an ``isError`` result holding the GUIDE's JSON
(``error`` code, one-sentence ``message``, the details to fix the call), starts nothing, and
leaves the server answering. A burst of junk calls never crashes or hangs it.

Most cases share one streamable-HTTP server (``mcp_shared_server``: rejected calls leave no
state behind); the junk burst runs on every transport.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from helpers import call_ok, error_payload, served_tools_ok, text_of
from mcp import Client
from mcp.shared.exceptions import MCPError

if TYPE_CHECKING:
    from conftest import McpServer

Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(scope="module")
def allowed_output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("allowed-outputs")


@pytest.fixture(scope="module")
def mcp_shared_server_env(allowed_output_dir: Path) -> Mapping[str, str]:
    return {
        "MEDIAGATE_LOCAL_DELAY_SCALE": "0",
        "MEDIAGATE_OUTPUT_DIRS": str(allowed_output_dir),
    }


@pytest.fixture
def mcp_server_env() -> Mapping[str, str]:
    return {"MEDIAGATE_LOCAL_DELAY_SCALE": "0"}


async def _rejected(client: Client, tool: str, args: dict[str, Any], code: str) -> dict[str, Any]:
    """Call, check the error shape and code, then check the server still serves and that
    nothing was started."""
    payload = error_payload(await client.call_tool(tool, args))
    assert payload["error"] == code, payload
    assert payload["message"].strip().endswith((".", "?", ")")), payload["message"]
    await client.session.send_ping()
    assert served_tools_ok({t.name for t in (await client.list_tools()).tools})
    listed = await call_ok(client, "list_generations", {})
    assert listed["generations"] == [], "a rejected call must not start a generation"
    return payload


async def _reject(
    server: McpServer, connect: Connect, tool: str, args: dict[str, Any], code: str
) -> dict[str, Any]:
    async with connect(server) as client:
        return await _rejected(client, tool, args, code)


IMG = {"model": "nano-banana", "prompt": "a cat"}


async def test_an_unknown_model_suggests_close_ids(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {**IMG, "model": "nano-banan"},
        "unknown_model",
    )
    assert err["got"] == "nano-banan"
    assert "nano-banana" in err["suggestions"]


async def test_a_family_label_requires_a_variant_and_lists_them(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {**IMG, "model": "seedance-2"},
        "variant_required",
    )
    assert err["family"] == "seedance-2"
    assert err["hint"]
    assert "seedance-2-720p" in err["available_variants"]
    async with mcp_connect(mcp_shared_server) as client:
        for variant in err["available_variants"]:  # every suggestion is a real model
            assert (await call_ok(client, "get_models", {"model": variant}))["count"] == 1


@pytest.mark.parametrize("duration", ["99s", 2, "five"])
async def test_an_invalid_duration_names_the_allowed_range(
    mcp_shared_server: McpServer, mcp_connect: Connect, duration: str | int
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {"model": "kling-3-0-std", "prompt": "waves", "duration": duration},
        "invalid_duration",
    )
    assert err["got"] == duration
    assert (err["min"], err["max"]) == (3, 15)
    assert err["allowed"]


async def test_too_many_images_names_the_maximum(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    urls = [f"https://example.com/{n}.png" for n in range(11)]
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {**IMG, "source_media_urls": urls},
        "too_many_images",
    )
    assert (err["max"], err["got"]) == (10, 11)


async def test_image_to_video_without_a_source_image_is_refused(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {"model": "v1-pro-fast-i2v", "prompt": "move"},
        "source_media_required",
    )
    assert err["min_images"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://169.254.169.254/x.png",
        "http://[::1]/x.png",
        "http://localhost/x.png",
        "file:///etc/passwd.png",
    ],
)
async def test_a_source_url_on_a_non_public_address_is_unsafe(
    mcp_shared_server: McpServer, mcp_connect: Connect, url: str
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {**IMG, "source_media_urls": [url]},
        "unsafe_source_url",
    )
    assert err["field"] == "source_media_urls[0]"
    assert err["got"] == url


async def test_own_media_urls_that_climb_out_of_the_store_are_unsafe(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    # This server's own /media/ URLs are trusted as inputs, but not with dot-segments.
    base = f"{mcp_shared_server.base_url}/media"
    for url in (f"{base}/../jobs.sqlite3.png", f"{base}/%2e%2e/jobs.sqlite3.png"):
        err = await _reject(
            mcp_shared_server,
            mcp_connect,
            "generate_media",
            {**IMG, "source_media_urls": [url]},
            "unsafe_source_url",
        )
        assert err["got"] == url


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({**IMG, "colour": "red"}, "colour"),
        ({**IMG, "seed": "abc"}, "seed"),
        ({**IMG, "prompt": ["a", "cat"]}, "prompt"),
        ({**IMG, "wait_seconds": 1000}, "wait_seconds"),
        ({**IMG, "output_format": "gif"}, "output_format"),
        ({**IMG, "idempotency_key": "k" * 201}, "idempotency_key"),
        ({"prompt": "a cat"}, "model"),
    ],
    ids=[
        "unknown",
        "seed-type",
        "prompt-type",
        "wait-range",
        "format-enum",
        "key-length",
        "missing",
    ],
)
async def test_bad_arguments_are_invalid_arguments_naming_the_field(
    mcp_shared_server: McpServer, mcp_connect: Connect, args: dict[str, Any], field: str
) -> None:
    err = await _reject(mcp_shared_server, mcp_connect, "generate_media", args, "invalid_arguments")
    assert err["field"] == field


async def test_an_unknown_argument_suggests_the_parameter_meant(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {**IMG, "aspect_ration": "16:9"},
        "invalid_arguments",
    )
    assert err["field"] == "aspect_ration"
    assert "aspect_ratio" in err["suggestions"]
    assert "aspect_ratio" in err["allowed"]


@pytest.mark.parametrize("tool", ["get_generation_status", "cancel_generation"])
@pytest.mark.parametrize(
    "generation_id", ["gen_01ZZZZZZZZZZZZZZZZZZZZZZZZ", "../../etc/passwd", ""]
)
async def test_an_unknown_generation_id_is_not_found(
    mcp_shared_server: McpServer, mcp_connect: Connect, tool: str, generation_id: str
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        tool,
        {"generation_id": generation_id},
        "generation_not_found",
    )
    assert err["generation_id"] == generation_id


@pytest.mark.parametrize("where", ["/etc", "outside", "../climb", "relative/dir"])
async def test_an_output_dir_outside_the_allowed_dirs_is_refused(
    mcp_shared_server: McpServer, mcp_connect: Connect, allowed_output_dir: Path, where: str
) -> None:
    target = {
        "/etc": "/etc",
        "outside": str(allowed_output_dir.parent / "elsewhere"),
        "../climb": f"{allowed_output_dir}/../elsewhere",
        "relative/dir": "relative/dir",
    }[where]
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "generate_media",
        {**IMG, "output_dir": target},
        "invalid_arguments",
    )
    assert err["field"] == "output_dir"
    assert err["got"] == target
    if where != "relative/dir":
        assert err["allowed"] == [str(allowed_output_dir)]
    assert not (allowed_output_dir.parent / "elsewhere").exists()


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("generate_media", {**IMG, "provider": "gateai"}),
        ("get_generation_estimate", {"model": "nano-banana", "parameters": {"provider": "kubeez"}}),
        ("get_models", {"provider": "gateai"}),
    ],
    ids=["generate", "estimate", "models"],
)
async def test_a_provider_without_a_key_is_not_configured(
    mcp_shared_server: McpServer, mcp_connect: Connect, tool: str, args: dict[str, Any]
) -> None:
    err = await _reject(mcp_shared_server, mcp_connect, tool, args, "provider_not_configured")
    assert err["available"] == ["local"]


async def test_the_estimate_refuses_what_generate_media_would_refuse(
    mcp_shared_server: McpServer, mcp_connect: Connect
) -> None:
    err = await _reject(
        mcp_shared_server,
        mcp_connect,
        "get_generation_estimate",
        {"model": "kling-3-0-std", "parameters": {"duration": 99}},
        "invalid_duration",
    )
    assert err["max"] == 15


# --- junk -------------------------------------------------------------------------------------

_PARAMS = [
    "prompt",
    "model",
    "generation_type",
    "source_media_urls",
    "aspect_ratio",
    "duration",
    "resolution",
    "sound",
    "seed",
    "output_format",
    "wait_seconds",
    "output_dir",
    "provider",
    "idempotency_key",
    "generation_id",
    "status",
    "limit",
    "before",
    "parameters",
    "detail",
    "search",
    "media_type",
    "family",
    "kling_elements",
    "video_trim_start_s",
    "voice_id",
]


def _junk_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(12 if depth < 2 else 9)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**63, -(2**53), 10**30])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e-300, 3.0])
    if kind == 4:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(0, 40)))
    if kind == 5:
        return rng.choice(["", " ", "\x00", "../../etc/passwd", "file:///etc/passwd", "é" * 5000])
    if kind == 6:
        return rng.choice(["nano-banana", "veo3-1", "seedance-2", "kling-3-0-std"])
    if kind == 7:
        return rng.choice(["http://127.0.0.1/a.png", "http://[::ffff:127.0.0.1]/x.mp4", "ftp://x"])
    if kind == 8:
        return "x" * rng.choice([100, 10_000, 200_000])
    if kind == 9:
        return [_junk_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    return {
        rng.choice([*_PARAMS, "junk", ""]): _junk_value(rng, depth + 1)
        for _ in range(rng.randrange(0, 4))
    }


def _junk_call(rng: random.Random, params: Mapping[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """A random call: mostly a real tool with junk values for its own parameters (so the
    catalog validation is reached), sometimes a junk key or an unknown tool."""
    tool = rng.choice([*sorted(params), "generate_media", "generate_media"])
    if rng.random() < 0.1:
        tool = rng.choice(["no_such_tool", "", "generate-media"])
    own = params.get(tool, _PARAMS)
    keys = rng.sample(own, min(len(own), rng.randrange(0, 7)))
    args = {key: _junk_value(rng) for key in keys}
    if tool in ("generate_media", "get_generation_estimate") and rng.random() < 0.7:
        # A plausible model and prompt get the junk past the schema into catalog validation.
        args["model"] = rng.choice(["nano-banana", "veo3-1", "kling-3-0-std", "seedance-2-720p"])
        args["prompt"] = rng.choice(["a cat", "", "x" * 30_000])
    if rng.random() < 0.1:
        args[rng.choice(["junk", "__proto__", ""])] = _junk_value(rng)
    return tool, args


async def test_a_burst_of_junk_calls_never_crashes_or_hangs_the_server(
    mcp_session: Client,
) -> None:
    rng = random.Random(20261121)
    params = {
        tool.name: sorted(tool.input_schema.get("properties", {}))
        for tool in (await mcp_session.list_tools()).tools
    }
    with anyio.fail_after(120):
        for _ in range(50):
            tool, args = _junk_call(rng, params)
            try:
                result = await mcp_session.call_tool(tool, args)
            except MCPError:
                continue  # a protocol-level refusal is fine; the next call must still work
            if result.is_error and tool in params:
                # Our tools answer with the JSON shape, never "Error executing tool ..."
                payload = json.loads(text_of(result))
                assert isinstance(payload["error"], str), payload
                assert isinstance(payload["message"], str), payload
            elif result.is_error:
                assert tool in text_of(result)
            else:
                assert tool in params
                assert result.structured_content is not None
        await mcp_session.session.send_ping()
        assert served_tools_ok({t.name for t in (await mcp_session.list_tools()).tools})
        done = await call_ok(mcp_session, "generate_media", {**IMG, "wait_seconds": 50})
    assert done["status"] == "completed"
