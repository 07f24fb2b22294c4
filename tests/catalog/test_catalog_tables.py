"""The loader refuses malformed limit tables with ``CatalogError`` (GUIDE §4 rule 4)."""

from __future__ import annotations

from typing import Any

import pytest

from mediagate.catalog.loader import CatalogError, load_catalog, parse_tables

IMAGE_MODEL = """
[[models]]
id = "pic"
name = "Pic"
media_type = "image"
generation_types = ["text-to-image", "image-to-image"]
default_generation_type = "text-to-image"
prompt_max = 100
aspect_ratio = { allowed = ["1:1", "16:9"], default = "1:1" }
pricing = { kind = "unpublished" }
estimated_time_seconds = 5
sources = ["test"]

[models.inputs.text-to-image]

[models.inputs.image-to-image]
images = { min = 1, max = 4 }
"""

VIDEO_MODEL = """
[[models]]
id = "clip-720p"
name = "Clip"
family = "clip"
media_type = "video"
generation_types = ["text-to-video"]
default_generation_type = "text-to-video"
video_audio = "included"
duration = { kind = "options", options = [5, 10], default = 5 }
aspect_ratio = { allowed = ["16:9"], default = "16:9" }
pricing = { kind = "per_second", rate = 2 }
estimated_time_seconds = 30
sources = ["test"]

[models.inputs.text-to-video]
"""

FAMILY = """
[[families]]
id = "clip"
name = "Clip"
variants = ["clip-720p"]
hint = "Pick a resolution."
sources = ["test"]
"""


def _ids(cases: list[Any]) -> list[str]:
    return [c.values[0] if hasattr(c, "values") else c[0] for c in cases]


def parse(*texts: str) -> None:
    parse_tables([(f"t{i}.toml", text) for i, text in enumerate(texts)])


def test_shipped_tables_load() -> None:
    catalog = load_catalog()
    assert len(catalog) > 90
    assert catalog.families


def test_minimal_tables_load() -> None:
    catalog = parse_tables([("a.toml", IMAGE_MODEL + VIDEO_MODEL + FAMILY)])
    assert set(catalog.models) == {"pic", "clip-720p"}
    assert catalog.families["clip"].variants == ["clip-720p"]


def test_templates_merge_and_models_override() -> None:
    text = """
[templates.base]
media_type = "image"
generation_types = ["text-to-image"]
default_generation_type = "text-to-image"
aspect_ratio = { allowed = ["1:1", "4:3"], default = "1:1" }
pricing = { kind = "unpublished" }
estimated_time_seconds = 5
sources = ["test"]

[templates.base.inputs.text-to-image]

[[models]]
extends = "base"
id = "a"
name = "A"
aspect_ratio = { default = "4:3" }
"""
    entry = parse_tables([("t.toml", text)]).models["a"]
    assert entry.aspect_ratio.allowed == ["1:1", "4:3"]
    assert entry.aspect_ratio.default == "4:3"


BROKEN: list[Any] = [
    ("unknown-model-key", IMAGE_MODEL.replace('name = "Pic"', 'name = "Pic"\ncolour = "red"')),
    ("unknown-nested-key", IMAGE_MODEL.replace("images = { min = 1, max = 4 }",
                                               "images = { min = 1, max = 4, most = 3 }")),
    ("wrong-type-prompt-max", IMAGE_MODEL.replace("prompt_max = 100", 'prompt_max = "long"')),
    ("wrong-type-media", IMAGE_MODEL.replace('media_type = "image"', 'media_type = "audio"')),
    ("wrong-type-generation", IMAGE_MODEL.replace('"image-to-image"]', '"image-to-audio"]')),
    ("default-aspect-not-allowed", IMAGE_MODEL.replace('default = "1:1" }', 'default = "4:3" }')),
    ("missing-required-key", IMAGE_MODEL.replace('name = "Pic"\n', "")),
    ("inputs-missing-a-type", IMAGE_MODEL.replace("[models.inputs.image-to-image]\n"
                                                  "images = { min = 1, max = 4 }", "")),
    ("inputs-unknown-type", IMAGE_MODEL + "\n[models.inputs.text-to-audio]\n"),
    ("count-min-over-max", IMAGE_MODEL.replace("{ min = 1, max = 4 }", "{ min = 5, max = 4 }")),
    ("negative-count", IMAGE_MODEL.replace("{ min = 1, max = 4 }", "{ min = -1, max = 4 }")),
    ("default-type-not-declared", IMAGE_MODEL.replace('type = "text-to-image"',
                                                      'type = "image-to-video"')),
    ("image-model-with-duration", IMAGE_MODEL.replace(
        "prompt_max = 100", 'prompt_max = 100\nduration = { kind = "fixed", default = 5 }')),
    ("video-model-without-duration", VIDEO_MODEL.replace(
        "duration = { kind = \"options\", options = [5, 10], default = 5 }\n", "")),
    ("duration-default-not-an-option", VIDEO_MODEL.replace("default = 5 }", "default = 7 }")),
    ("duration-range-without-bounds", VIDEO_MODEL.replace(
        'kind = "options", options = [5, 10]', 'kind = "range"')),
    ("sound-without-toggle", VIDEO_MODEL.replace(
        'video_audio = "included"', 'video_audio = "included"\nsupports_sound = true')),
    ("per-second-without-rate", VIDEO_MODEL.replace("rate = 2", "credits = 2")),
    ("flat-without-credits", IMAGE_MODEL.replace('kind = "unpublished"', 'kind = "flat"')),
    ("per-tier-without-tier-prices", IMAGE_MODEL.replace('"unpublished"', '"per_tier"')),
    ("negative-max-without-support", IMAGE_MODEL.replace(
        "prompt_max = 100", "prompt_max = 100\nnegative_prompt_max = 50")),
    ("unknown-param", IMAGE_MODEL.replace(
        "[models.inputs.text-to-image]",
        '[[models.params]]\nname = "warp_speed"\ntype = "bool"\ndescription = "x"\n\n'
        "[models.inputs.text-to-image]")),
    ("resolution-default-not-a-tier", IMAGE_MODEL.replace(
        "prompt_max = 100",
        'prompt_max = 100\n'
        'resolution = { default = "8K", tiers = [{ id = "1K", long_edge = 1024 }] }')),
    ("quality-default-not-a-value", IMAGE_MODEL.replace(
        "prompt_max = 100",
        'prompt_max = 100\nquality = { default = "max", values = { low = "l" } }')),
    ("unknown-template", IMAGE_MODEL.replace('id = "pic"', 'extends = "nope"\nid = "pic"')),
    ("unknown-top-level-key", IMAGE_MODEL + '\n[[voices]]\nid = "x"\n'),
    ("family-lists-missing-variant", VIDEO_MODEL + FAMILY.replace(
        '["clip-720p"]', '["clip-720p", "clip-1080p"]')),
    ("family-misses-a-member", VIDEO_MODEL.replace('id = "clip-720p"', 'id = "clip-480p"')
                               + VIDEO_MODEL + FAMILY),
    ("family-is-also-a-model", VIDEO_MODEL.replace('family = "clip"\n', "")
                               .replace('id = "clip-720p"', 'id = "clip"') + VIDEO_MODEL + FAMILY),
    ("family-without-hint", VIDEO_MODEL + FAMILY.replace('hint = "Pick a resolution."\n', "")),
    pytest.param("duplicate-model-id", IMAGE_MODEL + IMAGE_MODEL),
    pytest.param("duplicate-model-id-by-case", IMAGE_MODEL + IMAGE_MODEL.replace('"pic"', '"PIC"')),
    ("video-ref-sibling-takes-no-video", VIDEO_MODEL.replace(
        'video_audio = "included"', 'video_audio = "included"\nvideo_ref_variant = "pic"')
        + IMAGE_MODEL),
    ("unknown-voice-catalog", VIDEO_MODEL.replace(
        'video_audio = "included"', 'video_audio = "included"\nvoices = "nobody"') + FAMILY),
    ("bad-toml", "[[models]\nid = 'x'"),
    ("bad-toml-value", 'x = = 1'),
    ("duplicate-toml-key", IMAGE_MODEL.replace('name = "Pic"', 'name = "Pic"\nname = "Pic2"')),
]  # fmt: skip


