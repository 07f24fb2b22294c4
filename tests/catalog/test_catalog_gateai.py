"""GateAI's models (seed 004) as the catalog enforces them, table-driven from the seed's text.

Expectations come from ``seed004`` (a parser of the seed document), never from the data files:
every model heading has an entry; every enum value in a parameter table is accepted through the
argument that maps to it and a value outside is refused with the right code; every min/max is
enforced at both ends; the API-wide 1,500-character prompt cap and quantity ≤ 8 hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import seed004
from seed004 import (
    PROMPT_CAP,
    QUANTITY_CAP,
    Row,
    SeedModel,
    inline_reference_fields,
    seed_models,
)

from mediagate.catalog import GenerationRequest, validate_generate
from mediagate.catalog.estimate import estimate_cost
from mediagate.catalog.gateai import AUTO, upstream_params
from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError

SEED = seed_models()
IDS = sorted(SEED)
IMAGE = "https://cdn.example.com/input-{}.png"


def gateai(catalog: Catalog, model_id: str) -> ModelEntry:
    return catalog.entries[f"gateai/{model_id}"]


def base_call(entry: ModelEntry, **extra: Any) -> dict[str, Any]:
    """The smallest valid call: the default generation type with the images it needs."""
    call: dict[str, Any] = {"model": f"gateai/{entry.id}", "prompt": "a lighthouse at dusk"}
    need = entry.inputs[entry.default_generation_type].images.min
    if need:
        call["source_media_urls"] = [IMAGE.format(i) for i in range(need)]
    call.update(extra)
    return call


def ok(catalog: Catalog, entry: ModelEntry, **extra: Any) -> GenerationRequest:
    request = validate_generate(base_call(entry, **extra), catalog)
    assert (request.provider, request.model) == ("gateai", entry.id)
    return request


def refused(catalog: Catalog, entry: ModelEntry, code: str, **extra: Any) -> dict[str, Any]:
    with pytest.raises(MediagateError) as info:
        validate_generate(base_call(entry, **extra), catalog)
    assert info.value.code == code, info.value.payload
    return info.value.payload


def _scalar(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


# --- every model ------------------------------------------------------------------------------


def test_seed_004_documents_53_models(catalog: Catalog) -> None:
    # The issue says 52; the document has 53 `model:` headings (all distinct ids).
    assert len(SEED) == 53


def test_every_seed_model_has_a_gateai_entry_and_nothing_more(catalog: Catalog) -> None:
    served = {e.id for e in catalog.entries.values() if e.provider == "gateai"}
    assert served == set(SEED)


@pytest.mark.parametrize("model_id", IDS)
def test_entry_cites_its_seed_section_and_sends_the_examples_model_and_type(
    catalog: Catalog, model_id: str
) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    assert f"004 §{seed.name}" in entry.sources
    assert entry.gateai is not None
    assert entry.gateai.model == seed.example["model"] == model_id
    assert entry.gateai.type == seed.example["type"]


@pytest.mark.parametrize("model_id", IDS)
def test_media_type_follows_the_section_except_image_models_listed_as_video(
    catalog: Catalog, model_id: str
) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    per_image = "per 1024×1024 image" in seed.cost
    if seed.section == "Video" and per_image:
        # Lucid Origin/Realism, Cortex v0.9/v1.0: square sizes, up to 8 outputs, image prices.
        assert entry.media_type == "image"
        assert entry.conflicts
    else:
        assert entry.media_type == {"Image": "image", "Video": "video", "3D": "3d"}[seed.section]


@pytest.mark.parametrize("model_id", IDS)
def test_price_is_kept_as_published_in_dollars(catalog: Catalog, model_id: str) -> None:
    entry = gateai(catalog, model_id)
    assert entry.pricing.unit == "usd"
    assert entry.pricing.published == SEED[model_id].cost


# --- prompt and quantity caps -----------------------------------------------------------------


def _prompt_max(seed: SeedModel) -> int:
    row = seed.rows.get("prompt")
    own = int(row.constraints["maxLen"]) if row and "maxLen" in row.constraints else PROMPT_CAP
    return min(own, PROMPT_CAP)


@pytest.mark.parametrize("model_id", IDS)
def test_prompt_cap_is_the_api_wide_1500_even_over_a_larger_maxlen(
    catalog: Catalog, model_id: str
) -> None:
    entry = gateai(catalog, model_id)
    cap = _prompt_max(SEED[model_id])
    assert entry.prompt_max == cap == PROMPT_CAP
    ok(catalog, entry, prompt="p" * cap)
    err = refused(catalog, entry, "prompt_too_long", prompt="p" * (cap + 1))
    assert (err["max"], err["got"]) == (cap, cap + 1)


def _quantity_cap(seed: SeedModel) -> int:
    row = seed.rows.get("quantity")
    if row is None:
        return 1
    return min(int(row.constraints.get("max", QUANTITY_CAP)), QUANTITY_CAP)


@pytest.mark.parametrize("model_id", IDS)
def test_quantity_is_capped_by_the_table_and_the_api_wide_8(
    catalog: Catalog, model_id: str
) -> None:
    entry = gateai(catalog, model_id)
    cap = _quantity_cap(SEED[model_id])
    assert ok(catalog, entry, params={"quantity": cap}).params["quantity"] == cap
    assert ok(catalog, entry, params={"quantity": 1}).params["quantity"] == 1
    for bad in (0, cap + 1):
        err = refused(catalog, entry, "invalid_arguments", params={"quantity": bad})
        assert (err["field"], err["min"], err["max"], err["got"]) == (
            "params.quantity",
            1,
            cap,
            bad,
        )


@pytest.mark.parametrize("model_id", IDS)
def test_quantity_is_sent_only_when_given_or_required(catalog: Catalog, model_id: str) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    row = seed.rows.get("quantity")
    params = ok(catalog, entry).params
    if row is not None and row.required:
        assert params["quantity"] == _scalar(row.default or "1")
    else:
        assert "quantity" not in params


# --- enums ------------------------------------------------------------------------------------


def _enum_cases() -> Iterator[tuple[str, str, str]]:
    for seed in SEED.values():
        for row in seed.rows.values():
            for value in row.enum or ():
                yield seed.id, row.name, value


ENUM_CASES = list(_enum_cases())


def _through(entry: ModelEntry, row: str, value: Any) -> tuple[dict[str, Any], str]:
    """The call fragment that sets GateAI's ``row`` to ``value``, and the refusal code."""
    spec = entry.gateai
    assert spec is not None
    if row == spec.duration_param:
        return {"duration": value}, "invalid_duration"
    if row == spec.tier_param:
        return {"resolution": value}, "invalid_resolution"
    if row == spec.quality_param:
        return {"quality": value}, "invalid_quality"
    if row == spec.aspect_param:
        return {"aspect_ratio": value}, "aspect_ratio_invalid_for_model"
    if row == "output_format":
        return {"output_format": value}, "invalid_arguments"
    return {"params": {row: value}}, "invalid_arguments"


