"""Server logs: upstream keys never reach stderr, and per-request HTTP lines stay quiet."""

from __future__ import annotations

import logging

import pytest

from mediagate.cli import configure_logging


def test_api_keys_in_query_strings_are_masked_and_request_lines_hidden(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("info")
        logging.getLogger("mediagate.test").warning(
            "GET %s failed", "https://core.example/api/me?key=sk-secret-123&x=1"
        )
        logging.getLogger("httpx2").info("HTTP Request: GET /get/abc")
        err = capsys.readouterr().err
        assert "sk-secret-123" not in err
        assert "key=***&x=1" in err
        assert "HTTP Request" not in err
        configure_logging("debug")
        logging.getLogger("httpx2").debug("HTTP Request: GET /api/me?key=sk-secret-456")
        err = capsys.readouterr().err
        assert "HTTP Request" in err and "sk-secret-456" not in err
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name in ("httpx2", "httpcore2"):
            logging.getLogger(name).setLevel(logging.NOTSET)
