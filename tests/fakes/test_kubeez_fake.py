"""The fake Kubeez answers as seeds 000/002 document (driven over real HTTP with httpx2)."""

from __future__ import annotations

import io
from typing import Any

import av
import httpx2
import pytest
from PIL import Image

from fakes.drive import connect, kubeez_submit, wait_for
from fakes.kubeez import FakeKubeez
from fakes.kubeez_models import catalog


def test_image_generation_goes_pending_to_completed_with_real_files(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez
) -> None:
    answer = kubeez_submit(kubeez, "nano-banana", aspect_ratio="16:9")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "generation_id",
        "status",
        "estimated_time_seconds",
        "estimated_cost_credits",
    }
    assert body["status"] == "pending"
    gid = body["generation_id"]
    first = kubeez.get(f"/v1/generations/{gid}").json()
    assert first["status"] in ("pending", "queued", "processing")
    assert first["outputs"] == [] and first["error"] is None

    seen: list[str] = []

    def completed() -> dict[str, Any] | None:
        status: dict[str, Any] = kubeez.get(f"/v1/generations/{gid}").json()
        seen.append(status["status"])
        return status if status["status"] == "completed" else None

    done = wait_for(completed)
    assert done["model"] == "nano-banana" and done["progress"] == 100
    assert set(seen) <= {"pending", "queued", "processing", "completed"}
    (output,) = done["outputs"]
    assert set(output) == {
        "url",
        "thumbnail_url",
        "optimized_url",
        "media_type",
        "width",
        "height",
    }
    assert output["media_type"] == "image" and output["width"] > output["height"]
    for field, fmt in (("url", "PNG"), ("thumbnail_url", "JPEG"), ("optimized_url", "JPEG")):
        with Image.open(io.BytesIO(kubeez.get(output[field]).content)) as picture:
            assert picture.format == fmt
    with Image.open(io.BytesIO(kubeez.get(output["url"]).content)) as picture:
        assert picture.size == (output["width"], output["height"])


def test_progress_rises_through_pending_queued_processing(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez
) -> None:
    gid = kubeez_submit(kubeez).json()["generation_id"]
    job = fake_kubeez.jobs[gid]
    states = []
    for fraction in (0.0, 0.2, 0.5, 0.9, 1.0):
        states.append(fake_kubeez._state(job, job.created + fraction * 0.3))
    assert states == [
        ("pending", 0),
        ("queued", 0),
        ("processing", 50),
        ("processing", 90),
        ("completed", 100),
    ]


def test_video_generation_serves_an_mp4_of_the_requested_duration(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez
) -> None:
    answer = kubeez_submit(
        kubeez,
        "kling-2-6-text-to-video",
        generation_type="text-to-video",
        duration="10s",
        aspect_ratio="9:16",
        sound=True,
    )
    gid = answer.json()["generation_id"]
    fake_kubeez.finish(gid)
    (output,) = kubeez.get(f"/v1/generations/{gid}").json()["outputs"]
    assert output["media_type"] == "video" and output["height"] > output["width"]
    video = kubeez.get(output["url"])
    assert video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content), mode="r") as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.duration is not None
        assert container.duration / 1_000_000 == pytest.approx(10.0, abs=0.2)
    with Image.open(io.BytesIO(kubeez.get(output["thumbnail_url"]).content)) as thumb:
        assert thumb.format == "JPEG"


def test_unknown_generation_is_404(kubeez: httpx2.Client) -> None:
    answer = kubeez.get("/v1/generations/nope")
    assert answer.status_code == 404 and answer.json()["error"] == "generation_not_found"