def _body(catalog: Catalog, entry: ModelEntry, request: GenerationRequest) -> dict[str, Any]:
    assert entry.gateai is not None
    values = entry.quality.values if entry.quality is not None else None
    return upstream_params(request, entry.gateai, values)


@pytest.mark.parametrize(("model_id", "row", "value"), ENUM_CASES)
def test_every_enum_value_in_the_seed_is_accepted_and_sent(
    catalog: Catalog, model_id: str, row: str, value: str
) -> None:
    entry = gateai(catalog, model_id)
    sent = _scalar(value)
    fragment, _code = _through(entry, row, sent)
    request = ok(catalog, entry, **fragment)
    body = _body(catalog, entry, request)
    assert body[row] == sent, (body, row, sent)


ENUM_ROWS = sorted({(model_id, row) for model_id, row, _value in ENUM_CASES})


@pytest.mark.parametrize(("model_id", "row"), ENUM_ROWS)
def test_a_value_outside_each_seed_enum_is_refused(
    catalog: Catalog, model_id: str, row: str
) -> None:
    entry = gateai(catalog, model_id)
    enum = SEED[model_id].rows[row].enum or []
    outside: Any
    if row == "output_format":
        outside = next((f for f in ("webp", "png", "jpeg") if f not in enum), None)
        if outside is None:
            pytest.skip("every format we know is in this enum")
    elif all(isinstance(_scalar(v), int) for v in enum):
        outside = next(c for c in (7, 1, 99, 31) if str(c) not in enum)
    else:
        outside = "not-" + enum[0]
    fragment, code = _through(entry, row, outside)
    err = refused(catalog, entry, code, **fragment)
    assert err["got"] == outside
    if row != "output_format":
        assert [str(a) for a in err["allowed"]] == enum or code != "invalid_arguments"
    if code == "invalid_arguments":
        assert err["field"] in (row, f"params.{row}")


# --- min / max / step -------------------------------------------------------------------------


