"""Several providers, one catalog: entries unique per (provider, id), names that pick one.

Issue #4: GateAI ids collide with Kubeez ids but mean other limits. ``gateai/gpt-image-2`` or
``provider="gateai"`` picks GateAI's entry; a bare id means the primary entry (Kubeez's when
both exist; GateAI's for GateAI-only ids); a prefix that contradicts ``provider`` is
``invalid_arguments``; an unknown provider is ``unknown_model`` with suggestions.
"""

from __future__ import annotations

from typing import Any

import pytest

from mediagate.catalog import validate_generate
from mediagate.catalog.loader import CatalogError, parse_tables
from mediagate.catalog.present import detail, rows_of
from mediagate.catalog.registry import Catalog
from mediagate.errors import MediagateError

#: Ids both providers serve (seed 000/001/002 for Kubeez, seed 004 for GateAI).
SHARED = ["gpt-image-2", "nano-banana-2", "sora-2", "sora-2-pro"]
GATEAI_ONLY = ["flux-dev", "veo-3.1-lite", "seedance-2.0", "rodin-v2", "kling-3.0"]


def resolve_error(catalog: Catalog, name: str, provider: str | None = None) -> MediagateError:
    with pytest.raises(MediagateError) as info:
        catalog.resolve(name, provider)
    return info.value


def test_entries_are_unique_per_provider_and_id(catalog: Catalog) -> None:
    keys = [e.key for e in catalog.entries.values()]
    assert len(keys) == len(set(keys)) == len(catalog)
    assert catalog.providers == ("kubeez", "gateai")
    for model_id in SHARED:
        assert catalog.providers_of(model_id) == ["kubeez", "gateai"]


@pytest.mark.parametrize("model_id", SHARED)
def test_a_bare_shared_id_means_kubeez_and_a_qualified_one_gateai(
    catalog: Catalog, model_id: str
) -> None:
    assert catalog.resolve(model_id).key == f"kubeez/{model_id}"
    assert catalog.resolve(f"gateai/{model_id}").key == f"gateai/{model_id}"
    assert catalog.resolve(model_id, "gateai").key == f"gateai/{model_id}"
    assert catalog.resolve(f"kubeez/{model_id}").key == f"kubeez/{model_id}"
    assert catalog.models[model_id].provider == "kubeez"
    assert catalog.name_of(catalog.entries[f"gateai/{model_id}"]) == f"gateai/{model_id}"


@pytest.mark.parametrize("model_id", SHARED)
def test_shared_ids_really_differ_in_their_limits(catalog: Catalog, model_id: str) -> None:
    kubeez, gateai = (catalog.entries[f"{p}/{model_id}"] for p in ("kubeez", "gateai"))
    assert kubeez.model_dump(exclude={"provider", "sources"}) != gateai.model_dump(
        exclude={"provider", "sources"}
    )


@pytest.mark.parametrize("model_id", GATEAI_ONLY)
def test_a_gateai_only_id_resolves_bare(catalog: Catalog, model_id: str) -> None:
    assert catalog.resolve(model_id).key == f"gateai/{model_id}"
    assert catalog.name_of(catalog.resolve(model_id)) == model_id
    assert catalog.resolve(model_id, "gateai").key == f"gateai/{model_id}"


@pytest.mark.parametrize(
    "name", ["GateAI/GPT-Image-2", " gateai/gpt-image-2 ", "gateai / gpt-image-2"]
)
def test_qualified_names_fold_case_and_space(catalog: Catalog, name: str) -> None:
    assert catalog.resolve(name).key == "gateai/gpt-image-2"


def test_provider_local_picks_no_entry_and_never_conflicts(catalog: Catalog) -> None:
    # The offline renderer serves any entry: the prefix (or the primary entry) decides.
    assert catalog.resolve("gpt-image-2", "local").key == "kubeez/gpt-image-2"
    assert catalog.resolve("gateai/gpt-image-2", "local").key == "gateai/gpt-image-2"
    assert catalog.resolve("local/flux-dev").key == "gateai/flux-dev"


def test_a_prefix_contradicting_the_provider_argument_is_invalid(catalog: Catalog) -> None:
    err = resolve_error(catalog, "gateai/gpt-image-2", "kubeez")
    assert err.code == "invalid_arguments"
    assert err.payload["field"] == "provider"
    assert catalog.resolve("gateai/gpt-image-2", "GateAI").key == "gateai/gpt-image-2"


def test_a_model_the_named_provider_does_not_serve_points_to_who_does(catalog: Catalog) -> None:
    err = resolve_error(catalog, "gateai/nano-banana")
    assert err.code == "unknown_model"
    assert err.payload["suggestions"][0] == "nano-banana"
    assert "gateai/nano-banana-2" in err.payload["suggestions"]
    err = resolve_error(catalog, "flux-dev", "kubeez")
    assert err.code == "unknown_model"
    assert err.payload["suggestions"][0] == "flux-dev"


