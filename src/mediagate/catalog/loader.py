"""Load the limit tables from ``catalog/data/*.toml`` into a checked, indexed ``Catalog``.

Tables may declare ``[templates.NAME]`` and models may ``extends = "NAME"`` (or a list, applied in
order): tables merge deeply, every other value (lists included) is replaced. After merging, every
entry goes through pydantic with ``extra="forbid"``, and cross-references (family variants,
video-ref siblings, voice catalogs) are checked, so a broken table fails at start-up.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from pydantic import TypeAdapter

from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import GENERATION_TYPES, Family, ModelEntry, VoiceCatalog


class CatalogError(Exception):
    """A limit table is malformed or inconsistent."""


_MODELS = TypeAdapter(list[ModelEntry])
_FAMILIES = TypeAdapter(list[Family])
_VOICES = TypeAdapter(list[VoiceCatalog])
_TOP_KEYS = {"templates", "models", "families", "catalogs"}


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _expand(
    raw: Mapping[str, Any], templates: Mapping[str, Mapping[str, Any]], where: str
) -> dict[str, Any]:
    ext = raw.get("extends", [])
    names = [ext] if isinstance(ext, str) else list(ext)
    merged: dict[str, Any] = {}
    for name in names:
        if name not in templates:
            raise CatalogError(f"{where}: unknown template {name!r}")
        merged = _merge(merged, templates[name])
    merged = _merge(merged, {k: v for k, v in raw.items() if k != "extends"})
    # Templates may carry input rules for generation types a variant drops (e.g. a video-ref
    # variant is text-to-video only); keep the rules of the types the entry declares.
    inputs = merged.get("inputs")
    if isinstance(inputs, Mapping):
        for key in inputs:
            if key not in GENERATION_TYPES:
                raise CatalogError(f"{where}: unknown generation type {key!r} in inputs")
        declared = set(merged.get("generation_types", ()))
        merged["inputs"] = {k: v for k, v in inputs.items() if k in declared}
    return merged


def parse_tables(documents: Iterable[tuple[str, str]]) -> Catalog:
    """Build a ``Catalog`` from ``(name, toml_text)`` pairs; raise ``CatalogError`` on any fault."""
    templates: dict[str, dict[str, Any]] = {}
    raw_models: list[tuple[str, dict[str, Any]]] = []
    raw_families: list[dict[str, Any]] = []
    raw_voices: list[dict[str, Any]] = []
    for name, text in documents:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogError(f"{name}: {exc}") from exc
        unknown = set(doc) - _TOP_KEYS
        if unknown:
            raise CatalogError(f"{name}: unknown top-level keys {sorted(unknown)}")
        for tname, tbody in doc.get("templates", {}).items():
            if tname in templates:
                raise CatalogError(f"{name}: template {tname!r} defined twice")
            templates[tname] = tbody
        raw_models.extend((name, m) for m in doc.get("models", []))
        raw_families.extend(doc.get("families", []))
        raw_voices.extend(doc.get("catalogs", []))

    expanded = [
        _expand(m, templates, f"{name}: model {m.get('id', '?')!r}") for name, m in raw_models
    ]
    try:
        models = _MODELS.validate_python(expanded)
        families = _FAMILIES.validate_python(raw_families)
        voices = _VOICES.validate_python(raw_voices)
    except ValueError as exc:
        raise CatalogError(str(exc)) from exc
    seen: dict[tuple[str, str], str] = {}
    for m in models:
        key = (m.provider, m.id.casefold())
        if key in seen:
            raise CatalogError(
                f"{m.provider} model id {m.id!r} duplicates {seen[key]!r} "
                "(ids are case-insensitive within a provider)"
            )
        seen[key] = m.id
    catalog = Catalog(models=models, families=families, voice_catalogs=voices)
    problems = check_consistency(catalog)
    if problems:
        raise CatalogError("; ".join(problems))
    return catalog


def check_consistency(catalog: Catalog) -> list[str]:
    """Cross-table checks pydantic cannot do on one entry at a time."""
    problems: list[str] = []
    for fam in catalog.families.values():
        if fam.id in catalog.models:
            problems.append(f"family {fam.id!r} is also a model id")
        members = {m.id for m in catalog.entries.values() if m.family == fam.id}
        listed = set(fam.variants)
        if members != listed:
            problems.append(
                f"family {fam.id!r}: listed {sorted(listed - members)} not members, "
                f"members {sorted(members - listed)} not listed"
            )
    for m in catalog.entries.values():
        if m.video_ref_variant is not None:
            sibling = catalog.entries.get(f"{m.provider}/{m.video_ref_variant}")
            if sibling is None or not any(r.videos.max for r in sibling.inputs.values()):
                problems.append(f"{m.id}: video_ref_variant {m.video_ref_variant!r} takes no video")
        if m.voices is not None and m.voices not in catalog.voice_catalogs:
            problems.append(f"{m.id}: unknown voice catalog {m.voices!r}")
        if m.voices is None and m.param("voice_id") is not None:
            problems.append(f"{m.id}: voice_id parameter without a voice catalog")
    return problems


def load_catalog() -> Catalog:
    """Load the tables shipped in ``mediagate/catalog/data``."""
    data = resources.files("mediagate.catalog").joinpath("data")
    docs = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in data.iterdir()
        if entry.name.endswith(".toml")
    )
    return parse_tables(docs)