def _axis_limits(seed: SeedModel, axis: str) -> tuple[int, int, int] | None:
    row = seed.rows.get(axis)
    if row is None or row.enum or "max" not in row.constraints:
        return None
    lo, hi = int(row.constraints.get("min", 0)), int(row.constraints["max"])
    step = int(row.constraints.get("step", 1))
    if axis in seed.dimension_range:
        # The table and "Dimension Range" both hold: the catalog enforces their intersection.
        r_lo, r_hi, r_step = seed.dimension_range[axis]
        lo, hi, step = max(lo, r_lo), min(hi, r_hi), max(step, r_step)
    return lo, hi, step


def _range_cases() -> Iterator[tuple[str, str]]:
    for seed in SEED.values():
        for row in seed.rows.values():
            bounded = "min" in row.constraints or "max" in row.constraints
            if row.enum is None and bounded and row.name != "quantity":
                yield seed.id, row.name


RANGE_CASES = list(_range_cases())


@pytest.mark.parametrize(("model_id", "row"), RANGE_CASES)
def test_every_seed_min_and_max_is_enforced_at_both_ends(
    catalog: Catalog, model_id: str, row: str
) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    spec = seed.rows[row]
    if row == "seed":
        lo, hi = int(spec.constraints.get("min", 0)), spec.constraints.get("max")
        assert ok(catalog, entry, seed=lo).seed == lo
        err = refused(catalog, entry, "invalid_arguments", seed=lo - 1)
        assert (err["field"], err["min"], err["got"]) == ("seed", lo, lo - 1)
        if hi is not None:
            assert ok(catalog, entry, seed=int(hi)).seed == int(hi)
            err = refused(catalog, entry, "invalid_arguments", seed=int(hi) + 1)
            assert err["max"] == int(hi)
        return
    if row in ("width", "height"):
        limits = _axis_limits(seed, row)
        assert limits is not None
        lo, hi, step = limits
        for good in (lo, hi - (hi % step)):
            assert ok(catalog, entry, params={row: good}).params[row] == good
        for bad in (hi + step, lo - step):
            err = refused(catalog, entry, "invalid_arguments", params={row: bad})
            assert (err["field"], err["min"], err["max"]) == (f"params.{row}", lo, hi)
        if step > 1:
            err = refused(catalog, entry, "invalid_arguments", params={row: lo + 1})
            assert err["step"] == step
        return
    if row in ("prompt",):
        return  # test_prompt_cap_is_the_api_wide_1500_even_over_a_larger_maxlen
    if row == "negative_prompt":
        cap = int(spec.constraints["maxLen"])
        assert ok(catalog, entry, negative_prompt="n" * cap).negative_prompt == "n" * cap
        err = refused(catalog, entry, "negative_prompt_too_long", negative_prompt="n" * (cap + 1))
        assert err["max"] == cap
        return
    lo_f, hi_f = spec.constraints.get("min"), spec.constraints.get("max")
    delta = 1 if spec.type == "integer" else 0.1
    for good in (lo_f, hi_f):
        if good is not None:
            value = int(good) if spec.type == "integer" else good
            assert ok(catalog, entry, params={row: value}).params[row] == value
    for bad, key in ((lo_f, "min"), (hi_f, "max")):
        if bad is None:
            continue
        value = bad - delta if key == "min" else bad + delta
        err = refused(catalog, entry, "invalid_arguments", params={row: value})
        assert err["field"] == f"params.{row}"
        assert math.isclose(err[key], bad)


@pytest.mark.parametrize("model_id", IDS)
def test_width_and_height_enums_hold_every_size_sent(catalog: Catalog, model_id: str) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    spec = entry.gateai
    assert spec is not None
    sizes = [
        size
        for table in [spec.sizes, *spec.tier_sizes.values()]
        for aspect, size in table.items()
        if aspect != AUTO
    ]
    for axis, i in (("width", 0), ("height", 1)):
        row = seed.rows.get(axis)
        if row is None:
            continue
        enum = row.enum
        limits = _axis_limits(seed, axis)
        for size in sizes:
            if enum is not None:
                assert str(size[i]) in enum, (axis, size)
            elif limits is not None:
                lo, hi, step = limits
                assert lo <= size[i] <= hi and size[i] % step == 0, (axis, size)


# --- sizes ------------------------------------------------------------------------------------


def _ratio(label: str) -> str:
    # "Twitter / X (4:3)" → "4:3"
    return label.rsplit("(", 1)[-1].rstrip(")") if "(" in label else label


