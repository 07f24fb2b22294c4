"""GateAI's side of a catalog entry (seed 004): how our unified arguments become its ``params``.

Every GateAI model names its options its own way: ``duration`` or ``durationSeconds``, a
``mode`` such as ``RESOLUTION_720`` or a ``resolution`` such as ``768p``, width/height from a
table of supported sizes, references in ``start_frame``/``end_frame``, ``image_urls`` or
``reference_video_urls``. :class:`GateAISpec` records those facts per model, as data checked at
load time; :func:`upstream_params` applies them to a validated request. Options that have no
unified argument are the model's *native* parameters (:class:`NativeParam`), which agents pass
through ``generate_media``'s ``params`` object and validation checks against this block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from mediagate.catalog.kinds import GenerationType, MediaKind, Strict

if TYPE_CHECKING:
    from mediagate.catalog.request import GenerationRequest
    from mediagate.catalog.schema import ModelEntry

#: Seed 004 §Request Limits: GateAI refuses longer prompts (``PROMPT_TOO_LONG``) whatever a
#: model's own ``maxLen`` says, and more than 8 outputs per request (``QUANTITY_TOO_HIGH``).
GATEAI_PROMPT_MAX = 1500
GATEAI_QUANTITY_MAX = 8

#: Width and height in pixels.
Size = tuple[int, int]
Scalar = str | int | float
NativeType = Literal["integer", "number", "boolean", "string", "array", "any"]
#: The aspect label that sends no size at all: the upstream picks it (from the start frame).
AUTO = "auto"


class Axis(Strict):
    """One of width/height as the seed allows it: a range of multiples of ``step``, or a
    list of values. Neither (``{}``) means the seed gives no bounds: any whole number ≥ 0.
    """

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    step: int = Field(1, ge=1)
    values: list[int] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Axis:
        if self.values is not None and (self.min is not None or self.max is not None):
            raise ValueError("an axis has values or a min/max range, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"axis min {self.min} > max {self.max}")
        return self

    def accepts(self, value: int) -> bool:
        """Whether ``value`` pixels is allowed on this axis."""
        if self.values is not None:
            return value in self.values
        if value < (self.min or 0) or (self.max is not None and value > self.max):
            return False
        return value % self.step == 0

    def limits(self) -> dict[str, Any]:
        """What an error shows the agent: ``allowed`` values, or ``min``/``max``/``step``."""
        if self.values is not None:
            return {"allowed": list(self.values)}
        out: dict[str, Any] = {"min": self.min or 0, "max": self.max}
        if self.step > 1:
            out["step"] = self.step
        return out


class Dimensions(Strict):
    """The model's ``width``/``height`` parameters (seed table intersected with its
    "Dimension Range" where both are given)."""

    width: Axis
    height: Axis
    #: The table marks width and height as required (sent on every call).
    required: bool = False
    note: str | None = None


class RefField(Strict):
    """One parameter that takes reference files: a single URL, or an array of up to ``max``."""

    field: str
    kind: MediaKind = "image"
    max: int = Field(1, ge=1)
    array: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _single_is_one(self) -> RefField:
        if not self.array and self.max != 1:
            raise ValueError(f"{self.field}: a single-URL field holds exactly one file")
        return self


class Quantity(Strict):
    """Outputs per request (``quantity``): the model's cap, never above the API-wide 8."""

    default: int = Field(1, ge=1)
    max: int = Field(1, ge=1, le=GATEAI_QUANTITY_MAX)
    #: The table marks quantity required: the default is sent when the agent gives none.
    required: bool = False
    note: str | None = None


class SeedRange(Strict):
    """The ``seed`` parameter's inclusive range (Seedance takes -1 for random)."""

    min: int
    max: int