# --- auth ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/generate/media"),
        ("GET", "/v1/generations/x"),
        ("POST", "/v1/upload/media"),
        ("GET", "/v1/models"),
    ],
)
@pytest.mark.parametrize("auth", [None, "Bearer kz-wrong", "kz-test-key"])
def test_endpoints_need_a_valid_bearer_key(
    fake_kubeez: FakeKubeez, method: str, path: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    with connect(fake_kubeez, None) as client:
        answer = client.request(method, path, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized" and answer.json()["message"]


def test_output_files_need_no_key(kubeez: httpx2.Client, fake_kubeez: FakeKubeez) -> None:
    gid = kubeez_submit(kubeez).json()["generation_id"]
    fake_kubeez.finish(gid)
    url = kubeez.get(f"/v1/generations/{gid}").json()["outputs"][0]["url"]
    with connect(fake_kubeez, None) as anonymous:
        assert anonymous.get(url).status_code == 200


# --- models -------------------------------------------------------------------------------------


def test_models_list_the_kubeez_catalog(kubeez: httpx2.Client) -> None:
    listed = kubeez.get("/v1/models").json()["models"]
    assert [m["model_id"] for m in listed] == list(catalog().models)
    assert "seedance-2.0" not in {m["model_id"] for m in listed}  # a GateAI id
    rows = {m["model_id"]: m for m in listed}
    grok = rows["grok-image-to-video"]
    assert grok["requires_input_media"] is True and grok["input_media_types"] == ["image"]
    assert grok["generation_types"] == ["image-to-video"] and grok["enabled"] is True
    assert rows["kling-3-0-pro"]["pricing"] == {"credits": 21.0, "unit": "credits / sec"}
    assert rows["gemini-omni-video-4k-4s"]["pricing"] == {"credits": 230.0, "unit": "credits"}
    assert rows["Z-image"]["requires_input_media"] is False
    assert all(isinstance(m["usage_notes"], str) for m in listed)


# --- validation ---------------------------------------------------------------------------------


def test_every_model_accepts_a_minimal_valid_request(start_fake: Any) -> None:
    fake: FakeKubeez = start_fake("kubeez", processing_s=0)
    with connect(fake) as c:
        for entry in catalog().models.values():
            rule = entry.inputs[entry.default_generation_type]
            urls = [f"https://x.test/i{n}.png" for n in range(rule.images.min)]
            urls += [f"https://x.test/v{n}.mp4" for n in range(rule.videos.min)]
            fields: dict[str, Any] = {"generation_type": entry.default_generation_type}
            if urls:
                fields["source_media_urls"] = urls
            answer = kubeez_submit(c, entry.id, **fields)
            assert answer.status_code == 200, (entry.id, answer.json())
    assert fake.accepted_count == len(catalog().models)


def test_family_label_is_variant_required(kubeez: httpx2.Client, fake_kubeez: FakeKubeez) -> None:
    answer = kubeez_submit(kubeez, "seedance-2-fast", generation_type="text-to-video")
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "variant_required" and body["family"] == "seedance-2-fast"
    assert body["available_variants"] == [
        "seedance-2-fast-480p",
        "seedance-2-fast-720p",
        "seedance-2-fast-480p-video-ref",
        "seedance-2-fast-720p-video-ref",
    ]
    assert body["hint"].startswith("Ask the user which variant")
    assert fake_kubeez.accepted_count == 0


def test_unknown_model_has_suggestions(kubeez: httpx2.Client) -> None:
    body = kubeez_submit(kubeez, "nano-banan").json()
    assert body["error"] == "unknown_model"
    assert body["suggestions"][0] == "nano-banana"
    assert all(s in catalog().models or s in catalog().families for s in body["suggestions"])


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (
            {"model": "wan-2-5", "prompt": "x" * 801, "generation_type": "text-to-video"},
            "prompt_too_long",
        ),
        ({"model": "kling-2-6-text-to-video"}, "unsupported_generation_type"),
        (
            {"model": "grok-image-to-video", "generation_type": "image-to-video"},
            "source_media_required",
        ),
        (
            {"model": "Z-image", "source_media_urls": ["https://x.test/a.png"]},
            "source_media_not_allowed",
        ),
        (
            {
                "model": "kling-2-6-image-to-video",
                "generation_type": "image-to-video",
                "source_media_urls": ["https://x.test/a.png", "https://x.test/b.jpg"],
            },
            "too_many_images",
        ),
        (
            {
                "model": "kling-2-6-text-to-video",
                "generation_type": "text-to-video",
                "duration": "7s",
            },
            "invalid_duration",
        ),
        (
            {"model": "veo3-1", "generation_type": "text-to-video", "aspect_ratio": "4:5"},
            "aspect_ratio_invalid_for_model",
        ),
        ({"model": "gpt-image-2", "resolution": "8K"}, "invalid_resolution"),
        (
            {"model": "gpt-image-2", "resolution": "2K", "aspect_ratio": "1:1"},
            "aspect_ratio_incompatible_with_high_res",
        ),
        ({"model": "Z-image", "prompt": 5}, "invalid_arguments"),
    ],
)
def test_invalid_requests_are_400_with_stable_codes(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez, fields: dict[str, Any], code: str
) -> None:
    answer = kubeez.post("/v1/generate/media", json={"prompt": "a cat", **fields})
    assert answer.status_code == 400
    assert answer.json()["error"] == code and answer.json()["message"]
    assert fake_kubeez.accepted_count == 0


def test_prompt_too_long_reports_max_and_got(kubeez: httpx2.Client) -> None:
    body = kubeez_submit(
        kubeez, "wan-2-5", prompt="x" * 801, generation_type="text-to-video"
    ).json()
    assert (body["max"], body["got"]) == (800, 801)
    ok = kubeez_submit(kubeez, "wan-2-5", prompt="x" * 800, generation_type="text-to-video")
    assert ok.status_code == 200


def test_accepted_requests_are_recorded_with_key_and_body(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez
) -> None:
    kubeez_submit(kubeez, "gpt-image-2", resolution="2K", aspect_ratio="16:9")
    (submit,) = fake_kubeez.accepted_submits()
    assert submit.key == fake_kubeez.api_key and submit.model == "gpt-image-2"
    assert submit.body["resolution"] == "2K" and submit.cost == 15  # the 2K tier
    assert fake_kubeez.max_in_flight_observed == {fake_kubeez.api_key: 1}


# --- credits, content policy, failures ----------------------------------------------------------


