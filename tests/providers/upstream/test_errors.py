"""HTTP statuses and upstream error bodies mapped to the stable codes."""

from __future__ import annotations

import httpx2
import pytest

from mediagate.providers.upstream.errors import (
    error_for_status,
    not_configured,
    submit_outcome_unknown,
    transport_error,
    upstream_details,
)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "upstream_rejected"),
        (404, "upstream_rejected"),
        (422, "upstream_rejected"),
        (401, "provider_not_configured"),
        (403, "provider_not_configured"),
        (429, "rate_limited"),
        (451, "content_filtered"),
        (408, "upstream_error"),
        (500, "upstream_error"),
        (502, "upstream_unavailable"),
        (503, "upstream_unavailable"),
        (504, "upstream_unavailable"),
    ],
)
def test_status_maps_to_a_stable_code(status: int, code: str) -> None:
    error = error_for_status("tiny", status, None)
    assert error.code == code
    assert error.details["status"] == status
    assert error.details["provider"] == "tiny"


def test_rate_limited_carries_retry_after_s() -> None:
    error = error_for_status("tiny", 429, None, retry_after_s=12.34)
    assert error.payload["retry_after_s"] == 12.3
    assert "12.3" in error.message


def test_upstream_code_and_hint_are_kept_in_details() -> None:
    body = {"error": {"code": "prompt_blocked", "message": "No.", "hint": "Rephrase."}}
    error = error_for_status("tiny", 400, body)
    assert error.code == "upstream_rejected"
    assert error.details["upstream_code"] == "prompt_blocked"
    assert error.details["upstream_message"] == "No."
    assert error.details["upstream_hint"] == "Rephrase."
    assert "No." in error.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": "bad_size", "message": "Size too big"},
            {"upstream_code": "bad_size", "upstream_message": "Size too big"},
        ),
        ({"detail": "Not found"}, {"upstream_message": "Not found"}),
        ("plain text failure", {"upstream_message": "plain text failure"}),
        ({"error": {"code": 1234}}, {"upstream_code": "1234"}),
        (None, {}),
        ([1, 2], {}),
    ],
)
def test_upstream_details_understands_common_shapes(body: object, expected: dict) -> None:
    assert upstream_details(body) == expected


def test_long_upstream_messages_are_clipped() -> None:
    details = upstream_details({"message": "x" * 5000})
    assert len(details["upstream_message"]) <= 501


def test_transport_errors() -> None:
    request = httpx2.Request("GET", "https://x.test/")
    refused = transport_error("tiny", httpx2.ConnectError("no", request=request), what="the poll")
    assert refused.code == "upstream_unavailable"
    reset = transport_error("tiny", httpx2.ReadError("reset", request=request), what="the poll")
    assert reset.code == "upstream_error"


def test_unknown_submit_outcome_warns_about_a_possible_charge() -> None:
    error = submit_outcome_unknown("tiny", "timed out")
    assert error.code == "upstream_error"
    assert error.details["submit_outcome"] == "unknown"
    assert "charged" in error.details["hint"]


def test_not_configured_names_the_setting() -> None:
    error = not_configured("gateai", "api_key")
    assert error.code == "provider_not_configured"
    assert "MEDIAGATE_GATEAI_API_KEY" in error.details["hint"]