class NativeParam(Strict):
    """A model parameter with no unified argument, passed through ``params`` as is."""

    name: str
    #: ``any``: the seed's "?" (type unpublished): any JSON value is forwarded.
    type: NativeType
    enum: list[Scalar] | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    max_length: int | None = None
    default: Any = None
    required: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _default_allowed(self) -> NativeParam:
        if self.enum is not None and self.default is not None and self.default not in self.enum:
            raise ValueError(f"{self.name}: default {self.default!r} not in {self.enum}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.name}: min {self.min} > max {self.max}")
        return self


class DurationRule(Strict):
    """Clips of ``min_s`` seconds or more need particular settings.

    Hailuo: 10 s only at 768p; LTXV 2.3 Fast: over 10 s needs 25 fps and 1080p.
    """

    min_s: int
    #: Resolution tiers (our ids) allowed for such clips.
    tiers: list[str] | None = None
    #: Native parameter values allowed for such clips (the parameter's default must be one).
    params: dict[str, list[Scalar]] = Field(default_factory=dict)
    note: str


class GateAISpec(Strict):
    """How one catalog entry maps onto GateAI's ``POST /api/generate`` body.

    The body is ``{"model": model, "type": type, "params": {...}}``; ``params`` is built by
    :func:`upstream_params` from the validated request, in this order (later wins):

    - ``prompt``; ``negative_prompt`` and ``seed`` when given;
    - ``width``/``height`` from ``tier_sizes[tier][aspect]`` or ``sizes[aspect]`` when the
      model has ``dimensions`` and no ``aspect_param`` (aspect ``auto`` sends no size);
    - ``aspect_param`` (LTXV's ``aspect_ratio``) = the aspect ratio, unless ``auto``;
    - ``tier_param`` (``mode``/``resolution``) = ``tier_values[resolution]``;
    - ``quality_param`` (``quality``/``mode``) = the entry's ``quality.values[quality]``;
    - ``duration_param`` (``duration``/``durationSeconds``) = seconds;
    - ``sound_param`` (``generate_audio``/``motion_has_audio``) when ``sound`` is given;
    - ``output_format`` when the model takes one;
    - references: ``source_media_urls`` fill ``refs[generation_type]`` in order, per kind;
    - the agent's native ``params`` (validated against ``params``), incl. ``quantity``.
    """

    #: GateAI's model id (usually the catalog id).
    model: str
    #: The body's ``type`` as the seed's example shows it (``image``, ``video``, ``3d``).
    type: str
    #: Aspect label → size, when the size does not depend on the resolution tier.
    sizes: dict[str, Size] = Field(default_factory=dict)
    #: Resolution tier → aspect label → size.
    tier_sizes: dict[str, dict[str, Size]] = Field(default_factory=dict)
    #: The model's width/height parameters; ``None`` when it takes none (sizes are then the
    #: expected output only).
    dimensions: Dimensions | None = None
    aspect_param: str | None = None
    tier_param: str | None = None
    tier_values: dict[str, str] = Field(default_factory=dict)
    quality_param: str | None = None
    duration_param: Literal["duration", "durationSeconds"] | None = None
    sound_param: str | None = None
    #: What the model does when ``sound_param`` is not sent.
    sound_default: bool | None = None
    output_formats: list[str] | None = None
    output_format_default: str | None = None
    seed: SeedRange | None = None
    quantity: Quantity = Quantity()
    #: Reference fields per generation type, in the order ``source_media_urls`` fill them.
    refs: dict[GenerationType, list[RefField]] = Field(default_factory=dict)
    params: list[NativeParam] = Field(default_factory=list)
    duration_rules: list[DurationRule] = Field(default_factory=list)
    #: Result fields holding output URLs (3D: ``result`` previews and ``glb_urls`` models).
    output_fields: list[str] = Field(default_factory=lambda: ["result"])

    @model_validator(mode="after")
    def _coherent(self) -> GateAISpec:
        if (self.sound_param is None) != (self.sound_default is None):
            raise ValueError("sound_param and sound_default go together")
        if (self.output_formats is None) != (self.output_format_default is None):
            raise ValueError("output_formats and output_format_default go together")
        if self.output_formats and self.output_format_default not in self.output_formats:
            raise ValueError("output_format_default not among output_formats")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError("native parameter names repeat")
        clash = set(names) & (set(self.mapped) | {"quantity", "width", "height"})
        if clash:
            raise ValueError(f"native parameters {sorted(clash)} are mapped from unified ones")
        for rule in self.duration_rules:
            for name, values in rule.params.items():
                spec = self.native(name)
                if spec is None or spec.default not in values:
                    raise ValueError(f"duration rule on {name!r}: needs a native default in it")
        return self

    @cached_property
    def params_by_name(self) -> dict[str, NativeParam]:
        """Native parameters by name (validation looks them up per call)."""
        return {p.name: p for p in self.params}

    def native(self, name: str) -> NativeParam | None:
        return self.params_by_name.get(name)

    @cached_property
    def mapped(self) -> dict[str, str]:
        """GateAI parameter → the unified argument that sets it (not accepted in ``params``)."""
        out = {"prompt": "prompt", "negative_prompt": "negative_prompt", "seed": "seed"}
        for name, unified in (
            (self.aspect_param, "aspect_ratio"),
            (self.tier_param, "resolution"),
            (self.quality_param, "quality"),
            (self.duration_param, "duration"),
            (self.sound_param, "sound"),
        ):
            if name is not None:
                out[name] = unified
        if self.output_formats is not None:
            out["output_format"] = "output_format"
        for fields in self.refs.values():
            for ref in fields:
                out[ref.field] = "source_media_urls"
        return out

    def size_for(self, tier: str | None, aspect: str) -> Size | None:
        """The size sent (or expected) for ``aspect`` at ``tier``."""
        if tier is not None and tier in self.tier_sizes:
            return self.tier_sizes[tier].get(aspect)
        return self.sizes.get(aspect)

    def sends_size(self, aspect: str) -> bool:
        """Whether width/height go upstream for ``aspect`` (not for ``auto``, not when the
        model takes an aspect-ratio parameter instead)."""
        return self.dimensions is not None and self.aspect_param is None and aspect != AUTO

    def assign_refs(
        self, generation_type: GenerationType, sources: Sequence[tuple[str, MediaKind]]
    ) -> dict[str, str | list[str]]:
        """Reference fields for ``sources`` (``(url, kind)`` pairs, validated counts).

        Files of each kind fill that kind's fields in order: a single field takes one file,
        an array field up to its ``max``.
        """
        out: dict[str, str | list[str]] = {}
        pending: dict[str, list[str]] = {"image": [], "video": [], "audio": []}
        for url, kind in sources:
            pending[kind].append(url)
        for ref in self.refs.get(generation_type, ()):
            queue = pending[ref.kind]
            if not queue:
                continue
            if ref.array:
                out[ref.field] = queue[: ref.max]
                del queue[: ref.max]
            else:
                out[ref.field] = queue.pop(0)
        return out

    def capacity(self, generation_type: GenerationType, kind: MediaKind) -> int:
        """How many files of ``kind`` the reference fields of ``generation_type`` hold."""
        return sum(r.max for r in self.refs.get(generation_type, ()) if r.kind == kind)


