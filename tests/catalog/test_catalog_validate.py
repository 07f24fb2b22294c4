"""``validate_generate`` model by model: one case per seed rule, accepted and rejected side.

Seeds: 000 (newest, wins), 001 (Sora 2), 002 (REST per-model table); error codes from GUIDE §3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from mediagate.catalog import GenerationRequest, validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.errors import MediagateError

Accept = Callable[..., GenerationRequest]
Reject = Callable[..., MediagateError]

T2I, I2I, T2V, I2V = "text-to-image", "image-to-image", "text-to-video", "image-to-video"


def imgs(n: int, ext: str = "jpg") -> list[str]:
    return [f"https://cdn.example.com/in/image-{i}.{ext}" for i in range(n)]


def vids(n: int, ext: str = "mp4") -> list[str]:
    return [f"https://cdn.example.com/in/clip-{i}.{ext}" for i in range(n)]


def auds(n: int, ext: str = "mp3") -> list[str]:
    return [f"https://cdn.example.com/in/voice-{i}.{ext}" for i in range(n)]


def chars(n: int) -> list[str]:
    return [f"char_{i:04d}" for i in range(n)]


def warned(request: GenerationRequest, word: str) -> bool:
    return any(word in w for w in request.warnings)


def details_match(err: MediagateError, details: dict[str, Any]) -> None:
    for key, value in details.items():
        assert err.payload.get(key) == value, (key, err.payload)


SEEDANCE_2_PLAIN = [
    "seedance-2-480p",
    "seedance-2-720p",
    "seedance-2-1080p",
    "seedance-2-fast-480p",
    "seedance-2-fast-720p",
]
SEEDANCE_2_REF = [f"{m}-video-ref" for m in SEEDANCE_2_PLAIN]
GEMINI_DURATION = [
    f"gemini-omni-video-{r}-{s}s" for r in ("720p", "1080p", "4k") for s in (4, 6, 8, 10)
]
GEMINI_REF = [f"gemini-omni-video-{r}-video-ref" for r in ("720p", "1080p", "4k")]
GEMINI = GEMINI_DURATION + GEMINI_REF
MOTION = [f"kling-{v}-motion-control-{r}" for v in ("2-6", "3-0") for r in ("720p", "1080p")]
KLING_3 = ["kling-3-0-std", "kling-3-0-pro"]
WAN_27 = ["wan-2-7-720p", "wan-2-7-1080p"]
GROK_15 = ["grok-imagine-video-1-5-preview-480p", "grok-imagine-video-1-5-preview-720p"]
VEO = ["veo3-1", "veo3-1-fast"]
NANO_HI = [
    "nano-banana-pro",
    "nano-banana-pro-2K",
    "nano-banana-pro-4K",
    "nano-banana-2",
    "nano-banana-2-2K",
    "nano-banana-2-4K",
]
IMAGEN = ["imagen-4", "imagen-4-fast", "imagen-4-ultra"]
FLUX_EDIT = ["flux-2-edit", "flux-2-edit-1K", "flux-2-edit-2K"]
T2I_ONLY = [
    "flux-2",
    "flux-2-1K",
    "flux-2-2K",
    *IMAGEN,
    "Z-image",
    "grok-text-to-image",
    "seedream-v4",
]

#: Arguments that make an otherwise empty call valid (models that require input files).
MINIMAL: dict[str, dict[str, Any]] = {
    **{m: {"source_media_urls": imgs(1)} for m in ["kling-2-6-image-to-video", *GROK_15]},
    **{m: {"source_media_urls": imgs(1)} for m in ["grok-image-to-video", "v1-pro-fast-i2v"]},
    "kling-2-5-image-to-video-pro": {"source_media_urls": imgs(2)},
    **{m: {"source_media_urls": imgs(1) + vids(1)} for m in MOTION},
    **{m: {"source_media_urls": vids(1)} for m in SEEDANCE_2_REF + GEMINI_REF},
    **{
        m: {"source_media_urls": imgs(1)}
        for m in [
            "nano-banana-edit",
            *FLUX_EDIT,
            "seedream-v4-edit",
            "seedream-v4-5-edit",
            "5-lite-image-to-image",
            "p-image-edit",
        ]
    },
}


def minimal(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, **MINIMAL.get(model, {}), **extra}


# === prompt limits (000 §Prompt character limits; 002 where 000 is silent) ========================

PROMPT_LIMITS: list[tuple[str, int]] = [
    ("wan-2-5", 800),
    *[(m, 5000) for m in WAN_27],
    ("kling-2-6-text-to-video", 2500),
    ("kling-2-6-image-to-video", 2500),
    *[(m, 2500) for m in SEEDANCE_2_PLAIN + SEEDANCE_2_REF],
    *[(m, 2500) for m in KLING_3],
    ("kling-2-5-image-to-video-pro", 2500),
    *[(m, 2500) for m in MOTION],
    ("seedream-v4", 2500),
    ("seedream-v4-edit", 2500),
    ("seedream-v4-5", 3000),
    ("seedream-v4-5-edit", 3000),
    ("5-lite-text-to-image", 2995),
    ("5-lite-image-to-image", 2995),
    ("gpt-1.5-image-medium", 3000),
    ("gpt-1.5-image-high", 3000),
    ("nano-banana", 5000),
    ("nano-banana-edit", 5000),
    *[(m, 5000) for m in IMAGEN],
    *[(m, 5000) for m in ["flux-2", "flux-2-1K", "flux-2-2K", *FLUX_EDIT]],
    *[(m, 5000) for m in VEO],
    ("v1-pro-fast-i2v", 5000),
    ("grok-text-to-image", 5000),
    ("grok-image-to-video", 5000),
    ("grok-text-to-video-6s", 5000),
    ("p-image-edit", 5000),
    *[(m, 20000) for m in NANO_HI],
    ("sora-2", 5000),
    ("sora-2-pro", 5000),
    ("sora-2-pro-storyboard", 5000),
    ("seedance-1-5-pro", 5000),
    ("Z-image", 5000),
]


@pytest.mark.parametrize(("model", "limit"), PROMPT_LIMITS)
def test_prompt_exactly_at_the_limit_is_accepted(accept: Accept, model: str, limit: int) -> None:
    request = accept(minimal(model, prompt="p" * limit))
    assert len(request.prompt) == limit


@pytest.mark.parametrize(("model", "limit"), PROMPT_LIMITS)
def test_prompt_one_over_the_limit_is_prompt_too_long(
    reject: Reject, model: str, limit: int
) -> None:
    err = reject(minimal(model, prompt="p" * (limit + 1)), "prompt_too_long")
    details_match(err, {"max": limit, "got": limit + 1})


@pytest.mark.parametrize("prompt", ["", "   "], ids=["empty", "blank"])
def test_empty_prompt_is_invalid_arguments(reject: Reject, prompt: str) -> None:
    err = reject({"model": "nano-banana", "prompt": prompt}, "invalid_arguments")
    assert err.payload["field"] == "prompt"


def test_missing_prompt_is_invalid_arguments(catalog: Catalog) -> None:
    with pytest.raises(MediagateError) as info:
        validate_generate({"model": "nano-banana"}, catalog)
    assert info.value.code == "invalid_arguments"
    assert info.value.payload["field"] == "prompt"


# === negative prompt (000 §negative_prompt) =======================================================

NEGATIVE_SUPPORTED = [
    *IMAGEN,
    "wan-2-5",
    *WAN_27,
    "kling-2-5-image-to-video-pro",
]
NEGATIVE_IGNORED = [
    "nano-banana",
    *NANO_HI,
    "flux-2",
    "gpt-image-2",
    "gpt-1.5-image-medium",
    "seedream-v4",
    "5-lite-text-to-image",
    "p-image-edit",
    "Z-image",
    "kling-2-6-text-to-video",
    "kling-2-6-image-to-video",
    *KLING_3,
    *MOTION,
    "seedance-2-720p",
    "seedance-2-fast-480p-video-ref",
    "seedance-1-5-pro",
    *GEMINI,
    *VEO,
    "sora-2",
    "grok-text-to-video-6s",
    *GROK_15,
    "v1-pro-fast-i2v",
]


@pytest.mark.parametrize("model", NEGATIVE_SUPPORTED)
def test_negative_prompt_is_kept_where_supported(accept: Accept, model: str) -> None:
    request = accept(minimal(model, negative_prompt="blurry, low quality"))
    assert request.negative_prompt == "blurry, low quality"
    assert not warned(request, "negative_prompt")


@pytest.mark.parametrize("model", ["wan-2-5", *WAN_27])
def test_wan_image_to_video_also_keeps_negative_prompt(accept: Accept, model: str) -> None:
    request = accept(
        {"model": model, "source_media_urls": imgs(1), "negative_prompt": "text, watermark"}
    )
    assert request.generation_type == I2V
    assert request.negative_prompt == "text, watermark"


@pytest.mark.parametrize("model", NEGATIVE_IGNORED)
def test_negative_prompt_is_dropped_with_a_warning_elsewhere(accept: Accept, model: str) -> None:
    request = accept(minimal(model, negative_prompt="blurry"))
    assert request.negative_prompt is None
    assert warned(request, "negative_prompt")


@pytest.mark.parametrize("model", WAN_27)
def test_wan_2_7_negative_prompt_of_500_is_accepted(accept: Accept, model: str) -> None:
    request = accept({"model": model, "negative_prompt": "n" * 500})
    assert request.negative_prompt == "n" * 500


@pytest.mark.parametrize("model", WAN_27)
def test_wan_2_7_negative_prompt_of_501_is_too_long(reject: Reject, model: str) -> None:
    err = reject({"model": model, "negative_prompt": "n" * 501}, "negative_prompt_too_long")
    details_match(err, {"max": 500, "got": 501})


def test_negative_prompt_must_be_a_string(reject: Reject) -> None:
    err = reject({"model": "imagen-4", "negative_prompt": 5}, "invalid_arguments")
    assert err.payload["field"] == "negative_prompt"


# === durations (000 §duration; 001 for Sora 2) ===================================================

FIVE_SECOND_MODELS = [
    "kling-2-6-text-to-video",
    "kling-2-6-image-to-video",
    "wan-2-5",
    *WAN_27,
    "v1-pro-fast-i2v",
    *KLING_3,
    "seedance-2-720p",
    "seedance-2-fast-480p",
    "seedance-2-1080p-video-ref",
    *GROK_15,
]


@pytest.mark.parametrize("spelling", ["5s", "5", 5, 5.0], ids=["5s", "str-5", "int-5", "float-5"])
@pytest.mark.parametrize("model", FIVE_SECOND_MODELS)
def test_duration_spellings_normalize_to_seconds(accept: Accept, model: str, spelling: Any) -> None:
    request = accept(minimal(model, duration=spelling))
    assert request.duration_s == 5
    assert isinstance(request.duration_s, int)
    assert not warned(request, "duration")


@pytest.mark.parametrize(
    ("model", "duration", "allowed"),
    [
        ("kling-2-6-text-to-video", 7, [5, 10]),
        ("kling-2-6-image-to-video", "7s", [5, 10]),
        ("wan-2-5", 7, [5, 10]),
        ("wan-2-5", "15s", [5, 10]),
        ("v1-pro-fast-i2v", "7", [5, 10]),
        ("seedance-1-5-pro", 5, [4, 8, 12]),
        ("seedance-1-5-pro", "10s", [4, 8, 12]),
        ("sora-2", 5, [10, 15]),
        ("sora-2-pro", "25s", [10, 15]),
        ("sora-2-pro-storyboard", 20, [10, 15, 25]),
    ],
)
def test_duration_outside_the_options_is_invalid_duration(
    reject: Reject, model: str, duration: Any, allowed: list[int]
) -> None:
    err = reject(minimal(model, duration=duration), "invalid_duration")
    assert err.payload["allowed"] == allowed
    assert err.payload["got"] == duration


@pytest.mark.parametrize(
    ("model", "duration"),
    [
        ("kling-2-6-text-to-video", "10s"),
        ("wan-2-5", 10),
        ("v1-pro-fast-i2v", "10"),
        ("seedance-1-5-pro", "4s"),
        ("seedance-1-5-pro", 8),
        ("seedance-1-5-pro", "12s"),
        ("sora-2", "10s"),
        ("sora-2", 15),
        ("sora-2-pro", "15s"),
        ("sora-2-pro-storyboard", "25s"),
    ],
)
def test_duration_from_the_options_is_accepted(accept: Accept, model: str, duration: Any) -> None:
    request = accept(minimal(model, duration=duration))
    assert request.duration_s == int(str(duration).rstrip("s"))


RANGE_MODELS: list[tuple[str, int, int]] = [
    *[(m, 4, 15) for m in SEEDANCE_2_PLAIN + SEEDANCE_2_REF],
    *[(m, 2, 15) for m in WAN_27],
    *[(m, 2, 15) for m in GROK_15],
    *[(m, 3, 15) for m in KLING_3],
]


@pytest.mark.parametrize(("model", "low", "high"), RANGE_MODELS)
def test_duration_range_is_inclusive_at_both_ends(
    accept: Accept, model: str, low: int, high: int
) -> None:
    assert accept(minimal(model, duration=low)).duration_s == low
    assert accept(minimal(model, duration=f"{high}s")).duration_s == high


@pytest.mark.parametrize(("model", "low", "high"), RANGE_MODELS)
def test_duration_just_outside_the_range_is_invalid_duration(
    reject: Reject, model: str, low: int, high: int
) -> None:
    for outside in (low - 1, high + 1):
        err = reject(minimal(model, duration=outside), "invalid_duration")
        details_match(err, {"min": low, "max": high, "got": outside})
        assert "allowed" in err.payload


@pytest.mark.parametrize("duration", [4, "7s", 9, "12", 14])
@pytest.mark.parametrize("model", KLING_3)
def test_kling_3_takes_any_whole_second_from_3_to_15(
    accept: Accept, model: str, duration: Any
) -> None:
    # 000 (newer, "3s–15s") over 002's duration_options column (3s, 5s, 8s, 10s, 15s).
    expected = int(str(duration).removesuffix("s"))
    assert accept({"model": model, "duration": duration}).duration_s == expected


@pytest.mark.parametrize(
    "duration", [5.5, "5.5s", "five", "-5", 0, -5], ids=["5.5", "5.5s", "five", "-5s", "0", "-5"]
)
def test_non_integer_or_unparseable_duration_is_invalid_duration(
    reject: Reject, duration: Any
) -> None:
    reject({"model": "kling-3-0-std", "duration": duration}, "invalid_duration")


@pytest.mark.parametrize(
    ("model", "seconds"),
    [
        ("grok-text-to-video-6s", 6),
        *[(m, int(m.rsplit("-", 1)[1].rstrip("s"))) for m in GEMINI_DURATION],
    ],
)
def test_fixed_duration_models_accept_another_duration_with_a_warning(
    accept: Accept, model: str, seconds: int
) -> None:
    other = 10 if seconds != 10 else 4
    request = accept(minimal(model, duration=f"{other}s"))
    assert request.duration_s == seconds
    assert warned(request, "duration")


@pytest.mark.parametrize(
    "model", ["grok-image-to-video", "kling-2-5-image-to-video-pro", *VEO, *GEMINI_REF]
)
def test_not_configurable_duration_is_accepted_with_a_warning(accept: Accept, model: str) -> None:
    request = accept(minimal(model, duration="7s"))
    assert request.duration_s is not None
    assert request.duration_s > 0
    assert warned(request, "duration")


@pytest.mark.parametrize("model", ["nano-banana", "gpt-image-2", "imagen-4", "p-image-edit"])
def test_image_models_ignore_duration_with_a_warning(accept: Accept, model: str) -> None:
    request = accept(minimal(model, duration="5s"))
    assert request.duration_s is None
    assert warned(request, "duration")


@pytest.mark.parametrize(
    ("model", "allowed"),
    [
        ("kling-2-6-text-to-video", {5, 10}),
        ("wan-2-5", {5, 10}),
        ("seedance-1-5-pro", {4, 8, 12}),
        ("sora-2", {10, 15}),
        ("seedance-2-720p", set(range(4, 16))),
        ("kling-3-0-pro", set(range(3, 16))),
        ("wan-2-7-1080p", set(range(2, 16))),
    ],
)
def test_omitted_duration_takes_an_allowed_default(
    accept: Accept, model: str, allowed: set[int]
) -> None:
    assert accept(minimal(model)).duration_s in allowed


def test_unicode_superscript_duration_is_invalid_duration(reject: Reject) -> None:
    reject({"model": "kling-3-0-std", "duration": "²"}, "invalid_duration")


def test_huge_integer_duration_is_invalid_duration(reject: Reject) -> None:
    reject({"model": "kling-3-0-std", "duration": 10**400}, "invalid_duration")


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_duration_error_is_strict_json(reject: Reject, value: float) -> None:
    err = reject({"model": "kling-3-0-std", "duration": value}, "invalid_duration")
    json.dumps(err.payload, allow_nan=False)


@pytest.mark.parametrize("value", [[5], {"s": 5}, True], ids=["array", "object", "boolean"])
def test_duration_of_the_wrong_type_is_invalid_arguments(reject: Reject, value: Any) -> None:
    err = reject({"model": "seedance-2-720p", "duration": value}, "invalid_arguments")
    assert err.payload["field"] == "duration"


# === input files =================================================================================

REJECT_INPUTS: list[Any] = [
    # exactly one image (000 §Input file limits)
    *[
        pytest.param(m, {}, "source_media_required", {}, id=f"{m}-none")
        for m in ["kling-2-6-image-to-video", "grok-image-to-video", "v1-pro-fast-i2v", *GROK_15]
    ],
    *[
        pytest.param(m, {"source_media_urls": imgs(2)}, "too_many_images", {"max": 1, "got": 2},
                     id=f"{m}-2-images")
        for m in ["kling-2-6-image-to-video", "grok-image-to-video", "v1-pro-fast-i2v", *GROK_15]
    ],
    *[
        pytest.param(m, {"generation_type": I2V, "source_media_urls": imgs(2)}, "too_many_images",
                     {"max": 1, "got": 2}, id=f"{m}-i2v-2-images")
        for m in ["wan-2-5", *WAN_27, "sora-2", "sora-2-pro", "sora-2-pro-storyboard"]
    ],
    *[
        pytest.param(m, {"generation_type": I2V}, "source_media_required", {}, id=f"{m}-i2v-none")
        for m in ["wan-2-5", *WAN_27, "sora-2", *VEO, *KLING_3]
    ],
    *[
        pytest.param(m, {"generation_type": T2V, "source_media_urls": imgs(1)},
                     "source_media_not_allowed", {}, id=f"{m}-t2v-image")
        for m in ["wan-2-5", *WAN_27, "sora-2", *KLING_3, "kling-2-6-text-to-video",
                  "grok-text-to-video-6s"]
    ],
    # Kling 2.5: start + end frame
    pytest.param("kling-2-5-image-to-video-pro", {}, "source_media_required", {}, id="k25-none"),
    pytest.param("kling-2-5-image-to-video-pro", {"source_media_urls": imgs(1)}, "too_few_images",
                 {"min": 2, "got": 1}, id="k25-1-image"),
    pytest.param("kling-2-5-image-to-video-pro", {"source_media_urls": imgs(3)}, "too_many_images",
                 {"max": 2, "got": 3}, id="k25-3-images"),
    # Seedance 1.5 Pro: two modes
    pytest.param("seedance-1-5-pro", {"generation_type": T2V, "source_media_urls": imgs(2)},
                 "too_many_images", {"max": 1, "got": 2}, id="s15-t2v-2-images"),
    pytest.param("seedance-1-5-pro", {"generation_type": I2V, "source_media_urls": imgs(1)},
                 "too_few_images", {"min": 2, "got": 1}, id="s15-i2v-1-image"),
    pytest.param("seedance-1-5-pro", {"generation_type": I2V, "source_media_urls": imgs(3)},
                 "too_many_images", {"max": 2, "got": 3}, id="s15-i2v-3-images"),
    pytest.param("seedance-1-5-pro", {"generation_type": I2V}, "source_media_required", {},
                 id="s15-i2v-none"),
    # Seedance 2 plain variants
    *[
        case
        for m in SEEDANCE_2_PLAIN
        for case in (
            pytest.param(m, {"generation_type": T2V, "source_media_urls": imgs(10)},
                         "too_many_images", {"max": 9, "got": 10}, id=f"{m}-t2v-10-images"),
            pytest.param(m, {"generation_type": T2V, "source_media_urls": auds(4)},
                         "too_many_audios", {"max": 3, "got": 4}, id=f"{m}-t2v-4-audios"),
            pytest.param(m, {"generation_type": T2V, "source_media_urls": vids(1)},
                         "variant_mismatch", {"available_variants": [f"{m}-video-ref"]},
                         id=f"{m}-t2v-video"),
            pytest.param(m, {"source_media_urls": vids(1)}, "variant_mismatch",
                         {"available_variants": [f"{m}-video-ref"]}, id=f"{m}-video-no-type"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": imgs(3)},
                         "too_many_images", {"max": 2, "got": 3}, id=f"{m}-i2v-3-images"),
            pytest.param(m, {"generation_type": I2V}, "source_media_required", {},
                         id=f"{m}-i2v-none"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": imgs(1) + vids(1)},
                         "video_reference_not_allowed", {}, id=f"{m}-i2v-video"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": imgs(1) + auds(4)},
                         "too_many_audios", {"max": 3, "got": 4}, id=f"{m}-i2v-4-audios"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": auds(1)},
                         "too_few_images", {"min": 1, "got": 0}, id=f"{m}-i2v-audio-only"),
        )
    ],
    # Seedance 2 video-ref variants
    *[
        case
        for m in SEEDANCE_2_REF
        for case in (
            pytest.param(m, {"source_media_urls": vids(4)}, "too_many_videos",
                         {"max": 3, "got": 4}, id=f"{m}-4-videos"),
            pytest.param(m, {"source_media_urls": imgs(1)}, "too_few_videos",
                         {"min": 1, "got": 0}, id=f"{m}-no-video"),
            pytest.param(m, {"source_media_urls": []}, "source_media_required", {},
                         id=f"{m}-none"),
            pytest.param(m, {"source_media_urls": vids(1) + imgs(10)}, "too_many_images",
                         {"max": 9, "got": 10}, id=f"{m}-10-images"),
            pytest.param(m, {"source_media_urls": vids(1) + auds(4)}, "too_many_audios",
                         {"max": 3, "got": 4}, id=f"{m}-4-audios"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": vids(1)},
                         "unsupported_generation_type", {}, id=f"{m}-i2v"),
        )
    ],
    # Gemini Omni duration variants: 7 slots, no video, no audio
    *[
        case
        for m in GEMINI_DURATION
        for case in (
            pytest.param(m, {"source_media_urls": imgs(8)}, "too_many_images",
                         {"max": 7, "got": 8}, id=f"{m}-8-images"),
            pytest.param(m, {"source_media_urls": imgs(7), "character_ids": chars(1)},
                         "too_many_references", {"max": 7, "got": 8}, id=f"{m}-7-images-1-char"),
            pytest.param(m, {"character_ids": chars(8)}, "too_many_references",
                         {"max": 7, "got": 8}, id=f"{m}-8-chars"),
            pytest.param(m, {"source_media_urls": vids(1)}, "variant_mismatch",
                         {"available_variants": [m.rsplit("-", 1)[0] + "-video-ref"]},
                         id=f"{m}-video"),
            pytest.param(m, {"source_media_urls": auds(1)}, "unsupported_audio_url", {},
                         id=f"{m}-audio"),
            pytest.param(m, {"source_media_urls": imgs(1) + auds(1, "wav")},
                         "unsupported_audio_url", {}, id=f"{m}-image-and-audio"),
        )
    ],
    # Gemini Omni video-ref variants: 1 clip (2 slots) + up to 5 images
    *[
        case
        for m in GEMINI_REF
        for case in (
            pytest.param(m, {"source_media_urls": vids(2)}, "too_many_videos",
                         {"max": 1, "got": 2}, id=f"{m}-2-videos"),
            pytest.param(m, {"source_media_urls": imgs(2)}, "too_few_videos",
                         {"min": 1, "got": 0}, id=f"{m}-no-video"),
            pytest.param(m, {"source_media_urls": vids(1) + imgs(5), "character_ids": chars(1)},
                         "too_many_references", {"max": 7, "got": 8}, id=f"{m}-5-images-1-char"),
            pytest.param(m, {"source_media_urls": vids(1), "character_ids": chars(6)},
                         "too_many_references", {"max": 7, "got": 8}, id=f"{m}-6-chars"),
            pytest.param(m, {"source_media_urls": vids(1) + auds(1)}, "unsupported_audio_url",
                         {}, id=f"{m}-audio"),
        )
    ],
    # Motion Control: 1 image + 1 video
    *[
        case
        for m in MOTION
        for case in (
            pytest.param(m, {}, "source_media_required", {}, id=f"{m}-none"),
            pytest.param(m, {"source_media_urls": imgs(1)}, "too_few_videos",
                         {"min": 1, "got": 0}, id=f"{m}-image-only"),
            pytest.param(m, {"source_media_urls": vids(1)}, "too_few_images",
                         {"min": 1, "got": 0}, id=f"{m}-video-only"),
            pytest.param(m, {"source_media_urls": imgs(2) + vids(1)}, "too_many_images",
                         {"max": 1, "got": 2}, id=f"{m}-2-images"),
            pytest.param(m, {"source_media_urls": imgs(1) + vids(2)}, "too_many_videos",
                         {"max": 1, "got": 2}, id=f"{m}-2-videos"),
            pytest.param(m, {"source_media_urls": imgs(1) + vids(1) + auds(1)},
                         "unsupported_audio_url", {}, id=f"{m}-audio"),
        )
    ],
    # Veo 3.1: text-to-video 0–1 reference, image-to-video 1–3
    *[
        case
        for m in VEO
        for case in (
            pytest.param(m, {"generation_type": T2V, "source_media_urls": imgs(2)},
                         "too_many_images", {"max": 1, "got": 2}, id=f"{m}-t2v-2-images"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": imgs(4)},
                         "too_many_images", {"max": 3, "got": 4}, id=f"{m}-i2v-4-images"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": vids(1)},
                         "unsupported_video_url", {}, id=f"{m}-video"),
        )
    ],
    # Kling 3.0: 1–2 PNG/JPG frames
    *[
        case
        for m in KLING_3
        for case in (
            pytest.param(m, {"source_media_urls": imgs(3, "png")}, "too_many_images",
                         {"max": 2, "got": 3}, id=f"{m}-3-images"),
            pytest.param(m, {"source_media_urls": imgs(1, "webp")}, "invalid_arguments",
                         {"field": "source_media_urls[0]"}, id=f"{m}-webp"),
            pytest.param(m, {"source_media_urls": imgs(1) + imgs(1, "gif")}, "invalid_arguments",
                         {"field": "source_media_urls[1]"}, id=f"{m}-gif-end-frame"),
            pytest.param(m, {"generation_type": I2V, "source_media_urls": vids(1)},
                         "unsupported_video_url", {}, id=f"{m}-video"),
        )
    ],
    # image models
    pytest.param("p-image-edit", {}, "source_media_required", {}, id="p-image-edit-none"),
    pytest.param("p-image-edit", {"source_media_urls": imgs(9)}, "too_many_images",
                 {"max": 8, "got": 9}, id="p-image-edit-9-images"),
    pytest.param("nano-banana", {"source_media_urls": imgs(11)}, "too_many_images",
                 {"max": 10, "got": 11}, id="nano-banana-11-images"),
    pytest.param("nano-banana-edit", {}, "source_media_required", {}, id="nano-banana-edit-none"),
    pytest.param("nano-banana-edit", {"source_media_urls": imgs(11)}, "too_many_images",
                 {"max": 10, "got": 11}, id="nano-banana-edit-11-images"),
    *[
        pytest.param(m, {"source_media_urls": imgs(9)}, "too_many_images", {"max": 8, "got": 9},
                     id=f"{m}-9-images")
        for m in NANO_HI + FLUX_EDIT
    ],
    *[pytest.param(m, {}, "source_media_required", {}, id=f"{m}-none") for m in FLUX_EDIT],
    *[
        pytest.param(m, {"source_media_urls": imgs(17)}, "too_many_images",
                     {"max": 16, "got": 17}, id=f"{m}-17-images")
        for m in ["gpt-1.5-image-medium", "gpt-1.5-image-high"]
    ],
    *[
        pytest.param(m, {"source_media_urls": imgs(11)}, "too_many_images",
                     {"max": 10, "got": 11}, id=f"{m}-11-images")
        for m in ["seedream-v4-edit", "seedream-v4-5", "seedream-v4-5-edit",
                  "5-lite-text-to-image", "5-lite-image-to-image"]
    ],
    *[
        pytest.param(m, {"source_media_urls": imgs(1)}, "source_media_not_allowed", {},
                     id=f"{m}-image")
        for m in T2I_ONLY
    ],
    *[
        pytest.param(m, {"generation_type": I2I, "source_media_urls": vids(1)},
                     "unsupported_video_url", {}, id=f"{m}-video")
        for m in ["nano-banana", "nano-banana-edit", "gpt-1.5-image-medium", "p-image-edit"]
    ],
    *[
        pytest.param(m, {"generation_type": I2V, "source_media_urls": vids(1)},
                     "unsupported_video_url", {}, id=f"{m}-video")
        for m in ["kling-2-6-image-to-video", "wan-2-5", "grok-image-to-video", "sora-2"]
    ],
    pytest.param("nano-banana", {"generation_type": I2I, "source_media_urls": auds(1)},
                 "unsupported_audio_url", {}, id="nano-banana-audio"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "args", "code", "details"), REJECT_INPUTS)
def test_input_files_outside_the_rules_are_rejected(
    reject: Reject, model: str, args: dict[str, Any], code: str, details: dict[str, Any]
) -> None:
    err = reject({"model": model, **args}, code)
    details_match(err, details)


@pytest.mark.parametrize("model", GEMINI_REF)
def test_gemini_video_ref_with_six_images_is_over_its_budget(catalog: Catalog, model: str) -> None:
    # 000: "video-ref variants accept 1 source clip (consumes 2 slots) + up to 5 image references";
    # the seed names no code for a sixth image, so either count code is right.
    args = {"model": model, "prompt": "p", "source_media_urls": vids(1) + imgs(6)}
    with pytest.raises(MediagateError) as info:
        validate_generate(args, catalog)
    assert info.value.code in {"too_many_images", "too_many_references"}
    assert info.value.payload["max"] in (5, 7)


@pytest.mark.parametrize(
    ("model", "args", "generation_type", "kinds"),
    [
        ("kling-2-6-image-to-video", {"source_media_urls": imgs(1)}, I2V, ["image"]),
        ("wan-2-5", {"source_media_urls": imgs(1)}, I2V, ["image"]),
        *[(m, {"source_media_urls": imgs(1)}, I2V, ["image"]) for m in WAN_27 + GROK_15],
        ("kling-2-5-image-to-video-pro", {"source_media_urls": imgs(2)}, I2V, ["image"] * 2),
        ("seedance-1-5-pro", {"generation_type": T2V}, T2V, []),
        ("seedance-1-5-pro", {"generation_type": T2V, "source_media_urls": imgs(1)}, T2V,
         ["image"]),
        ("seedance-1-5-pro", {"generation_type": I2V, "source_media_urls": imgs(2)}, I2V,
         ["image"] * 2),
        *[
            case
            for m in SEEDANCE_2_PLAIN
            for case in (
                (m, {"generation_type": T2V, "source_media_urls": imgs(9) + auds(3)}, T2V,
                 ["image"] * 9 + ["audio"] * 3),
                (m, {"generation_type": I2V, "source_media_urls": imgs(1)}, I2V, ["image"]),
                (m, {"generation_type": I2V, "source_media_urls": imgs(2) + auds(3)}, I2V,
                 ["image"] * 2 + ["audio"] * 3),
            )
        ],
        *[
            case
            for m in SEEDANCE_2_REF
            for case in (
                (m, {"source_media_urls": vids(1)}, T2V, ["video"]),
                (m, {"source_media_urls": vids(3) + imgs(9) + auds(3)}, T2V,
                 ["video"] * 3 + ["image"] * 9 + ["audio"] * 3),
            )
        ],
        *[
            case
            for m in GEMINI_DURATION
            for case in (
                (m, {}, T2V, []),
                (m, {"source_media_urls": imgs(7)}, I2V, ["image"] * 7),
                (m, {"source_media_urls": imgs(6), "character_ids": chars(1)}, I2V,
                 ["image"] * 6),
                (m, {"generation_type": T2V, "character_ids": chars(7)}, T2V, []),
            )
        ],
        *[
            case
            for m in GEMINI_REF
            for case in (
                (m, {"source_media_urls": vids(1) + imgs(5)}, T2V, ["video"] + ["image"] * 5),
                (m, {"source_media_urls": vids(1) + imgs(4), "character_ids": chars(1)}, T2V,
                 ["video"] + ["image"] * 4),
                (m, {"source_media_urls": vids(1), "character_ids": chars(5)}, T2V, ["video"]),
            )
        ],
        *[(m, {"source_media_urls": imgs(1) + vids(1)}, I2V, ["image", "video"]) for m in MOTION],
        *[
            case
            for m in VEO
            for case in (
                (m, {}, T2V, []),
                (m, {"generation_type": T2V, "source_media_urls": imgs(1)}, T2V, ["image"]),
                (m, {"generation_type": I2V, "source_media_urls": imgs(1)}, I2V, ["image"]),
                (m, {"generation_type": I2V, "source_media_urls": imgs(2)}, I2V, ["image"] * 2),
                (m, {"source_media_urls": imgs(3)}, I2V, ["image"] * 3),
            )
        ],
        *[
            case
            for m in KLING_3
            for case in (
                (m, {}, T2V, []),
                (m, {"source_media_urls": imgs(1, "png")}, I2V, ["image"]),
                (m, {"source_media_urls": imgs(1, "jpeg") + imgs(1, "JPG")}, I2V, ["image"] * 2),
            )
        ],
        ("sora-2-pro-storyboard", {"generation_type": T2V, "source_media_urls": imgs(1)}, T2V,
         ["image"]),
        ("sora-2", {"source_media_urls": imgs(1)}, I2V, ["image"]),
        ("p-image-edit", {"source_media_urls": imgs(1)}, I2I, ["image"]),
        ("p-image-edit", {"source_media_urls": imgs(8)}, I2I, ["image"] * 8),
        ("nano-banana", {"source_media_urls": imgs(10)}, I2I, ["image"] * 10),
        ("nano-banana-edit", {"source_media_urls": imgs(10)}, I2I, ["image"] * 10),
        *[(m, {"source_media_urls": imgs(8)}, I2I, ["image"] * 8) for m in NANO_HI + FLUX_EDIT],
        ("gpt-1.5-image-medium", {"source_media_urls": imgs(16)}, I2I, ["image"] * 16),
        ("gpt-1.5-image-high", {"source_media_urls": imgs(16)}, I2I, ["image"] * 16),
        *[
            (m, {"source_media_urls": imgs(10)}, I2I, ["image"] * 10)
            for m in ["seedream-v4-edit", "seedream-v4-5", "seedream-v4-5-edit",
                      "5-lite-text-to-image", "5-lite-image-to-image"]
        ],
    ],
)  # fmt: skip
def test_input_files_within_the_rules_are_accepted(
    accept: Accept, model: str, args: dict[str, Any], generation_type: str, kinds: list[str]
) -> None:
    request = accept({"model": model, **args})
    assert request.generation_type == generation_type
    assert [s.kind for s in request.sources] == kinds


@pytest.mark.parametrize("model", MOTION)
def test_motion_control_puts_the_image_first_then_the_video(accept: Accept, model: str) -> None:
    image, video = imgs(1)[0], vids(1)[0]
    request = accept({"model": model, "source_media_urls": [video, image]})
    assert [s.url for s in request.sources] == [image, video]
    assert [s.kind for s in request.sources] == ["image", "video"]
    assert warned(request, "reordered")


@pytest.mark.parametrize("model", MOTION)
def test_motion_control_in_order_needs_no_warning(accept: Accept, model: str) -> None:
    request = accept({"model": model, "source_media_urls": imgs(1) + vids(1, "webm")})
    assert not request.warnings


@pytest.mark.parametrize("model", SEEDANCE_2_PLAIN)
def test_plain_seedance_2_with_a_video_suggests_its_video_ref_variant(
    reject: Reject, model: str
) -> None:
    err = reject({"model": model, "source_media_urls": vids(1)}, "variant_mismatch")
    assert err.payload["suggested_model"] == f"{model}-video-ref"
    assert err.payload["hint"]


# === generation_type inference and support =======================================================


@pytest.mark.parametrize(
    ("model", "urls", "expected"),
    [
        # the only type
        ("kling-2-6-image-to-video", imgs(1), I2V),
        ("kling-2-6-text-to-video", [], T2V),
        ("grok-text-to-video-6s", [], T2V),
        ("p-image-edit", imgs(1), I2I),
        ("nano-banana-edit", imgs(2), I2I),
        ("flux-2", [], T2I),
        ("Z-image", [], T2I),
        ("v1-pro-fast-i2v", imgs(1), I2V),
        *[(m, imgs(1) + vids(1), I2V) for m in MOTION],
        *[(m, vids(1), T2V) for m in SEEDANCE_2_REF + GEMINI_REF],
        # images given -> image-to-*
        ("nano-banana", imgs(1), I2I),
        ("nano-banana-2", imgs(3), I2I),
        ("gpt-image-2", imgs(1), I2I),
        ("gpt-1.5-image-high", imgs(2), I2I),
        ("seedream-v4-5", imgs(1), I2I),
        ("5-lite-text-to-image", imgs(1), I2I),
        ("wan-2-5", imgs(1), I2V),
        ("wan-2-7-720p", imgs(1), I2V),
        ("kling-3-0-std", imgs(1), I2V),
        ("kling-3-0-pro", imgs(2), I2V),
        ("sora-2", imgs(1), I2V),
        ("seedance-2-720p", imgs(1), I2V),
        ("gemini-omni-video-1080p-6s", imgs(1), I2V),
        # no images -> text-to-*
        ("nano-banana", [], T2I),
        ("gpt-image-2", [], T2I),
        ("kling-3-0-std", [], T2V),
        ("wan-2-5", [], T2V),
        ("seedance-2-480p", [], T2V),
        ("seedance-2-480p", auds(2), T2V),
        ("gemini-omni-video-4k-10s", [], T2V),
        # Seedance 1.5 Pro: one image animates in text-to-video; two are start + end frame
        ("seedance-1-5-pro", imgs(1), T2V),
        ("seedance-1-5-pro", imgs(2), I2V),
        ("seedance-1-5-pro", [], T2V),
    ],
)
def test_generation_type_is_inferred_when_omitted(
    accept: Accept, model: str, urls: list[str], expected: str
) -> None:
    assert accept({"model": model, "source_media_urls": urls}).generation_type == expected


@pytest.mark.parametrize("spelling", ["Image-To-Video", " image-to-video "])
def test_generation_type_is_matched_case_and_space_insensitively(
    accept: Accept, spelling: str
) -> None:
    request = accept(
        {"model": "wan-2-5", "generation_type": spelling, "source_media_urls": imgs(1)}
    )
    assert request.generation_type == I2V


@pytest.mark.parametrize(
    ("model", "generation_type", "allowed"),
    [
        ("flux-2", I2I, [T2I]),
        ("imagen-4", I2I, [T2I]),
        ("Z-image", I2V, [T2I]),
        ("p-image-edit", T2I, [I2I]),
        ("nano-banana-edit", T2I, [I2I]),
        ("kling-2-6-text-to-video", I2V, [T2V]),
        ("kling-2-6-image-to-video", T2V, [I2V]),
        ("grok-image-to-video", T2V, [I2V]),
        ("v1-pro-fast-i2v", T2V, [I2V]),
        ("nano-banana", T2V, [T2I, I2I]),
        ("kling-3-0-std", T2I, [T2V, I2V]),
        ("seedance-2-720p-video-ref", I2V, [T2V]),
        ("gemini-omni-video-720p-video-ref", I2V, [T2V]),
        *[(m, T2V, [I2V]) for m in MOTION + GROK_15],
    ],
)
def test_unsupported_generation_type_lists_the_allowed_ones(
    reject: Reject, model: str, generation_type: str, allowed: list[str]
) -> None:
    err = reject(minimal(model, generation_type=generation_type), "unsupported_generation_type")
    assert sorted(err.payload["allowed"]) == sorted(allowed)
    assert err.payload["got"] == generation_type


@pytest.mark.parametrize("value", ["text-to-audio", "video-to-video", "t2v"])
def test_unknown_generation_type_is_invalid_arguments(reject: Reject, value: str) -> None:
    err = reject({"model": "nano-banana", "generation_type": value}, "invalid_arguments")
    assert err.payload["field"] == "generation_type"


# === aspect ratios ===============================================================================

GPT2_DIRECTIONAL = ["9:16", "16:9", "4:3", "3:4"]


@pytest.mark.parametrize("resolution", ["2K", "4K"])
@pytest.mark.parametrize("aspect", ["1:1", "auto"])
def test_gpt_image_2_high_res_with_square_or_auto_is_incompatible(
    reject: Reject, resolution: str, aspect: str
) -> None:
    err = reject(
        {"model": "gpt-image-2", "resolution": resolution, "aspect_ratio": aspect},
        "aspect_ratio_incompatible_with_high_res",
    )
    assert sorted(err.payload["allowed"]) == sorted(GPT2_DIRECTIONAL)


@pytest.mark.parametrize("resolution", ["2K", "4K"])
def test_gpt_image_2_high_res_needs_an_explicit_aspect(reject: Reject, resolution: str) -> None:
    reject(
        {"model": "gpt-image-2", "resolution": resolution},
        "aspect_ratio_incompatible_with_high_res",
    )


@pytest.mark.parametrize("resolution", ["2K", "4K"])
@pytest.mark.parametrize("aspect", GPT2_DIRECTIONAL)
def test_gpt_image_2_high_res_with_a_directional_aspect_is_accepted(
    accept: Accept, resolution: str, aspect: str
) -> None:
    request = accept({"model": "gpt-image-2", "resolution": resolution, "aspect_ratio": aspect})
    assert (request.resolution, request.aspect_ratio) == (resolution, aspect)


@pytest.mark.parametrize("aspect", ["1:1", "auto", *GPT2_DIRECTIONAL])
def test_gpt_image_2_1k_accepts_every_aspect(accept: Accept, aspect: str) -> None:
    request = accept({"model": "gpt-image-2", "resolution": "1K", "aspect_ratio": aspect})
    assert request.aspect_ratio == aspect
    assert request.resolution == "1K"


@pytest.mark.parametrize("aspect", ["16:9", "9:16"])
@pytest.mark.parametrize("model", GEMINI)
def test_gemini_omni_accepts_16_9_and_9_16(accept: Accept, model: str, aspect: str) -> None:
    assert accept(minimal(model, aspect_ratio=aspect)).aspect_ratio == aspect


@pytest.mark.parametrize("aspect", ["1:1", "4:3", "21:9", "auto"])
@pytest.mark.parametrize("model", GEMINI)
def test_gemini_omni_other_aspects_are_invalid_for_model(
    reject: Reject, model: str, aspect: str
) -> None:
    err = reject(minimal(model, aspect_ratio=aspect), "aspect_ratio_invalid_for_model")
    assert sorted(err.payload["allowed"]) == ["16:9", "9:16"]
    assert err.payload["got"] == aspect


@pytest.mark.parametrize("model", [*GROK_15, "p-image-edit"])
def test_auto_is_the_default_aspect_where_the_seed_says_so(accept: Accept, model: str) -> None:
    assert accept(minimal(model)).aspect_ratio == "auto"


@pytest.mark.parametrize("aspect", ["auto", "1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"])
@pytest.mark.parametrize("model", [*GROK_15, "p-image-edit"])
def test_grok_1_5_and_p_image_edit_aspect_list(accept: Accept, model: str, aspect: str) -> None:
    assert accept(minimal(model, aspect_ratio=aspect)).aspect_ratio == aspect


@pytest.mark.parametrize("model", [*GROK_15, "p-image-edit"])
def test_grok_1_5_and_p_image_edit_refuse_unlisted_aspects(reject: Reject, model: str) -> None:
    reject(minimal(model, aspect_ratio="21:9"), "aspect_ratio_invalid_for_model")


@pytest.mark.parametrize("aspect", ["1:1", "4:3", "3:4", "16:9", "9:16", "21:9", "adaptive"])
@pytest.mark.parametrize("model", ["seedance-2-480p", "seedance-2-fast-720p-video-ref"])
def test_seedance_2_aspect_list(accept: Accept, model: str, aspect: str) -> None:
    assert accept(minimal(model, aspect_ratio=aspect)).aspect_ratio == aspect


@pytest.mark.parametrize("aspect", ["2:3", "4:5", "auto"])
def test_seedance_2_refuses_unlisted_aspects(reject: Reject, aspect: str) -> None:
    reject({"model": "seedance-2-720p", "aspect_ratio": aspect}, "aspect_ratio_invalid_for_model")


@pytest.mark.parametrize(
    "aspect", ["1:1", "16:9", "9:16", "3:4", "4:3", "3:2", "2:3", "5:4", "4:5", "21:9"]
)
@pytest.mark.parametrize("model", NANO_HI)
def test_nano_banana_pro_and_2_aspect_list_is_the_same_at_every_tier(
    accept: Accept, model: str, aspect: str
) -> None:
    assert accept({"model": model, "aspect_ratio": aspect}).aspect_ratio == aspect


def test_aspect_ratio_must_be_a_string(reject: Reject) -> None:
    err = reject({"model": "nano-banana", "aspect_ratio": 16}, "invalid_arguments")
    assert err.payload["field"] == "aspect_ratio"


# === resolution tiers (000 §Resolution tiers) ====================================================


@pytest.mark.parametrize(
    ("model", "tiers"),
    [
        ("gpt-image-2", ["1K", "2K", "4K"]),
        ("nano-banana-2", ["1K", "2K", "4K"]),
        ("nano-banana-pro", ["1K", "2K", "4K"]),
        ("flux-2", ["1K", "2K"]),
        ("flux-2-edit", ["1K", "2K"]),
    ],
)
def test_resolution_tiers_are_accepted_and_default_is_1k(
    accept: Accept, model: str, tiers: list[str]
) -> None:
    assert accept(minimal(model)).resolution == "1K"
    for tier in tiers:
        request = accept(minimal(model, resolution=tier, aspect_ratio="16:9"))
        assert request.resolution == tier


@pytest.mark.parametrize(
    ("model", "bad", "allowed"),
    [
        ("gpt-image-2", "8K", ["1K", "2K", "4K"]),
        ("nano-banana-2", "3K", ["1K", "2K", "4K"]),
        ("nano-banana-pro", "720p", ["1K", "2K", "4K"]),
        ("flux-2", "4K", ["1K", "2K"]),
        ("flux-2-edit", "4K", ["1K", "2K"]),
    ],
)
def test_unknown_resolution_tier_is_invalid_resolution(
    reject: Reject, model: str, bad: str, allowed: list[str]
) -> None:
    err = reject(minimal(model, resolution=bad, aspect_ratio="16:9"), "invalid_resolution")
    assert err.payload["allowed"] == allowed
    assert err.payload["got"] == bad


@pytest.mark.parametrize(
    "model",
    [
        "nano-banana",
        "imagen-4",
        "Z-image",
        "seedance-2-720p",
        "seedance-2-fast-480p-video-ref",
        *KLING_3,
        "kling-2-6-motion-control-1080p",
        "p-video-1080p",
        "gemini-omni-video-1080p-6s",
        "wan-2-7-720p",
    ],
)
def test_models_without_tiers_ignore_resolution_with_a_warning(accept: Accept, model: str) -> None:
    request = accept(minimal(model, resolution="4K"))
    assert warned(request, "resolution")


@pytest.mark.parametrize(
    ("model", "tier"),
    [
        ("nano-banana-2-4K", "4K"),
        ("nano-banana-pro-2K", "2K"),
        ("flux-2-2K", "2K"),
        ("flux-2-edit-1K", "1K"),
    ],
)
def test_ids_with_a_tier_keep_it_and_warn_about_another(
    accept: Accept, model: str, tier: str
) -> None:
    other = "1K" if tier != "1K" else "2K"
    request = accept(minimal(model, resolution=other))
    assert request.resolution == tier
    assert warned(request, "resolution")
    assert not accept(minimal(model, resolution=tier)).warnings


@pytest.mark.parametrize(
    ("model", "tier"),
    [
        ("seedance-2-480p", "480p"),
        ("seedance-2-1080p-video-ref", "1080p"),
        ("gemini-omni-video-4k-8s", "4k"),
        ("wan-2-7-1080p", "1080p"),
        ("grok-imagine-video-1-5-preview-480p", "480p"),
        ("kling-3-0-motion-control-720p", "720p"),
        ("p-video-1080p", "1080p"),
    ],
)
def test_video_resolution_comes_from_the_variant_id(accept: Accept, model: str, tier: str) -> None:
    assert accept(minimal(model)).resolution == tier


# === quality (000 §quality; 001 for Sora 2 Pro) ==================================================


@pytest.mark.parametrize(
    ("model", "values", "default"),
    [
        ("imagen-4", ["standard", "fast", "ultra"], "standard"),
        ("seedream-v4", ["1K", "2K", "4K"], "1K"),
        ("seedream-v4-edit", ["1K", "2K", "4K"], "1K"),
        ("seedream-v4-5", ["basic", "high"], "basic"),
        ("seedream-v4-5-edit", ["basic", "high"], "basic"),
        ("5-lite-text-to-image", ["basic", "high"], "basic"),
        ("5-lite-image-to-image", ["basic", "high"], "basic"),
        ("gpt-1.5-image-medium", ["medium", "high"], "medium"),
        ("gpt-1.5-image-high", ["medium", "high"], "high"),
        ("sora-2-pro", ["standard", "pro", "high", "hd"], "standard"),
    ],
)
def test_quality_values_are_accepted_with_their_default(
    accept: Accept, model: str, values: list[str], default: str
) -> None:
    assert accept(minimal(model)).quality == default
    for value in values:
        assert accept(minimal(model, quality=value)).quality == value


@pytest.mark.parametrize(
    ("model", "bad"),
    [
        ("imagen-4", "pro"),
        ("seedream-v4", "basic"),
        ("seedream-v4-edit", "8K"),
        ("seedream-v4-5", "4K"),
        ("5-lite-text-to-image", "ultra"),
        ("gpt-1.5-image-medium", "low"),
        ("gpt-1.5-image-high", "standard"),
        ("sora-2-pro", "ultra"),
    ],
)
def test_unknown_quality_is_invalid_quality(reject: Reject, model: str, bad: str) -> None:
    err = reject(minimal(model, quality=bad), "invalid_quality")
    assert err.payload["got"] == bad
    assert bad not in err.payload["allowed"]


@pytest.mark.parametrize(
    ("model", "quality", "long_edge"),
    [
        ("seedream-v4", "1K", 1024),
        ("seedream-v4", "2K", 2048),
        ("seedream-v4", "4K", 4096),
        ("seedream-v4-5", "basic", 2048),
        ("seedream-v4-5", "high", 4096),
        ("5-lite-text-to-image", "high", 4096),
    ],
)
def test_seedream_quality_sets_the_output_size(
    accept: Accept, model: str, quality: str, long_edge: int
) -> None:
    request = accept({"model": model, "quality": quality})
    assert max(request.width, request.height) == long_edge


@pytest.mark.parametrize(
    "model",
    [
        "nano-banana",  # 000's own example passes quality "pro" to nano-banana
        "nano-banana-pro",
        "nano-banana-2",
        "flux-2",
        "gpt-image-2",
        "Z-image",
        *VEO,
        *KLING_3,
        "sora-2",
        "seedance-2-720p",
        "gemini-omni-video-720p-6s",
    ],
)
def test_models_without_quality_ignore_it_with_a_warning(accept: Accept, model: str) -> None:
    request = accept(minimal(model, quality="pro"))
    assert request.quality is None
    assert warned(request, "quality")


def test_seed_text_to_image_example_is_accepted(accept: Accept) -> None:
    request = accept(
        {
            "prompt": "A futuristic city at sunset with flying cars",
            "model": "nano-banana",
            "generation_type": "text-to-image",
            "aspect_ratio": "16:9",
            "quality": "pro",
        }
    )
    assert (request.model, request.aspect_ratio, request.width, request.height) == (
        "nano-banana",
        "16:9",
        1024,
        576,
    )


def test_seed_image_to_video_example_is_accepted(accept: Accept) -> None:
    request = accept(
        {
            "prompt": "Gentle motion and subtle movement",
            "model": "kling-2-6-image-to-video",
            "generation_type": "image-to-video",
            "source_media_urls": ["https://example.com/your-image.jpg"],
            "aspect_ratio": "16:9",
            "duration": "5s",
        }
    )
    assert (request.generation_type, request.duration_s) == (I2V, 5)
    assert not request.warnings


def test_seed_gemini_omni_example_is_accepted(accept: Accept) -> None:
    request = accept(
        {
            "model": "gemini-omni-video-1080p-6s",
            "prompt": "A barista pulls a perfect espresso shot, narrates the process",
            "aspect_ratio": "9:16",
            "voice_id": "kore",
            "character_ids": ["char_4f2a9b7c"],
            "source_media_urls": ["https://media.kubeez.com/cafe-shot.jpg"],
        }
    )
    assert request.params["voice_id"] == "kore"
    assert request.params["character_ids"] == ["char_4f2a9b7c"]
    assert (request.width, request.height, request.duration_s) == (1080, 1920, 6)
    assert not request.warnings


# === sound (000 §Video audio) ====================================================================

TOGGLE = ["kling-2-6-text-to-video", "kling-2-6-image-to-video", *KLING_3, "seedance-1-5-pro"]
INCLUDED = [
    *VEO,
    "wan-2-5",
    *WAN_27,
    "grok-text-to-video-6s",
    "grok-image-to-video",
    *GROK_15,
    "kling-2-5-image-to-video-pro",
    *MOTION,
    "gemini-omni-video-720p-4s",
    "gemini-omni-video-4k-video-ref",
    "sora-2",
]


@pytest.mark.parametrize("model", TOGGLE)
def test_sound_toggles_audio_on_toggle_models(accept: Accept, model: str) -> None:
    on = accept(minimal(model, sound=True))
    assert (on.sound, on.has_audio, on.warnings) == (True, True, [])
    off = accept(minimal(model, sound=False))
    assert (off.sound, off.has_audio) == (False, False)


@pytest.mark.parametrize("model", TOGGLE)
def test_sound_defaults_to_false_on_toggle_models(accept: Accept, model: str) -> None:
    request = accept(minimal(model))
    assert (request.sound, request.has_audio) == (False, False)


@pytest.mark.parametrize("model", INCLUDED)
def test_models_with_included_audio_ignore_sound_with_a_warning(accept: Accept, model: str) -> None:
    request = accept(minimal(model, sound=False))
    assert request.has_audio is True
    assert warned(request, "sound")


@pytest.mark.parametrize("model", INCLUDED)
def test_models_with_included_audio_have_audio_by_default(accept: Accept, model: str) -> None:
    request = accept(minimal(model))
    assert request.has_audio is True
    assert not request.warnings


def test_silent_seedance_1_0_ignores_sound_with_a_warning(accept: Accept) -> None:
    request = accept(minimal("v1-pro-fast-i2v", sound=True))
    assert request.has_audio is False
    assert warned(request, "sound")


@pytest.mark.parametrize("model", ["nano-banana", "flux-2", "gpt-image-2", "p-image-edit"])
def test_image_models_ignore_sound_with_a_warning(accept: Accept, model: str) -> None:
    request = accept(minimal(model, sound=True))
    assert request.has_audio is False
    assert warned(request, "sound")


@pytest.mark.parametrize("value", ["maybe", 1, [True]], ids=["maybe", "one", "array"])
def test_sound_must_be_a_boolean(reject: Reject, value: Any) -> None:
    err = reject({"model": "kling-3-0-std", "sound": value}, "invalid_arguments")
    assert err.payload["field"] == "sound"


@pytest.mark.parametrize("model", SEEDANCE_2_PLAIN + SEEDANCE_2_REF)
def test_seedance_2_generate_audio_defaults_to_true(accept: Accept, model: str) -> None:
    request = accept(minimal(model))
    assert request.params["generate_audio"] is True
    assert request.has_audio is True


@pytest.mark.parametrize("model", SEEDANCE_2_PLAIN + SEEDANCE_2_REF)
def test_seedance_2_generate_audio_false_turns_audio_off(accept: Accept, model: str) -> None:
    request = accept(minimal(model, generate_audio=False))
    assert request.params["generate_audio"] is False
    assert request.has_audio is False


# === voices (000 §Gemini Omni) ===================================================================

GEMINI_VOICES = [
    "zephyr", "puck", "charon", "kore", "fenrir", "leda", "orus", "aoede", "callirrhoe",
    "autonoe", "enceladus", "iapetus", "umbriel", "algieba", "despina", "erinome", "algenib",
    "rasalgethi", "laomedeia", "achernar", "alnilam", "schedar", "gacrux", "pulcherrima",
    "achird", "zubenelgenubi", "vindemiatrix", "sadachbia", "sadaltager", "sulafat",
]  # fmt: skip


@pytest.mark.parametrize("voice", GEMINI_VOICES)
def test_every_gemini_voice_is_accepted(accept: Accept, voice: str) -> None:
    request = accept({"model": "gemini-omni-video-720p-8s", "voice_id": voice})
    assert request.params["voice_id"] == voice


@pytest.mark.parametrize("spelling", ["Kore", "KORE", " kore "])
def test_voice_ids_match_case_insensitively(accept: Accept, spelling: str) -> None:
    request = accept({"model": "gemini-omni-video-4k-4s", "voice_id": spelling})
    assert request.params["voice_id"] == "kore"


@pytest.mark.parametrize("model", GEMINI)
def test_voice_id_is_optional(accept: Accept, model: str) -> None:
    assert "voice_id" not in accept(minimal(model)).params


@pytest.mark.parametrize(
    ("voice", "suggestion"),
    [("korr", "kore"), ("zephir", "zephyr"), ("puk", "puck"), ("achenar", "achernar")],
)
def test_unknown_voice_suggests_the_nearest(reject: Reject, voice: str, suggestion: str) -> None:
    err = reject({"model": "gemini-omni-video-720p-6s", "voice_id": voice}, "unknown_voice")
    assert err.payload["suggestions"][0] == suggestion
    assert err.payload["got"] == voice


def test_voice_id_must_be_a_string(reject: Reject) -> None:
    err = reject({"model": "gemini-omni-video-720p-6s", "voice_id": 7}, "invalid_arguments")
    assert err.payload["field"] == "voice_id"


@pytest.mark.parametrize("model", ["kling-3-0-std", "veo3-1", "nano-banana"])
def test_voice_id_on_other_models_is_ignored_with_a_warning(accept: Accept, model: str) -> None:
    request = accept(minimal(model, voice_id="kore"))
    assert "voice_id" not in request.params
    assert warned(request, "voice_id")


def test_character_ids_must_be_strings(reject: Reject) -> None:
    err = reject({"model": "gemini-omni-video-720p-6s", "character_ids": [1]}, "invalid_arguments")
    assert err.payload["field"] == "character_ids"


# === Gemini trim window (000: "range ≤ 10s, ends ≤ 30s") =========================================


@pytest.mark.parametrize(
    "window",
    [{}, {"video_trim_start_s": 0, "video_trim_end_s": 10}, {"video_trim_start_s": 20},
     {"video_trim_start_s": 20, "video_trim_end_s": 30}, {"video_trim_start_s": 5.5,
     "video_trim_end_s": 12}, {"video_trim_end_s": 4}],
    ids=["default", "0-10", "20-default", "20-30", "5.5-12", "0-4"],
)  # fmt: skip
@pytest.mark.parametrize("model", GEMINI_REF)
def test_gemini_trim_window_within_limits_is_accepted(
    accept: Accept, model: str, window: dict[str, float]
) -> None:
    request = accept(minimal(model, **window))
    for key, value in window.items():
        assert request.params[key] == value


@pytest.mark.parametrize(
    "window",
    [{"video_trim_start_s": 5, "video_trim_end_s": 15.5}, {"video_trim_start_s": 0,
     "video_trim_end_s": 11}, {"video_trim_start_s": 22, "video_trim_end_s": 31},
     {"video_trim_start_s": 30}, {"video_trim_start_s": 8, "video_trim_end_s": 8},
     {"video_trim_start_s": 8, "video_trim_end_s": 3}, {"video_trim_start_s": -1}],
    ids=["range-10.5", "range-11", "ends-31", "starts-at-30", "empty", "reversed",
         "negative"],
)  # fmt: skip
@pytest.mark.parametrize("model", GEMINI_REF)
def test_gemini_trim_window_outside_limits_is_invalid_trim_range(
    reject: Reject, model: str, window: dict[str, float]
) -> None:
    reject(minimal(model, **window), "invalid_trim_range")


@pytest.mark.parametrize("model", GEMINI_REF)
def test_gemini_trim_default_end_is_clamped_to_30_s(catalog: Catalog, model: str) -> None:
    # Seed 000: default end is start + 10, and windows must end by 30 s; a late start keeps
    # the part of the window that fits instead of being refused.
    request = validate_generate(
        {
            "model": model,
            "prompt": "p",
            "source_media_urls": ["https://example.com/clip.mp4"],
            "video_trim_start_s": 25,
        },
        catalog,
    )
    assert request.params["video_trim_start_s"] == 25


def test_gemini_trim_values_must_be_numbers(reject: Reject) -> None:
    err = reject(minimal(GEMINI_REF[0], video_trim_start_s="soon"), "invalid_arguments")
    assert err.payload["field"] == "video_trim_start_s"


def test_gemini_trim_huge_integer_is_rejected_cleanly(catalog: Catalog) -> None:
    with pytest.raises(MediagateError):
        validate_generate(
            {"prompt": "p", **minimal(GEMINI_REF[0], video_trim_start_s=10**400)}, catalog
        )


@pytest.mark.parametrize("model", GEMINI_DURATION[:4])
def test_trim_window_on_a_duration_variant_is_ignored_with_a_warning(
    accept: Accept, model: str
) -> None:
    request = accept({"model": model, "video_trim_start_s": 2})
    assert "video_trim_start_s" not in request.params
    assert warned(request, "video_trim_start_s")


# === Kling 3.0 elements (000 §Kling 3.0 – elements) ==============================================

ELEMENT_IMAGES = imgs(4)


def element(**fields: Any) -> dict[str, Any]:
    return {"name": "hero", "description": "the red-haired captain", **fields}


@pytest.mark.parametrize(
    "elements",
    [
        [element(element_input_urls=ELEMENT_IMAGES[:2])],
        [element(element_input_urls=ELEMENT_IMAGES[:4])],
        [element(element_input_video_urls=vids(1))],
        [element(element_input_video_urls=vids(1, "mov"))],
        [
            element(element_input_urls=ELEMENT_IMAGES[:3]),
            element(name="ship", element_input_video_urls=vids(1)),
        ],
    ],
    ids=["2-images", "4-images", "1-video", "1-mov", "two-elements"],
)
@pytest.mark.parametrize("model", KLING_3)
def test_valid_kling_elements_are_normalized(
    accept: Accept, model: str, elements: list[dict[str, Any]]
) -> None:
    request = accept({"model": model, "prompt": "@hero sails", "kling_elements": elements})
    assert request.params["kling_elements"] == elements


def test_kling_element_name_and_description_are_trimmed(accept: Accept) -> None:
    request = accept(
        {
            "model": "kling-3-0-std",
            "source_media_urls": imgs(1, "png"),
            "kling_elements": [
                {"name": " @hero ", "description": "  captain ", "element_input_urls": imgs(2)}
            ],
        }
    )
    assert request.params["kling_elements"] == [
        {"name": "hero", "description": "captain", "element_input_urls": imgs(2)}
    ]
    assert request.generation_type == I2V


@pytest.mark.parametrize(
    "elements",
    [
        [element(element_input_urls=ELEMENT_IMAGES[:1])],
        [element(element_input_urls=imgs(5))],
        [element(element_input_video_urls=vids(2))],
        [element(element_input_video_urls=[])],
        [{"description": "no name", "element_input_urls": imgs(2)}],
        [{"name": "   ", "description": "blank name", "element_input_urls": imgs(2)}],
        [{"name": "hero", "element_input_urls": imgs(2)}],
        [element(element_input_urls=imgs(2), element_input_video_urls=vids(1))],
        [element()],
        [element(element_input_urls=vids(2))],
        [element(element_input_video_urls=imgs(1))],
        [element(element_input_urls=imgs(2)), element(element_input_urls=imgs(2))],
        [element(element_input_urls=imgs(2), colour="red")],
        ["hero"],
        "hero",
        {"name": "hero"},
    ],
    ids=[
        "1-image",
        "5-images",
        "2-videos",
        "0-videos",
        "no-name",
        "blank-name",
        "no-description",
        "both-kinds",
        "neither-kind",
        "videos-as-images",
        "image-as-video",
        "duplicate-names",
        "unknown-key",
        "element-not-object",
        "not-an-array-string",
        "not-an-array-object",
    ],
)
def test_invalid_kling_elements_are_rejected(reject: Reject, elements: Any) -> None:
    reject({"model": "kling-3-0-pro", "kling_elements": elements}, "invalid_kling_elements")


def test_kling_element_urls_are_checked_for_safety(reject: Reject) -> None:
    elements = [element(element_input_urls=["http://127.0.0.1/a.jpg", imgs(1)[0]])]
    reject({"model": "kling-3-0-std", "kling_elements": elements}, "unsafe_source_url")


@pytest.mark.parametrize(
    "elements",
    [
        [element(element_input_urls=imgs(2, "webp"))],
        [element(element_input_urls=imgs(2, "gif"))],
        [element(element_input_video_urls=vids(1, "webm"))],
    ],
    ids=["webp-images", "gif-images", "webm-video"],
)
def test_kling_elements_only_take_jpg_png_images_and_mp4_mov_videos(
    reject: Reject, elements: Any
) -> None:
    reject({"model": "kling-3-0-std", "kling_elements": elements}, "invalid_kling_elements")


@pytest.mark.parametrize("model", ["kling-2-6-text-to-video", "seedance-2-720p", "nano-banana"])
def test_kling_elements_on_other_models_are_ignored_with_a_warning(
    accept: Accept, model: str
) -> None:
    request = accept({"model": model, "kling_elements": [element(element_input_urls=imgs(2))]})
    assert "kling_elements" not in request.params
    assert warned(request, "kling_elements")


# === Wan 2.7 last frame, p-image-edit, Seedance 1.5 fixed_lens ===================================


@pytest.mark.parametrize("model", WAN_27)
def test_wan_2_7_last_frame_url_is_kept_for_image_to_video(accept: Accept, model: str) -> None:
    last = "https://cdn.example.com/in/last.png"
    request = accept({"model": model, "source_media_urls": imgs(1), "last_frame_url": last})
    assert request.generation_type == I2V
    assert request.params["last_frame_url"] == last


@pytest.mark.parametrize("model", WAN_27)
def test_wan_2_7_last_frame_url_without_a_first_frame_is_ignored(
    accept: Accept, model: str
) -> None:
    request = accept({"model": model, "last_frame_url": "https://cdn.example.com/last.png"})
    assert request.generation_type == T2V
    assert "last_frame_url" not in request.params
    assert warned(request, "last_frame_url")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://cdn.example.com/last.mp4", "invalid_arguments"),
        ("http://192.168.0.4/last.png", "unsafe_source_url"),
        ("file:///tmp/last.png", "unsafe_source_url"),
    ],
)
def test_wan_2_7_last_frame_url_must_be_a_safe_image(reject: Reject, url: str, code: str) -> None:
    err = reject(
        {"model": "wan-2-7-720p", "source_media_urls": imgs(1), "last_frame_url": url}, code
    )
    assert err.payload["field"] == "last_frame_url"


def test_last_frame_url_on_wan_2_5_is_ignored_with_a_warning(accept: Accept) -> None:
    request = accept(
        {"model": "wan-2-5", "source_media_urls": imgs(1), "last_frame_url": imgs(1)[0]}
    )
    assert warned(request, "last_frame_url")
    assert "last_frame_url" not in request.params


def test_p_image_edit_defaults_turbo_and_safety_checker_off(accept: Accept) -> None:
    request = accept({"model": "p-image-edit", "source_media_urls": imgs(1)})
    assert request.params == {"turbo": True, "disable_safety_checker": True}


@pytest.mark.parametrize(
    ("args", "params"),
    [
        ({"disable_safety_checker": False}, {"turbo": True, "disable_safety_checker": False}),
        ({"turbo": False}, {"turbo": False, "disable_safety_checker": True}),
        ({"turbo": "false"}, {"turbo": False, "disable_safety_checker": True}),
    ],
)
def test_p_image_edit_flags_can_be_overridden(
    accept: Accept, args: dict[str, Any], params: dict[str, bool]
) -> None:
    request = accept({"model": "p-image-edit", "source_media_urls": imgs(1), **args})
    assert request.params == params


@pytest.mark.parametrize("field", ["turbo", "disable_safety_checker"])
def test_p_image_edit_flags_must_be_booleans(reject: Reject, field: str) -> None:
    err = reject(
        {"model": "p-image-edit", "source_media_urls": imgs(1), field: "sometimes"},
        "invalid_arguments",
    )
    assert err.payload["field"] == field


def test_seedance_1_5_pro_fixed_lens_defaults_off_and_can_be_set(accept: Accept) -> None:
    assert accept({"model": "seedance-1-5-pro"}).params["fixed_lens"] is False
    assert accept({"model": "seedance-1-5-pro", "fixed_lens": True}).params["fixed_lens"] is True


# === URL classification (000 §Seedance 2: "classifies each URL by file extension") ===============

EXTENSIONS = [
    *[(ext, "image") for ext in ("jpg", "jpeg", "png", "webp", "gif", "avif")],
    *[(ext, "video") for ext in ("mp4", "mov", "webm", "m4v")],
    *[(ext, "audio") for ext in ("mp3", "wav", "m4a", "aac", "ogg")],
]


@pytest.mark.parametrize("spell", [str.lower, str.upper], ids=["lower", "upper"])
@pytest.mark.parametrize(("ext", "kind"), EXTENSIONS)
def test_source_urls_are_classified_by_extension(
    accept: Accept, ext: str, kind: str, spell: Callable[[str], str]
) -> None:
    url = f"https://cdn.example.com/refs/file.{spell(ext)}"
    request = accept({"model": "seedance-2-720p-video-ref", "source_media_urls": [*vids(1), url]})
    assert request.sources[1].url == url
    assert request.sources[1].kind == kind
    assert not request.warnings


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://cdn.example.com/a.mp4?sig=abc.png", "video"),
        ("https://cdn.example.com/a.png?format=mp4", "image"),
        ("https://cdn.example.com/a.mp3?x=1&y=2#frag.mp4", "audio"),
        ("https://cdn.example.com/dir.mp4/a.jpg", "image"),
        ("https://cdn.example.com/A.Mp4", "video"),
    ],
    ids=["video-query", "image-query", "audio-fragment", "dir-with-dot", "mixed-case"],
)
def test_query_strings_and_fragments_do_not_change_the_kind(
    accept: Accept, url: str, kind: str
) -> None:
    request = accept({"model": "seedance-2-720p-video-ref", "source_media_urls": [*vids(1), url]})
    assert request.sources[1].kind == kind


@pytest.mark.parametrize(
    "url", ["https://cdn.example.com/file.bin", "https://cdn.example.com/file"], ids=["bin", "none"]
)
def test_unrecognised_extension_is_treated_as_an_image_with_a_warning(
    accept: Accept, url: str
) -> None:
    request = accept({"model": "nano-banana", "source_media_urls": [url]})
    assert request.sources[0].kind == "image"
    assert warned(request, "source_media_urls[0]")


def test_source_media_urls_may_be_a_single_string(accept: Accept) -> None:
    url = imgs(1)[0]
    request = accept({"model": "kling-2-6-image-to-video", "source_media_urls": url})
    assert [(s.url, s.kind) for s in request.sources] == [(url, "image")]


def test_source_media_urls_may_be_a_list(accept: Accept) -> None:
    request = accept({"model": "kling-2-5-image-to-video-pro", "source_media_urls": imgs(2)})
    assert [s.url for s in request.sources] == imgs(2)


def test_source_urls_are_stripped_of_surrounding_spaces(accept: Accept) -> None:
    url = imgs(1)[0]
    request = accept({"model": "kling-2-6-image-to-video", "source_media_urls": [f"  {url} "]})
    assert request.sources[0].url == url


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (5, "source_media_urls"),
        ({"url": imgs(1)[0]}, "source_media_urls"),
        ([5], "source_media_urls[0]"),
        ([imgs(1)[0], ""], "source_media_urls[1]"),
        ([imgs(1)[0], None], "source_media_urls[1]"),
    ],
    ids=["number", "object", "number-item", "empty-item", "null-item"],
)
def test_malformed_source_media_urls_are_invalid_arguments(
    reject: Reject, value: Any, field: str
) -> None:
    err = reject({"model": "nano-banana", "source_media_urls": value}, "invalid_arguments")
    assert err.payload["field"] == field


@pytest.mark.parametrize("value", [None, "", []], ids=["null", "empty-string", "empty-list"])
def test_empty_source_media_urls_mean_none(accept: Accept, value: Any) -> None:
    request = accept({"model": "nano-banana", "source_media_urls": value})
    assert request.sources == []
    assert request.generation_type == T2I


def test_unsafe_source_url_names_its_position(reject: Reject) -> None:
    err = reject(
        {"model": "nano-banana", "source_media_urls": [imgs(1)[0], "http://10.0.0.7/b.png"]},
        "unsafe_source_url",
    )
    assert err.payload["field"] == "source_media_urls[1]"


def test_allow_private_urls_accepts_a_loopback_source(accept: Accept) -> None:
    url = "http://127.0.0.1:8765/frame.png"
    request = accept(
        {"model": "kling-2-6-image-to-video", "source_media_urls": [url]},
        allow_private_urls=True,
    )
    assert request.sources[0].url == url


# === model names ================================================================================


@pytest.mark.parametrize(
    ("typo", "model"),
    [
        ("nano-banan", "nano-banana"),
        ("nano-bananna", "nano-banana"),
        ("kling-3-0-st", "kling-3-0-std"),
        ("kling-3-0-prp", "kling-3-0-pro"),
        ("imagen4", "imagen-4"),
        ("seedance-2-fast-480", "seedance-2-fast-480p"),
        ("seedance-2-720-video-ref", "seedance-2-720p-video-ref"),
        ("gemini-omni-video-1080p-6", "gemini-omni-video-1080p-6s"),
        ("gpt-image-3", "gpt-image-2"),
        ("sora-2-por", "sora-2-pro"),
        ("wan-2-7-720", "wan-2-7-720p"),
        ("p-image-edt", "p-image-edit"),
        ("z-imag", "Z-image"),
        ("veo3-1-fst", "veo3-1-fast"),
        ("v1-pro-fast-i2", "v1-pro-fast-i2v"),
        ("seedream-v4-5-edi", "seedream-v4-5-edit"),
        ("kling-2-6-motion-control-720", "kling-2-6-motion-control-720p"),
        ("grok-text-to-imag", "grok-text-to-image"),
    ],
)
def test_unknown_model_suggests_the_id_one_typo_away_first(
    reject: Reject, typo: str, model: str
) -> None:
    err = reject({"model": typo}, "unknown_model")
    assert err.payload["suggestions"][0] == model
    assert err.payload["got"] == typo


def test_every_single_deletion_typo_suggests_the_real_id(catalog: Catalog) -> None:
    from rapidfuzz.distance import Levenshtein

    names = [*catalog.models, *catalog.families]
    folded = {n.casefold() for n in names}
    for name in names:
        for i in range(len(name)):
            typo = name[:i] + name[i + 1 :]
            if typo.casefold() in folded:
                continue
            with pytest.raises(MediagateError) as info:
                catalog.resolve(typo)
            suggestions = info.value.payload["suggestions"]
            assert name in suggestions, (typo, suggestions)
            rivals = [
                n
                for n in names
                if n != name and Levenshtein.distance(typo.casefold(), n.casefold()) <= 1
            ]
            if not rivals:
                assert suggestions[0] == name, (typo, suggestions)


@pytest.mark.parametrize("name", ["midjourney-v7", "totally-unknown", "x"])
def test_unknown_model_always_answers_with_suggestions_list(reject: Reject, name: str) -> None:
    err = reject({"model": name}, "unknown_model")
    assert isinstance(err.payload.get("suggestions", []), list)
    assert err.payload["hint"]


@pytest.mark.parametrize(
    ("name", "model"),
    [("Z-IMAGE", "Z-image"), ("z-image", "Z-image"), ("Nano-Banana", "nano-banana"),
     ("flux-2-2k", "flux-2-2K"), (" veo3-1 ", "veo3-1")],
)  # fmt: skip
def test_model_ids_match_case_insensitively(accept: Accept, name: str, model: str) -> None:
    assert accept({"model": name}).model == model


def test_provider_prefix_selects_the_provider(accept: Accept) -> None:
    request = accept({"model": "kubeez/nano-banana"})
    assert (request.model, request.provider) == ("nano-banana", "kubeez")


def test_provider_prefix_matching_the_provider_field_is_accepted(accept: Accept) -> None:
    request = accept({"model": "kubeez/veo3-1", "provider": "kubeez"})
    assert (request.model, request.provider) == ("veo3-1", "kubeez")


def test_provider_prefix_conflicting_with_provider_field_is_invalid(reject: Reject) -> None:
    err = reject({"model": "kubeez/veo3-1", "provider": "gateai"}, "invalid_arguments")
    assert err.payload["field"] == "provider"


def test_provider_prefix_with_a_family_still_asks_for_a_variant(reject: Reject) -> None:
    reject({"model": "kubeez/seedance-2"}, "variant_required")


def test_provider_prefix_with_an_unknown_model_is_unknown_model(reject: Reject) -> None:
    err = reject({"model": "kubeez/nano-banan"}, "unknown_model")
    assert err.payload["suggestions"][0] == "nano-banana"


@pytest.mark.parametrize("value", [None, "", "  ", 5, ["nano-banana"]])
def test_missing_or_malformed_model_is_invalid_arguments(reject: Reject, value: Any) -> None:
    err = reject({"model": value}, "invalid_arguments")
    assert err.payload["field"] == "model"


# === unknown parameters and wrong types ==========================================================


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("negativ_prompt", "negative_prompt"),
        ("aspect", "aspect_ratio"),
        ("durations", "duration"),
        ("source_media_url", "source_media_urls"),
        ("voice", "voice_id"),
        ("image_urls", None),
        ("", None),
    ],
)
def test_unknown_parameter_is_invalid_arguments_with_its_name(
    reject: Reject, key: str, suggestion: str | None
) -> None:
    err = reject({"model": "nano-banana", key: "x"}, "invalid_arguments")
    assert err.payload["field"] == key
    if suggestion is not None:
        assert suggestion in err.payload["suggestions"]


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        ("nano-banana", "prompt", 5),
        ("nano-banana", "prompt", ["a", "b"]),
        ("nano-banana", "generation_type", 3),
        ("nano-banana", "seed", "lucky"),
        ("nano-banana", "seed", -1),
        ("nano-banana", "seed", 1.5),
        ("nano-banana", "seed", 2**63),
        ("nano-banana", "seed", True),
        ("nano-banana", "seed", float("nan")),
        ("imagen-4", "quality", 5),
        ("gpt-image-2", "resolution", 2),
        ("kling-3-0-std", "sound", "yes"),
        ("seedance-2-720p", "generate_audio", "loud"),
        ("seedance-1-5-pro", "fixed_lens", 3),
        ("gemini-omni-video-720p-6s", "voice_id", ["kore"]),
        ("gemini-omni-video-720p-6s", "character_ids", 5),
        ("gemini-omni-video-720p-6s", "character_ids", ["a", "a"]),
    ],
)
def test_wrong_types_are_invalid_arguments_naming_the_field(
    reject: Reject, model: str, field: str, value: Any
) -> None:
    err = reject({"model": model, field: value}, "invalid_arguments")
    assert err.payload["field"] == field


def test_huge_integer_seed_is_invalid_arguments(reject: Reject) -> None:
    err = reject({"model": "nano-banana", "seed": 10**400}, "invalid_arguments")
    assert err.payload["field"] == "seed"


@pytest.mark.parametrize(
    "seed",
    [
        0,
        42,
        7.0,
        2**53,
        pytest.param(2**53 + 1, id="2**53+1"),
        pytest.param(2**63 - 1, id="2**63-1"),
    ],
)
def test_whole_number_seeds_are_kept_exactly(accept: Accept, seed: float) -> None:
    assert accept({"model": "nano-banana", "seed": seed}).seed == int(seed)


@pytest.mark.parametrize("args", [[("model", "nano-banana")], "nano-banana", None, 5])
def test_arguments_must_be_an_object(catalog: Catalog, args: Any) -> None:
    with pytest.raises(MediagateError) as info:
        validate_generate(args, catalog)
    assert info.value.code == "invalid_arguments"
    assert info.value.payload["field"] == "arguments"


@pytest.mark.parametrize(
    "field", ["provider", "idempotency_key", "wait_seconds", "output_dir", "allow_downgrade"]
)
def test_server_level_fields_are_tolerated(accept: Accept, field: str) -> None:
    value = "kubeez" if field == "provider" else None
    assert accept({"model": "nano-banana", field: value}).model == "nano-banana"


# === output sizes ================================================================================


@pytest.mark.parametrize(
    ("args", "size"),
    [
        ({"model": "nano-banana", "aspect_ratio": "16:9"}, (1024, 576)),
        ({"model": "nano-banana", "aspect_ratio": "9:16"}, (576, 1024)),
        ({"model": "nano-banana"}, (1024, 1024)),
        ({"model": "nano-banana-2", "resolution": "4K", "aspect_ratio": "1:1"}, (4096, 4096)),
        ({"model": "nano-banana-pro-2K", "aspect_ratio": "4:3"}, (2048, 1536)),
        ({"model": "gpt-image-2", "resolution": "4K", "aspect_ratio": "16:9"}, (4096, 2304)),
        ({"model": "gpt-image-2", "resolution": "2K", "aspect_ratio": "3:4"}, (1536, 2048)),
        ({"model": "gpt-image-2", "resolution": "1K", "aspect_ratio": "1:1"}, (1024, 1024)),
        ({"model": "flux-2", "resolution": "2K", "aspect_ratio": "3:2"}, (2048, 1366)),
        ({"model": "seedream-v4", "quality": "4K", "aspect_ratio": "16:9"}, (4096, 2304)),
        ({"model": "seedance-2-720p", "aspect_ratio": "16:9"}, (1280, 720)),
        ({"model": "seedance-2-720p", "aspect_ratio": "9:16"}, (720, 1280)),
        ({"model": "seedance-2-480p", "aspect_ratio": "16:9"}, (854, 480)),
        ({"model": "seedance-2-1080p", "aspect_ratio": "16:9"}, (1920, 1080)),
        ({"model": "seedance-2-fast-720p", "aspect_ratio": "1:1"}, (720, 720)),
        ({"model": "gemini-omni-video-4k-6s", "aspect_ratio": "16:9"}, (3840, 2160)),
        ({"model": "gemini-omni-video-4k-6s", "aspect_ratio": "9:16"}, (2160, 3840)),
        ({"model": "gemini-omni-video-1080p-8s", "aspect_ratio": "16:9"}, (1920, 1080)),
        ({"model": "gemini-omni-video-720p-4s"}, (1280, 720)),
        ({"model": "wan-2-7-1080p", "aspect_ratio": "16:9"}, (1920, 1080)),
        ({"model": "kling-3-0-std", "aspect_ratio": "16:9"}, (1280, 720)),
    ],
    ids=lambda v: v if isinstance(v, tuple) else "-".join(str(x) for x in v.values()),
)
def test_output_size_follows_tier_and_aspect(
    accept: Accept, args: dict[str, Any], size: tuple[int, int]
) -> None:
    request = accept(args)
    assert (request.width, request.height) == size


def test_request_round_trips_through_its_dict_form(accept: Accept) -> None:
    request = accept(
        {
            "model": "seedance-2-720p-video-ref",
            "source_media_urls": vids(2) + imgs(1) + auds(1),
            "duration": 8,
            "aspect_ratio": "16:9",
            "seed": 3,
        }
    )
    data = json.loads(json.dumps(request.to_dict()))
    assert GenerationRequest.from_dict(data) == request
