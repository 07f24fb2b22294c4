"""Property tests: any JSON-like ``generate_media`` arguments give a request or a clean error.

The only exception ``validate_generate`` may raise is ``MediagateError`` with a registered code
and a strict-JSON payload; every success is a request the model can actually serve.

Numbers include huge integers and NaN/infinity (Python's json module accepts them from a
client), and text includes non-ASCII digits: all must end in a clean error.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mediagate.catalog import validate_generate
from mediagate.catalog.estimate import estimate_cost, estimate_time
from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import GENERATION_TYPES, MODEL_PARAMS
from mediagate.catalog.validate import COMMON_FIELDS, NATIVE_FIELD, SERVER_FIELDS
from mediagate.errors import ERROR_CODES, MediagateError

FIELDS = sorted({*COMMON_FIELDS, *MODEL_PARAMS, *SERVER_FIELDS, NATIVE_FIELD} - {"model", "prompt"})
#: GateAI's entries of ids Kubeez also serves (a bare id means Kubeez's).
SHARED_GATEAI = ["gateai/gpt-image-2", "gateai/nano-banana-2", "gateai/sora-2", "gateai/sora-2-pro"]
FUZZ = settings(
    max_examples=1200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

json_numbers = st.integers(min_value=-(2**400), max_value=2**400) | st.floats(
    allow_nan=True, allow_infinity=True
)
json_leaves = st.none() | st.booleans() | json_numbers | st.text(max_size=24)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)

EXTENSIONS = ["jpg", "jpeg", "png", "webp", "gif", "avif", "mp4", "mov", "webm", "m4v"]
EXTENSIONS += ["mp3", "wav", "m4a", "aac", "ogg", "JPG", "MP4", "bin", ""]
urls = st.builds(
    "{}://{}/{}{}{}".format,
    st.sampled_from(["https", "http", "HTTPS", "ftp", "file", "data", ""]),
    st.sampled_from(
        [
            "cdn.example.com",
            "cdn.example.com:8443",
            "8.8.8.8",
            "127.0.0.1",
            "10.0.0.1",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "localhost",
            "a.localhost",
            "user:pw@cdn.example.com",
            "2130706433",
            "",
        ]
    ),
    st.text(alphabet="abcXYZ019-_/.", max_size=12),
    st.sampled_from(EXTENSIONS).map(lambda e: f".{e}" if e else ""),
    st.sampled_from(["", "?sig=1.png", "#frag.mp4", "?a=b&c=d"]),
) | st.text(max_size=40)

durations = (
    st.sampled_from(["5s", "5", "10s", "4s", "15", "6", "7s", "2 seconds", "", "x"])
    | st.integers(-3, 40)
    | st.floats(min_value=-5, max_value=40)
)
ASPECTS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9", "5:4", "4:5", "auto"]
ASPECTS += ["adaptive", "16x9", "16/9", " 1:1 ", "AUTO", "0:0", ""]
QUALITIES = ["standard", "fast", "ultra", "pro", "hd", "basic", "high", "medium", "1K", "4K", "low"]
flags = st.booleans() | st.sampled_from(["true", "false", "TRUE", "yes", "0"])
elements = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(["hero", "@ship", "", " "]) | json_values,
            "description": st.sampled_from(["a captain", ""]) | json_values,
            "element_input_urls": st.lists(urls, max_size=5) | urls | json_values,
            "element_input_video_urls": st.lists(urls, max_size=2) | urls | json_values,
        },
    ),
    max_size=3,
)

NATIVE_NAMES = ["quantity", "width", "height", "fps", "guidance_scale", "cfg_scale", "mode"]
NATIVE_NAMES += ["seed", "enable_safety_checker", "loras", "material", "durationSeconds", "bogus"]

#: Plausible values per field; any field may also get an arbitrary JSON value instead.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "generation_type": st.sampled_from([*GENERATION_TYPES, "Image-To-Video", "text-to-audio"]),
    "source_media_urls": st.lists(urls, max_size=12) | urls,
    "negative_prompt": st.text(max_size=40) | st.integers(0, 900).map("n".__mul__),
    "duration": durations,
    "aspect_ratio": st.sampled_from(ASPECTS),
    "quality": st.sampled_from(QUALITIES),
    "resolution": st.sampled_from(
        ["1K", "2K", "4K", "1k", "8K", "720p", "", "1080P", "RESOLUTION_720", "2160p", "768p"]
    ),
    "sound": flags,
    "seed": st.integers(-5, 2**64),
    "generate_audio": flags,
    "fixed_lens": flags,
    "turbo": flags,
    "disable_safety_checker": flags,
    "voice_id": st.sampled_from(["kore", "Puck", "zephyr", "korr", ""]),
    "character_ids": st.lists(st.text(max_size=6), max_size=9),
    "video_trim_start_s": st.floats(-2, 40) | st.integers(-2, 40),
    "video_trim_end_s": st.floats(-2, 40) | st.integers(-2, 40),
    "kling_elements": elements,
    "last_frame_url": urls,
    "provider": st.sampled_from(["kubeez", "gateai", "local", "GateAI", "openai"]),
    # GateAI native options: names from its tables, values in and out of their ranges.
    "params": st.dictionaries(
        st.sampled_from(NATIVE_NAMES),
        st.integers(-2, 5000) | st.floats(-1, 20) | st.sampled_from(["25", "PBR", "x", True]),
        max_size=4,
    ),
    "output_format": st.sampled_from(["png", "jpeg", "jpg", "webp", "gif", "PNG"]),
}


def args_strategy(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    models = (
        st.sampled_from(names)
        | st.sampled_from(names).map(lambda n: f"kubeez/{n}")
        | st.sampled_from(names).map(lambda n: f"gateai/{n}")
        | st.sampled_from(names).map(str.upper)
        | st.text(max_size=20)
        | json_values
    )
    prompts = (
        st.text(min_size=1, max_size=60) | st.integers(0, 21000).map("p".__mul__) | json_values
    )

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = {}
        # Rare branches sit last in sampled_from: Hypothesis leans towards the first entries.
        if draw(st.sampled_from([True] * 19 + [False])):
            args["model"] = draw(models)
        if draw(st.sampled_from([True] * 19 + [False])):
            args["prompt"] = draw(prompts)
        for key in draw(st.lists(st.sampled_from(FIELDS), max_size=7, unique=True)):
            plausible = draw(st.sampled_from([True] * 4 + [False])) and key in VALUES
            args[key] = draw(VALUES[key] if plausible else json_values)
        if draw(st.sampled_from([False] * 14 + [True])):
            args[draw(st.text(max_size=12))] = draw(json_values)
        return args

    return build()


def check_outcome(catalog: Catalog, args: dict[str, Any], allow_private: bool) -> None:
    try:
        request = validate_generate(args, catalog, allow_private_urls=allow_private)
    except MediagateError as err:
        event(f"error {err.code}")
        assert err.code in ERROR_CODES
        payload = err.payload
        assert payload["error"] == err.code
        assert isinstance(payload["message"], str)
        assert payload["message"].strip()
        json.dumps(payload, allow_nan=False)
        return
    event("accepted")
    entry = catalog.entry_of(request)
    assert request.provider == entry.provider
    assert request.generation_type in entry.generation_types
    assert request.media_type == entry.media_type
    assert request.width > 0
    assert request.height > 0
    if entry.gateai is not None:
        quantity = request.params.get("quantity", 1)
        assert 1 <= quantity <= entry.gateai.quantity.max <= 8
        assert len(request.prompt) <= 1500
    if entry.media_type == "video":
        assert request.duration_s is not None
        assert request.duration_s > 0
    else:
        assert request.duration_s is None
    for source in request.sources:
        assert source.kind in ("image", "video", "audio")
    json.dumps(request.to_dict(), allow_nan=False)
    estimate = estimate_cost(entry, request)
    assert estimate.credits is None or estimate.credits >= 0
    assert estimate.usd is None or estimate.usd >= 0
    assert estimate.credits is None or estimate.usd is None
    assert estimate_time(entry, request) > 0


@FUZZ
@given(data=st.data(), allow_private=st.booleans())
def test_arbitrary_arguments_give_a_request_or_a_registered_error(
    catalog: Catalog, data: st.DataObject, allow_private: bool
) -> None:
    names = sorted([*catalog.models, *catalog.families])
    args = data.draw(args_strategy(names), label="args")
    check_outcome(catalog, args, allow_private)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_well_formed_calls_on_real_models_give_a_request_or_a_registered_error(
    catalog: Catalog, data: st.DataObject
) -> None:
    # Closer to what agents send: a real id, a short prompt, plausible option values only.
    model = data.draw(st.sampled_from(sorted(catalog.models) + SHARED_GATEAI), label="model")
    args: dict[str, Any] = {"model": model, "prompt": "a lighthouse in a storm"}
    plausible = {
        "generation_type": st.sampled_from(GENERATION_TYPES),
        "source_media_urls": st.lists(
            st.sampled_from(
                [
                    "https://cdn.example.com/a.jpg",
                    "https://cdn.example.com/b.png",
                    "https://cdn.example.com/c.mp4",
                    "https://cdn.example.com/d.mp3",
                ]
            ),
            max_size=10,
        ),
        "duration": st.integers(1, 30) | st.integers(1, 30).map("{}s".format),
        "aspect_ratio": st.sampled_from(ASPECTS),
        "resolution": st.sampled_from(["1K", "2K", "4K", "720p", "1080p"]),
        "quality": st.sampled_from(QUALITIES),
        "sound": st.booleans(),
        "seed": st.integers(0, 2**31),
        "voice_id": st.sampled_from(["kore", "puck", "nobody"]),
        "character_ids": st.lists(st.sampled_from(["c1", "c2", "c3"]), max_size=3, unique=True),
    }
    for key in data.draw(st.lists(st.sampled_from(sorted(plausible)), max_size=6, unique=True)):
        args[key] = data.draw(plausible[key], label=key)
    check_outcome(catalog, args, False)