@pytest.mark.parametrize("model_id", [i for i in IDS if SEED[i].resolutions])
def test_supported_resolutions_become_aspect_ratios_with_those_exact_sizes(
    catalog: Catalog, model_id: str
) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    for label, sizes in seed.resolutions.items():
        ratio = _ratio(label)
        assert ratio in entry.aspect_ratio.allowed
        if len(sizes) == 3:  # Small / Medium / Large
            for tier, size in zip(("1K", "2K", "4K"), sizes, strict=True):
                request = ok(catalog, entry, aspect_ratio=ratio, resolution=tier)
                assert (request.width, request.height) == size
        else:
            request = ok(catalog, entry, aspect_ratio=ratio)
            assert (request.width, request.height) == sizes[0]
            body = _body(catalog, entry, request)
            if "width" in seed.rows and entry.gateai and entry.gateai.aspect_param is None:
                assert (body["width"], body["height"]) == sizes[0]


@pytest.mark.parametrize("model_id", IDS)
def test_every_aspect_ratio_at_every_tier_has_a_size_of_that_ratio(
    catalog: Catalog, model_id: str
) -> None:
    entry = gateai(catalog, model_id)
    tiers = [t.id for t in entry.resolution.tiers] if entry.resolution else [None]
    aspects = [entry.aspect_ratio.default] if entry.aspect_ratio.ignored else []
    aspects += entry.aspect_ratio.allowed if not entry.aspect_ratio.ignored else []
    for tier in tiers:
        for aspect in aspects:
            extra: dict[str, Any] = {"aspect_ratio": aspect}
            if tier is not None:
                extra["resolution"] = tier
            request = ok(catalog, entry, **extra)
            assert request.width > 0 and request.height > 0
            if aspect != AUTO and ":" in aspect:
                a, b = map(int, aspect.split(":"))
                # The seed's own tables round sizes to 16 px: up to 3.2 % off (Recraft's 6:10).
                assert math.isclose(request.width / request.height, a / b, rel_tol=0.035)


# --- the body sent upstream -------------------------------------------------------------------


#: Fields a model's table lacks that seed 004 sends for it elsewhere: §Generate Content's
#: reference example posts ``seedance-2.0`` with ``"mode": "RESOLUTION_720"`` (the Fast tier
#: shares its parameters).
SEED_EXAMPLE_FIELDS = {"seedance-2.0": {"mode"}, "seedance-2.0-fast": {"mode"}}


def test_the_generate_content_example_sends_mode_to_seedance() -> None:
    text = seed004.SEED.read_text()
    section = text.split("**Image/video references:**", 1)[1][:600]
    assert '"model": "seedance-2.0"' in section and '"mode": "RESOLUTION_720"' in section


@pytest.mark.parametrize("model_id", IDS)
def test_default_body_uses_only_the_models_parameters_and_matches_its_example(
    catalog: Catalog, model_id: str
) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    body = _body(catalog, entry, ok(catalog, entry))
    known = set(seed.rows) | set(inline_reference_fields()) | {"prompt"}
    known |= SEED_EXAMPLE_FIELDS.get(model_id, set())
    assert set(body) <= known, set(body) - known
    example = seed.example["params"]
    assert isinstance(example, Mapping)
    for key, value in example.items():
        if key in body and key != "prompt":
            assert body[key] == value, (key, body[key], value)


@pytest.mark.parametrize("model_id", IDS)
def test_every_table_parameter_is_mapped_or_native_and_nothing_is_invented(
    catalog: Catalog, model_id: str
) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    spec = entry.gateai
    assert spec is not None
    native = set(spec.params_by_name)
    special = {"quantity"} | ({"width", "height"} if spec.dimensions is not None else set())
    for name in seed.rows:
        assert name in spec.mapped or name in native or name in special, name
    assert native <= set(seed.rows)
    mapped_fields = {f for f, arg in spec.mapped.items() if arg != "source_media_urls"}
    extra = {"prompt", "negative_prompt", "seed"} | SEED_EXAMPLE_FIELDS.get(model_id, set())
    assert mapped_fields - extra <= set(seed.rows)


@pytest.mark.parametrize("model_id", IDS)
def test_native_params_keep_the_seeds_types_defaults_and_flags(
    catalog: Catalog, model_id: str
) -> None:
    seed, entry = SEED[model_id], gateai(catalog, model_id)
    assert entry.gateai is not None
    for param in entry.gateai.params:
        row = seed.rows[param.name]
        assert param.required == row.required
        if row.enum is not None:
            assert [str(v) for v in param.enum or []] == row.enum
        elif row.type == "?":
            assert param.type == "any"
        else:
            assert param.type == row.type
        if row.default is None:
            assert param.default is None
        elif row.type == "array":
            assert param.default == [row.default]  # response_modalities: "IMAGE" → ["IMAGE"]
        elif row.type == "boolean" or row.default in ("true", "false"):
            assert param.default == (row.default == "true")
        else:
            assert param.default == _scalar(row.default)