@pytest.mark.parametrize("name", ["openai/gpt-image-2", "foo/flux-dev"])
def test_an_unknown_provider_is_unknown_model_with_suggestions(catalog: Catalog, name: str) -> None:
    err = resolve_error(catalog, name)
    assert err.code == "unknown_model"
    assert err.payload["got"] == name
    assert name.split("/")[1] in err.payload["suggestions"]
    assert "kubeez" in err.message and "gateai" in err.message


def test_an_unknown_provider_argument_is_unknown_model(catalog: Catalog) -> None:
    err = resolve_error(catalog, "flux-dev", "replicate")
    assert err.code == "unknown_model"
    assert err.payload["suggestions"][0] == "flux-dev"


def test_typo_suggestions_name_every_provider_of_the_id(catalog: Catalog) -> None:
    err = resolve_error(catalog, "gpt-image2")
    assert err.payload["suggestions"][:2] == ["gpt-image-2", "gateai/gpt-image-2"]
    err = resolve_error(catalog, "gateai/gpt-image2")
    assert err.payload["suggestions"][0] == "gateai/gpt-image-2"
    err = resolve_error(catalog, "flux-de")
    assert err.payload["suggestions"][0] == "flux-dev"


def test_a_kubeez_family_label_is_not_a_gateai_name(catalog: Catalog) -> None:
    assert resolve_error(catalog, "seedance-2").code == "variant_required"
    assert resolve_error(catalog, "kubeez/seedance-2").code == "variant_required"
    err = resolve_error(catalog, "gateai/seedance-2")
    assert err.code == "unknown_model"
    assert "seedance-2.0" in err.payload["suggestions"]


# --- validation picks the entry, and says which -----------------------------------------------


def _validate(catalog: Catalog, **args: Any) -> Any:
    return validate_generate({"prompt": "a lighthouse", **args}, catalog)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ({"model": "sora-2"}, "kubeez/sora-2"),
        ({"model": "gateai/sora-2"}, "gateai/sora-2"),
        ({"model": "sora-2", "provider": "gateai"}, "gateai/sora-2"),
        ({"model": "gateai/sora-2", "provider": "gateai"}, "gateai/sora-2"),
        ({"model": "sora-2", "provider": "local"}, "kubeez/sora-2"),
        ({"model": "veo-3.1-lite"}, "gateai/veo-3.1-lite"),
    ],
)
def test_the_request_names_its_entry(catalog: Catalog, args: dict[str, Any], key: str) -> None:
    request = _validate(catalog, **args)
    assert f"{request.provider}/{request.model}" == key
    assert catalog.entry_of(request).key == key


def test_each_entry_is_validated_against_its_own_limits(catalog: Catalog) -> None:
    # Kubeez's Sora 2 takes 10 or 15 s (seed 001); GateAI's 4, 8 or 12 s (seed 004).
    assert _validate(catalog, model="sora-2", duration=10).duration_s == 10
    assert _validate(catalog, model="gateai/sora-2", duration=12).duration_s == 12
    with pytest.raises(MediagateError) as info:
        _validate(catalog, model="gateai/sora-2", duration=10)
    assert info.value.payload["allowed"] == [4, 8, 12]
    with pytest.raises(MediagateError) as info:
        _validate(catalog, model="sora-2", duration=12)
    assert info.value.code == "invalid_duration"


def test_gateai_gpt_image_2_has_its_own_prompt_cap(catalog: Catalog) -> None:
    long = "p" * 1501
    kubeez = catalog.entries["kubeez/gpt-image-2"]
    assert kubeez.prompt_max is None or kubeez.prompt_max > 1500
    _validate(catalog, model="gpt-image-2", prompt=long)
    with pytest.raises(MediagateError) as info:
        _validate(catalog, model="gateai/gpt-image-2", prompt=long)
    assert info.value.payload["max"] == 1500


# --- get_models rows --------------------------------------------------------------------------


def test_rows_name_each_entry_as_it_resolves_and_list_the_providers(catalog: Catalog) -> None:
    rows = {r["id"]: r for r in rows_of(catalog)}
    assert len(rows) == len(catalog)
    assert rows["gpt-image-2"]["providers"] == ["kubeez", "gateai"]
    assert rows["gateai/gpt-image-2"]["providers"] == ["kubeez", "gateai"]
    assert rows["flux-dev"]["providers"] == ["gateai"]
    assert rows["nano-banana"]["providers"] == ["kubeez"]
    assert rows["rodin-v2"]["media_type"] == "3d"
    for name in rows:
        assert catalog.name_of(catalog.resolve(name)) == name


