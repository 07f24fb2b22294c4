"""Typed shape of the model limit tables.

Every table under ``catalog/data/`` is parsed into these models with ``extra="forbid"``, so a
misspelt key or a wrong type fails at start-up (and in ``tests/catalog``), never mid-request.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import Field, model_validator

# Re-exported: the vocabulary has always been importable from here.
from mediagate.catalog.gateai import GateAISpec
from mediagate.catalog.kinds import GENERATION_TYPES as GENERATION_TYPES
from mediagate.catalog.kinds import GenerationType as GenerationType
from mediagate.catalog.kinds import MediaKind as MediaKind
from mediagate.catalog.kinds import MediaType as MediaType
from mediagate.catalog.kinds import Strict as _Strict

VideoAudio = Literal["included", "toggle_via_sound_param", "silent"]
ParamType = Literal["bool", "string", "number", "string_list", "kling_elements", "image_url"]

#: Upstream providers with catalog entries, in precedence order: when several serve one model
#: id, a bare id means the first one's entry (``gpt-image-2`` is Kubeez's; GateAI's is
#: ``gateai/gpt-image-2``).
PROVIDERS: tuple[str, ...] = ("kubeez", "gateai")

#: Model-specific parameters the validator knows how to check.
MODEL_PARAMS: tuple[str, ...] = (
    "kling_elements",
    "last_frame_url",
    "generate_audio",
    "fixed_lens",
    "turbo",
    "disable_safety_checker",
    "voice_id",
    "character_ids",
    "video_trim_start_s",
    "video_trim_end_s",
)


class CountRange(_Strict):
    """Inclusive min/max count of one kind of input file."""

    min: int = Field(0, ge=0)
    max: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self


class InputRule(_Strict):
    """What ``source_media_urls`` may hold for one generation type of one model."""

    images: CountRange = CountRange()
    videos: CountRange = CountRange()
    audios: CountRange = CountRange()
    #: Shared reference slots (Gemini Omni: 7); a video costs ``video_slot_cost`` slots.
    reference_slots: int | None = None
    video_slot_cost: int = 1
    #: Required order of kinds in the list (Motion Control: image first, then video).
    order: list[MediaKind] | None = None
    #: Roles of the image inputs in order, for docs and provider mapping.
    image_roles: list[str] | None = None
    max_video_s: float | None = None
    max_audio_s: float | None = None
    max_total_video_s: float | None = None
    max_total_audio_s: float | None = None
    #: Accepted image file extensions (without dot); ``None`` means any image extension.
    image_formats: list[str] | None = None
    video_formats: list[str] | None = None
    max_image_mb: float | None = None
    max_video_mb: float | None = None
    #: Videos in this mode are refused with ``video_reference_not_allowed`` (Seedance 2 i2v).
    video_reference_not_allowed: bool = False
    note: str | None = None

    @cached_property
    def accepts_any(self) -> bool:
        return (self.images.max + self.videos.max + self.audios.max) > 0

    @cached_property
    def requires_any(self) -> bool:
        return (self.images.min + self.videos.min + self.audios.min) > 0


class DurationSpec(_Strict):
    """How a video model takes its length.

    ``options``: discrete seconds; ``range``: any integer ``min..max``; ``fixed``: one value,
    the parameter is ignored; ``from_source``: taken from the reference video (≤ ``max``).
    """

    kind: Literal["options", "range", "fixed", "from_source"]
    options: list[int] | None = None
    min: int | None = None
    max: int | None = None
    default: int
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DurationSpec:
        if self.kind == "options":
            if not self.options or self.default not in self.options:
                raise ValueError("options duration needs options containing the default")
        elif self.kind == "range":
            if self.min is None or self.max is None or not self.min <= self.default <= self.max:
                raise ValueError("range duration needs min <= default <= max")
        elif self.kind == "from_source" and self.max is None:
            raise ValueError("from_source duration needs max")
        return self

    @property
    def configurable(self) -> bool:
        return self.kind in ("options", "range")

    def accepts(self, seconds: int) -> bool:
        """Whether ``seconds`` is a valid configurable length."""
        if self.kind == "options":
            return seconds in (self.options or ())
        if self.kind == "range":
            return (self.min or 0) <= seconds <= (self.max or 0)
        return seconds == self.default

    def allowed(self) -> list[int]:
        """Every accepted value, for error details and docs."""
        if self.kind == "options":
            return list(self.options or [])
        if self.kind == "range":
            return list(range(self.min or 0, (self.max or 0) + 1))
        return [self.default]


class AspectSpec(_Strict):
    """Accepted ``aspect_ratio`` values. ``auto``/``adaptive`` follow the input image."""

    allowed: list[str]
    default: str
    #: True when the output shape follows the input and the parameter is ignored.
    ignored: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _default_allowed(self) -> AspectSpec:
        if self.default not in self.allowed:
            raise ValueError(f"default aspect {self.default!r} not in allowed {self.allowed}")
        return self


class Tier(_Strict):
    """One resolution tier (a separate pricing SKU)."""

    id: str
    #: Long edge in pixels of an output at this tier.
    long_edge: int
    credits: float | None = None
    #: When set, the tier only accepts these aspect ratios.
    requires_aspect_in: list[str] | None = None


class ResolutionSpec(_Strict):
    """The ``resolution`` parameter of image models (1K/2K/4K)."""

    tiers: list[Tier]
    default: str
    #: Encoded in the model id: the parameter is ignored (with a warning).
    fixed: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _default_exists(self) -> ResolutionSpec:
        if self.default not in {t.id for t in self.tiers}:
            raise ValueError(f"default tier {self.default!r} not among tiers")
        return self

    def tier(self, tier_id: str) -> Tier:
        for t in self.tiers:
            if t.id == tier_id:
                return t
        raise KeyError(tier_id)


class QualitySpec(_Strict):
    """Accepted ``quality`` values, each with what it maps to upstream."""

    values: dict[str, str]
    default: str
    #: Long edge in pixels per value when quality selects the output size (Seedream).
    long_edge: dict[str, int] | None = None

    @model_validator(mode="after")
    def _default_exists(self) -> QualitySpec:
        if self.default not in self.values:
            raise ValueError(f"default quality {self.default!r} not among values")
        return self


class ParamSpec(_Strict):
    """A model-specific parameter beyond the seed's common ones."""

    name: str
    type: ParamType
    default: Any = None
    description: str

    @model_validator(mode="after")
    def _known(self) -> ParamSpec:
        if self.name not in MODEL_PARAMS:
            raise ValueError(f"unknown model parameter {self.name!r}")
        return self