def _mapped_cases() -> Iterator[tuple[str, str]]:
    for seed in SEED.values():
        for name in seed.rows:
            if name not in ("quantity", "width", "height"):
                yield seed.id, name


def _sample(row: Row) -> Any:
    """A value the seed's table allows for ``row``."""
    if row.enum:
        return _scalar(row.enum[0])
    if row.default is not None and row.type not in ("array", "?"):
        return {"true": True, "false": False}.get(row.default, _scalar(row.default))
    if "min" in row.constraints:
        return int(row.constraints["min"]) if row.type == "integer" else row.constraints["min"]
    return {"boolean": True, "array": [], "integer": 1, "number": 1.5}.get(row.type, "x")


@pytest.mark.parametrize(("model_id", "row"), list(_mapped_cases()))
def test_each_table_parameter_is_either_native_or_named_by_its_unified_argument(
    catalog: Catalog, model_id: str, row: str
) -> None:
    entry = gateai(catalog, model_id)
    assert entry.gateai is not None
    unified = entry.gateai.mapped.get(row)
    if unified is None:
        value = _sample(SEED[model_id].rows[row])
        assert ok(catalog, entry, params={row: value}).params[row] == value
        return
    err = refused(catalog, entry, "invalid_arguments", params={row: "x"})
    assert err["field"] == f"params.{row}"
    assert unified in err["hint"]


@pytest.mark.parametrize("model_id", IDS)
def test_an_unknown_native_parameter_is_refused_with_suggestions(
    catalog: Catalog, model_id: str
) -> None:
    entry = gateai(catalog, model_id)
    assert entry.gateai is not None
    names = [p.name for p in entry.gateai.params] or ["quantity"]
    typo = names[0][:-1]
    err = refused(catalog, entry, "invalid_arguments", params={typo: 1})
    assert err["field"] == f"params.{typo}"
    assert names[0] in err["allowed"]
    assert names[0] in (err.get("suggestions") or [])


def test_native_defaults_are_not_sent_unless_given(catalog: Catalog) -> None:
    entry = gateai(catalog, "flux-dev")
    body = _body(catalog, entry, ok(catalog, entry))
    assert "guidance_scale" not in body and "num_inference_steps" not in body
    request = ok(catalog, entry, params={"guidance_scale": 7, "loras": [{"id": "x"}]})
    assert request.params == {"guidance_scale": 7.0, "loras": [{"id": "x"}]}


def test_kubeez_models_take_no_native_params(catalog: Catalog) -> None:
    with pytest.raises(MediagateError) as info:
        validate_generate({"model": "nano-banana", "prompt": "x", "params": {"seed": 1}}, catalog)
    assert info.value.payload["field"] == "params.seed"
    request = validate_generate({"model": "nano-banana", "prompt": "x", "params": {}}, catalog)
    assert request.params == {}


@pytest.mark.parametrize("value", ["fast", [1], 3])
def test_params_must_be_an_object(catalog: Catalog, value: Any) -> None:
    entry = gateai(catalog, "flux-dev")
    err = refused(catalog, entry, "invalid_arguments", params=value)
    assert err["field"] == "params"


# --- references -------------------------------------------------------------------------------


REF_CASES: list[tuple[str, str, list[str], dict[str, Any]]] = [
    # (model, generation type, sources, expected reference fields)
    ("hailuo-2_3", "image-to-video", ["a.png"], {"start_frame": "a.png"}),
    ("hailuo-2_3-fast", "image-to-video", ["a.png"], {"start_frame": "a.png"}),
    (
        "seedance-2.0",
        "image-to-video",
        ["a.png", "b.png"],
        {"start_frame": "a.png", "end_frame": "b.png"},
    ),
    (
        "seedance-2.0",
        "text-to-video",
        ["a.png", "b.png", "c.mp4", "d.mp3"],
        {
            "reference_image_urls": ["a.png", "b.png"],
            "reference_video_urls": ["c.mp4"],
            "reference_audio_urls": ["d.mp3"],
        },
    ),
    ("kling-3.0", "text-to-video", ["a.png"] * 7, {"image_urls": ["a.png"] * 7}),
    (
        "kling-video-o-1",
        "text-to-video",
        ["a.png", "v.mp4"],
        {"image_guidance": ["a.png"], "video_guidance": ["v.mp4"]},
    ),
    ("happy-horse", "text-to-video", ["v.mp4"], {"video_guidance": ["v.mp4"]}),
    ("veo-3.1-lite", "image-to-video", ["a.png", "b.png"],
     {"start_frame": "a.png", "end_frame": "b.png"}),
    ("nano-banana-2", "image-to-image", ["a.png", "b.png"], {"image_urls": ["a.png", "b.png"]}),
    ("ideogram-v3.0", "image-to-image", ["a.png"], {"image_urls": ["a.png"]}),
    ("rodin-v2", "image-to-3d", ["a.png", "b.png"], {"image_urls": ["a.png", "b.png"]}),
]  # fmt: skip