def test_not_enough_credits_is_402(kubeez: httpx2.Client, fake_kubeez: FakeKubeez) -> None:
    fake_kubeez.set_credits(100)
    answer = kubeez_submit(kubeez, "kling-3-0-std", generation_type="text-to-video", duration="10s")
    assert answer.status_code == 402
    assert answer.json()["error"] == "insufficient_credits"
    cheap = kubeez_submit(kubeez, "kling-3-0-std", generation_type="text-to-video", duration="5s")
    assert cheap.json()["estimated_cost_credits"] == 85
    assert fake_kubeez.credits_of() == 15


def test_sound_bills_the_audio_rate(kubeez: httpx2.Client) -> None:
    body = kubeez_submit(
        kubeez, "kling-3-0-pro", generation_type="text-to-video", duration="5s", sound=True
    ).json()
    assert body["estimated_cost_credits"] == 150  # 30 credits/s with audio


def test_blocked_prompt_is_422_content_policy(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez
) -> None:
    answer = kubeez_submit(kubeez, prompt="[blocked] something")
    assert answer.status_code == 422
    assert answer.json()["error"] == "content_policy_violation"
    assert fake_kubeez.accepted_count == 0


@pytest.mark.parametrize(
    ("marker", "code"),
    [
        ("[fail]", "generation_failed"),
        ("[content_policy]", "content_policy_violation"),
        ("[timeout]", "timeout"),
    ],
)
def test_prompt_markers_fail_the_job_and_refund(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez, marker: str, code: str
) -> None:
    before = fake_kubeez.credits_of()
    gid = kubeez_submit(kubeez, prompt=f"{marker} [delay=0.05] a cat").json()["generation_id"]
    done = wait_for(
        lambda: (body := kubeez.get(f"/v1/generations/{gid}").json())["status"] == "failed" and body
    )
    assert done["error"]["code"] == code and done["error"]["message"]
    assert done["outputs"] == []
    assert fake_kubeez.credits_of() == before


def test_hang_keeps_processing_until_the_test_decides(
    kubeez: httpx2.Client, fake_kubeez: FakeKubeez
) -> None:
    gid = kubeez_submit(kubeez, prompt="[hang]").json()["generation_id"]
    fake_kubeez.clock.advance(3600)
    assert fake_kubeez.status_of(gid) == "processing"  # an endless job never completes
    fake_kubeez.fail(gid, "provider_error", "Boom.")
    body = kubeez.get(f"/v1/generations/{gid}").json()
    assert body["error"] == {"code": "provider_error", "message": "Boom."}


# --- limits (off unless configured: Kubeez documents none) --------------------------------------


def test_configured_in_flight_limit_is_429_rate_limited(start_fake: Any) -> None:
    fake: FakeKubeez = start_fake("kubeez", max_in_flight=2, processing_s=30)
    with connect(fake) as c:
        assert [kubeez_submit(c).status_code for _ in range(3)] == [200, 200, 429]
        third = kubeez_submit(c)
        assert third.json()["error"] == "rate_limited"
        assert 25 <= int(third.headers["Retry-After"]) <= 30
        assert fake.rate_limited[-1].reason == "in_flight"
        assert fake.max_in_flight_observed[fake.api_key] == 2


def test_configured_window_limit_is_429(start_fake: Any) -> None:
    fake: FakeKubeez = start_fake("kubeez", window_max=1, window_s=10, processing_s=0)
    with connect(fake) as c:
        assert [kubeez_submit(c).status_code for _ in range(2)] == [200, 429]
        fake.clock.advance(10)
        assert kubeez_submit(c).status_code == 200


# --- upload -------------------------------------------------------------------------------------


def test_upload_returns_a_url_serving_the_file(kubeez: httpx2.Client) -> None:
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(png, format="PNG")
    answer = kubeez.post(
        "/v1/upload/media", files={"file": ("../red dot.png", png.getvalue(), "image/png")}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["size_bytes"] == len(png.getvalue()) and body["mime_type"] == "image/png"
    assert body["url"].endswith("/red%20dot.png") or body["url"].endswith("/red dot.png")
    served = kubeez.get(body["url"])
    assert served.content == png.getvalue() and served.headers["content-type"] == "image/png"


def test_upload_past_the_limit_is_413(start_fake: Any) -> None:
    fake: FakeKubeez = start_fake("kubeez", max_upload_bytes=1000)
    with connect(fake) as c:
        small = c.post("/v1/upload/media", files={"file": ("a.bin", b"x" * 1000)})
        assert small.status_code == 200
        big = c.post("/v1/upload/media", files={"file": ("a.bin", b"x" * 1001)})
        assert big.status_code == 413 and big.json()["error"] == "file_too_large"
        huge = c.post("/v1/upload/media", files={"file": ("a.bin", b"x" * 200_000)})
        assert huge.status_code == 413


def test_upload_without_a_file_part_is_400(kubeez: httpx2.Client) -> None:
    answer = kubeez.post("/v1/upload/media", files={"other": ("a.bin", b"x")})
    assert answer.status_code == 400
    assert kubeez.post("/v1/upload/media", content=b"plain").status_code == 400


def test_default_upload_limit_is_500_mb() -> None:
    assert FakeKubeez().max_upload_bytes == 500 * 1024 * 1024
