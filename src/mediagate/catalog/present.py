"""JSON shapes of catalog entries for agents: compact rows, full limit tables, voices.

Compact rows are what ``get_models`` returns by default: enough to pick a model (and they cost
the agent's context, so they stay small); ``detail`` gives the whole limit table.
"""

from __future__ import annotations

from typing import Any

from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry


def price_summary(entry: ModelEntry) -> str | None:
    """One short human string for the price, ``None`` when unpublished."""
    p = entry.pricing
    if p.unit == "usd":
        return p.published
    if p.kind == "flat":
        return f"{p.credits:g} credits"
    if p.kind == "per_second":
        text = f"{p.rate:g} credits/s"
        if p.audio_rate is not None:
            text += f", {p.audio_rate:g}/s with sound"
        if p.ref_video_billing:
            text += ", billed on reference + output seconds"
        return text
    if p.kind == "per_tier" and entry.resolution is not None:
        return ", ".join(f"{t.id}: {t.credits:g}" for t in entry.resolution.tiers) + " credits"
    return None


def compact_row(
    entry: ModelEntry, *, name: str | None = None, providers: list[str] | None = None
) -> dict[str, Any]:
    """The short form of a model: enough to shortlist it (full limits come from ``detail``).

    ``name`` is what to pass as ``model`` (``gateai/gpt-image-2`` when the bare id means
    another provider's entry); ``providers`` lists every provider that serves the id.
    """
    row: dict[str, Any] = {
        "id": name or entry.id,
        "media_type": entry.media_type,
        "types": list(entry.generation_types),
        "price": price_summary(entry),
        "time_s": entry.estimated_time_seconds,
    }
    if providers is not None:
        row["providers"] = providers
    if entry.duration is not None and entry.duration.configurable:
        row["durations"] = (
            entry.duration.options
            if entry.duration.kind == "options"
            else f"{entry.duration.min}-{entry.duration.max}"
        )
    if entry.resolution is not None and not entry.resolution.fixed:
        row["resolutions"] = [t.id for t in entry.resolution.tiers]
    return row


def detail(
    entry: ModelEntry, providers: list[str] | None = None, *, name: str | None = None
) -> dict[str, Any]:
    """The full limit table of one model, as validation enforces it.

    GateAI entries also list ``native_params``: the options ``generate_media`` takes in its
    ``params`` object (with ``quantity``, and ``width``/``height`` overrides where sized).
    """
    data = entry.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    if name is not None:
        data["id"] = name
    data["price"] = price_summary(entry)
    data["supports_sound"] = entry.supports_sound
    if providers is not None:
        data["providers"] = providers
    spec = entry.gateai
    if spec is not None:
        block = data["gateai"]
        native = block.pop("params", [])
        quantity = spec.quantity
        native.append(
            {
                "name": "quantity",
                "type": "integer",
                "min": 1,
                "max": quantity.max,
                "default": quantity.default,
                "description": "Outputs per request (GateAI's own default applies when omitted).",
            }
        )
        if spec.dimensions is not None:
            for axis in ("width", "height"):
                limits = getattr(spec.dimensions, axis).limits()
                native.append(
                    {
                        "name": axis,
                        "type": "integer",
                        **limits,
                        "description": f"Overrides the {axis} that aspect_ratio/resolution pick.",
                    }
                )
        data["native_params"] = native
        data["mapped_params"] = dict(spec.mapped)
        data.pop("params", None)
    return data


def matches(
    entry: ModelEntry,
    *,
    media_type: str | None = None,
    generation_type: str | None = None,
    family: str | None = None,
    search: str | None = None,
    provider: str | None = None,
) -> bool:
    """Whether ``entry`` passes ``get_models``' filters (all case-insensitive).

    ``provider`` ``local`` keeps every entry: the offline renderer stands in for all of them.
    """
    if media_type and entry.media_type != media_type.lower():
        return False
    if provider and provider.lower() not in ("local", entry.provider):
        return False
    if generation_type and generation_type.lower() not in entry.generation_types:
        return False
    if family and (entry.family or "").lower() != family.lower():
        return False
    if search:
        hay = " ".join((entry.key, entry.name, entry.family or "", entry.usage_notes)).lower()
        return all(word in hay for word in search.lower().split())
    return True


def rows_of(
    catalog: Catalog, *, detailed: bool = False, **filters: str | None
) -> list[dict[str, Any]]:
    """``get_models``' rows for every entry passing ``filters`` (see :func:`matches`): each
    named as it resolves, with the providers serving its id."""
    out = []
    for e in sorted(catalog.entries.values(), key=lambda m: (m.media_type, m.id, m.provider)):
        if not matches(e, **filters):
            continue
        name, providers = catalog.name_of(e), catalog.providers_of(e.id)
        out.append(
            detail(e, providers, name=name)
            if detailed
            else compact_row(e, name=name, providers=providers)
        )
    return out


def voices_of(
    catalog: Catalog, *, model: str | None = None, search: str | None = None
) -> list[dict[str, Any]]:
    """Voice catalogs with their voices, optionally for one model and filtered by a search text."""
    wanted = None
    if model is not None:
        wanted = catalog.resolve(model).voices
    out = []
    for vc in catalog.voice_catalogs.values():
        if model is not None and vc.id != wanted:
            continue
        voices = [v.model_dump() for v in vc.voices]
        if search:
            needle = search.lower()
            voices = [v for v in voices if any(needle in str(x).lower() for x in v.values())]
        models = sorted(m.id for m in catalog.entries.values() if m.voices == vc.id)
        out.append({"catalog": vc.id, "name": vc.name, "models": models, "voices": voices})
    return out
