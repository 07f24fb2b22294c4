"""Own-media URLs, output formats, and type errors on options a model ignores."""

from __future__ import annotations

from typing import Any

import pytest

from mediagate.catalog import validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.errors import MediagateError

OWN = ("http://127.0.0.1:8000/media/",)


def _code(catalog: Catalog, args: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(MediagateError) as info:
        validate_generate(args, catalog, **kw)
    return info.value.code


def test_own_media_url_is_accepted_as_a_source(catalog: Catalog) -> None:
    url = "http://127.0.0.1:8000/media/gen_01ABC/image.png"
    request = validate_generate(
        {"model": "nano-banana", "prompt": "p", "source_media_urls": [url]},
        catalog,
        trusted_url_prefixes=OWN,
    )
    assert request.sources[0].url == url
    assert request.generation_type == "image-to-image"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000.evil.example/media/x.png",
        "http://127.0.0.1:8000/media/../../etc/passwd.png",
        "http://127.0.0.1:8000/media/%2e%2e/%2e%2e/secret.png",
        "http://127.0.0.1:8000/other/x.png",
    ],
)
def test_lookalike_own_media_urls_are_still_checked(catalog: Catalog, url: str) -> None:
    args = {"model": "nano-banana", "prompt": "p", "source_media_urls": [url]}
    assert _code(catalog, args, trusted_url_prefixes=OWN) == "unsafe_source_url"


def test_a_trusted_prefix_without_trailing_slash_trusts_nothing(catalog: Catalog) -> None:
    args = {
        "model": "nano-banana",
        "prompt": "p",
        "source_media_urls": ["http://127.0.0.1:8000/media/x.png"],
    }
    assert _code(catalog, args, trusted_url_prefixes=("http://127.0.0.1:8000",)) == (
        "unsafe_source_url"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("quality", 5), ("resolution", ["2K"]), ("turbo", "maybe"), ("voice_id", 7),
     ("video_trim_start_s", "zero"), ("kling_elements", "x"), ("duration", [5])],
)  # fmt: skip
def test_wrong_types_are_refused_even_where_the_option_is_ignored(
    catalog: Catalog, field: str, value: object
) -> None:
    with pytest.raises(MediagateError) as info:
        validate_generate({"model": "nano-banana", "prompt": "p", field: value}, catalog)
    assert info.value.code == "invalid_arguments"
    assert info.value.details["field"] == field


@pytest.mark.parametrize(("given", "stored"), [("jpeg", "jpeg"), ("JPG", "jpeg"), ("webp", "webp")])
def test_image_output_format(catalog: Catalog, given: str, stored: str) -> None:
    request = validate_generate(
        {"model": "nano-banana", "prompt": "p", "output_format": given}, catalog
    )
    assert request.output_format == stored


def test_unknown_output_format_is_refused(catalog: Catalog) -> None:
    args = {"model": "nano-banana", "prompt": "p", "output_format": "gif"}
    assert _code(catalog, args) == "invalid_arguments"


def test_output_format_is_ignored_for_video_with_a_warning(catalog: Catalog) -> None:
    request = validate_generate(
        {"model": "kling-2-6-text-to-video", "prompt": "p", "output_format": "webp"}, catalog
    )
    assert any("output_format" in w for w in request.warnings)


def test_motion_control_accepts_a_mov_reference(catalog: Catalog) -> None:
    request = validate_generate(
        {
            "model": "kling-3-0-motion-control-720p",
            "prompt": "p",
            "source_media_urls": ["https://e.com/a.png", "https://e.com/b.mov"],
        },
        catalog,
    )
    assert [s.kind for s in request.sources] == ["image", "video"]


def test_gemini_aspect_ratio_is_strict(catalog: Catalog) -> None:
    args = {"model": "gemini-omni-video-720p-6s", "prompt": "p", "aspect_ratio": "16x9"}
    assert _code(catalog, args) == "aspect_ratio_invalid_for_model"