@pytest.mark.parametrize(("model_id", "gt", "files", "fields"), REF_CASES)
def test_source_media_urls_fill_the_models_reference_fields_in_order(
    catalog: Catalog, model_id: str, gt: str, files: list[str], fields: dict[str, Any]
) -> None:
    entry = gateai(catalog, model_id)
    urls = [f"https://cdn.example.com/{f}" for f in files]
    request = ok(catalog, entry, generation_type=gt, source_media_urls=urls)
    body = _body(catalog, entry, request)
    prefixed = {
        k: ([f"https://cdn.example.com/{x}" for x in v] if isinstance(v, list) else
            f"https://cdn.example.com/{v}")
        for k, v in fields.items()
    }  # fmt: skip
    assert {k: body[k] for k in prefixed} == prefixed
    assert set(seed_models()[model_id].rows) >= set(prefixed) or model_id == "rodin-v2"


def test_inputs_beyond_the_first_and_last_frame_pick_the_reference_mode(catalog: Catalog) -> None:
    entry = gateai(catalog, "seedance-2.0")
    urls = [IMAGE.format(i) for i in range(3)]
    request = ok(catalog, entry, source_media_urls=urls)
    assert request.generation_type == "text-to-video"
    assert ok(catalog, entry, source_media_urls=urls[:1]).generation_type == "image-to-video"


@pytest.mark.parametrize(
    ("model_id", "row"),
    [("hailuo-2_3-fast", "start_frame"), ("kling-2.5-turbo-standard", "start_frame")],
)
def test_a_required_start_frame_makes_the_model_image_to_video_only(
    catalog: Catalog, model_id: str, row: str
) -> None:
    assert SEED[model_id].rows[row].required
    entry = gateai(catalog, model_id)
    assert entry.generation_types == ["image-to-video"]
    with pytest.raises(MediagateError) as info:
        validate_generate({"model": f"gateai/{model_id}", "prompt": "x"}, catalog)
    assert info.value.code == "source_media_required"


def test_happy_horse_video_edit_takes_at_most_five_images_with_its_video(
    catalog: Catalog,
) -> None:
    entry = gateai(catalog, "happy-horse")
    video = "https://cdn.example.com/v.mp4"
    five = [IMAGE.format(i) for i in range(5)]
    ok(catalog, entry, generation_type="text-to-video", source_media_urls=[*five, video])
    refused(
        catalog,
        entry,
        "too_many_references",
        generation_type="text-to-video",
        source_media_urls=[*five, IMAGE.format(9), video],
    )
    nine = [IMAGE.format(i) for i in range(9)]
    ok(catalog, entry, generation_type="text-to-video", source_media_urls=nine)


# --- durations, tiers, sound ------------------------------------------------------------------


def test_hailuo_ten_seconds_needs_768p(catalog: Catalog) -> None:
    # Seed 004: "1080P supports only 6 seconds" (1080p is the default).
    entry = gateai(catalog, "hailuo-2_3")
    request = ok(catalog, entry, duration=10)
    assert request.resolution == "768p"
    assert any("768p" in w for w in request.warnings)
    err = refused(catalog, entry, "invalid_duration", duration=10, resolution="1080p")
    assert err["allowed"] == [6]
    assert ok(catalog, entry, duration=6, resolution="1080p").resolution == "1080p"


def test_ltxv_23_fast_over_ten_seconds_needs_25_fps_and_1080p(catalog: Catalog) -> None:
    entry = gateai(catalog, "ltxv-2.3-fast")
    ok(catalog, entry, duration=20)
    refused(catalog, entry, "invalid_duration", duration=12, params={"fps": 50})
    refused(catalog, entry, "invalid_duration", duration=12, resolution="1440p")
    ok(catalog, entry, duration=10, params={"fps": 50}, resolution="4k")


