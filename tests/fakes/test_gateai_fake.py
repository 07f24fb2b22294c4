"""The fake GateAI answers as seed 004 documents (driven over real HTTP with httpx2)."""

from __future__ import annotations

import io
from typing import Any

import av
import httpx2
import pytest
from PIL import Image

from fakes.drive import connect, gateai_submit, wait_for
from fakes.gateai import CONTENT_POLICY_ERROR, TIMEOUT_ERROR, FakeGateAI
from fakes.gateai_models import models


def finished(client: httpx2.Client, task_id: str) -> dict[str, Any]:
    """Poll ``/get/{task_id}`` until it leaves PROCESSING (bounded) and return the answer."""

    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/get/{task_id}").json()
        return body if body["status"] != "PROCESSING" else None

    return wait_for(probe)


# --- generate, poll, download -------------------------------------------------------------------


def test_image_generation_runs_to_finished_with_downloadable_jpegs(gateai: httpx2.Client) -> None:
    submit = gateai_submit(gateai, "flux-schnell", width=1344, height=768)
    assert submit.status_code == 200
    body = submit.json()
    assert set(body) == {"task_id", "url", "status", "cost", "remaining"}
    assert body["status"] == "PROCESSING"
    assert body["url"] == f"/get/{body['task_id']}"
    assert gateai.get(body["url"]).json()["status"] == "PROCESSING"

    done = finished(gateai, body["task_id"])
    assert done["status"] == "FINISHED"
    assert len(done["result"]) == 4  # flux-schnell's default quantity is 4
    image = gateai.get(done["result"][0])
    assert image.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.format == "JPEG"
        assert picture.width > picture.height  # 1344×768's aspect, at thumbnail size


def test_output_format_and_quantity_shape_the_result(gateai: httpx2.Client) -> None:
    body = gateai_submit(gateai, "gpt-image-2", quantity=2, output_format="png").json()
    done = finished(gateai, body["task_id"])
    assert [url.rsplit(".", 1)[1] for url in done["result"]] == ["png", "png"]
    with Image.open(io.BytesIO(gateai.get(done["result"][1]).content)) as picture:
        assert picture.format == "PNG"


def test_status_answer_spells_the_model_the_internal_way(gateai: httpx2.Client) -> None:
    body = gateai_submit(gateai, "gpt-image-2").json()
    assert gateai.get(body["url"]).json()["model"] == "gpt_image_2_0"  # as the seed's example