class PricePoint(_Strict):
    """One published price of a size-and-length-priced model (Seedance on GateAI)."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    seconds: float = Field(gt=0)
    amount: float = Field(ge=0)


class Pricing(_Strict):
    """What a generation costs, in ``unit``. ``None`` prices: the seeds publish no rate.

    Kubeez prices are credits (``credits``, ``rate``); GateAI's are US dollars (``amount``,
    ``by_quality``, ``points``), never mixed with credits.
    """

    kind: Literal["flat", "per_second", "per_tier", "per_pixel_second", "unpublished"]
    unit: Literal["credits", "usd"] = "credits"
    credits: float | None = None
    rate: float | None = None
    #: Kling 3.0: ``sound: true`` bills the dedicated ``-audio`` row.
    audio_rate: float | None = None
    #: The rate-table row(s) the price comes from, e.g. ``gemini-omni-video-hd-6s``.
    rows: list[str] = Field(default_factory=list)
    #: Seedance 2 video-ref: credits = (ref_video_s + output_s) × rate.
    ref_video_billing: bool = False
    ref_video_cap_s: float = 15.0
    #: A flat price in ``usd`` (GateAI's "~$0.02 per generation").
    amount: float | None = None
    #: ``output``: the flat price is per output file (× quantity), as in "per … image".
    per: Literal["generation", "output"] = "generation"
    #: Flat prices that depend on the ``quality`` value (GPT Image 2: LOW ~$0.003, HIGH ~$0.11).
    by_quality: dict[str, float] = Field(default_factory=dict)
    #: ``per_pixel_second``: published prices the rate per pixel-second is fitted to.
    points: list[PricePoint] = Field(default_factory=list)
    #: The price exactly as the seed publishes it.
    published: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Pricing:
        price_field = "credits" if self.unit == "credits" else "amount"
        if self.kind == "flat" and getattr(self, price_field) is None:
            raise ValueError(f"flat pricing in {self.unit} needs {price_field}")
        if self.kind == "per_second" and self.rate is None:
            raise ValueError("per_second pricing needs rate")
        if self.kind == "per_pixel_second" and not self.points:
            raise ValueError("per_pixel_second pricing needs published points")
        if self.unit == "usd" and (self.credits is not None or self.rate is not None):
            raise ValueError("usd pricing takes amount/by_quality/points, not credits or rate")
        if self.unit == "credits" and (self.amount is not None or self.by_quality or self.points):
            raise ValueError("credit pricing takes credits or rate, not amount/by_quality/points")
        return self

    @property
    def rate_per_pixel_second(self) -> float:
        """``per_pixel_second``: the mean of the published points' amount / (w × h × s)."""
        fits = [p.amount / (p.width * p.height * p.seconds) for p in self.points]
        return sum(fits) / len(fits)