def test_rows_filter_by_provider(catalog: Catalog) -> None:
    gateai = rows_of(catalog, provider="gateai")
    assert len(gateai) == sum(1 for e in catalog.entries.values() if e.provider == "gateai")
    assert "gateai/sora-2" in {r["id"] for r in gateai}
    kubeez = rows_of(catalog, provider="kubeez")
    assert {r["id"] for r in kubeez} >= set(SHARED)
    assert len(rows_of(catalog, provider="local")) == len(catalog)
    assert {r["id"] for r in rows_of(catalog, media_type="3d")} == {"rodin-v2"}


def test_gateai_detail_lists_native_params_and_what_is_mapped(catalog: Catalog) -> None:
    entry = catalog.entries["gateai/flux-dev"]
    data = detail(entry, ["gateai"], name="flux-dev")
    names = {p["name"] for p in data["native_params"]}
    assert {"guidance_scale", "num_inference_steps", "loras", "quantity", "width"} <= names
    width = next(p for p in data["native_params"] if p["name"] == "width")
    assert (width["min"], width["max"], width["step"]) == (480, 2048, 8)
    assert data["mapped_params"]["mode"] == "quality"
    assert data["price"] == "~$0.00 per 1024×1024 image"
    assert data["providers"] == ["gateai"]
    kubeez = detail(catalog.entries["kubeez/nano-banana"], ["kubeez"])
    assert "native_params" not in kubeez


# --- loading ----------------------------------------------------------------------------------

KUBEEZ_PIC = """
[[models]]
id = "pic"
name = "Pic"
media_type = "image"
generation_types = ["text-to-image"]
default_generation_type = "text-to-image"
aspect_ratio = { allowed = ["1:1"], default = "1:1" }
pricing = { kind = "unpublished" }
estimated_time_seconds = 5
sources = ["test"]
inputs.text-to-image = {}
"""
GATEAI_PIC = """
[[models]]
id = "pic"
name = "Pic (GateAI)"
provider = "gateai"
media_type = "image"
generation_types = ["text-to-image"]
default_generation_type = "text-to-image"
prompt_max = 1500
aspect_ratio = { allowed = ["1:1"], default = "1:1" }
pricing = { kind = "flat", unit = "usd", amount = 0.01, published = "~$0.01 per generation" }
estimated_time_seconds = 5
sources = ["test"]
inputs.text-to-image = {}

[models.gateai]
model = "pic"
type = "image"
sizes = { "1:1" = [1024, 1024] }
"""


def test_one_id_may_have_one_entry_per_provider() -> None:
    catalog = parse_tables([("a.toml", KUBEEZ_PIC), ("b.toml", GATEAI_PIC)])
    assert sorted(catalog.entries) == ["gateai/pic", "kubeez/pic"]
    assert catalog.resolve("pic").provider == "kubeez"


def test_an_id_twice_within_one_provider_is_refused() -> None:
    with pytest.raises(CatalogError, match="gateai model id 'PIC' duplicates 'pic'"):
        parse_tables([("a.toml", GATEAI_PIC), ("b.toml", GATEAI_PIC.replace('"pic"', '"PIC"'))])


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (GATEAI_PIC.replace('provider = "gateai"\n', ""), "gateai block"),
        (GATEAI_PIC.replace("[models.gateai]", "[models.other]"), "Extra inputs"),
        (GATEAI_PIC.replace('provider = "gateai"', 'provider = "openai"'), "unknown provider"),
        (GATEAI_PIC.replace("prompt_max = 1500", "prompt_max = 2000"), "prompt_max"),
        (GATEAI_PIC.replace('"1:1" = [1024, 1024]', '"4:3" = [1024, 768]'), "no size"),
        (GATEAI_PIC + "quantity = { max = 9 }\n", "less than or equal to 8"),
        (GATEAI_PIC + "bogus = 1\n", "Extra inputs are not permitted"),
        (GATEAI_PIC + 'duration_param = "duration"\n', "duration_param"),
        (GATEAI_PIC + 'tier_param = "mode"\ntier_values = { "720p" = "RESOLUTION_720" }\n',
         "tier_values"),
        (GATEAI_PIC.replace("amount = 0.01", "amount = 0.01, credits = 1"), "usd pricing"),
        (GATEAI_PIC + "[[models.gateai.params]]\nname = \"seed\"\ntype = \"integer\"\n",
         "mapped from unified"),
        (GATEAI_PIC + "[[models.gateai.params]]\nname = \"fps\"\ntype = \"integer\"\n"
         "enum = [24, 25]\ndefault = 30\n", "not in"),
        (GATEAI_PIC.replace("inputs.text-to-image = {}", "inputs.text-to-image = { images = "
                            "{ max = 2 } }"), "image fields hold 0"),
    ],
)  # fmt: skip
def test_inconsistent_gateai_blocks_fail_at_load(broken: str, reason: str) -> None:
    with pytest.raises(CatalogError, match=reason):
        parse_tables([("b.toml", broken)])