def test_video_output_is_a_probeable_mp4_of_the_requested_length(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    body = gateai_submit(gateai, "veo-3.1-lite", duration=4, width=720, height=1280).json()
    fake_gateai.finish(body["task_id"])
    done = gateai.get(body["url"]).json()
    assert done["status"] == "FINISHED" and done["result"][0].endswith(".mp4")
    video = gateai.get(done["result"][0])
    assert video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.height > stream.width
        assert container.duration is not None
        assert container.duration / 1_000_000 == pytest.approx(4.0, abs=0.2)


def test_3d_model_returns_jpg_previews_and_glb_urls(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    body = gateai.post("/api/generate", json={"model": "rodin-v2", "type": "3d", "params": {}})
    fake_gateai.finish(body.json()["task_id"])
    done = gateai.get(body.json()["url"]).json()
    (preview,) = done["result"]
    (model,) = done["glb_urls"]
    assert preview.endswith("rodin-v2_-0.jpg") and model == preview[: -len(".jpg")] + ".glb"
    glb = gateai.get(model)
    assert glb.headers["content-type"] == "model/gltf-binary"
    assert glb.content[:4] == b"glTF" and int.from_bytes(glb.content[8:12], "little") == len(
        glb.content
    )
    with Image.open(io.BytesIO(gateai.get(preview).content)) as picture:
        assert picture.format == "JPEG"


def test_unknown_task_is_404(gateai: httpx2.Client) -> None:
    answer = gateai.get("/get/not-a-task")
    assert answer.status_code == 404 and answer.json() == {"error": "Task not found"}


# --- auth ---------------------------------------------------------------------------------------

AUTHED = [
    ("POST", "/api/generate"),
    ("GET", "/get/abc"),
    ("POST", "/api/estimate"),
    ("GET", "/v1/models/schema"),
    ("GET", "/v1/models/seedance-2.0"),
    ("GET", "/credits"),
    ("POST", "/api/upload"),
]


@pytest.mark.parametrize(("method", "path"), AUTHED)
@pytest.mark.parametrize("auth", [None, "Bearer sk-wrong", "sk-test-gateai"])
def test_endpoints_need_a_valid_bearer_key(
    fake_gateai: FakeGateAI, method: str, path: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    with connect(fake_gateai, None) as client:
        answer = client.request(method, path, headers=headers, json={})
    assert answer.status_code == 401
    assert answer.json()["error"] == "UNAUTHORIZED"
    assert fake_gateai.accepted_count == 0


def test_models_list_and_docs_need_no_key(fake_gateai: FakeGateAI) -> None:
    with connect(fake_gateai, None) as client:
        listed = client.get("/v1/models").json()
        assert client.get("/docs.txt").status_code == 200
    assert [m["id"] for m in listed] == list(models())
    seedance = next(m for m in listed if m["id"] == "seedance-2.0")
    assert seedance == {
        "id": "seedance-2.0",
        "type": "video",
        "cost": "~$0.49/720p 4s, ~$1.85/720p 15s (pixel×duration based)",
        "params": list(models()["seedance-2.0"].params),
    }
    assert {m["type"] for m in listed} == {"image", "video", "3d"}


def test_me_takes_the_key_from_the_query_string_only(fake_gateai: FakeGateAI) -> None:
    with connect(fake_gateai) as bearer:
        assert bearer.get("/api/me").status_code == 401
    with connect(fake_gateai, None) as client:
        assert client.get("/api/me", params={"key": "sk-nope"}).status_code == 401
        me = client.get("/api/me", params={"key": fake_gateai.api_key})
    assert me.status_code == 200
    assert set(me.json()) == {
        "budget",
        "concurrency",
        "active_tasks",
        "recent_tasks",
        "today_spending",
    }


# --- model discovery ----------------------------------------------------------------------------


def test_single_model_schema_has_params_and_an_example(gateai: httpx2.Client) -> None:
    body = gateai.get("/v1/models/seedance-2.0").json()
    assert body["id"] == "seedance-2.0" and body["type"] == "video"
    assert body["params"]["mode"]["enum"] == ["RESOLUTION_720", "RESOLUTION_1080"]
    assert body["params"]["duration"]["enum"][0] == 4 and body["params"]["duration"]["default"] == 8
    assert body["params"]["prompt"]["required"] is True
    assert body["example"]["model"] == "seedance-2.0"


def test_unknown_model_id_gets_fuzzy_suggestions(gateai: httpx2.Client) -> None:
    answer = gateai.get("/v1/models/seedance")
    assert answer.status_code == 404
    assert answer.json() == {"error": "Model not found", "suggestions": ["seedance-2.0"]}
    assert "veo-3.1-lite" in gateai.get("/v1/models/veo").json()["suggestions"]
    assert gateai.get("/v1/models/zzzzzzzz").json()["suggestions"] == []


def test_full_schema_lists_every_model(gateai: httpx2.Client) -> None:
    schema = gateai.get("/v1/models/schema").json()
    assert [m["id"] for m in schema] == list(models())
    assert all(isinstance(m["params"], dict) for m in schema)


def test_generate_with_unknown_model_is_404_with_suggestions(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    answer = gateai_submit(gateai, "seedance")
    assert answer.status_code == 404
    assert answer.json()["suggestions"] == ["seedance-2.0"]
    assert fake_gateai.accepted_count == 0


# --- request limits -----------------------------------------------------------------------------


def test_prompt_over_1500_characters_is_prompt_too_long(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    answer = gateai_submit(gateai, prompt="x" * 1501)
    assert answer.status_code == 400
    assert answer.json()["error"] == "PROMPT_TOO_LONG"
    assert fake_gateai.accepted_count == 0
    assert gateai_submit(gateai, prompt="x" * 1500).status_code == 200


def test_quantity_over_8_is_quantity_too_high(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    answer = gateai_submit(gateai, quantity=9)
    assert answer.status_code == 400
    assert answer.json()["error"] == "QUANTITY_TOO_HIGH"
    assert gateai_submit(gateai, quantity=8).status_code == 200
    assert fake_gateai.accepted_count == 1


def test_params_outside_the_schema_are_refused_but_sizes_are_snapped(
    gateai: httpx2.Client,
) -> None:
    bad_mode = gateai_submit(gateai, "seedance-2.0", mode="RESOLUTION_4K")
    assert bad_mode.status_code == 400
    assert bad_mode.json()["error"] == "INVALID_PARAMS"
    assert bad_mode.json()["allowed"] == ["RESOLUTION_720", "RESOLUTION_1080"]
    assert gateai_submit(gateai, "seedance-2.0", duration=16).json()["param"] == "duration"
    assert gateai_submit(gateai, "veo-3.1-lite", quantity=2).json()["error"] == "INVALID_PARAMS"
    no_prompt = gateai.post("/api/generate", json={"model": "flux-dev", "params": {}})
    assert no_prompt.json()["param"] == "prompt"
    assert gateai_submit(gateai, "sora-2", width=1111, height=333).status_code == 200


def test_malformed_request_bodies_are_400(gateai: httpx2.Client) -> None:
    assert gateai.post("/api/generate", content=b"{nope").json()["error"] == "INVALID_REQUEST"
    assert gateai.post("/api/generate", json={"params": {}}).json()["error"] == "INVALID_REQUEST"
    bad = gateai.post("/api/generate", json={"model": "flux-dev", "params": []})
    assert bad.status_code == 400


def test_sixth_in_flight_generation_is_rate_limited(
    start_fake: Any,
) -> None:
    fake: FakeGateAI = start_fake("gateai", window_max=None, processing_s=60)
    with connect(fake) as c:
        ids = [gateai_submit(c).json()["task_id"] for _ in range(5)]
        sixth = gateai_submit(c)
        assert sixth.status_code == 429
        assert sixth.json()["error"] == "RATE_LIMITED"
        assert 55 <= int(sixth.headers["Retry-After"]) <= 60  # until the first job ends
        assert fake.max_in_flight_observed == {fake.api_key: 5}
        assert [(e.reason, e.kind) for e in fake.rate_limited] == [("in_flight", "submit")]
        assert fake.accepted_count == 5

        fake.finish(ids[0])  # a slot frees when its job ends
        assert gateai_submit(c).status_code == 200
        assert fake.in_flight() == 5


def test_sixth_request_in_the_sliding_window_is_rate_limited(start_fake: Any) -> None:
    fake: FakeGateAI = start_fake("gateai", processing_s=0.0)
    with connect(fake) as c:
        for _ in range(5):
            assert gateai_submit(c).status_code == 200
        assert fake.in_flight() == 0  # every job is done: only the window is full
        sixth = gateai_submit(c)
        assert sixth.status_code == 429
        assert 29 <= int(sixth.headers["Retry-After"]) <= 30
        assert fake.rate_limited[-1].reason == "window"
        fake.clock.advance(30)
        assert gateai_submit(c).status_code == 200
        assert fake.accepted_count == 6


def test_limits_are_per_key(start_fake: Any) -> None:
    fake: FakeGateAI = start_fake("gateai", api_keys=["sk-a", "sk-b"], processing_s=0.0)
    for key in ("sk-a", "sk-b"):
        with connect(fake, key) as c:
            assert [gateai_submit(c).status_code for _ in range(6)] == [200] * 5 + [429]
    assert {s.key for s in fake.accepted_submits()} == {"sk-a", "sk-b"}


def test_window_length_and_poll_counting_are_configurable(start_fake: Any) -> None:
    fake: FakeGateAI = start_fake(
        "gateai", window_max=2, window_s=5.0, count_polls_in_window=True, processing_s=0.0
    )
    with connect(fake) as c:
        task = gateai_submit(c).json()["task_id"]
        assert c.get(f"/get/{task}").status_code == 200
        polled_out = c.get(f"/get/{task}")
        assert polled_out.status_code == 429
        assert int(polled_out.headers["Retry-After"]) <= 5
        assert fake.rate_limited[-1].kind == "poll"


def test_polls_do_not_count_against_the_window_by_default(start_fake: Any) -> None:
    fake: FakeGateAI = start_fake("gateai", processing_s=0.0)
    with connect(fake) as c:
        task = gateai_submit(c).json()["task_id"]
        assert all(c.get(f"/get/{task}").status_code == 200 for _ in range(10))
        assert [gateai_submit(c).status_code for _ in range(4)] == [200] * 4


def test_slots_auto_release_after_10_minutes_while_jobs_keep_running(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    ids = [gateai_submit(gateai, prompt=f"[hang] {i}").json()["task_id"] for i in range(5)]
    assert gateai_submit(gateai).status_code == 429
    fake_gateai.clock.advance(600)
    assert fake_gateai.in_flight() == 0
    assert all(gateai.get(f"/get/{i}").json()["status"] == "PROCESSING" for i in ids)
    me = gateai.get("/api/me", params={"key": fake_gateai.api_key}).json()
    assert me["concurrency"]["used"] == 0 and len(me["active_tasks"]) == 5
    assert gateai_submit(gateai).status_code == 200


# --- budget -------------------------------------------------------------------------------------


def test_generate_over_budget_is_downgraded_with_adjustments(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    fake_gateai.set_budget(used=99.0)
    answer = gateai_submit(gateai, "seedance-2.0", mode="RESOLUTION_1080", duration=12)
    assert answer.status_code == 200
    body = answer.json()
    assert body["adjustments"] == [
        {"param": "mode", "from": "RESOLUTION_1080", "to": "RESOLUTION_720"},
        {"param": "duration", "from": 12, "to": 8},
    ]
    assert body["cost"] <= 1.0 and body["remaining"] == pytest.approx(1.0 - body["cost"])
    (accepted,) = fake_gateai.accepted_submits()
    assert accepted.adjustments == body["adjustments"]
    assert accepted.body["params"]["mode"] == "RESOLUTION_1080"  # what the client sent


def test_generate_within_budget_has_no_adjustments(gateai: httpx2.Client) -> None:
    body = gateai_submit(gateai, "seedance-2.0", mode="RESOLUTION_1080", duration=12).json()
    assert "adjustments" not in body
    assert body["cost"] == pytest.approx(3.33, abs=0.01)  # the seed's 1080p 12 s example


def test_generate_that_cannot_fit_even_downgraded_is_402(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    fake_gateai.set_budget(used=99.9)
    answer = gateai_submit(gateai, "seedance-2.0", duration=4)
    assert answer.status_code == 402
    assert answer.json()["error"] == "BUDGET_EXCEEDED"
    assert fake_gateai.accepted_count == 0


def test_estimate_previews_cost_and_downgrades(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    params: dict[str, Any] = {"prompt": "a cat", "duration": 15}
    request = {"model": "seedance-2.0", "params": params}
    fits = gateai.post("/api/estimate", json=request).json()
    assert fits == {"cost": 1.85, "daily_remaining": 100.0, "fits_in_budget": True}

    fake_gateai.set_budget(used=99.0)
    params["mode"] = "RESOLUTION_1080"
    over = gateai.post("/api/estimate", json=request).json()
    assert over["fits_in_budget"] is False
    assert over["cost"] > over["daily_remaining"] == 1.0
    assert over["adjustments"][0] == {
        "param": "mode",
        "from": "RESOLUTION_1080",
        "to": "RESOLUTION_720",
    }
    assert over["adjustments"][1]["param"] == "duration"
    assert over["adjusted_cost"] <= 1.0
    assert fake_gateai.accepted_count == 0


def test_estimate_applies_the_same_request_limits(gateai: httpx2.Client) -> None:
    request = {"model": "flux-dev", "params": {"prompt": "x" * 1501}}
    assert gateai.post("/api/estimate", json=request).json()["error"] == "PROMPT_TOO_LONG"


def test_credits_report_budget_and_pool(gateai: httpx2.Client, fake_gateai: FakeGateAI) -> None:
    gateai_submit(gateai, "hailuo-2_3")
    body = gateai.get("/credits").json()
    assert body["your_budget"] == {"daily_limit": 100.0, "used": 0.04, "remaining": 99.96}
    assert body["pool"] == {"total_accounts": 12, "locked": 1}


def test_budget_resets_at_utc_midnight(gateai: httpx2.Client, fake_gateai: FakeGateAI) -> None:
    fake_gateai.set_budget(used=100.0)
    assert gateai_submit(gateai, "hailuo-2_3").status_code == 402
    fake_gateai.clock.advance(24 * 3600)
    assert gateai.get("/credits").json()["your_budget"]["remaining"] == 100.0
    assert gateai_submit(gateai, "hailuo-2_3").status_code == 200


def test_running_at_20_minutes_is_refunded_and_40_minutes_fails(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    task = gateai_submit(gateai, "seedance-2.0", prompt="[hang] slow render").json()
    assert gateai.get("/credits").json()["your_budget"]["used"] == pytest.approx(0.98, abs=0.01)
    fake_gateai.clock.advance(1200)
    assert gateai.get("/credits").json()["your_budget"]["used"] == 0
    assert gateai.get(task["url"]).json() == {
        "status": "PROCESSING",
        "model": "seedance_2_0",
        "cost": 0.0,
    }
    fake_gateai.clock.advance(1200)
    failed = gateai.get(task["url"]).json()
    assert failed["status"] == "FAILED" and failed["error"] == TIMEOUT_ERROR


@pytest.mark.parametrize(
    ("marker", "error"),
    [("[content_policy]", CONTENT_POLICY_ERROR), ("[timeout]", TIMEOUT_ERROR)],
)
def test_prompt_markers_make_the_job_fail(
    gateai: httpx2.Client, fake_gateai: FakeGateAI, marker: str, error: str
) -> None:
    task = gateai_submit(gateai, prompt=f"{marker} [delay=0.05] a cat").json()
    done = finished(gateai, task["task_id"])
    assert done == {"status": "FAILED", "model": "flux_schnell", "cost": 0.0, "error": error}
    assert gateai.get("/credits").json()["your_budget"]["used"] == 0  # failures are not charged


def test_fail_and_finish_decide_a_job_from_the_test(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    task = gateai_submit(gateai, prompt="[hang]").json()["task_id"]
    fake_gateai.fail(task, "Upstream exploded")
    assert gateai.get(f"/get/{task}").json()["error"] == "Upstream exploded"
    assert fake_gateai.status_of(task) == "FAILED"


# --- /api/me ------------------------------------------------------------------------------------


def test_me_reports_active_and_recent_tasks_and_spending(
    gateai: httpx2.Client, fake_gateai: FakeGateAI
) -> None:
    done_id = gateai_submit(gateai, "hailuo-2_3").json()["task_id"]
    failed_id = gateai_submit(gateai, "hailuo-2_3", prompt="[fail]").json()["task_id"]
    running_id = gateai_submit(gateai, "gpt-image-2", prompt="[hang]", quality="high").json()[
        "task_id"
    ]
    fake_gateai.finish(done_id)
    fake_gateai.fail(failed_id)
    me = gateai.get("/api/me", params={"key": fake_gateai.api_key}).json()

    assert me["budget"]["used"] == pytest.approx(0.04 + 0.11)
    assert me["concurrency"]["used"] == 1 and me["concurrency"]["available"] == 4
    assert [s["taskId"] for s in me["concurrency"]["active_slots"]] == [running_id]
    (active,) = me["active_tasks"]
    assert active["task_id"] == running_id and active["model"] == "gpt-image-2"
    assert active["status"] == "PROCESSING" and active["elapsed"].endswith("s")
    recent = {t["task_id"]: t for t in me["recent_tasks"]}
    assert recent[done_id]["status"] == "FINISHED" and recent[done_id]["result_count"] == 1
    assert recent[failed_id]["status"] == "FAILED" and recent[failed_id]["cost"] == 0
    assert me["today_spending"] == {
        "hailuo-2_3": {"requests": 2, "cost": 0.04},
        "gpt-image-2": {"requests": 1, "cost": 0.11},
    }


def test_me_keeps_only_the_last_20_finished_tasks(
    start_fake: Any,
) -> None:
    fake: FakeGateAI = start_fake("gateai", window_max=None, max_in_flight=None, processing_s=0)
    with connect(fake) as c:
        ids = [gateai_submit(c).json()["task_id"] for _ in range(22)]
        me = c.get("/api/me", params={"key": fake.api_key}).json()
    assert len(me["recent_tasks"]) == 20
    assert ids[0] not in {t["task_id"] for t in me["recent_tasks"]}


def test_upload_returns_an_id_and_a_url(gateai: httpx2.Client) -> None:
    answer = gateai.post("/api/upload", files={"file": ("cat.png", b"\x89PNG fake", "image/png")})
    body = answer.json()
    assert answer.status_code == 200 and body["size_bytes"] == 9
    assert gateai.get(body["url"]).content == b"\x89PNG fake"