class ModelEntry(_Strict):
    """One concrete model id and every limit the validator enforces for it."""

    id: str
    name: str
    family: str | None = None
    media_type: MediaType
    #: Who serves this entry; ``(provider, id)`` is unique (see ``PROVIDERS`` for bare ids).
    provider: str = "kubeez"
    generation_types: list[GenerationType]
    default_generation_type: GenerationType
    prompt_max: int | None = None
    negative_prompt: bool = False
    negative_prompt_max: int | None = None
    inputs: dict[GenerationType, InputRule]
    duration: DurationSpec | None = None
    aspect_ratio: AspectSpec
    resolution: ResolutionSpec | None = None
    #: Video output tier encoded in the id (480p/720p/1080p/4k); pixel size follows it.
    output_resolution: str | None = None
    quality: QualitySpec | None = None
    video_audio: VideoAudio | None = None
    supports_sound: bool = False
    #: The sibling id that takes reference videos (a video sent here is ``variant_mismatch``).
    video_ref_variant: str | None = None
    voices: str | None = None
    character_slots: bool = False
    params: list[ParamSpec] = Field(default_factory=list)
    pricing: Pricing
    estimated_time_seconds: float
    usage_notes: str = ""
    sources: list[str]
    conflicts: list[str] = Field(default_factory=list)
    #: GateAI entries: how the unified arguments map onto the model's own parameters.
    gateai: GateAISpec | None = None

    @model_validator(mode="after")
    def _coherent(self) -> ModelEntry:
        if self.provider not in PROVIDERS:
            raise ValueError(f"unknown provider {self.provider!r}; known: {list(PROVIDERS)}")
        if (self.provider == "gateai") != (self.gateai is not None):
            raise ValueError("GateAI entries (and only they) need a gateai block")
        if self.default_generation_type not in self.generation_types:
            raise ValueError("default_generation_type not among generation_types")
        if set(self.inputs) != set(self.generation_types):
            raise ValueError("inputs must have exactly one rule per generation type")
        for gt in self.generation_types:
            if not gt.endswith(self.media_type):
                raise ValueError(f"{gt} does not produce {self.media_type}")
        if self.media_type == "video":
            if self.duration is None or self.video_audio is None:
                raise ValueError("video models need duration and video_audio")
        elif self.duration is not None or self.video_audio is not None:
            raise ValueError(f"{self.media_type} models take no duration or video_audio")
        if self.supports_sound != (self.video_audio == "toggle_via_sound_param"):
            raise ValueError("supports_sound must match video_audio=toggle_via_sound_param")
        if self.pricing.kind == "per_tier" and (
            self.resolution is None or any(t.credits is None for t in self.resolution.tiers)
        ):
            raise ValueError("per_tier pricing needs a credit price on every tier")
        if self.negative_prompt_max is not None and not self.negative_prompt:
            raise ValueError("negative_prompt_max without negative_prompt support")
        if self.gateai is not None:
            from mediagate.catalog.gateai import spec_problems

            problems = spec_problems(self.gateai, self)
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def key(self) -> str:
        """Stable identity across providers: ``provider/id`` (``gateai/flux-dev``)."""
        return f"{self.provider}/{self.id}"

    @cached_property
    def params_by_name(self) -> dict[str, ParamSpec]:
        """The model-specific parameters, by name (validation's hot path looks them up)."""
        return {p.name: p for p in self.params}

    def param(self, name: str) -> ParamSpec | None:
        return self.params_by_name.get(name)


class Family(_Strict):
    """A family label that is not itself a model: calling it returns ``variant_required``."""

    id: str
    name: str
    variants: list[str]
    hint: str
    sources: list[str]


class Voice(_Strict):
    """A prebuilt voice a model can speak with (``voice_id``)."""

    id: str
    label: str
    gender: Literal["female", "male"]
    style: str


class VoiceCatalog(_Strict):
    id: str
    name: str
    models_note: str
    note: str | None = None
    voices: list[Voice]