#: What each refusal must mention, so a case fails for the reason it was written for.
REASONS = {
    "unknown-model-key": "colour",
    "unknown-nested-key": "most",
    "wrong-type-prompt-max": "prompt_max",
    "wrong-type-media": "media_type",
    "wrong-type-generation": "generation_types",
    "default-aspect-not-allowed": "default aspect",
    "missing-required-key": "name",
    "inputs-missing-a-type": "one rule per generation type",
    "inputs-unknown-type": "text-to-audio",
    "count-min-over-max": "min 5 > max 4",
    "negative-count": "greater than or equal",
    "default-type-not-declared": "default_generation_type",
    "image-model-with-duration": "no duration",
    "video-model-without-duration": "need duration",
    "duration-default-not-an-option": "options",
    "duration-range-without-bounds": "min <= default <= max",
    "sound-without-toggle": "supports_sound",
    "per-second-without-rate": "needs rate",
    "flat-without-credits": "needs credits",
    "per-tier-without-tier-prices": "per_tier",
    "negative-max-without-support": "negative_prompt_max",
    "unknown-param": "warp_speed",
    "resolution-default-not-a-tier": "8K",
    "quality-default-not-a-value": "max",
    "unknown-template": "nope",
    "unknown-top-level-key": "voices",
    "family-lists-missing-variant": "clip-1080p",
    "family-misses-a-member": "clip-480p",
    "family-is-also-a-model": "also a model",
    "family-without-hint": "hint",
    "duplicate-model-id": "duplicate",
    "duplicate-model-id-by-case": "duplicate",
    "video-ref-sibling-takes-no-video": "takes no video",
    "unknown-voice-catalog": "nobody",
    "bad-toml": "t0.toml",
    "bad-toml-value": "t0.toml",
    "duplicate-toml-key": "t0.toml",
}


@pytest.mark.parametrize(("case", "text"), BROKEN, ids=_ids(BROKEN))
def test_malformed_tables_raise_catalog_error(case: str, text: str) -> None:
    extra = FAMILY if case.startswith("video-ref") else ""
    with pytest.raises(CatalogError) as info:
        parse(text + extra)
    assert REASONS[case] in str(info.value)


def test_every_broken_table_case_states_its_reason() -> None:
    assert set(REASONS) == set(_ids(BROKEN))


def test_duplicate_templates_across_files_raise_catalog_error() -> None:
    template = '[templates.base]\nmedia_type = "image"\n'
    with pytest.raises(CatalogError, match="base"):
        parse(template, template)


def test_catalog_error_names_the_file_of_bad_toml() -> None:
    with pytest.raises(CatalogError, match=r"t0\.toml"):
        parse("[[models]\n")


def test_catalog_error_names_the_unknown_template() -> None:
    with pytest.raises(CatalogError, match="nope"):
        parse(IMAGE_MODEL.replace('id = "pic"', 'extends = "nope"\nid = "pic"'))


def test_catalog_error_is_not_a_mediagate_error() -> None:
    from mediagate.errors import MediagateError

    assert not issubclass(CatalogError, MediagateError)
