"""GateAI's request mapping over every GateAI catalog entry, checked against the seed.

The oracle is seed 004 as the fake upstream reads it (``tests/fakes/data/gateai_models.json``:
every model's parameter table), plus sizes copied by hand from the seed's resolution tables.
It is independent of the catalog's own GateAI blocks, so a wrong block fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fakes.gateai_models import Model, check_params, models
from mediagate.catalog import load_catalog, validate_generate
from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import GenerationType, InputRule, ModelEntry
from mediagate.errors import MediagateError
from mediagate.providers.gateai.mapping import (
    GateAIAdapter,
    generate_body,
    to_params,
    upstream_model,
)

CATALOG = load_catalog()
SEED = models()
ENTRIES = [e for e in CATALOG.entries.values() if e.provider == "gateai"]
ADAPTER = GateAIAdapter(api_key="sk-test")

#: Seed 004 "Supported inline reference fields" (valid on every model).
INLINE_REF_FIELDS = frozenset(
    {
        "image",
        "input_image",
        "first_frame",
        "last_frame",
        "start_image_url",
        "end_image_url",
        "reference_images",
        "image_url",
        "image_urls",
        "video_url",
        "reference_video_url",
        "audio_url",
        "reference_audio_url",
    }
)
#: Short edge in pixels of each video tier id, for the ``RESOLUTION_<n>`` mode values.
TIER_EDGE = {"480p": 480, "720p": 720, "768p": 768, "1080p": 1080, "1440p": 1440, "4k": 2160}
EXT = {"image": "png", "video": "mp4", "audio": "mp3"}


def _validate(entry: ModelEntry, **args: Any) -> GenerationRequest:
    """A validated call; a model that needs source media gets the least it takes."""
    call = {"prompt": "a red kite over dunes", "model": f"gateai/{entry.id}", **args}
    if "source_media_urls" not in call:
        rule = entry.inputs[call.get("generation_type", entry.default_generation_type)]
        if rule.requires_any:
            call["source_media_urls"] = _sources(rule, full=False)
    return validate_generate(call, CATALOG, allow_private_urls=True)


def _sources(rule: InputRule, *, full: bool) -> list[str]:
    """Source URLs for ``rule``: the minimum of each kind, or as many as it holds."""
    counts = {
        "image": rule.images.max if full else rule.images.min,
        "video": rule.videos.max if full else rule.videos.min,
        "audio": rule.audios.max if full else rule.audios.min,
    }
    if full and rule.reference_slots is not None:
        counts["image"] = min(
            counts["image"], rule.reference_slots - counts["video"] * rule.video_slot_cost
        )
    order = rule.order or ["image", "video", "audio"]
    return [
        f"https://cdn.example.com/{kind}-{i}.{EXT[kind]}"
        for kind in order
        for i in range(counts[kind])
    ]


def _size_cases() -> Iterator[Any]:
    for entry in ENTRIES:
        aspects = (
            [entry.aspect_ratio.default]
            if entry.aspect_ratio.ignored
            else list(entry.aspect_ratio.allowed)
        )
        tiers: list[str | None] = (
            [t.id for t in entry.resolution.tiers] if entry.resolution is not None else [None]
        )
        for gt in entry.generation_types:
            for aspect in aspects:
                for tier in tiers:
                    yield pytest.param(
                        entry, gt, aspect, tier, id=f"{entry.id}-{gt}-{aspect}-{tier}"
                    )


def _seed(entry: ModelEntry) -> Model:
    assert entry.gateai is not None
    return SEED[entry.gateai.model]


# --- every entry, every generation type, aspect and tier ---------------------------------------


def test_the_catalog_serves_every_seed_model_through_gateai() -> None:
    assert {upstream_model(e) for e in ENTRIES} == set(SEED)


@pytest.mark.parametrize(("entry", "gt", "aspect", "tier"), list(_size_cases()))
def test_params_fit_the_seed_table_of_the_model(
    entry: ModelEntry, gt: GenerationType, aspect: str, tier: str | None
) -> None:
    spec = entry.gateai
    assert spec is not None
    seed = _seed(entry)
    args: dict[str, Any] = {"generation_type": gt, "aspect_ratio": aspect}
    if tier is not None:
        args["resolution"] = tier
    sources = _sources(entry.inputs[gt], full=False)
    if sources:
        args["source_media_urls"] = sources
    request = _validate(entry, **args)

    body = generate_body(request, entry)
    params = body["params"]
    assert body["model"] == seed.id
    assert body["type"] == seed.type
    assert params["prompt"] == "a red kite over dunes"
    # Only parameters the seed lists for this model (or its API-wide reference fields), each
    # with a value its table allows. The prompt always goes: generate_media requires one, and
    # the tables that omit it (rodin-v2, kino-xl, cortex_1.0) omit it from their examples too.
    allowed = set(seed.params) | INLINE_REF_FIELDS | {"prompt"}
    assert set(params) <= allowed, set(params) - allowed
    check_params(seed, params)

    expected_size = spec.size_for(tier, aspect)
    if spec.sends_size(aspect) or (spec.dimensions is not None and spec.dimensions.required):
        assert expected_size is not None
        assert (params["width"], params["height"]) == expected_size
    else:
        assert "width" not in params and "height" not in params

    if spec.aspect_param is not None and aspect != "auto":
        assert params[spec.aspect_param] == aspect

    if spec.tier_param is not None and tier is not None:
        value = params[spec.tier_param]
        if spec.tier_param == "mode":
            assert value == f"RESOLUTION_{TIER_EDGE[tier]}"
        else:
            assert value in (tier, "2160p" if tier == "4k" else tier)

    duration_params = {"duration", "durationSeconds"} & set(params)
    if entry.duration is not None and entry.duration.configurable:
        assert duration_params == {seed.duration_param}
        assert params[seed.duration_param] == request.duration_s == entry.duration.default
    else:
        assert not duration_params


#: (model, aspect, tier) → size, copied from seed 004's "Supported Resolutions" tables.
SEED_SIZES = [
    ("auto-image", "16:9", None, (1344, 768)),
    ("auto-image", "9:16", None, (768, 1344)),
    ("gemini-2.5-flash-image", "21:9", None, (1536, 672)),
    ("gemini-image-2", "16:9", "1K", (1376, 768)),
    ("gemini-image-2", "16:9", "2K", (2752, 1536)),
    ("gemini-image-2", "16:9", "4K", (5504, 3072)),
    ("gpt-image-2", "3:2", "1K", (1264, 848)),
    ("gpt-image-2", "3:2", "2K", (2048, 1376)),
    ("gpt-image-2", "21:9", "4K", (3808, 1632)),
    ("nano-banana-2", "4:5", "2K", (1856, 2304)),
    ("recraft-v4", "1:2", None, (768, 1536)),
    ("recraft-v4-pro", "4:3", None, (2432, 1792)),
    ("happy-horse", "3:4", None, (1080, 1440)),
    ("kling-2.1-pro", "1:1", None, (1440, 1440)),
    ("kling-2.5-turbo-standard", "1:1", None, (960, 960)),
    ("kling-3.0", "9:16", "1080p", (1080, 1920)),
    ("cortex_2.0", "4:5", "480p", (576, 720)),
    ("veo-3.1-lite", "9:16", "720p", (720, 1280)),
    ("sora-2", "9:16", None, (720, 1280)),
]


@pytest.mark.parametrize(("model", "aspect", "tier", "size"), SEED_SIZES)
def test_sizes_are_the_seed_resolution_table(
    model: str, aspect: str, tier: str | None, size: tuple[int, int]
) -> None:
    entry = CATALOG.entry(model, "gateai")
    args: dict[str, Any] = {"aspect_ratio": aspect}
    if tier is not None:
        args["resolution"] = tier
    params = to_params(_validate(entry, **args), entry)
    assert (params["width"], params["height"]) == size


@pytest.mark.parametrize(
    ("model", "name", "seconds", "extra"),
    [
        ("hailuo-2_3", "durationSeconds", 10, {"resolution": "768p"}),
        ("kling-3.0", "durationSeconds", 15, {}),
        ("ltxv-2.3-fast", "durationSeconds", 8, {}),
        (
            "kling-2.5-turbo-standard",
            "durationSeconds",
            10,
            {"source_media_urls": "https://x.test/a.png"},
        ),
        ("seedance-2.0", "duration", 12, {}),
        ("veo-3.1-generate-001", "duration", 4, {}),
        ("ltxv-2.0-ultra", "duration", 6, {}),
        ("sora-2-pro", "duration", 12, {}),
    ],
)
def test_duration_goes_out_under_the_model_own_name(
    model: str, name: str, seconds: int, extra: dict[str, Any]
) -> None:
    entry = CATALOG.entry(model, "gateai")
    params = to_params(_validate(entry, duration=f"{seconds}s", **extra), entry)
    assert params[name] == seconds
    other = "duration" if name == "durationSeconds" else "durationSeconds"
    assert other not in params


# --- references -------------------------------------------------------------------------------


def _ref_cases() -> Iterator[Any]:
    for entry in ENTRIES:
        assert entry.gateai is not None
        for gt in entry.gateai.refs:
            yield pytest.param(entry, gt, id=f"{entry.id}-{gt}")


@pytest.mark.parametrize(("entry", "gt"), list(_ref_cases()))
def test_every_reference_field_is_filled_in_role_order(
    entry: ModelEntry, gt: GenerationType
) -> None:
    spec = entry.gateai
    assert spec is not None
    seed = _seed(entry)
    urls = _sources(entry.inputs[gt], full=True)
    request = _validate(entry, generation_type=gt, source_media_urls=urls)
    params = to_params(request, entry)

    queues = {kind: [u for u in urls if u.endswith(f".{EXT[kind]}")] for kind in EXT}
    filled = 0
    for ref in spec.refs[gt]:
        assert ref.field in seed.params or ref.field in INLINE_REF_FIELDS, ref.field
        queue = queues[ref.kind]
        if not queue:
            assert ref.field not in params
            continue
        if ref.array:
            assert params[ref.field] == queue[: ref.max]
            filled += len(queue[: ref.max])
            del queue[: ref.max]
        else:
            assert params[ref.field] == queue.pop(0)
            filled += 1
    assert filled == len(urls)
    assert not any(queues.values())
    check_params(seed, params)


@pytest.mark.parametrize(("entry", "gt"), list(_ref_cases()))
def test_prepared_inputs_replace_the_source_urls(entry: ModelEntry, gt: GenerationType) -> None:
    urls = _sources(entry.inputs[gt], full=False) or _sources(entry.inputs[gt], full=True)
    request = _validate(entry, generation_type=gt, source_media_urls=urls)
    inlined = [f"data:application/octet-stream;base64,{i:04d}" for i in range(len(urls))]
    params = to_params(request, entry, inlined)
    sent = [v for k, v in params.items() if k in _ref_fields(entry, gt)]
    flat = [u for v in sent for u in (v if isinstance(v, list) else [v])]
    assert sorted(flat) == sorted(inlined)
    assert not any(u in str(params) for u in urls)


def _ref_fields(entry: ModelEntry, gt: GenerationType) -> set[str]:
    assert entry.gateai is not None
    return {r.field for r in entry.gateai.refs.get(gt, [])}


@pytest.mark.parametrize(
    ("model", "gt", "urls", "expected"),
    [
        (
            "hailuo-2_3-fast",
            "image-to-video",
            ["https://x.test/a.png"],
            {"start_frame": "https://x.test/a.png"},
        ),
        (
            "kling-3.0",
            "image-to-video",
            ["https://x.test/first.png", "https://x.test/last.png"],
            {"start_frame": "https://x.test/first.png", "end_frame": "https://x.test/last.png"},
        ),
        (
            "seedance-2.0",
            "text-to-video",
            ["https://x.test/a.png", "https://x.test/b.png", "https://x.test/v.mp4"],
            {
                "reference_image_urls": ["https://x.test/a.png", "https://x.test/b.png"],
                "reference_video_urls": ["https://x.test/v.mp4"],
            },
        ),
        (
            "kling-video-o-3",
            "text-to-video",
            ["https://x.test/a.png", "https://x.test/v.mp4"],
            {
                "image_guidance": ["https://x.test/a.png"],
                "video_guidance": ["https://x.test/v.mp4"],
            },
        ),
        (
            "rodin-v2",
            "image-to-3d",
            ["https://x.test/a.png", "https://x.test/b.png"],
            {"image_urls": ["https://x.test/a.png", "https://x.test/b.png"]},
        ),
        (
            "gemini-image-2",
            "image-to-image",
            ["https://x.test/a.png"],
            {"image_urls": ["https://x.test/a.png"]},
        ),
    ],
)
def test_reference_roles_by_hand(
    model: str, gt: GenerationType, urls: list[str], expected: dict[str, Any]
) -> None:
    entry = CATALOG.entry(model, "gateai")
    params = to_params(_validate(entry, generation_type=gt, source_media_urls=urls), entry)
    assert {k: params[k] for k in expected} == expected
    assert not (_ref_fields(entry, gt) - set(expected)) & set(params)


# --- options ----------------------------------------------------------------------------------


def _quality_cases() -> Iterator[Any]:
    for entry in ENTRIES:
        if entry.quality is not None:
            for value in entry.quality.values:
                yield pytest.param(entry, value, id=f"{entry.id}-{value}")


@pytest.mark.parametrize(("entry", "value"), list(_quality_cases()))
def test_quality_maps_to_the_model_own_values(entry: ModelEntry, value: str) -> None:
    assert entry.gateai is not None and entry.gateai.quality_param is not None
    assert entry.quality is not None
    params = to_params(_validate(entry, quality=value), entry)
    sent = params[entry.gateai.quality_param]
    assert sent == entry.quality.values[value]
    assert sent in _seed(entry).params[entry.gateai.quality_param]["enum"]


def _sound_cases() -> Iterator[Any]:
    for entry in ENTRIES:
        if entry.gateai is not None and entry.gateai.sound_param is not None:
            for sound in (True, False):
                yield pytest.param(entry, sound, id=f"{entry.id}-{sound}")


@pytest.mark.parametrize(("entry", "sound"), list(_sound_cases()))
def test_sound_goes_out_as_the_model_audio_switch(entry: ModelEntry, sound: bool) -> None:
    assert entry.gateai is not None and entry.gateai.sound_param is not None
    params = to_params(_validate(entry, sound=sound), entry)
    assert params[entry.gateai.sound_param] is sound
    assert entry.gateai.sound_param in _seed(entry).params


def _native_value(spec: Any) -> Any:
    """A valid value for a native parameter, unlike its default where possible."""
    if spec.enum:
        others = [v for v in spec.enum if v != spec.default]
        return (others or spec.enum)[0]
    if spec.type == "boolean":
        return not spec.default if isinstance(spec.default, bool) else True
    if spec.type in ("integer", "number"):
        if spec.max is not None:
            return int(spec.max) if spec.type == "integer" else spec.max
        return int(spec.min) if spec.min is not None else 1
    if spec.type == "array":
        return ["x"]
    return "x"


def _native_cases() -> Iterator[Any]:
    for entry in ENTRIES:
        assert entry.gateai is not None
        for spec in entry.gateai.params:
            yield pytest.param(entry, spec.name, id=f"{entry.id}-{spec.name}")


@pytest.mark.parametrize(("entry", "name"), list(_native_cases()))
def test_native_params_pass_through_unchanged(entry: ModelEntry, name: str) -> None:
    assert entry.gateai is not None
    spec = entry.gateai.native(name)
    value = _native_value(spec)
    params = to_params(_validate(entry, params={name: value}), entry)
    assert params[name] == value
    assert name in _seed(entry).params


def test_quantity_passes_through_up_to_the_model_cap() -> None:
    entry = CATALOG.entry("flux-dev", "gateai")
    params = to_params(_validate(entry, params={"quantity": 8}), entry)
    assert params["quantity"] == 8


def test_required_quantity_is_sent_with_its_default() -> None:
    entry = CATALOG.entry("veo-3.1-generate-001", "gateai")
    assert entry.gateai is not None and entry.gateai.quantity.required
    assert to_params(_validate(entry), entry)["quantity"] == 1


def test_optional_quantity_is_left_to_gateai() -> None:
    entry = CATALOG.entry("gpt-image-2", "gateai")
    assert "quantity" not in to_params(_validate(entry), entry)


def test_negative_prompt_and_seed_go_out_where_taken() -> None:
    entry = CATALOG.entry("veo-3.1-generate-001", "gateai")
    params = to_params(_validate(entry, negative_prompt="blur", seed=42), entry)
    assert (params["negative_prompt"], params["seed"]) == ("blur", 42)


def test_a_kubeez_entry_is_not_mapped() -> None:
    kubeez = CATALOG.entry("gpt-image-2", "kubeez")
    request = validate_generate({"prompt": "p", "model": "kubeez/gpt-image-2"}, CATALOG)
    with pytest.raises(MediagateError) as info:
        to_params(request, kubeez)
    assert info.value.code == "unknown_model"
    assert "gateai/" in info.value.details["hint"]


# --- calls ------------------------------------------------------------------------------------


def test_submit_is_a_billing_post_of_the_generate_body() -> None:
    entry = CATALOG.entry("seedance-2.0", "gateai")
    request = _validate(entry, duration=12, resolution="1080p")
    call = ADAPTER.submit_call(request, entry, [])
    assert (call.method, call.path, call.creates) == ("POST", "/api/generate", True)
    assert call.json == generate_body(request, entry, [])
    assert call.json["model"] == "seedance-2.0"


def test_status_path_quotes_the_task_id() -> None:
    assert ADAPTER.status_call("f578692c-6475").path == "/get/f578692c-6475"
    assert ADAPTER.status_call("a/b?c").path == "/get/a%2Fb%3Fc"
    assert ADAPTER.status_call("x").method == "GET"


def test_reconcile_reads_me_with_the_key_in_the_query() -> None:
    call = ADAPTER.reconcile_call()
    assert call is not None
    assert (call.method, call.path, dict(call.params or {})) == (
        "GET",
        "/api/me",
        {"key": "sk-test"},
    )
    assert GateAIAdapter().reconcile_call() is None


def test_gateai_has_no_cancel_and_inlines_local_inputs() -> None:
    assert ADAPTER.cancel_call("t1") is None
    assert ADAPTER.local_inputs == "data_uri"
    assert ADAPTER.upload_call() is None


def test_limits_are_the_seed_ones() -> None:
    limits = ADAPTER.limits
    assert (limits.max_in_flight, limits.window_requests, limits.window_s) == (5, 5, 30.0)
    assert limits.slot_release_s == 600.0
    assert limits.max_job_s is not None and limits.max_job_s > 40 * 60
    assert ADAPTER.auth_headers("sk-1") == {"Authorization": "Bearer sk-1"}


@pytest.mark.parametrize(
    ("model", "first", "most"),
    [("gpt-image-2", 1.0, 5.0), ("seedance-2.0", 5.0, 15.0), ("rodin-v2", 5.0, 15.0)],
)
def test_poll_plan_by_media_type(model: str, first: float, most: float) -> None:
    entry = CATALOG.entry(model, "gateai")
    plan = ADAPTER.poll_plan(_validate(entry))
    assert (plan.first_s, plan.max_s) == (first, most)


# --- finding a submit whose answer was lost ---------------------------------------------------


def _me(active: list[dict[str, Any]], recent: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "budget": {"daily_limit": 100, "used": 1, "remaining": 99},
        "concurrency": {"used": len(active), "max": 5, "available": 5 - len(active)},
        "active_tasks": active,
        "recent_tasks": recent,
    }


def _active(task_id: str, model: str, elapsed: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "model": model,
        "status": "PROCESSING",
        "cost": 0.1,
        "elapsed": elapsed,
    }


def _recent(task_id: str, model: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "model": model,
        "status": "FINISHED",
        "cost": 0.1,
        "result_count": 1,
    }


def _find(body: Any, *, after: float = 10.0, known: frozenset[str] = frozenset()) -> Any:
    entry = CATALOG.entry("seedance-2.0", "gateai")
    return ADAPTER.find_submitted(
        body, request=_validate(entry), entry=entry, submitted_after_s=after, known_ids=known
    )


def test_the_one_young_task_of_the_model_is_ours() -> None:
    body = _me([_active("ours", "seedance-2.0", "8s"), _active("old", "seedance-2.0", "300s")], [])
    assert _find(body) == "ours"


def test_tasks_of_other_models_do_not_count() -> None:
    body = _me([_active("ours", "seedance-2.0", 3), _active("img", "gpt-image-2", 2)], [])
    assert _find(body) == "ours"


def test_known_ids_are_skipped() -> None:
    body = _me([_active("theirs", "seedance-2.0", 4), _active("ours", "seedance-2.0", 5)], [])
    assert _find(body, known=frozenset({"theirs"})) == "ours"


def test_two_young_tasks_cannot_be_told_apart() -> None:
    body = _me([_active("a", "seedance-2.0", "4s"), _active("b", "seedance-2.0", "6s")], [])
    assert _find(body) is None


def test_a_finished_task_of_unknown_age_is_a_candidate() -> None:
    # recent_tasks carry no elapsed: a fast job is already finished when we look.
    assert _find(_me([], [_recent("done", "seedance-2.0")])) == "done"


def test_a_finished_task_beside_a_young_one_cannot_be_told_apart() -> None:
    body = _me([_active("young", "seedance-2.0", "2s")], [_recent("done", "seedance-2.0")])
    assert _find(body) is None


def test_no_candidate_in_a_complete_listing_is_absent() -> None:
    body = _me([_active("old", "seedance-2.0", "1m 40s")], [_recent("img", "gpt-image-2")])
    assert _find(body, after=30.0) == "absent"


def test_owned_tasks_do_not_make_absence_uncertain() -> None:
    body = _me([], [_recent("mine", "seedance-2.0")])
    assert _find(body, known=frozenset({"mine"})) == "absent"


def test_a_full_recent_list_does_not_prove_absence() -> None:
    recent = [_recent(f"r{i}", "gpt-image-2") for i in range(20)]
    assert _find(_me([], recent)) is None


def test_a_full_recent_list_reaching_back_past_the_submit_proves_absence() -> None:
    recent = [{**_recent(f"r{i}", "gpt-image-2"), "elapsed": 3600} for i in range(20)]
    assert _find(_me([], recent)) == "absent"


def test_active_slots_give_the_age_active_tasks_leave_out() -> None:
    body = _me([{"task_id": "ours", "model": "seedance-2.0", "status": "PROCESSING"}], [])
    body["concurrency"]["active_slots"] = [
        {"taskId": "ours", "model": "seedance-2.0", "elapsed": 7}
    ]
    body["recent_tasks"] = []
    assert _find(body) == "ours"
    body["concurrency"]["active_slots"] = [
        {"taskId": "ours", "model": "seedance-2.0", "elapsed": 700}
    ]
    assert _find(body) == "absent"


def test_model_spellings_match_without_separators() -> None:
    assert _find(_me([_active("ours", "Seedance_2_0", "3s")], [])) == "ours"


@pytest.mark.parametrize("body", [None, [], "x", {"budget": {}}, {"active_tasks": "none"}])
def test_unreadable_listings_cannot_tell(body: Any) -> None:
    assert _find(body) is None
