"""Kubeez's pure mapping: request bodies from real catalog entries, poll answers, errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mediagate.catalog import GenerationRequest, load_catalog, validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError
from mediagate.providers.kubeez import KubeezAdapter
from mediagate.providers.upstream.adapter import PollPlan, UpstreamAdapter

PROMPT = "a quiet harbour at dawn"
IMG = "https://cdn.example.com/in/{}.jpg"
VID = "https://cdn.example.com/in/{}.mp4"
AUD = "https://cdn.example.com/in/{}.mp3"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def adapter() -> KubeezAdapter:
    return KubeezAdapter()


def _request(catalog: Catalog, args: Mapping[str, Any]) -> tuple[GenerationRequest, ModelEntry]:
    request = validate_generate({"prompt": PROMPT, **args}, catalog)
    return request, catalog.models[request.model]


def _body(adapter: KubeezAdapter, catalog: Catalog, args: Mapping[str, Any]) -> dict[str, Any]:
    request, entry = _request(catalog, args)
    call = adapter.submit_call(request, entry, [s.url for s in request.sources])
    assert (call.method, call.path, call.creates) == ("POST", "/v1/generate/media", True)
    assert isinstance(call.json, dict)
    return call.json


def test_adapter_satisfies_the_upstream_adapter_protocol() -> None:
    adapter: UpstreamAdapter = KubeezAdapter(max_in_flight=3, window_requests=20)
    assert adapter.name == "kubeez"
    assert adapter.local_inputs == "upload"
    assert adapter.limits.max_in_flight == 3
    assert adapter.limits.window_requests == 20


def test_limits_default_to_none_meaning_no_client_side_limit() -> None:
    limits = KubeezAdapter().limits
    assert (limits.max_in_flight, limits.window_requests) == (None, None)


def test_auth_is_a_bearer_token(adapter: KubeezAdapter) -> None:
    assert adapter.auth_headers("kz-secret") == {"Authorization": "Bearer kz-secret"}


# --- request bodies: literal expectations -----------------------------------------------------

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "nano-banana text-to-image drops the quality it ignores",
        {"model": "nano-banana", "aspect_ratio": "16:9", "quality": "pro"},
        {
            "model": "nano-banana",
            "prompt": PROMPT,
            "generation_type": "text-to-image",
            "aspect_ratio": "16:9",
        },
    ),
    (
        "nano-banana image-to-image sends the sources",
        {"model": "nano-banana", "source_media_urls": [IMG.format(1), IMG.format(2)]},
        {
            "model": "nano-banana",
            "prompt": PROMPT,
            "generation_type": "image-to-image",
            "aspect_ratio": "1:1",
            "source_media_urls": [IMG.format(1), IMG.format(2)],
        },
    ),
    (
        "kling 2.6 image-to-video: duration as '5s', sound off by default",
        {
            "model": "kling-2-6-image-to-video",
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format(1)],
            "aspect_ratio": "16:9",
            "duration": "5s",
        },
        {
            "model": "kling-2-6-image-to-video",
            "prompt": PROMPT,
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format(1)],
            "aspect_ratio": "16:9",
            "duration": "5s",
            "sound": False,
        },
    ),
    (
        "kling 2.6 text-to-video: sound toggled on, duration 10 → '10s'",
        {"model": "kling-2-6-text-to-video", "duration": 10, "sound": True},
        {
            "model": "kling-2-6-text-to-video",
            "prompt": PROMPT,
            "generation_type": "text-to-video",
            "aspect_ratio": "1:1",
            "duration": "10s",
            "sound": True,
        },
    ),
    (
        "kling 3.0 elements, sound and a range duration",
        {
            "model": "kling-3-0-std",
            "prompt": "@hero walks through @city",
            "duration": "10s",
            "sound": True,
            "kling_elements": [
                {
                    "name": "hero",
                    "description": "a tall knight",
                    "element_input_urls": [IMG.format("k1"), IMG.format("k2")],
                },
                {
                    "name": "city",
                    "description": "a neon city",
                    "element_input_video_urls": [VID.format("city")],
                },
            ],
        },
        {
            "model": "kling-3-0-std",
            "prompt": "@hero walks through @city",
            "generation_type": "text-to-video",
            "aspect_ratio": "1:1",
            "duration": "10s",
            "sound": True,
            "kling_elements": [
                {
                    "name": "hero",
                    "description": "a tall knight",
                    "element_input_urls": [IMG.format("k1"), IMG.format("k2")],
                },
                {
                    "name": "city",
                    "description": "a neon city",
                    "element_input_video_urls": [VID.format("city")],
                },
            ],
        },
    ),
    (
        "seedance 2 video-ref: mixed references in order, generate_audio default",
        {
            "model": "seedance-2-480p-video-ref",
            "source_media_urls": [IMG.format(1), VID.format(2), AUD.format(3)],
            "duration": 8,
            "aspect_ratio": "21:9",
        },
        {
            "model": "seedance-2-480p-video-ref",
            "prompt": PROMPT,
            "generation_type": "text-to-video",
            "source_media_urls": [IMG.format(1), VID.format(2), AUD.format(3)],
            "aspect_ratio": "21:9",
            "duration": "8s",
            "generate_audio": True,
        },
    ),
    (
        "seedance 2 fast image-to-video with generate_audio off",
        {
            "model": "seedance-2-fast-720p",
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format("first"), IMG.format("last")],
            "generate_audio": False,
            "seed": 42,
        },
        {
            "model": "seedance-2-fast-720p",
            "prompt": PROMPT,
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format("first"), IMG.format("last")],
            "aspect_ratio": "1:1",
            "duration": "5s",
            "seed": 42,
            "generate_audio": False,
        },
    ),
    (
        "gemini omni: voice, characters; duration, sound and negative prompt not sent",
        {
            "model": "gemini-omni-video-1080p-6s",
            "aspect_ratio": "9:16",
            "voice_id": "kore",
            "character_ids": ["char_4f2a9b7c"],
            "source_media_urls": [IMG.format("cafe")],
            "negative_prompt": "blur",
            "duration": "8s",
            "sound": True,
        },
        {
            "model": "gemini-omni-video-1080p-6s",
            "prompt": PROMPT,
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format("cafe")],
            "aspect_ratio": "9:16",
            "voice_id": "kore",
            "character_ids": ["char_4f2a9b7c"],
        },
    ),
    (
        "gemini omni video-ref: the trim window goes out by name",
        {
            "model": "gemini-omni-video-720p-video-ref",
            "source_media_urls": [VID.format("take")],
            "video_trim_start_s": 5,
            "video_trim_end_s": 12.5,
            "voice_id": "puck",
        },
        {
            "model": "gemini-omni-video-720p-video-ref",
            "prompt": PROMPT,
            "generation_type": "text-to-video",
            "source_media_urls": [VID.format("take")],
            "aspect_ratio": "16:9",
            "voice_id": "puck",
            "video_trim_start_s": 5,
            "video_trim_end_s": 12.5,
        },
    ),
    (
        "seedance 1.5 pro: sound toggle and fixed_lens",
        {"model": "seedance-1-5-pro", "duration": "8s", "sound": True, "fixed_lens": True},
        {
            "model": "seedance-1-5-pro",
            "prompt": PROMPT,
            "generation_type": "text-to-video",
            "aspect_ratio": "1:1",
            "duration": "8s",
            "sound": True,
            "fixed_lens": True,
        },
    ),
    (
        "imagen 4: quality key, negative prompt and seed",
        {"model": "imagen-4", "quality": "Fast", "negative_prompt": "text", "seed": 7},
        {
            "model": "imagen-4",
            "prompt": PROMPT,
            "generation_type": "text-to-image",
            "negative_prompt": "text",
            "aspect_ratio": "1:1",
            "quality": "fast",
            "seed": 7,
        },
    ),
    (
        "gpt-image-2: resolution tier",
        {"model": "gpt-image-2", "resolution": "2k", "aspect_ratio": "16:9"},
        {
            "model": "gpt-image-2",
            "prompt": PROMPT,
            "generation_type": "text-to-image",
            "aspect_ratio": "16:9",
            "resolution": "2K",
        },
    ),
    (
        "nano-banana-pro-2K: the tier is in the id, no resolution sent",
        {"model": "nano-banana-pro-2K", "resolution": "4K"},
        {
            "model": "nano-banana-pro-2K",
            "prompt": PROMPT,
            "generation_type": "text-to-image",
            "aspect_ratio": "1:1",
        },
    ),
    (
        "motion control: image then video, no aspect ratio (follows the input)",
        {
            "model": "kling-2-6-motion-control-720p",
            "source_media_urls": [VID.format("moves"), IMG.format("actor")],
            "aspect_ratio": "16:9",
        },
        {
            "model": "kling-2-6-motion-control-720p",
            "prompt": PROMPT,
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format("actor"), VID.format("moves")],
        },
    ),
    (
        "p-image-edit: turbo and safety checker defaults",
        {"model": "p-image-edit", "source_media_urls": [IMG.format(1)], "aspect_ratio": "auto"},
        {
            "model": "p-image-edit",
            "prompt": PROMPT,
            "generation_type": "image-to-image",
            "source_media_urls": [IMG.format(1)],
            "aspect_ratio": "auto",
            "turbo": True,
            "disable_safety_checker": True,
        },
    ),
    (
        "wan 2.7: last frame, negative prompt, per-second duration",
        {
            "model": "wan-2-7-720p",
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format("first")],
            "last_frame_url": IMG.format("last"),
            "negative_prompt": "watermark",
            "duration": 7,
        },
        {
            "model": "wan-2-7-720p",
            "prompt": PROMPT,
            "generation_type": "image-to-video",
            "source_media_urls": [IMG.format("first")],
            "negative_prompt": "watermark",
            "aspect_ratio": "1:1",
            "duration": "7s",
            "last_frame_url": IMG.format("last"),
        },
    ),
    (
        "grok text-to-video 6s: the fixed duration is not sent",
        {"model": "grok-text-to-video-6s", "duration": "6s"},
        {
            "model": "grok-text-to-video-6s",
            "prompt": PROMPT,
            "generation_type": "text-to-video",
            "aspect_ratio": "1:1",
        },
    ),
]


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_generate_body_uses_kubeez_field_names(
    adapter: KubeezAdapter, catalog: Catalog, args: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert _body(adapter, catalog, args) == expected


def test_inputs_given_by_the_driver_replace_the_request_sources(
    adapter: KubeezAdapter, catalog: Catalog
) -> None:
    request, entry = _request(catalog, {"model": "nano-banana-edit", "source_media_urls": IMG})
    uploaded = ["https://media.kubeez.com/uploads/abc.jpg"]
    call = adapter.submit_call(request, entry, uploaded)
    assert call.json["source_media_urls"] == uploaded


# --- request bodies: every Kubeez model of the catalog ------------------------------------------


def _minimal_args(entry: ModelEntry) -> dict[str, Any]:
    """Arguments that pass validation for ``entry`` in its default mode, with options set."""
    gt = entry.default_generation_type
    rule = entry.inputs[gt]
    kinds = rule.order or ["image", "video", "audio"]
    counts = {"image": rule.images.min, "video": rule.videos.min, "audio": rule.audios.min}
    pattern = {"image": IMG, "video": VID, "audio": AUD}
    sources = [pattern[k].format(f"{k}{i}") for k in kinds for i in range(counts[k])]
    args: dict[str, Any] = {"model": entry.id, "generation_type": gt, "seed": 3}
    if sources:
        args["source_media_urls"] = sources
    if entry.negative_prompt:
        args["negative_prompt"] = "no text"
    if entry.supports_sound:
        args["sound"] = True
    if entry.duration is not None and entry.duration.configurable:
        args["duration"] = f"{entry.duration.allowed()[-1]}s"
    return args


def _kubeez_entries() -> list[ModelEntry]:
    return [e for e in load_catalog().models.values() if e.provider == "kubeez"]


@pytest.mark.parametrize("entry", _kubeez_entries(), ids=lambda e: e.id)
def test_every_kubeez_model_maps_to_the_options_its_entry_takes(
    adapter: KubeezAdapter, catalog: Catalog, entry: ModelEntry
) -> None:
    args = _minimal_args(entry)
    body = _body(adapter, catalog, args)
    assert body["model"] == entry.id
    assert body["prompt"] == PROMPT
    assert body["generation_type"] == entry.default_generation_type
    assert body.get("source_media_urls") == args.get("source_media_urls")
    assert body["seed"] == 3
    assert ("aspect_ratio" in body) is not entry.aspect_ratio.ignored
    assert body.get("negative_prompt") == args.get("negative_prompt")
    assert body.get("sound") == (True if entry.supports_sound else None)
    if entry.duration is not None and entry.duration.configurable:
        assert body["duration"] == args["duration"]
    else:
        assert "duration" not in body
    assert ("resolution" in body) == (entry.resolution is not None and not entry.resolution.fixed)
    assert ("quality" in body) == (entry.quality is not None)
    if entry.quality is not None:
        assert body["quality"] in entry.quality.values
    common = {
        "model",
        "prompt",
        "generation_type",
        "source_media_urls",
        "negative_prompt",
        "aspect_ratio",
        "duration",
        "resolution",
        "quality",
        "sound",
        "seed",
    }
    assert set(body) - common <= set(entry.params_by_name)


def test_the_catalog_has_kubeez_models_to_map() -> None:
    assert len(_kubeez_entries()) > 50


# --- calls without bodies ---------------------------------------------------------------------


def test_status_call_quotes_the_generation_id(adapter: KubeezAdapter) -> None:
    call = adapter.status_call("gen/1 2")
    assert (call.method, call.path, call.creates) == ("GET", "/v1/generations/gen%2F1%202", False)


def test_upload_call_posts_to_the_upload_endpoint(adapter: KubeezAdapter) -> None:
    call = adapter.upload_call()
    assert (call.method, call.path, call.json) == ("POST", "/v1/upload/media", None)
    assert adapter.upload_max_bytes == 500 * 1024 * 1024


def test_kubeez_has_no_cancel_and_no_job_listing(adapter: KubeezAdapter, catalog: Catalog) -> None:
    request, entry = _request(catalog, {"model": "nano-banana"})
    assert adapter.cancel_call("gen_1") is None
    assert adapter.reconcile_call() is None
    found = adapter.find_submitted(
        {}, request=request, entry=entry, submitted_after_s=1.0, known_ids=frozenset()
    )
    assert found is None


@pytest.mark.parametrize(
    ("model", "plan"),
    [("nano-banana", PollPlan(1.0, 5.0)), ("veo3-1", PollPlan(5.0, 15.0))],
)
def test_poll_plan_is_quick_for_images_and_slower_for_videos(
    adapter: KubeezAdapter, catalog: Catalog, model: str, plan: PollPlan
) -> None:
    request, _ = _request(catalog, {"model": model})
    assert adapter.poll_plan(request) == plan


# --- submit and upload answers ----------------------------------------------------------------


def test_parse_submit_reads_the_id_and_estimated_cost(adapter: KubeezAdapter) -> None:
    submitted = adapter.parse_submit(
        {
            "generation_id": "gen_123",
            "status": "pending",
            "estimated_time_seconds": 40,
            "estimated_cost_credits": 85,
        }
    )
    assert submitted.upstream_id == "gen_123"
    assert submitted.cost == 85.0
    assert submitted.status is None


def test_parse_submit_accepts_a_numeric_id_and_a_missing_cost(adapter: KubeezAdapter) -> None:
    submitted = adapter.parse_submit({"generation_id": 981, "status": "pending"})
    assert (submitted.upstream_id, submitted.cost) == ("981", None)


def test_parse_submit_reads_a_job_finished_straight_away(adapter: KubeezAdapter) -> None:
    submitted = adapter.parse_submit(
        {
            "generation_id": "gen_9",
            "status": "completed",
            "outputs": [{"url": "https://media.kubeez.com/o/1.png", "media_type": "image"}],
        }
    )
    assert submitted.status is not None
    assert submitted.status.state == "completed"
    assert submitted.status.outputs[0].url == "https://media.kubeez.com/o/1.png"


@pytest.mark.parametrize(
    "body",
    [None, [], "ok", {}, {"generation_id": ""}, {"generation_id": True}, {"status": "pending"}],
)
def test_malformed_submit_answers_are_upstream_errors(adapter: KubeezAdapter, body: Any) -> None:
    with pytest.raises(MediagateError) as info:
        adapter.parse_submit(body)
    assert info.value.code == "upstream_error"


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (
            {"url": "https://media.kubeez.com/u/a.png", "size_bytes": 10, "mime_type": "image/png"},
            "https://media.kubeez.com/u/a.png",
        ),
        ({"urls": ["https://media.kubeez.com/u/b.mp4"]}, "https://media.kubeez.com/u/b.mp4"),
    ],
)
def test_parse_upload_returns_the_public_url(adapter: KubeezAdapter, body: Any, url: str) -> None:
    assert adapter.parse_upload(body) == url


@pytest.mark.parametrize("body", [None, {}, {"url": ""}, {"url": "ftp://x/y"}, {"urls": []}])
def test_malformed_upload_answers_are_upstream_errors(adapter: KubeezAdapter, body: Any) -> None:
    with pytest.raises(MediagateError) as info:
        adapter.parse_upload(body)
    assert info.value.code == "upstream_error"


# --- poll answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "state", "progress"),
    [
        ({"generation_id": "g", "status": "pending"}, "pending", None),
        ({"generation_id": "g", "status": "queued", "progress": 0}, "queued", 0.0),
        ({"generation_id": "g", "status": "processing", "progress": 42.5}, "processing", 42.5),
        ({"generation_id": "g", "status": "PROCESSING", "progress": 250}, "processing", 100.0),
        ({"generation_id": "g", "status": "processing", "progress": -3}, "processing", 0.0),
        ({"generation_id": "g", "status": "processing", "progress": "half"}, "processing", None),
        ({"generation_id": "g", "status": "processing", "progress": True}, "processing", None),
    ],
)
def test_running_states_and_progress(
    adapter: KubeezAdapter, body: dict[str, Any], state: str, progress: float | None
) -> None:
    status = adapter.parse_status(body, elapsed_s=3.0)
    assert (status.state, status.progress, status.outputs, status.error) == (
        state,
        progress,
        (),
        None,
    )


def test_completed_outputs_keep_dimensions_and_optimized_url_and_a_thumbnail(
    adapter: KubeezAdapter,
) -> None:
    status = adapter.parse_status(
        {
            "generation_id": "g",
            "model": "veo3-1",
            "status": "completed",
            "progress": 100,
            "outputs": [
                {
                    "url": "https://media.kubeez.com/o/v.mp4",
                    "thumbnail_url": "https://media.kubeez.com/o/v.jpg",
                    "optimized_url": "https://media.kubeez.com/o/v-web.mp4",
                    "media_type": "video",
                    "width": 1280,
                    "height": 720,
                }
            ],
            "error": None,
        },
        elapsed_s=95.0,
    )
    assert status.state == "completed"
    assert status.progress == 100.0
    assert status.error is None
    main, thumb = status.outputs
    assert (main.url, main.media_type, main.role) == (
        "https://media.kubeez.com/o/v.mp4",
        "video",
        "output",
    )
    assert dict(main.extra) == {
        "width": 1280,
        "height": 720,
        "optimized_url": "https://media.kubeez.com/o/v-web.mp4",
    }
    assert (thumb.url, thumb.media_type, thumb.role) == (
        "https://media.kubeez.com/o/v.jpg",
        "image",
        "thumbnail",
    )


@pytest.mark.parametrize(
    ("item", "media_type", "extra"),
    [
        (
            {"url": "https://m.example/o/1.png", "dimensions": {"width": 1024, "height": 768}},
            "image",
            {"width": 1024, "height": 768},
        ),
        (
            {"url": "https://m.example/o/1", "media_type": "video/mp4", "dimensions": "640x480"},
            "video",
            {"width": 640, "height": 480, "mime_type": "video/mp4"},
        ),
        (
            {"url": "https://m.example/o/2.mp4", "width": "wide", "height": 0},
            "video",
            {},
        ),
    ],
)
def test_output_shapes_are_read_leniently(
    adapter: KubeezAdapter, item: dict[str, Any], media_type: str, extra: dict[str, Any]
) -> None:
    status = adapter.parse_status({"status": "completed", "outputs": [item]}, elapsed_s=1.0)
    (output,) = status.outputs
    assert output.media_type == media_type
    assert dict(output.extra) == extra


@pytest.mark.parametrize(
    "body",
    [
        None,
        ["completed"],
        {"generation_id": "g"},
        {"status": "done"},
        {"status": "canceled"},
        {"status": 3},
        {"status": "completed"},
        {"status": "completed", "outputs": []},
        {"status": "completed", "outputs": {"url": "https://m.example/o.png"}},
        {"status": "completed", "outputs": [{"media_type": "image"}]},
        {"status": "completed", "outputs": [{"url": "/relative.png"}]},
        {"status": "completed", "outputs": ["https://m.example/o.png"]},
    ],
)
def test_malformed_poll_answers_are_upstream_errors(adapter: KubeezAdapter, body: Any) -> None:
    with pytest.raises(MediagateError) as info:
        adapter.parse_status(body, elapsed_s=1.0)
    assert info.value.code == "upstream_error"
    assert info.value.message


def test_failed_generation_keeps_the_upstream_code_and_message(adapter: KubeezAdapter) -> None:
    status = adapter.parse_status(
        {
            "generation_id": "g",
            "status": "failed",
            "progress": 60,
            "outputs": [],
            "error": {"code": "provider_timeout", "message": "The model took too long."},
        },
        elapsed_s=612.4,
    )
    assert status.state == "failed"
    assert status.error is not None
    assert status.error.code == "upstream_error"
    assert status.error.details["upstream_code"] == "provider_timeout"
    assert status.error.details["upstream_message"] == "The model took too long."
    assert status.error.details["elapsed_s"] == 612.4
    assert "612 s" in status.error.message


def test_failed_for_content_policy_is_content_filtered(adapter: KubeezAdapter) -> None:
    status = adapter.parse_status(
        {
            "status": "failed",
            "error": {"code": "content_policy_violation", "message": "Flagged."},
        },
        elapsed_s=4.0,
    )
    assert status.error is not None
    assert status.error.code == "content_filtered"
    assert status.error.details["upstream_code"] == "content_policy_violation"


@pytest.mark.parametrize("error", [None, {}, "it broke"])
def test_failed_without_a_readable_error_still_ends_with_one(
    adapter: KubeezAdapter, error: Any
) -> None:
    status = adapter.parse_status({"status": "failed", "error": error}, elapsed_s=0.5)
    assert status.state == "failed"
    assert status.error is not None
    assert status.error.code == "upstream_error"
    assert status.error.message


# --- error answers ----------------------------------------------------------------------------

VARIANT_REQUIRED = {
    "error": "variant_required",
    "message": "seedance-2-fast is a family.",
    "family": "seedance-2-fast",
    "available_variants": ["seedance-2-fast-480p", "seedance-2-fast-720p"],
    "hint": "Ask the user which variant they want.",
}

ERRORS: list[tuple[str, int, Any, float | None, str, dict[str, Any]]] = [
    (
        "variant_required passes family and variants through",
        400,
        VARIANT_REQUIRED,
        None,
        "upstream_rejected",
        {
            "upstream_code": "variant_required",
            "upstream_message": "seedance-2-fast is a family.",
            "family": "seedance-2-fast",
            "available_variants": ["seedance-2-fast-480p", "seedance-2-fast-720p"],
            "hint": "Ask the user which variant they want.",
            "status": 400,
        },
    ),
    (
        "a validation code with allowed values",
        400,
        {
            "error": "aspect_ratio_incompatible_with_high_res",
            "message": "2K needs a directional aspect.",
            "allowed": ["16:9", "9:16", "4:3", "3:4"],
        },
        None,
        "upstream_rejected",
        {
            "upstream_code": "aspect_ratio_incompatible_with_high_res",
            "allowed": ["16:9", "9:16", "4:3", "3:4"],
        },
    ),
    (
        "an unknown generation",
        404,
        {"error": "generation_not_found", "message": "No such generation."},
        None,
        "upstream_rejected",
        {"upstream_code": "generation_not_found", "status": 404},
    ),
    (
        "a bad key",
        401,
        {"error": "invalid_api_key", "message": "Invalid API key."},
        None,
        "upstream_rejected",
        {"upstream_code": "invalid_api_key", "status": 401},
    ),
    (
        "a key without access",
        403,
        {"error": "forbidden", "message": "Key lacks the media scope.", "hint": "Ask support."},
        None,
        "upstream_rejected",
        {"upstream_code": "forbidden", "status": 403},
    ),
    (
        "too few credits",
        402,
        {"error": "insufficient_credits", "message": "Need 85 credits, have 10."},
        None,
        "upstream_rejected",
        {"upstream_code": "insufficient_credits", "upstream_message": "Need 85 credits, have 10."},
    ),
    (
        "content policy",
        422,
        {"error": "content_policy_violation", "message": "Prompt flagged."},
        None,
        "content_filtered",
        {"upstream_code": "content_policy_violation", "status": 422},
    ),
    (
        "another 422 is a rejection",
        422,
        {"error": "unprocessable", "message": "Bad input."},
        None,
        "upstream_rejected",
        {"upstream_code": "unprocessable"},
    ),
    (
        "429 with a Retry-After header",
        429,
        {"error": "rate_limited", "message": "Slow down."},
        12.0,
        "rate_limited",
        {"retry_after_s": 12.0, "upstream_code": "rate_limited"},
    ),
    (
        "429 with the wait only in the body",
        429,
        {"error": "rate_limited", "message": "Slow down.", "retry_after": 5},
        None,
        "rate_limited",
        {"retry_after_s": 5.0},
    ),
    (
        "500 with a JSON body",
        500,
        {"error": "internal_error", "message": "Oops."},
        None,
        "upstream_error",
        {"upstream_code": "internal_error", "status": 500},
    ),
    (
        "503 with a text body",
        503,
        "Service Unavailable",
        None,
        "upstream_error",
        {"upstream_message": "Service Unavailable", "status": 503},
    ),
    (
        "a nested error object",
        400,
        {"error": {"code": "prompt_too_long", "message": "Max 2500."}},
        None,
        "upstream_rejected",
        {"upstream_code": "prompt_too_long", "upstream_message": "Max 2500."},
    ),
    ("no body at all", 400, None, None, "upstream_rejected", {"status": 400}),
]


@pytest.mark.parametrize(
    ("status_code", "body", "retry_after", "code", "details"),
    [e[1:] for e in ERRORS],
    ids=[e[0] for e in ERRORS],
)
def test_error_answers_map_to_stable_codes(
    adapter: KubeezAdapter,
    status_code: int,
    body: Any,
    retry_after: float | None,
    code: str,
    details: dict[str, Any],
) -> None:
    err = adapter.parse_error(status_code, body, retry_after_s=retry_after)
    assert err.code == code
    payload = err.payload
    assert payload["error"] == code
    assert isinstance(payload["message"], str) and payload["message"]
    assert {k: payload.get(k) for k in details} == details


@pytest.mark.parametrize("status_code", [401, 403])
def test_key_errors_point_at_the_key_setting(adapter: KubeezAdapter, status_code: int) -> None:
    err = adapter.parse_error(status_code, {"error": "invalid_api_key"}, retry_after_s=None)
    assert "MEDIAGATE_KUBEEZ_API_KEY" in err.details["hint"]


def test_upstream_message_is_in_the_sentence(adapter: KubeezAdapter) -> None:
    err = adapter.parse_error(400, VARIANT_REQUIRED, retry_after_s=None)
    assert "seedance-2-fast is a family." in err.message