@pytest.mark.parametrize(
    ("model_id", "resolution", "mode"),
    [("kling-3.0", "720p", "RESOLUTION_720"), ("kling-3.0", "4K", "RESOLUTION_2160"),
     ("veo-3.1-generate-001", "1080p", "RESOLUTION_1080"),
     ("cortex_2.0", "480P", "RESOLUTION_480"), ("ltxv-2.0-ultra", "2160p", "RESOLUTION_2160"),
     ("sora-2-pro", "RESOLUTION_1080", "RESOLUTION_1080")],
)  # fmt: skip
def test_resolution_tiers_become_the_models_mode(
    catalog: Catalog, model_id: str, resolution: str, mode: str
) -> None:
    entry = gateai(catalog, model_id)
    body = _body(catalog, entry, ok(catalog, entry, resolution=resolution))
    assert body["mode"] == mode


def test_tier_sizes_follow_the_width_enum(catalog: Catalog) -> None:
    entry = gateai(catalog, "sora-2-pro")
    request = ok(catalog, entry, resolution="1080p", aspect_ratio="9:16")
    assert (request.width, request.height) == (1024, 1792)


@pytest.mark.parametrize(
    ("model_id", "param", "default"),
    [("kling-3.0", "generate_audio", True), ("kling-video-o-3", "generate_audio", False),
     ("seedance-2.0", "generate_audio", True), ("veo-3.1-lite", "motion_has_audio", True),
     ("kling-2.6", "motion_has_audio", True)],
)  # fmt: skip
def test_sound_maps_to_the_models_audio_switch_whose_default_applies_when_omitted(
    catalog: Catalog, model_id: str, param: str, default: bool
) -> None:
    entry = gateai(catalog, model_id)
    request = ok(catalog, entry)
    assert request.has_audio is default
    assert param not in _body(catalog, entry, request)
    for sound in (True, False):
        request = ok(catalog, entry, sound=sound)
        assert request.has_audio is sound
        assert _body(catalog, entry, request)[param] is sound


def test_seedance_takes_seed_minus_one_for_random(catalog: Catalog) -> None:
    entry = gateai(catalog, "seedance-2.0")
    assert ok(catalog, entry, seed=-1).seed == -1


def test_a_seed_on_a_model_without_one_is_ignored_with_a_warning(catalog: Catalog) -> None:
    request = ok(catalog, gateai(catalog, "sora-2"), seed=5)
    assert request.seed is None
    assert any("seed" in w for w in request.warnings)


def test_auto_aspect_sends_no_size(catalog: Catalog) -> None:
    entry = gateai(catalog, "kling-video-o-1")
    request = ok(catalog, entry)
    assert request.aspect_ratio == AUTO
    body = _body(catalog, entry, request)
    assert "width" not in body and "height" not in body
    body = _body(catalog, entry, ok(catalog, entry, aspect_ratio="9:16"))
    assert (body["width"], body["height"]) == (1080, 1920)


def test_ltxv_sends_its_aspect_ratio_parameter_instead_of_a_size(catalog: Catalog) -> None:
    entry = gateai(catalog, "ltxv-2.0-fast")
    body = _body(catalog, entry, ok(catalog, entry, aspect_ratio="9:16", resolution="1440p"))
    assert body["aspect_ratio"] == "9:16" and body["resolution"] == "1440p"
    assert "width" not in body


def test_width_and_height_in_params_override_the_aspect_size(catalog: Catalog) -> None:
    entry = gateai(catalog, "flux-dev")
    request = ok(catalog, entry, aspect_ratio="16:9", params={"width": 2048, "height": 512})
    assert (request.width, request.height) == (2048, 512)
    body = _body(catalog, entry, request)
    assert (body["width"], body["height"]) == (2048, 512)


def test_output_format_defaults_to_the_models_own(catalog: Catalog) -> None:
    assert ok(catalog, gateai(catalog, "gpt-image-2")).output_format == "jpeg"
    assert ok(catalog, gateai(catalog, "nano-banana-2")).output_format == "png"
    request = ok(catalog, gateai(catalog, "flux-dev"), output_format="webp")
    assert any("output_format" in w for w in request.warnings)


# --- 3D ---------------------------------------------------------------------------------------