def upstream_params(
    request: GenerationRequest,
    spec: GateAISpec,
    quality_values: Mapping[str, str] | None = None,
    inputs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """GateAI's ``params`` for a validated request (see :class:`GateAISpec` for the order).

    ``quality_values`` is the entry's ``quality.values`` (our value → GateAI's); ``inputs``
    are the source URLs as GateAI must see them (``data:`` URIs for local files), in the order
    of ``request.sources``; without them the request's own URLs are sent.
    """
    params: dict[str, Any] = {"prompt": request.prompt}
    if request.negative_prompt is not None:
        params["negative_prompt"] = request.negative_prompt
    if request.seed is not None:
        params["seed"] = request.seed
    aspect = request.aspect_ratio
    if spec.sends_size(aspect) or (spec.dimensions is not None and spec.dimensions.required):
        params["width"], params["height"] = request.width, request.height
    if spec.aspect_param is not None and aspect != AUTO:
        params[spec.aspect_param] = aspect
    if spec.tier_param is not None and request.resolution in spec.tier_values:
        params[spec.tier_param] = spec.tier_values[request.resolution]
    if spec.quality_param is not None and request.quality is not None and quality_values:
        params[spec.quality_param] = quality_values.get(request.quality, request.quality)
    if spec.duration_param is not None and request.duration_s is not None:
        params[spec.duration_param] = request.duration_s
    if spec.sound_param is not None and request.sound is not None:
        params[spec.sound_param] = request.sound
    if spec.output_formats is not None:
        params["output_format"] = request.output_format
    urls = list(inputs) if inputs is not None else [s.url for s in request.sources]
    pairs = [(url, s.kind) for url, s in zip(urls, request.sources, strict=True)]
    params.update(spec.assign_refs(request.generation_type, pairs))
    params.update(request.params)
    return params


def spec_problems(spec: GateAISpec, entry: ModelEntry) -> list[str]:
    """What is inconsistent between a GateAI block and the rest of its entry."""
    problems: list[str] = []
    if entry.prompt_max is None or entry.prompt_max > GATEAI_PROMPT_MAX:
        problems.append(f"prompt_max must be set and ≤ {GATEAI_PROMPT_MAX} (API-wide cap)")
    tiers = [t.id for t in entry.resolution.tiers] if entry.resolution is not None else []
    if spec.tier_param is not None and set(spec.tier_values) != set(tiers):
        problems.append(f"tier_values {sorted(spec.tier_values)} must cover the tiers {tiers}")
    if spec.tier_sizes and set(spec.tier_sizes) != set(tiers):
        problems.append(f"tier_sizes {sorted(spec.tier_sizes)} must cover the tiers {tiers}")
    if spec.tier_sizes and spec.sizes:
        problems.append("sizes and tier_sizes are exclusive")
    aspects = (
        [entry.aspect_ratio.default] if entry.aspect_ratio.ignored else entry.aspect_ratio.allowed
    )
    tier_ids: list[str | None] = list(tiers) or [None]
    for tier in tier_ids:
        for aspect in aspects:
            size = spec.size_for(tier, aspect)
            if size is None:
                problems.append(f"no size for aspect {aspect} at tier {tier}")
            elif spec.dimensions is not None and aspect != AUTO:
                w, h = size
                if not (spec.dimensions.width.accepts(w) and spec.dimensions.height.accepts(h)):
                    problems.append(f"size {w}x{h} ({aspect}, {tier}) outside the dimensions")
    if (spec.quality_param is None) != (entry.quality is None):
        problems.append("quality_param and the entry's quality go together")
    configurable = entry.duration is not None and entry.duration.configurable
    if (spec.duration_param is not None) != configurable:
        problems.append("duration_param must be set exactly when the duration is configurable")
    if spec.sound_param is not None and entry.video_audio != "toggle_via_sound_param":
        problems.append("sound_param needs video_audio = toggle_via_sound_param")
    if spec.aspect_param is not None and spec.dimensions is None:
        problems.append("aspect_param models still list their width/height dimensions")
    for gt in spec.refs:
        if gt not in entry.generation_types:
            problems.append(f"refs for {gt}, which the entry does not declare")
    kinds: tuple[MediaKind, ...] = ("image", "video", "audio")
    for gt in entry.generation_types:
        inputs = entry.inputs[gt]
        for kind, counts in zip(kinds, (inputs.images, inputs.videos, inputs.audios), strict=True):
            held = spec.capacity(gt, kind)
            if held < counts.max or (inputs.reference_slots is None and held != counts.max):
                problems.append(f"{gt}: {kind} fields hold {held}, inputs allow {counts.max}")
    for rule in spec.duration_rules:
        if rule.tiers is not None and not set(rule.tiers) <= set(tiers):
            problems.append(f"duration rule tiers {rule.tiers} not among {tiers}")
    return problems
