"""GateAI's answers read without a network: statuses, submits, errors, estimates, credits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mediagate.errors import MediagateError
from mediagate.providers.base import Adjustment
from mediagate.providers.gateai.mapping import (
    GateAIAdapter,
    describe_adjustments,
    next_reset,
    parse_adjustments,
    parse_credits,
    parse_estimate,
    status_message,
)
from mediagate.providers.gateai.reconcile import parse_elapsed

ADAPTER = GateAIAdapter(api_key="sk-test")
MIN = 60.0


# --- statuses ---------------------------------------------------------------------------------


def test_processing_is_processing_without_a_message_before_twenty_minutes() -> None:
    status = ADAPTER.parse_status({"status": "PROCESSING"}, elapsed_s=19 * MIN)
    assert status.state == "processing"
    assert status.message is None
    assert status.outputs == ()
    assert status.error is None


def test_processing_after_twenty_minutes_says_refunded_and_names_the_hard_limit() -> None:
    status = ADAPTER.parse_status({"status": "PROCESSING", "cost": 1.85}, elapsed_s=21 * MIN)
    assert status.state == "processing"
    assert status.message is not None
    assert "21 min" in status.message
    assert "refunded" in status.message
    assert "40-minute hard limit" in status.message
    assert status.cost == 1.85


def test_queued_maps_to_queued() -> None:
    assert ADAPTER.parse_status({"status": "QUEUED"}, elapsed_s=1).state == "queued"


def test_finished_image_lists_every_result_url_as_an_output() -> None:
    body = {
        "status": "FINISHED",
        "result": ["https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png"],
        "model": "gpt_image_2_0",
        "cost": 0.11,
    }
    status = ADAPTER.parse_status(body, elapsed_s=12)
    assert status.state == "completed"
    assert status.progress == 100.0
    assert status.cost == 0.11
    assert status.message is None
    assert [(o.url, o.media_type, o.role) for o in status.outputs] == [
        ("https://cdn.example.com/a.jpg", "image", "output"),
        ("https://cdn.example.com/b.png", "image", "output"),
    ]


def test_finished_video_output_is_a_video() -> None:
    body = {"status": "FINISHED", "result": ["https://cdn.example.com/v/out.mp4"]}
    (output,) = ADAPTER.parse_status(body, elapsed_s=90).outputs
    assert output.media_type == "video"
    assert output.role == "output"


def test_finished_3d_glbs_are_outputs_and_jpgs_are_previews() -> None:
    body = {
        "status": "FINISHED",
        "result": ["https://cdn.example.com/g1/rodin-v2_-0.jpg"],
        "glb_urls": ["https://cdn.example.com/g1/rodin-v2_-0.glb"],
    }
    status = ADAPTER.parse_status(body, elapsed_s=200)
    assert [(o.url, o.media_type, o.role) for o in status.outputs] == [
        ("https://cdn.example.com/g1/rodin-v2_-0.glb", "model", "output"),
        ("https://cdn.example.com/g1/rodin-v2_-0.jpg", "image", "preview"),
    ]


def test_finished_after_twenty_minutes_notes_the_result_was_free() -> None:
    body = {"status": "FINISHED", "result": ["https://cdn.example.com/v.mp4"]}
    status = ADAPTER.parse_status(body, elapsed_s=25 * MIN)
    assert status.message is not None and "free" in status.message


def test_finished_without_a_result_is_an_upstream_fault() -> None:
    with pytest.raises(MediagateError) as info:
        ADAPTER.parse_status({"status": "FINISHED", "result": []}, elapsed_s=5)
    assert info.value.code == "upstream_error"


@pytest.mark.parametrize(
    "text",
    [
        "Content policy violation",
        "Prompt was flagged by the safety system",
        "Blocked by moderation",
        "NSFW content detected",
    ],
)
def test_failed_for_content_is_content_filtered(text: str) -> None:
    status = ADAPTER.parse_status({"status": "FAILED", "error": text}, elapsed_s=30)
    assert status.state == "failed"
    assert status.error is not None
    assert status.error.code == "content_filtered"
    assert status.error.details["upstream_message"] == text


def test_failed_at_the_hard_limit_is_an_upstream_error_naming_the_limit() -> None:
    body = {"status": "FAILED", "error": "Generation timed out (40 min hard limit)"}
    status = ADAPTER.parse_status(body, elapsed_s=40 * MIN)
    assert status.error is not None
    assert status.error.code == "upstream_error"
    assert "40-minute hard limit" in status.error.message
    assert "refunded" in status.error.message


def test_failed_for_another_reason_keeps_gateai_text() -> None:
    body = {"status": "FAILED", "error": {"message": "Worker crashed"}}
    status = ADAPTER.parse_status(body, elapsed_s=3)
    assert status.error is not None
    assert status.error.code == "upstream_error"
    assert "Worker crashed" in status.error.message


def test_failed_without_a_reason_still_fails() -> None:
    status = ADAPTER.parse_status({"status": "FAILED"}, elapsed_s=3)
    assert status.error is not None and status.error.code == "upstream_error"


@pytest.mark.parametrize("body", [None, [], "FINISHED", {"status": "DONE"}, {}])
def test_unreadable_status_answers_are_upstream_errors(body: Any) -> None:
    with pytest.raises(MediagateError) as info:
        ADAPTER.parse_status(body, elapsed_s=1)
    assert info.value.code == "upstream_error"


@pytest.mark.parametrize(
    ("elapsed_s", "has_message"), [(0, False), (20 * MIN - 1, False), (20 * MIN, True)]
)
def test_status_message_starts_at_the_refund_threshold(elapsed_s: float, has_message: bool) -> None:
    assert (status_message(elapsed_s) is not None) is has_message


# --- submit -----------------------------------------------------------------------------------


def test_submit_answer_gives_task_id_and_cost() -> None:
    body = {
        "task_id": "f578692c-6475-4d85-b4c2-32a97af506ff",
        "url": "/get/f578692c-6475-4d85-b4c2-32a97af506ff",
        "status": "PROCESSING",
        "cost": 0.05,
        "remaining": 99.95,
    }
    submitted = ADAPTER.parse_submit(body)
    assert submitted.upstream_id == "f578692c-6475-4d85-b4c2-32a97af506ff"
    assert submitted.cost == 0.05
    assert submitted.adjustments == ()
    assert submitted.status is None


def test_submit_adjustments_become_sentences_in_the_past_tense() -> None:
    body = {
        "task_id": "t1",
        "status": "PROCESSING",
        "cost": 0.9,
        "adjustments": [
            {"param": "mode", "from": "RESOLUTION_1080", "to": "RESOLUTION_720"},
            {"param": "duration", "from": 12, "to": 8},
        ],
    }
    submitted = ADAPTER.parse_submit(body)
    assert submitted.adjustments == (
        "GateAI lowered the resolution from 1080p to 720p "
        "(mode RESOLUTION_1080 → RESOLUTION_720) to fit the daily budget.",
        "GateAI lowered the duration from 12 s to 8 s to fit the daily budget.",
    )


def test_submit_that_finished_at_once_carries_its_status() -> None:
    body = {"task_id": "t2", "status": "FINISHED", "result": ["https://cdn.example.com/x.png"]}
    submitted = ADAPTER.parse_submit(body)
    assert submitted.status is not None
    assert submitted.status.state == "completed"


@pytest.mark.parametrize("body", [None, {"status": "PROCESSING"}, {"task_id": ""}, ["t"]])
def test_submit_without_a_task_id_is_an_upstream_fault(body: Any) -> None:
    with pytest.raises(MediagateError) as info:
        ADAPTER.parse_submit(body)
    assert info.value.code == "upstream_error"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status_code", [401, 403])
def test_refused_key_is_upstream_rejected_with_a_hint_naming_the_setting(status_code: int) -> None:
    err = ADAPTER.parse_error(status_code, {"error": "Invalid API key"}, retry_after_s=None)
    assert err.code == "upstream_rejected"
    assert "MEDIAGATE_GATEAI_API_KEY" in err.details["hint"]
    assert err.details["http_status"] == status_code


@pytest.mark.parametrize(
    ("body", "code", "limit"),
    [
        ({"error": "PROMPT_TOO_LONG", "message": "Prompt exceeds 1500"}, "PROMPT_TOO_LONG", 1500),
        ({"error": {"code": "QUANTITY_TOO_HIGH", "message": "max 8"}}, "QUANTITY_TOO_HIGH", 8),
        ({"code": "INVALID_PARAMS", "message": "bad width"}, "INVALID_PARAMS", None),
    ],
)
def test_bad_requests_are_upstream_rejected_with_the_upstream_code(
    body: dict[str, Any], code: str, limit: int | None
) -> None:
    err = ADAPTER.parse_error(400, body, retry_after_s=None)
    assert err.code == "upstream_rejected"
    assert err.details["upstream_code"] == code
    assert err.details.get("max") == limit


def test_unknown_model_keeps_gateai_suggestions() -> None:
    body = {"error": "Model not found", "suggestions": ["seedance-2.0"]}
    err = ADAPTER.parse_error(404, body, retry_after_s=None)
    assert err.code == "upstream_rejected"
    assert err.details["suggestions"] == ["seedance-2.0"]
    assert err.details["upstream_message"] == "Model not found"


def test_rate_limited_carries_retry_after_from_the_header() -> None:
    err = ADAPTER.parse_error(429, {"error": "RATE_LIMITED"}, retry_after_s=12.0)
    assert err.code == "rate_limited"
    assert err.details["retry_after_s"] == 12.0
    assert err.details["upstream_code"] == "RATE_LIMITED"


def test_rate_limited_without_a_header_waits_out_the_window() -> None:
    err = ADAPTER.parse_error(429, {"error": "RATE_LIMITED"}, retry_after_s=None)
    assert err.details["retry_after_s"] == 30.0


def test_rate_limited_reads_retry_after_from_the_body() -> None:
    err = ADAPTER.parse_error(429, {"error": "RATE_LIMITED", "retry_after": 7}, retry_after_s=None)
    assert err.details["retry_after_s"] == 7.0


@pytest.mark.parametrize("status_code", [500, 502, 503])
def test_server_errors_are_upstream_errors(status_code: int) -> None:
    err = ADAPTER.parse_error(status_code, "<html>bad gateway</html>", retry_after_s=None)
    assert err.code == "upstream_error"
    assert err.details["upstream_message"] == "<html>bad gateway</html>"


# --- estimate, adjustments, credits -----------------------------------------------------------


def test_estimate_that_fits() -> None:
    est = parse_estimate({"cost": 0.11, "daily_remaining": 100.0, "fits_in_budget": True})
    assert (est.cost, est.remaining, est.fits_in_budget, est.currency) == (0.11, 100.0, True, "USD")
    assert est.adjustments == ()
    assert est.notes == ()


def test_estimate_over_budget_suggests_adjustments() -> None:
    body = {
        "cost": 3.33,
        "daily_remaining": 1.2,
        "fits_in_budget": False,
        "adjustments": [{"param": "duration", "from": 12, "to": 8}],
        "adjusted_cost": 1.1,
    }
    est = parse_estimate(body)
    assert not est.fits_in_budget
    assert est.adjustments == (Adjustment("duration", 12, 8),)
    assert est.adjusted_cost == 1.1
    assert est.notes == (
        "GateAI would lower the duration from 12 s to 8 s to fit the daily budget.",
    )


def test_estimate_without_fits_flag_compares_cost_and_remaining() -> None:
    assert not parse_estimate({"cost": 5, "daily_remaining": 1}).fits_in_budget
    assert parse_estimate({"cost": 0.5, "daily_remaining": 1}).fits_in_budget


@pytest.mark.parametrize("body", [None, {}, {"cost": "cheap"}, {"cost": True}])
def test_unreadable_estimates_are_upstream_errors(body: Any) -> None:
    with pytest.raises(MediagateError) as info:
        parse_estimate(body)
    assert info.value.code == "upstream_error"


def test_adjustments_read_the_object_form_too() -> None:
    parsed = parse_adjustments({"mode": {"from": "RESOLUTION_1080", "to": "RESOLUTION_720"}})
    assert parsed == (Adjustment("mode", "RESOLUTION_1080", "RESOLUTION_720"),)
    assert parse_adjustments(None) == ()
    assert parse_adjustments([{"from": 1, "to": 2}, "junk"]) == ()


def test_adjustment_sentences_name_unknown_params_plainly() -> None:
    (sentence,) = describe_adjustments([Adjustment("width", 1920, 1280)], applied=True)
    assert sentence == "GateAI lowered width from 1920 to 1280 to fit the daily budget."


def test_adjustment_wire_shape_uses_from_and_to() -> None:
    assert Adjustment("duration", 12, 8).to_dict() == {"param": "duration", "from": 12, "to": 8}


def test_credits_answer_becomes_a_balance_with_pool_and_next_reset() -> None:
    body = {
        "your_budget": {"daily_limit": 100, "used": 5.22, "remaining": 94.78},
        "pool": {"total_accounts": 12, "locked": 1},
    }
    now = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    balance = parse_credits(body, now=now)
    assert (balance.daily_limit, balance.used, balance.remaining) == (100.0, 5.22, 94.78)
    assert balance.currency == "USD"
    assert balance.provider == "gateai"
    assert dict(balance.pool) == {"total_accounts": 12, "locked": 1}
    assert balance.resets_at == datetime(2026, 3, 2, tzinfo=UTC)


def test_me_budget_is_read_like_credits() -> None:
    balance = parse_credits({"budget": {"daily_limit": 100, "used": 1, "remaining": 99}})
    assert balance.remaining == 99.0
    assert balance.resets_at is None
    assert dict(balance.pool) == {}


def test_credits_without_a_budget_is_an_upstream_error() -> None:
    with pytest.raises(MediagateError) as info:
        parse_credits({"pool": {}})
    assert info.value.code == "upstream_error"


def test_next_reset_is_the_coming_utc_midnight() -> None:
    assert next_reset(datetime(2026, 12, 31, 0, 0, tzinfo=UTC)) == datetime(2027, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (12, 12.0),
        (1.5, 1.5),
        ("12s", 12.0),
        ("12 s", 12.0),
        ("45", 45.0),
        ("1m 5s", 65.0),
        ("2m", 120.0),
        ("1h2m3s", 3723.0),
        ("250ms", 0.25),
        ("", None),
        ("soon", None),
        ("3 days", None),
        ("1 2", None),
        (-4, None),
        (True, None),
        (None, None),
        ("1" * 60, None),
    ],
)
def test_elapsed_is_read_in_gateai_spellings(value: Any, seconds: float | None) -> None:
    assert parse_elapsed(value) == seconds