def test_rodin_is_text_or_image_to_3d_with_glb_outputs(catalog: Catalog) -> None:
    seed, entry = SEED["rodin-v2"], gateai(catalog, "rodin-v2")
    assert seed.glb
    assert entry.media_type == "3d"
    assert entry.generation_types == ["text-to-3d", "image-to-3d"]
    assert entry.gateai is not None
    assert entry.gateai.output_fields == ["result", "glb_urls"]
    request = ok(catalog, entry)
    assert (request.media_type, request.generation_type) == ("3d", "text-to-3d")
    assert request.duration_s is None and request.has_audio is False
    request = ok(catalog, entry, source_media_urls=[IMAGE.format(1)], quality="medium")
    assert request.generation_type == "image-to-3d"
    assert _body(catalog, entry, request)["quality"] == "medium"


def test_3d_ignores_duration_sound_and_aspect_with_warnings(catalog: Catalog) -> None:
    request = ok(
        catalog,
        gateai(catalog, "rodin-v2"),
        duration=5,
        sound=True,
        aspect_ratio="16:9",
        output_format="png",
    )
    text = " ".join(request.warnings)
    for field in ("duration", "sound", "aspect_ratio", "output_format"):
        assert field in text


def test_rodin_takes_at_most_five_images(catalog: Catalog) -> None:
    entry = gateai(catalog, "rodin-v2")
    refused(
        catalog, entry, "too_many_images", source_media_urls=[IMAGE.format(i) for i in range(6)]
    )


def test_explicit_3d_generation_types_are_known(catalog: Catalog) -> None:
    entry = gateai(catalog, "rodin-v2")
    assert ok(catalog, entry, generation_type="text-to-3d").generation_type == "text-to-3d"
    err = refused(catalog, gateai(catalog, "flux-dev"), "unsupported_generation_type",
                  generation_type="image-to-3d")  # fmt: skip
    assert err["allowed"] == ["text-to-image"]


# --- prices -----------------------------------------------------------------------------------


def _seedance_points(cost: str) -> list[tuple[float, int]]:
    import re

    return [(float(a), int(s)) for a, s in re.findall(r"~\$([\d.]+)/720p (\d+)s", cost)]


@pytest.mark.parametrize("model_id", [i for i in IDS if "pixel×duration" in SEED[i].cost])
def test_pixel_duration_prices_reproduce_the_published_points(
    catalog: Catalog, model_id: str
) -> None:
    entry = gateai(catalog, model_id)
    points = _seedance_points(SEED[model_id].cost)
    assert len(points) == 2
    assert entry.duration is not None
    for amount, seconds in points:
        if seconds not in entry.duration.allowed():
            continue  # Seedance 1.0: the 15 s point lies beyond its 12 s maximum
        request = ok(catalog, entry, resolution="720p", aspect_ratio="16:9", duration=seconds)
        cost = estimate_cost(entry, request)
        assert cost.credits is None and cost.currency == "usd"
        assert cost.usd is not None
        # Published to the cent ("~$0.04"): one rate fits both points within that rounding.
        assert abs(cost.usd - amount) <= max(0.005, 0.02 * amount), (cost.usd, amount)


def test_flat_prices_multiply_by_quantity_when_per_image(catalog: Catalog) -> None:
    entry = gateai(catalog, "gpt-image-1")  # ~$0.01 per 1024×1024 image
    assert estimate_cost(entry, ok(catalog, entry, params={"quantity": 3})).usd == 0.03
    entry = gateai(catalog, "flux-kontext-max")  # ~$0.04 per generation, 4 outputs by default
    assert estimate_cost(entry, ok(catalog, entry)).usd == 0.04


def test_gpt_image_2_prices_follow_quality_as_the_budget_examples_say(catalog: Catalog) -> None:
    entry = gateai(catalog, "gpt-image-2")
    low = estimate_cost(entry, ok(catalog, entry, quality="low"))
    high = estimate_cost(entry, ok(catalog, entry, quality="high"))
    assert (low.usd, high.usd) == (0.003, 0.11)


def test_every_gateai_estimate_is_in_dollars(catalog: Catalog) -> None:
    for model_id in IDS:
        entry = gateai(catalog, model_id)
        cost = estimate_cost(entry, ok(catalog, entry))
        assert cost.credits is None
        assert cost.usd is not None and cost.usd >= 0
        assert cost.breakdown["unit"] == "usd"


# --- seed rows every test relies on -----------------------------------------------------------


def test_the_seed_parser_sees_every_table(catalog: Catalog) -> None:
    without = sorted(i for i, m in SEED.items() if not m.rows)
    assert without == ["kino-xl"]  # its section has an example only
    rows: Callable[[str], dict[str, Row]] = lambda i: SEED[i].rows  # noqa: E731
    assert rows("gpt-image-2")["quality"].enum == ["high", "medium", "low"]
    assert rows("flux-dev")["num_inference_steps"].constraints == {"min": 1, "max": 40}
