"""Cost and time estimates from the rates the seeds publish (000's live rate tables)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from mediagate.catalog import GenerationRequest
from mediagate.catalog.estimate import CostEstimate, estimate_cost, estimate_time
from mediagate.catalog.registry import Catalog

Accept = Callable[..., GenerationRequest]

VIDEO = "https://cdn.example.com/in/ref.mp4"
IMAGE = "https://cdn.example.com/in/frame.jpg"


@pytest.fixture(scope="module")
def cost(catalog: Catalog, accept: Accept) -> Callable[..., CostEstimate]:
    def _cost(args: dict[str, Any], ref: Sequence[float] | None = None) -> CostEstimate:
        request = accept(args)
        return estimate_cost(catalog.resolve(request.model), request, ref_video_seconds=ref)

    return _cost


@pytest.fixture(scope="module")
def seconds(catalog: Catalog, accept: Accept) -> Callable[..., float]:
    def _seconds(args: dict[str, Any]) -> float:
        request = accept(args)
        return estimate_time(catalog.resolve(request.model), request)

    return _seconds


# --- GPT Image 2 (000 §Resolution tiers: "11 / 15 / 21 credits") ---------------------------------


@pytest.mark.parametrize(
    ("resolution", "aspect", "credits"),
    [("1K", "1:1", 11), ("1K", "auto", 11), ("2K", "16:9", 15), ("4K", "9:16", 21)],
)
def test_gpt_image_2_is_priced_per_tier(
    cost: Callable[..., CostEstimate], resolution: str, aspect: str, credits: int
) -> None:
    estimate = cost({"model": "gpt-image-2", "resolution": resolution, "aspect_ratio": aspect})
    assert estimate.credits == credits
    assert not estimate.warnings


def test_gpt_image_2_defaults_to_the_1k_price(cost: Callable[..., CostEstimate]) -> None:
    assert cost({"model": "gpt-image-2"}).credits == 11


def test_gpt_image_2_image_to_image_costs_the_same(cost: Callable[..., CostEstimate]) -> None:
    estimate = cost(
        {"model": "gpt-image-2", "resolution": "4K", "aspect_ratio": "3:4",
         "source_media_urls": [IMAGE]}
    )  # fmt: skip
    assert estimate.credits == 21


# --- Seedance 2 (000 §Seedance 2 live per-second rates) ------------------------------------------

SEEDANCE_RATES = {
    "seedance-2-1080p": 75,
    "seedance-2-480p": 18,
    "seedance-2-720p": 35,
    "seedance-2-fast-480p": 16,
    "seedance-2-fast-720p": 29,
}
SEEDANCE_REF_RATES = {
    "seedance-2-1080p-video-ref": 48,
    "seedance-2-480p-video-ref": 13,
    "seedance-2-720p-video-ref": 25,
    "seedance-2-fast-480p-video-ref": 12,
    "seedance-2-fast-720p-video-ref": 19,
}


def test_seed_example_seedance_2_720p_five_seconds_costs_175(
    cost: Callable[..., CostEstimate],
) -> None:
    assert cost({"model": "seedance-2-720p", "duration": "5s"}).credits == 175


@pytest.mark.parametrize("duration", [4, 5, 10, 15])
@pytest.mark.parametrize(("model", "rate"), sorted(SEEDANCE_RATES.items()))
def test_seedance_2_is_billed_per_output_second(
    cost: Callable[..., CostEstimate], model: str, rate: int, duration: int
) -> None:
    estimate = cost({"model": model, "duration": duration})
    assert estimate.credits == duration * rate
    assert not estimate.warnings


@pytest.mark.parametrize(("model", "rate"), sorted(SEEDANCE_RATES.items()))
def test_seedance_2_audio_is_free(cost: Callable[..., CostEstimate], model: str, rate: int) -> None:
    with_audio = cost({"model": model, "duration": 8})
    silent = cost({"model": model, "duration": 8, "generate_audio": False})
    assert with_audio.credits == silent.credits == 8 * rate


@pytest.mark.parametrize(("model", "rate"), sorted(SEEDANCE_REF_RATES.items()))
def test_seedance_2_video_ref_without_probe_bills_the_pessimistic_15s(
    cost: Callable[..., CostEstimate], model: str, rate: int
) -> None:
    estimate = cost({"model": model, "duration": 5, "source_media_urls": [VIDEO]})
    assert estimate.credits == (15 + 5) * rate
    assert estimate.warnings
    assert any("15" in w for w in estimate.warnings)


@pytest.mark.parametrize(
    ("refs", "billed_ref"),
    [([3.0], 3.0), ([4.5, 2.5], 7.0), ([5.0, 5.0, 5.0], 15.0), ([10.0, 10.0], 15.0), ([0.5], 0.5)],
    ids=["one-3s", "two-7s", "three-15s", "capped-20s", "half-second"],
)
@pytest.mark.parametrize(("model", "rate"), sorted(SEEDANCE_REF_RATES.items()))
def test_seedance_2_video_ref_with_known_lengths_bills_ref_plus_output(
    cost: Callable[..., CostEstimate],
    model: str,
    rate: int,
    refs: list[float],
    billed_ref: float,
) -> None:
    args = {"model": model, "duration": 6, "source_media_urls": [VIDEO] * len(refs)}
    estimate = cost(args, ref=refs)
    assert estimate.credits == pytest.approx((billed_ref + 6) * rate)
    assert not estimate.warnings


def test_seedance_2_video_ref_lengths_that_do_not_match_the_videos_are_not_trusted(
    cost: Callable[..., CostEstimate],
) -> None:
    args = {"model": "seedance-2-720p-video-ref", "duration": 4, "source_media_urls": [VIDEO] * 2}
    estimate = cost(args, ref=[3.0])
    assert estimate.credits == (15 + 4) * 25
    assert estimate.warnings


def test_seedance_2_video_ref_breakdown_shows_the_formula(
    cost: Callable[..., CostEstimate],
) -> None:
    estimate = cost(
        {"model": "seedance-2-fast-480p-video-ref", "duration": 10, "source_media_urls": [VIDEO]},
        ref=[4.0],
    )
    assert estimate.credits == (4 + 10) * 12
    assert estimate.breakdown["rate_per_second"] == 12
    assert estimate.breakdown["ref_video_seconds"] == 4


# --- Kling 3.0 (000 §Video audio live rates; sound picks the -audio row) --------------------------


@pytest.mark.parametrize(
    ("model", "sound", "rate"),
    [
        ("kling-3-0-std", False, 17),
        ("kling-3-0-std", True, 23),
        ("kling-3-0-pro", False, 21),
        ("kling-3-0-pro", True, 30),
    ],
)
@pytest.mark.parametrize("duration", [3, 5, 8, 15])
def test_kling_3_is_billed_per_second_by_the_sound_row(
    cost: Callable[..., CostEstimate], model: str, sound: bool, rate: int, duration: int
) -> None:
    estimate = cost({"model": model, "duration": duration, "sound": sound})
    assert estimate.credits == duration * rate


@pytest.mark.parametrize(
    ("model", "row"),
    [("kling-3-0-std", "kling-3-0-std-audio"), ("kling-3-0-pro", "kling-3-0-pro-audio")],
)
def test_kling_3_sound_names_the_audio_row(
    cost: Callable[..., CostEstimate], model: str, row: str
) -> None:
    assert cost({"model": model, "sound": True}).breakdown["row"] == row
    assert cost({"model": model}).breakdown["row"] == model


# --- Gemini Omni (000 §Gemini Omni live rates: flat per task; 720p and 1080p share hd rows) ------

GEMINI_PRICES = {
    **{f"gemini-omni-video-{r}-4s": 110 for r in ("720p", "1080p")},
    **{f"gemini-omni-video-{r}-6s": 140 for r in ("720p", "1080p")},
    **{f"gemini-omni-video-{r}-8s": 170 for r in ("720p", "1080p")},
    **{f"gemini-omni-video-{r}-10s": 200 for r in ("720p", "1080p")},
    **{f"gemini-omni-video-{r}-video-ref": 260 for r in ("720p", "1080p")},
    "gemini-omni-video-4k-4s": 230,
    "gemini-omni-video-4k-6s": 260,
    "gemini-omni-video-4k-8s": 290,
    "gemini-omni-video-4k-10s": 320,
    "gemini-omni-video-4k-video-ref": 380,
}


@pytest.mark.parametrize(("model", "credits"), sorted(GEMINI_PRICES.items()))
def test_gemini_omni_is_a_flat_price_per_task(
    cost: Callable[..., CostEstimate], model: str, credits: int
) -> None:
    args: dict[str, Any] = {"model": model}
    if model.endswith("video-ref"):
        args["source_media_urls"] = [VIDEO]
    estimate = cost(args)
    assert estimate.credits == credits
    assert not estimate.warnings


@pytest.mark.parametrize("model", [m for m in GEMINI_PRICES if "-720p-" in m or "-1080p-" in m])
def test_gemini_omni_720p_and_1080p_bill_the_hd_rows(catalog: Catalog, model: str) -> None:
    rows = catalog.resolve(model).pricing.rows
    suffix = model.split("-", 4)[4]
    assert rows == [f"gemini-omni-video-hd-{suffix}"]


def test_gemini_omni_price_ignores_the_duration_argument(
    cost: Callable[..., CostEstimate],
) -> None:
    assert cost({"model": "gemini-omni-video-720p-6s", "duration": 10}).credits == 140


# --- models without a published price -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        {"model": "nano-banana"},
        {"model": "nano-banana-2", "resolution": "4K"},
        {"model": "imagen-4"},
        {"model": "flux-2", "resolution": "2K"},
        {"model": "veo3-1"},
        {"model": "sora-2"},
        {"model": "wan-2-7-720p", "duration": 10},
        {"model": "kling-2-6-text-to-video", "sound": True},
        {"model": "seedance-1-5-pro"},
        {"model": "kling-3-0-motion-control-720p", "source_media_urls": [IMAGE, VIDEO]},
        {"model": "p-image-edit", "source_media_urls": [IMAGE]},
    ],
    ids=lambda a: a["model"],
)
def test_models_without_a_published_price_have_no_credits(
    cost: Callable[..., CostEstimate], args: dict[str, Any]
) -> None:
    estimate = cost(args)
    assert estimate.credits is None
    assert estimate.breakdown


# --- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        {"model": "nano-banana"},
        {"model": "gpt-image-2", "resolution": "4K", "aspect_ratio": "16:9"},
        {"model": "seedream-v4", "quality": "4K"},
        {"model": "seedance-2-720p"},
        {"model": "gemini-omni-video-4k-10s"},
        {"model": "veo3-1-fast"},
        {"model": "kling-2-6-motion-control-720p", "source_media_urls": [IMAGE, VIDEO]},
        {"model": "gemini-omni-video-720p-video-ref", "source_media_urls": [VIDEO]},
    ],
    ids=lambda a: a["model"],
)
def test_time_estimates_are_positive(seconds: Callable[..., float], args: dict[str, Any]) -> None:
    assert seconds(args) > 0


@pytest.mark.parametrize(
    ("model", "durations"),
    [
        ("seedance-2-720p", [4, 8, 15]),
        ("kling-3-0-pro", [3, 10, 15]),
        ("wan-2-7-1080p", [2, 9, 15]),
        ("kling-2-6-text-to-video", [5, 10]),
        ("sora-2-pro-storyboard", [10, 15, 25]),
    ],
)
def test_time_estimates_grow_with_duration(
    seconds: Callable[..., float], model: str, durations: list[int]
) -> None:
    times = [seconds({"model": model, "duration": d}) for d in durations]
    assert all(t > 0 for t in times)
    assert times == sorted(times)
    assert times[0] < times[-1]


def test_time_estimates_grow_with_image_tier(seconds: Callable[..., float]) -> None:
    times = [
        seconds({"model": "gpt-image-2", "resolution": r, "aspect_ratio": "16:9"})
        for r in ("1K", "2K", "4K")
    ]
    assert times == sorted(times)
    assert times[0] < times[-1]
