"""The server's own error contract, in-process through the real client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from mediagate.server.app import build_server
from mediagate.server.services import Services
from mediagate.server.tools import default_tool_registrars
from mediagate.settings import Settings


@pytest.fixture
def server(tmp_path: Path) -> object:
    settings = Settings(data_dir=tmp_path)
    return build_server(settings, tools=default_tool_registrars(Services(settings)))


async def test_unknown_tool_is_our_json_error_with_suggestions(server: object) -> None:
    async with Client(server) as client:  # type: ignore[arg-type]
        result = await client.call_tool("generate_medai", {"prompt": "x", "model": "z"})
    assert result.is_error
    payload = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert payload["error"] == "invalid_arguments"
    assert payload["field"] == "name"
    assert "generate_media" in payload["suggestions"]


async def test_undeclared_argument_is_refused_not_dropped(server: object) -> None:
    async with Client(server) as client:  # type: ignore[arg-type]
        result = await client.call_tool("get_models", {"media_typ": "image"})
    assert result.is_error
    payload = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert payload == {
        "error": "invalid_arguments",
        "message": "get_models has no parameter 'media_typ'.",
        "field": "media_typ",
        "suggestions": ["media_type"],
        "allowed": payload["allowed"],
    }
    assert "media_type" in payload["allowed"]
