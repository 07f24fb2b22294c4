"""Every model id the seeds name, with the limits the seeds give it.

Expectations are written from the seeds (000 newest; 001 for Sora 2; 002 for the REST per-model
table), not read back from the data files. Where the seeds are silent the test says so and only
checks what the seeds do fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from mediagate.catalog import validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError

T2I, I2I, T2V, I2V = "text-to-image", "image-to-image", "text-to-video", "image-to-video"


def each(keys: list[str] | dict[str, Any], value: Any) -> dict[str, Any]:
    """The same expectation for every id in ``keys``."""
    return {key: value for key in keys}


# --- ids ------------------------------------------------------------------------------------------

SEEDANCE_2_PLAIN = [
    "seedance-2-480p",
    "seedance-2-720p",
    "seedance-2-1080p",  # 000's live rate table (its prose says "no 1080p")
    "seedance-2-fast-480p",
    "seedance-2-fast-720p",
]
SEEDANCE_2_REF = [f"{m}-video-ref" for m in SEEDANCE_2_PLAIN]
SEEDANCE_2 = SEEDANCE_2_PLAIN + SEEDANCE_2_REF
SEEDANCE_15_GRID = [
    f"seedance-1-5-pro-{res}-{secs}s{audio}"
    for res in ("480p", "720p", "1080p")
    for secs in (4, 8, 12)
    for audio in ("", "-audio")
]
GEMINI_DURATION = {
    f"gemini-omni-video-{res}-{secs}s": secs
    for res in ("720p", "1080p", "4k")
    for secs in (4, 6, 8, 10)
}
GEMINI_REF = [f"gemini-omni-video-{res}-video-ref" for res in ("720p", "1080p", "4k")]
GEMINI = [*GEMINI_DURATION, *GEMINI_REF]
MOTION_CONTROL = [
    f"kling-{v}-motion-control-{res}" for v in ("2-6", "3-0") for res in ("720p", "1080p")
]
KLING_3 = ["kling-3-0-std", "kling-3-0-pro"]
WAN_27 = ["wan-2-7-720p", "wan-2-7-1080p"]
GROK_15 = ["grok-imagine-video-1-5-preview-480p", "grok-imagine-video-1-5-preview-720p"]
VEO = ["veo3-1", "veo3-1-fast"]
SORA = ["sora-2", "sora-2-pro"]
NANO_HI = [
    "nano-banana-pro",
    "nano-banana-pro-2K",
    "nano-banana-pro-4K",
    "nano-banana-2",
    "nano-banana-2-2K",
    "nano-banana-2-4K",
]
IMAGEN = ["imagen-4", "imagen-4-fast", "imagen-4-ultra"]
FLUX_T2I = ["flux-2", "flux-2-1K", "flux-2-2K"]
FLUX_EDIT = ["flux-2-edit", "flux-2-edit-1K", "flux-2-edit-2K"]
GPT_15 = ["gpt-1.5-image-medium", "gpt-1.5-image-high"]

VIDEO_IDS = [
    *SEEDANCE_2,
    "seedance-1-5-pro",
    *SEEDANCE_15_GRID,
    *GEMINI,
    "kling-2-5-image-to-video-pro",
    "kling-2-6-text-to-video",
    "kling-2-6-image-to-video",
    *KLING_3,
    *MOTION_CONTROL,
    "wan-2-5",
    *WAN_27,
    "grok-image-to-video",
    "grok-text-to-video-6s",
    *GROK_15,
    *VEO,
    *SORA,
    "sora-2-pro-storyboard",
    "v1-pro-fast-i2v",
    "p-video-1080p",
]
IMAGE_IDS = [
    "grok-text-to-image",
    "nano-banana",
    "nano-banana-edit",
    *NANO_HI,
    *IMAGEN,
    *FLUX_T2I,
    *FLUX_EDIT,
    *GPT_15,
    "gpt-image-2",
    "seedream-v4",
    "seedream-v4-edit",
    "seedream-v4-5",
    "seedream-v4-5-edit",
    "5-lite-text-to-image",
    "5-lite-image-to-image",
    "p-image-edit",
    "Z-image",
]

# --- generation types -----------------------------------------------------------------------------

GENERATION_TYPES: dict[str, set[str]] = {
    **each(SEEDANCE_2_PLAIN, {T2V, I2V}),
    # A reference video is a text-to-video reference (000 §Seedance 2: videos are refused in i2v).
    **each(SEEDANCE_2_REF, {T2V}),
    "seedance-1-5-pro": {T2V, I2V},
    **each(GEMINI_DURATION, {T2V, I2V}),
    "kling-2-5-image-to-video-pro": {I2V},
    "kling-2-6-text-to-video": {T2V},
    "kling-2-6-image-to-video": {I2V},
    **each(KLING_3, {T2V, I2V}),
    **each(MOTION_CONTROL, {I2V}),
    "wan-2-5": {T2V, I2V},
    **each(WAN_27, {T2V, I2V}),
    "grok-image-to-video": {I2V},
    "grok-text-to-video-6s": {T2V},
    **each(GROK_15, {I2V}),
    **each(VEO, {T2V, I2V}),
    **each([*SORA, "sora-2-pro-storyboard"], {T2V, I2V}),
    "v1-pro-fast-i2v": {I2V},
    "grok-text-to-image": {T2I},
    "nano-banana": {T2I, I2I},
    "nano-banana-edit": {I2I},
    **each(NANO_HI, {T2I, I2I}),
    **each(IMAGEN, {T2I}),
    **each(FLUX_T2I, {T2I}),
    **each(FLUX_EDIT, {I2I}),
    **each(GPT_15, {T2I, I2I}),
    "gpt-image-2": {T2I, I2I},
    "seedream-v4-edit": {I2I},
    "seedream-v4-5": {T2I, I2I},
    "seedream-v4-5-edit": {I2I},
    "5-lite-text-to-image": {T2I, I2I},
    "5-lite-image-to-image": {I2I},
    "p-image-edit": {I2I},
    "Z-image": {T2I},
}

# --- prompt limits (000 §Prompt character limits; 002 where 000 is silent) ------------------------

PROMPT_MAX: dict[str, int] = {
    "wan-2-5": 800,
    **each(WAN_27, 5000),
    "kling-2-6-text-to-video": 2500,
    "kling-2-6-image-to-video": 2500,
    **each(SEEDANCE_2, 2500),
    **each(KLING_3, 2500),
    "kling-2-5-image-to-video-pro": 2500,
    **each(MOTION_CONTROL, 2500),  # 002
    "seedream-v4": 2500,
    "seedream-v4-edit": 2500,
    "seedream-v4-5": 3000,
    "seedream-v4-5-edit": 3000,
    "5-lite-text-to-image": 2995,
    "5-lite-image-to-image": 2995,
    **each(GPT_15, 3000),
    "nano-banana": 5000,
    "nano-banana-edit": 5000,  # 002
    **each(IMAGEN, 5000),
    **each([*FLUX_T2I, *FLUX_EDIT], 5000),
    **each(VEO, 5000),
    "v1-pro-fast-i2v": 5000,
    "grok-text-to-image": 5000,
    "grok-image-to-video": 5000,
    "grok-text-to-video-6s": 5000,
    "p-image-edit": 5000,
    **each(NANO_HI, 20000),
    **each([*SORA, "sora-2-pro-storyboard"], 5000),  # 001 / 002
    "seedance-1-5-pro": 5000,  # 002
    "Z-image": 5000,  # 002
}

# --- negative prompt (000 §negative_prompt: "All other models ignore negative_prompt") ------------

NEGATIVE_SUPPORTED = {*IMAGEN, "wan-2-5", *WAN_27, "kling-2-5-image-to-video-pro"}

# --- inputs: generation type -> (images min, images max, videos min, videos max, audios max) -----

Limits = tuple[int, int, int, int, int]
NONE: Limits = (0, 0, 0, 0, 0)

INPUTS: dict[str, dict[str, Limits]] = {
    **each(SEEDANCE_2_PLAIN, {T2V: (0, 9, 0, 0, 3), I2V: (1, 2, 0, 0, 3)}),
    **each(SEEDANCE_2_REF, {T2V: (0, 9, 1, 3, 3)}),
    "seedance-1-5-pro": {T2V: (0, 1, 0, 0, 0), I2V: (2, 2, 0, 0, 0)},
    **each(GEMINI_DURATION, {T2V: (0, 7, 0, 0, 0), I2V: (1, 7, 0, 0, 0)}),
    **each(GEMINI_REF, {T2V: (0, 5, 1, 1, 0)}),
    "kling-2-5-image-to-video-pro": {I2V: (2, 2, 0, 0, 0)},
    "kling-2-6-text-to-video": {T2V: NONE},
    "kling-2-6-image-to-video": {I2V: (1, 1, 0, 0, 0)},
    **each(KLING_3, {T2V: NONE, I2V: (1, 2, 0, 0, 0)}),
    **each(MOTION_CONTROL, {I2V: (1, 1, 1, 1, 0)}),
    "wan-2-5": {T2V: NONE, I2V: (1, 1, 0, 0, 0)},
    **each(WAN_27, {T2V: NONE, I2V: (1, 1, 0, 0, 0)}),
    "grok-image-to-video": {I2V: (1, 1, 0, 0, 0)},
    "grok-text-to-video-6s": {T2V: NONE},
    **each(GROK_15, {I2V: (1, 1, 0, 0, 0)}),
    **each(VEO, {T2V: (0, 1, 0, 0, 0), I2V: (1, 3, 0, 0, 0)}),
    **each(SORA, {T2V: NONE, I2V: (1, 1, 0, 0, 0)}),
    "sora-2-pro-storyboard": {T2V: (0, 1, 0, 0, 0), I2V: (1, 1, 0, 0, 0)},
    "v1-pro-fast-i2v": {I2V: (1, 1, 0, 0, 0)},
    "grok-text-to-image": {T2I: NONE},
    "nano-banana": {T2I: NONE, I2I: (1, 10, 0, 0, 0)},
    "nano-banana-edit": {I2I: (1, 10, 0, 0, 0)},
    **each(NANO_HI, {T2I: NONE, I2I: (1, 8, 0, 0, 0)}),
    **each(IMAGEN, {T2I: NONE}),
    **each(FLUX_T2I, {T2I: NONE}),
    **each(FLUX_EDIT, {I2I: (1, 8, 0, 0, 0)}),
    **each(GPT_15, {T2I: NONE, I2I: (1, 16, 0, 0, 0)}),
    "seedream-v4-edit": {I2I: (1, 10, 0, 0, 0)},
    "seedream-v4-5": {T2I: NONE, I2I: (1, 10, 0, 0, 0)},
    "seedream-v4-5-edit": {I2I: (1, 10, 0, 0, 0)},
    "5-lite-text-to-image": {T2I: NONE, I2I: (1, 10, 0, 0, 0)},
    "5-lite-image-to-image": {I2I: (1, 10, 0, 0, 0)},
    "p-image-edit": {I2I: (1, 8, 0, 0, 0)},
    "Z-image": {T2I: NONE},
}

# --- durations (000 §duration; 001 for Sora 2) ---------------------------------------------------

OPTIONS: dict[str, list[int]] = {
    "kling-2-6-text-to-video": [5, 10],
    "kling-2-6-image-to-video": [5, 10],
    "wan-2-5": [5, 10],
    "v1-pro-fast-i2v": [5, 10],
    "seedance-1-5-pro": [4, 8, 12],
    "sora-2": [10, 15],
    "sora-2-pro": [10, 15],
    "sora-2-pro-storyboard": [10, 15, 25],
}
RANGES: dict[str, tuple[int, int]] = {
    **each(SEEDANCE_2, (4, 15)),
    **each(WAN_27, (2, 15)),
    **each(GROK_15, (2, 15)),
    **each(KLING_3, (3, 15)),
}
#: Duration not set by the parameter: the value the model renders, or None when undocumented.
NOT_CONFIGURABLE: dict[str, int | None] = {
    "grok-text-to-video-6s": 6,
    "grok-image-to-video": None,
    "kling-2-5-image-to-video-pro": None,
    **each(VEO, None),
    **GEMINI_DURATION,
    **each(GEMINI_REF, None),
}

# --- video audio (000 §Video audio; 001 for Sora) ------------------------------------------------

VIDEO_AUDIO: dict[str, str] = {
    **each([*VEO, "wan-2-5", *WAN_27, "kling-2-5-image-to-video-pro"], "included"),
    **each(["grok-image-to-video", "grok-text-to-video-6s", *GROK_15], "included"),
    **each([*MOTION_CONTROL, *GEMINI, *SORA, "sora-2-pro-storyboard"], "included"),
    **each(["kling-2-6-text-to-video", "kling-2-6-image-to-video"], "toggle_via_sound_param"),
    **each([*KLING_3, "seedance-1-5-pro"], "toggle_via_sound_param"),
    "v1-pro-fast-i2v": "silent",
}

# The 30 prebuilt Gemini voices (000: "all 30 voices"; e.g. kore, puck, achernar, zephyr).
GEMINI_VOICES = [
    "zephyr", "puck", "charon", "kore", "fenrir", "leda", "orus", "aoede", "callirrhoe",
    "autonoe", "enceladus", "iapetus", "umbriel", "algieba", "despina", "erinome", "algenib",
    "rasalgethi", "laomedeia", "achernar", "alnilam", "schedar", "gacrux", "pulcherrima",
    "achird", "zubenelgenubi", "vindemiatrix", "sadachbia", "sadaltager", "sulafat",
]  # fmt: skip

SEEDANCE_2_FAST_EXAMPLE = {
    "error": "variant_required",
    "family": "seedance-2-fast",
    "available_variants": [
        "seedance-2-fast-480p",
        "seedance-2-fast-720p",
        "seedance-2-fast-480p-video-ref",
        "seedance-2-fast-720p-video-ref",
    ],
    "hint": "Ask the user which variant they want — resolution, draft vs standard, or with/without "
    "reference video. Pull pricing from get_models.",
}

#: Family label -> the variants the seeds document (exact set).
FAMILIES: dict[str, set[str]] = {
    "seedance-2-fast": set(SEEDANCE_2_FAST_EXAMPLE["available_variants"]),
    "seedance-2": {
        "seedance-2-480p",
        "seedance-2-720p",
        "seedance-2-1080p",
        "seedance-2-480p-video-ref",
        "seedance-2-720p-video-ref",
        "seedance-2-1080p-video-ref",
    },
    "gemini-omni-video": set(GEMINI),
    "kling-3-0-motion-control": {"kling-3-0-motion-control-720p", "kling-3-0-motion-control-1080p"},
    "kling-2-6-motion-control": {"kling-2-6-motion-control-720p", "kling-2-6-motion-control-1080p"},
}


def _limits(entry: ModelEntry, gt: str) -> Limits:
    rule = entry.inputs[gt]  # type: ignore[index]  # gt is a plain str here
    return (rule.images.min, rule.images.max, rule.videos.min, rule.videos.max, rule.audios.max)


# --- existence and media type ---------------------------------------------------------------------


@pytest.mark.parametrize("model_id", VIDEO_IDS)
def test_seed_video_model_exists(catalog: Catalog, model_id: str) -> None:
    entry = catalog.resolve(model_id)
    assert entry.id == model_id
    assert entry.media_type == "video"


@pytest.mark.parametrize("model_id", IMAGE_IDS)
def test_seed_image_model_exists(catalog: Catalog, model_id: str) -> None:
    entry = catalog.resolve(model_id)
    assert entry.id == model_id
    assert entry.media_type == "image"
    assert entry.duration is None
    assert entry.video_audio is None
    assert entry.supports_sound is False


def test_gemini_omni_ships_fifteen_variants(catalog: Catalog) -> None:
    ids = {m for m in catalog.models if m.startswith("gemini-omni-video")}
    assert ids == set(GEMINI)
    assert len(ids) == 15


def test_seedance_1_5_pro_variant_ids_named_by_002_exist(catalog: Catalog) -> None:
    for model_id in ("seedance-1-5-pro-720p-8s", "seedance-1-5-pro-1080p-12s-audio"):
        assert catalog.resolve(model_id).id == model_id


# --- generation types -----------------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "types"), sorted(GENERATION_TYPES.items()))
def test_generation_types_match_seeds(catalog: Catalog, model_id: str, types: set[str]) -> None:
    entry = catalog.resolve(model_id)
    assert set(entry.generation_types) == types
    assert entry.default_generation_type in types


@pytest.mark.parametrize("model_id", SEEDANCE_15_GRID)
def test_seedance_1_5_pro_variants_keep_both_modes(catalog: Catalog, model_id: str) -> None:
    assert set(catalog.resolve(model_id).generation_types) == {T2V, I2V}


# --- prompt limits --------------------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "limit"), sorted(PROMPT_MAX.items()))
def test_prompt_max_matches_seeds(catalog: Catalog, model_id: str, limit: int) -> None:
    assert catalog.resolve(model_id).prompt_max == limit


# --- negative prompt ------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", sorted({*VIDEO_IDS, *IMAGE_IDS}))
def test_negative_prompt_support_matches_seeds(catalog: Catalog, model_id: str) -> None:
    assert catalog.resolve(model_id).negative_prompt is (model_id in NEGATIVE_SUPPORTED)


@pytest.mark.parametrize("model_id", WAN_27)
def test_wan_2_7_negative_prompt_is_capped_at_500(catalog: Catalog, model_id: str) -> None:
    assert catalog.resolve(model_id).negative_prompt_max == 500


# --- inputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "gt", "limits"),
    [
        pytest.param(model_id, gt, limits, id=f"{model_id}-{gt}")
        for model_id, rules in sorted(INPUTS.items())
        for gt, limits in rules.items()
    ],
)
def test_input_counts_per_mode_match_seeds(
    catalog: Catalog, model_id: str, gt: str, limits: Limits
) -> None:
    assert _limits(catalog.resolve(model_id), gt) == limits


@pytest.mark.parametrize("model_id", GEMINI)
def test_gemini_omni_has_seven_reference_slots_and_video_costs_two(
    catalog: Catalog, model_id: str
) -> None:
    entry = catalog.resolve(model_id)
    for rule in entry.inputs.values():
        assert rule.reference_slots == 7
        if rule.videos.max:
            assert rule.video_slot_cost == 2
    assert entry.character_slots is True
    assert entry.voices == "gemini"


@pytest.mark.parametrize("model_id", MOTION_CONTROL)
def test_motion_control_wants_image_then_video(catalog: Catalog, model_id: str) -> None:
    rule = catalog.resolve(model_id).inputs[I2V]
    assert rule.order == ["image", "video"]
    assert rule.max_video_s == 30


@pytest.mark.parametrize("model_id", KLING_3)
def test_kling_3_frames_are_png_or_jpg(catalog: Catalog, model_id: str) -> None:
    formats = catalog.resolve(model_id).inputs[I2V].image_formats
    assert formats is not None
    assert set(formats) == {"png", "jpg", "jpeg"}


@pytest.mark.parametrize("model_id", SEEDANCE_2_PLAIN)
def test_seedance_2_image_to_video_refuses_reference_videos(
    catalog: Catalog, model_id: str
) -> None:
    entry = catalog.resolve(model_id)
    assert entry.inputs[I2V].video_reference_not_allowed is True
    assert entry.video_ref_variant == f"{model_id}-video-ref"


@pytest.mark.parametrize("model_id", GEMINI_DURATION)
def test_gemini_duration_variant_points_at_its_video_ref_sibling(
    catalog: Catalog, model_id: str
) -> None:
    resolution = model_id.split("-")[3]
    assert catalog.resolve(model_id).video_ref_variant == (
        f"gemini-omni-video-{resolution}-video-ref"
    )


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "options"), sorted(OPTIONS.items()))
def test_duration_options_match_seeds(catalog: Catalog, model_id: str, options: list[int]) -> None:
    spec = catalog.resolve(model_id).duration
    assert spec is not None
    assert spec.kind == "options"
    assert sorted(spec.allowed()) == options
    assert spec.default in options


@pytest.mark.parametrize(("model_id", "bounds"), sorted(RANGES.items()))
def test_duration_ranges_match_seeds(
    catalog: Catalog, model_id: str, bounds: tuple[int, int]
) -> None:
    spec = catalog.resolve(model_id).duration
    assert spec is not None
    assert spec.kind == "range"
    assert (spec.min, spec.max) == bounds
    assert bounds[0] <= spec.default <= bounds[1]


@pytest.mark.parametrize(("model_id", "seconds"), sorted(NOT_CONFIGURABLE.items()))
def test_duration_not_configurable_where_seeds_say_so(
    catalog: Catalog, model_id: str, seconds: int | None
) -> None:
    spec = catalog.resolve(model_id).duration
    assert spec is not None
    assert not spec.configurable
    if seconds is not None:
        assert spec.default == seconds


@pytest.mark.parametrize("model_id", GEMINI_REF)
def test_gemini_video_ref_duration_follows_the_clip_up_to_10s(
    catalog: Catalog, model_id: str
) -> None:
    spec = catalog.resolve(model_id).duration
    assert spec is not None
    assert spec.kind == "from_source"
    assert spec.max == 10


@pytest.mark.parametrize("model_id", SEEDANCE_15_GRID)
def test_seedance_1_5_pro_variant_duration_is_encoded_in_the_id(
    catalog: Catalog, model_id: str
) -> None:
    spec = catalog.resolve(model_id).duration
    assert spec is not None
    assert not spec.configurable
    assert f"-{spec.default}s" in model_id


# --- sound ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "video_audio"), sorted(VIDEO_AUDIO.items()))
def test_video_audio_semantics_match_seeds(
    catalog: Catalog, model_id: str, video_audio: str
) -> None:
    entry = catalog.resolve(model_id)
    assert entry.video_audio == video_audio
    assert entry.supports_sound is (video_audio == "toggle_via_sound_param")


@pytest.mark.parametrize("model_id", SEEDANCE_2)
def test_seedance_2_audio_is_generate_audio_defaulting_true(
    catalog: Catalog, model_id: str
) -> None:
    entry = catalog.resolve(model_id)
    # 000: "Seedance 2 also exposes a sound toggle (via its own generate_audio flag, default
    # true)"; the toggle list of supports_sound names only Kling 2.6, Kling 3.0, Seedance 1.5 Pro.
    assert entry.supports_sound is False
    param = entry.param("generate_audio")
    assert param is not None
    assert param.default is True


@pytest.mark.parametrize("model_id", SEEDANCE_15_GRID)
def test_seedance_1_5_pro_audio_variants_include_audio(catalog: Catalog, model_id: str) -> None:
    entry = catalog.resolve(model_id)
    assert entry.video_audio == ("included" if model_id.endswith("-audio") else "silent")


# --- voices ---------------------------------------------------------------------------------------


def test_gemini_voice_catalog_lists_the_thirty_prebuilt_voices(catalog: Catalog) -> None:
    assert sorted(catalog.voices("gemini")) == sorted(GEMINI_VOICES)


@pytest.mark.parametrize("model_id", GEMINI)
def test_gemini_variants_take_voice_id_and_character_ids(catalog: Catalog, model_id: str) -> None:
    entry = catalog.resolve(model_id)
    assert entry.param("voice_id") is not None
    assert entry.param("character_ids") is not None


@pytest.mark.parametrize("model_id", GEMINI_REF)
def test_gemini_video_ref_variants_take_a_trim_window(catalog: Catalog, model_id: str) -> None:
    entry = catalog.resolve(model_id)
    start = entry.param("video_trim_start_s")
    assert start is not None
    assert start.default == 0
    assert entry.param("video_trim_end_s") is not None


# --- options per model ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "allowed", "default"),
    [
        *[(m, {"1:1", "4:3", "3:4", "16:9", "9:16", "21:9", "adaptive"}, None) for m in SEEDANCE_2],
        *[(m, {"16:9", "9:16"}, None) for m in GEMINI],
        *[
            (m, {"auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"}, "auto")
            for m in GROK_15
        ],
        ("p-image-edit", {"auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"}, "auto"),
        *[
            (m, {"1:1", "16:9", "9:16", "3:4", "4:3", "3:2", "2:3", "5:4", "4:5", "21:9"}, None)
            for m in NANO_HI
        ],
    ],
)
def test_aspect_ratio_lists_match_seeds(
    catalog: Catalog, model_id: str, allowed: set[str], default: str | None
) -> None:
    spec = catalog.resolve(model_id).aspect_ratio
    assert set(spec.allowed) == allowed
    if default is not None:
        assert spec.default == default


def test_gpt_image_2_tiers_cost_11_15_21_and_high_tiers_need_directional_aspect(
    catalog: Catalog,
) -> None:
    spec = catalog.resolve("gpt-image-2").resolution
    assert spec is not None
    assert spec.default == "1K"
    directional = {"9:16", "16:9", "4:3", "3:4"}
    tiers = {t.id: t for t in spec.tiers}
    assert {k: t.credits for k, t in tiers.items()} == {"1K": 11, "2K": 15, "4K": 21}
    assert tiers["1K"].requires_aspect_in is None
    assert set(tiers["2K"].requires_aspect_in or ()) == directional
    assert set(tiers["4K"].requires_aspect_in or ()) == directional


@pytest.mark.parametrize(
    ("model_id", "tiers"),
    [
        ("gpt-image-2", ["1K", "2K", "4K"]),
        ("nano-banana-2", ["1K", "2K", "4K"]),
        ("nano-banana-pro", ["1K", "2K", "4K"]),
        ("flux-2", ["1K", "2K"]),
        ("flux-2-edit", ["1K", "2K"]),
    ],
)
def test_resolution_tiers_match_seeds(catalog: Catalog, model_id: str, tiers: list[str]) -> None:
    spec = catalog.resolve(model_id).resolution
    assert spec is not None
    assert not spec.fixed
    assert [t.id for t in spec.tiers] == tiers
    assert spec.default == "1K"


@pytest.mark.parametrize(
    ("model_id", "tier"),
    [
        ("nano-banana-pro-2K", "2K"),
        ("nano-banana-pro-4K", "4K"),
        ("nano-banana-2-2K", "2K"),
        ("nano-banana-2-4K", "4K"),
        ("flux-2-1K", "1K"),
        ("flux-2-2K", "2K"),
        ("flux-2-edit-1K", "1K"),
        ("flux-2-edit-2K", "2K"),
    ],
)
def test_tier_in_the_id_is_fixed(catalog: Catalog, model_id: str, tier: str) -> None:
    spec = catalog.resolve(model_id).resolution
    assert spec is not None
    assert spec.fixed
    assert spec.default == tier


@pytest.mark.parametrize(
    ("model_id", "values", "default"),
    [
        ("imagen-4", {"standard", "fast", "ultra"}, "standard"),
        ("seedream-v4", {"1K", "2K", "4K"}, "1K"),
        ("seedream-v4-edit", {"1K", "2K", "4K"}, "1K"),
        ("seedream-v4-5", {"basic", "high"}, "basic"),
        ("seedream-v4-5-edit", {"basic", "high"}, "basic"),
        ("5-lite-text-to-image", {"basic", "high"}, "basic"),
        ("5-lite-image-to-image", {"basic", "high"}, "basic"),
        ("gpt-1.5-image-medium", {"medium", "high"}, "medium"),
        ("gpt-1.5-image-high", {"medium", "high"}, "high"),
        ("sora-2-pro", {"standard", "pro", "high", "hd"}, "standard"),
    ],
)
def test_quality_values_match_seeds(
    catalog: Catalog, model_id: str, values: set[str], default: str
) -> None:
    spec = catalog.resolve(model_id).quality
    assert spec is not None
    assert set(spec.values) == values
    assert spec.default == default


@pytest.mark.parametrize(
    "model_id",
    ["nano-banana", *NANO_HI, "gpt-image-2", *FLUX_T2I, *VEO, *KLING_3, "sora-2", "Z-image"],
)
def test_models_without_a_quality_setting_have_none(catalog: Catalog, model_id: str) -> None:
    assert catalog.resolve(model_id).quality is None


@pytest.mark.parametrize(
    ("model_id", "param", "default"),
    [
        ("p-image-edit", "turbo", True),
        ("p-image-edit", "disable_safety_checker", True),
        *[(m, "generate_audio", True) for m in SEEDANCE_2],
        *[(m, "kling_elements", None) for m in KLING_3],
        *[(m, "last_frame_url", None) for m in WAN_27],
    ],
)
def test_model_specific_parameters_and_defaults(
    catalog: Catalog, model_id: str, param: str, default: Any
) -> None:
    spec = catalog.resolve(model_id).param(param)
    assert spec is not None
    assert spec.default == default


# --- families -------------------------------------------------------------------------------------


def test_seedance_2_fast_family_matches_the_seed_example_exactly(catalog: Catalog) -> None:
    with pytest.raises(MediagateError) as info:
        catalog.resolve("seedance-2-fast")
    payload = info.value.payload
    assert {k: payload[k] for k in SEEDANCE_2_FAST_EXAMPLE} == SEEDANCE_2_FAST_EXAMPLE


@pytest.mark.parametrize(("family", "variants"), sorted(FAMILIES.items()))
def test_family_label_returns_variant_required(
    catalog: Catalog, family: str, variants: set[str]
) -> None:
    with pytest.raises(MediagateError) as info:
        validate_generate({"model": family, "prompt": "a cat"}, catalog)
    err = info.value
    assert err.code == "variant_required"
    assert err.payload["family"] == family
    listed = err.payload["available_variants"]
    assert len(listed) == len(set(listed))
    assert set(listed) == variants
    assert isinstance(err.payload["hint"], str)
    assert err.payload["hint"].strip()
    assert err.payload["message"]


def test_p_video_family_offers_the_seed_named_1080p_variant(catalog: Catalog) -> None:
    with pytest.raises(MediagateError) as info:
        catalog.resolve("p-video")
    err = info.value
    assert err.code == "variant_required"
    assert "p-video-1080p" in err.payload["available_variants"]
    assert all(v.startswith("p-video-") for v in err.payload["available_variants"])
    assert err.payload["hint"]


def test_every_seed_family_label_is_a_family_not_a_model(catalog: Catalog) -> None:
    seed_families = {*FAMILIES, "p-video"}
    assert seed_families <= set(catalog.families)
    assert not seed_families & set(catalog.models)


@pytest.mark.parametrize("family", ["wan-2-7", "grok-imagine-video-1-5-preview"])
def test_resolution_encoded_labels_also_ask_for_a_variant(catalog: Catalog, family: str) -> None:
    # Not seed families: the data's own choice (families.toml), answered the same way.
    with pytest.raises(MediagateError) as info:
        catalog.resolve(family)
    assert info.value.code == "variant_required"
    assert info.value.payload["hint"]


def test_every_family_variant_is_a_model_of_that_family(catalog: Catalog) -> None:
    for family in catalog.families.values():
        for variant in family.variants:
            assert catalog.models[variant].family == family.id


def test_family_label_matches_case_insensitively(catalog: Catalog) -> None:
    with pytest.raises(MediagateError) as info:
        catalog.resolve("Seedance-2-Fast")
    assert info.value.code == "variant_required"
    assert info.value.payload["family"] == "seedance-2-fast"
