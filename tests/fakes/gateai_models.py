"""The fake GateAI's model table (``data/gateai_models.json``), its prices and its downgrades.

Cost rule (the seed gives cost strings and a few examples, not a formula; this one reproduces
the examples it can):

* ``"~$A/720p Ns, ~$B/720p Ms (pixel×duration based)"`` (Seedance): the price at 720p is the
  straight line through the two points, scaled by output pixels / 1280×720. Output pixels come
  from ``mode`` (``RESOLUTION_1080`` → 1920×1080), else ``resolution`` (``"1080p"``), else
  ``width``×``height``, else 720p. Seedance 2.0 at 720p 4 s = $0.49, 720p 15 s = $1.85 and
  1080p 12 s = $3.33, as the seed says. (The seed's "1080p 15 s ~$11.25" fits no
  pixel×duration rule; this rule gives $4.16.)
* ``"~$X per 1024×1024 image"``: ``X × quantity × max(1, width×height / 1024²)``. GPT Image 2's
  table says $0.00, but the seed's examples price it by ``quality``: low $0.003, medium $0.03
  (ours, between the two), high $0.11 per 1024² image.
* ``"~$X per generation"``: ``X`` per request; for a model whose ``mode`` picks a resolution
  (``RESOLUTION_*``), scaled by pixels of the chosen mode / pixels of the default mode.

Downgrades (when the cost exceeds what is left of the day's budget): first ``mode`` steps down
its ``RESOLUTION_*`` ladder one rung at a time (or, for a pixel×duration model sized by
``width``/``height``, the size drops to 720p); then, for pixel×duration models, the duration
drops to the longest allowed value that fits. Each changed parameter is reported once as
``{"param", "from", "to"}``. If nothing fits the request is refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fakes.base import RequestError

DATA = Path(__file__).with_name("data") / "gateai_models.json"

PROMPT_MAX = 1500
QUANTITY_MAX = 8

P720 = 1280 * 720
MODE_PIXELS = {
    "RESOLUTION_480": 854 * 480,
    "RESOLUTION_720": 1280 * 720,
    "RESOLUTION_1080": 1920 * 1080,
    "RESOLUTION_1440": 2560 * 1440,
    "RESOLUTION_2160": 3840 * 2160,
}
RESOLUTION_PIXELS = {
    "480p": 854 * 480,
    "720p": 1280 * 720,
    "768p": 1366 * 768,
    "1080p": 1920 * 1080,
    "1440p": 2560 * 1440,
    "2160p": 3840 * 2160,
}
#: Seed examples that the "per 1024×1024 image" strings do not carry.
QUALITY_PRICES = {"gpt-image-2": {"low": 0.003, "medium": 0.03, "high": 0.11}}
#: Sizes the parameters leave open are snapped, not refused (seed: "auto-snapped").
SNAPPED = frozenset({"width", "height"})
DURATION_PARAMS = ("duration", "durationSeconds")


class ParamError(ValueError):
    """A parameter outside the model's schema."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    type: str
    cost: str
    params: dict[str, dict[str, Any]]
    example: dict[str, Any] | None

    def defaults(self) -> dict[str, Any]:
        return {k: p["default"] for k, p in self.params.items() if "default" in p}

    def resolved(self, params: dict[str, Any]) -> dict[str, Any]:
        """The model's defaults overlaid with ``params``."""
        return {**self.defaults(), **params}

    @property
    def duration_param(self) -> str | None:
        return next((name for name in DURATION_PARAMS if name in self.params), None)

    @property
    def mode_ladder(self) -> list[str]:
        """The ``RESOLUTION_*`` modes, lowest first (empty if ``mode`` is something else)."""
        values = self.params.get("mode", {}).get("enum", [])
        if not values or not all(v in MODE_PIXELS for v in values):
            return []
        return sorted(values, key=MODE_PIXELS.__getitem__)

    def durations(self) -> list[int]:
        """Allowed durations, ascending."""
        name = self.duration_param
        if name is None:
            return []
        spec = self.params[name]
        if "enum" in spec:
            return sorted(spec["enum"])
        if "min" in spec and "max" in spec:
            return list(range(int(spec["min"]), int(spec["max"]) + 1))
        return []

    def quantity(self, params: dict[str, Any]) -> int:
        value = self.resolved(params).get("quantity", 1)
        return int(value) if isinstance(value, int | float) else 1

    def schema(self) -> dict[str, Any]:
        """What ``/v1/models/:id`` shows: id, type, cost, params, example."""
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "cost": self.cost,
            "params": self.params,
        }
        if self.example is not None:
            body["example"] = self.example
        return body

    def summary(self) -> dict[str, Any]:
        """What ``/v1/models`` lists."""
        return {"id": self.id, "type": self.type, "cost": self.cost, "params": list(self.params)}


@cache
def models() -> dict[str, Model]:
    """Every GateAI model by id, in the seed's order."""
    doc = json.loads(DATA.read_text())
    return {
        m["id"]: Model(m["id"], m["name"], m["type"], m["cost"], m["params"], m.get("example"))
        for m in doc["models"]
    }


def suggest(name: str, limit: int = 5) -> list[str]:
    """Close model ids, best first: the seed's ``seedance`` → ``["seedance-2.0"]``."""
    from rapidfuzz import fuzz, process, utils

    ids = list(models())
    found = process.extract(
        name, ids, scorer=fuzz.ratio, processor=utils.default_process, limit=limit, score_cutoff=50
    )
    if found:
        best = found[0][1]
        return [choice for choice, score, _ in found if score >= best - 10]
    found = process.extract(
        name,
        ids,
        scorer=fuzz.partial_ratio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=80,
    )
    return [choice for choice, _score, _ in found]


def _pixels(params: dict[str, Any]) -> int:
    mode = params.get("mode")
    if mode in MODE_PIXELS:
        return MODE_PIXELS[mode]
    resolution = params.get("resolution")
    if resolution in RESOLUTION_PIXELS:
        return RESOLUTION_PIXELS[resolution]
    width, height = params.get("width"), params.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width * height
    return P720


@cache
def _rule(cost: str) -> tuple[str, tuple[float, ...]]:
    per_second = re.fullmatch(
        r"~\$([\d.]+)/720p (\d+)s, ~\$([\d.]+)/720p (\d+)s \(pixel×duration based\)", cost
    )
    if per_second:
        a, d1, b, d2 = per_second.groups()
        return "per_second", (float(a), float(d1), float(b), float(d2))
    amount = re.match(r"~\$([\d.]+)", cost)
    value = float(amount.group(1)) if amount else 0.0
    if "per 1024×1024 image" in cost:
        return "per_image", (value,)
    return "flat", (value,)


def price(model: Model, params: dict[str, Any]) -> float:
    """Dollars for one request (rounded to 4 places)."""
    p = model.resolved(params)
    kind, numbers = _rule(model.cost)
    if kind == "per_second":
        a, d1, b, d2 = numbers
        duration = float(p.get(model.duration_param or "duration", d1))
        at_720 = a + (b - a) * (duration - d1) / (d2 - d1)
        # What the request said wins over a defaulted ``mode`` (Seedance is sized by width×height).
        asked = {k: params[k] for k in ("mode", "resolution", "width", "height") if k in params}
        cost = at_720 * _pixels(asked or p) / P720
    elif kind == "per_image":
        quality = str(p.get("quality", "")).lower()
        unit = QUALITY_PRICES.get(model.id, {}).get(quality, numbers[0])
        width, height = p.get("width", 1024), p.get("height", 1024)
        area = width * height if isinstance(width, int) and isinstance(height, int) else 1024**2
        cost = unit * model.quantity(params) * max(1.0, area / 1024**2)
    else:
        cost = numbers[0]
        ladder = model.mode_ladder
        default_mode = model.params.get("mode", {}).get("default")
        if ladder and p.get("mode") in MODE_PIXELS and default_mode in MODE_PIXELS:
            cost *= MODE_PIXELS[p["mode"]] / MODE_PIXELS[default_mode]
    return round(cost, 4)


def fit(
    model: Model, params: dict[str, Any], remaining: float
) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    """Downgrade ``params`` until the price fits ``remaining``: (params, adjustments, price)."""
    p = dict(params)
    cost = price(model, p)
    adjustments: list[dict[str, Any]] = []
    if cost <= remaining:
        return p, adjustments, cost
    resolved = model.resolved(p)
    per_second = _rule(model.cost)[0] == "per_second"

    ladder = model.mode_ladder
    if ladder and resolved.get("mode") in ladder:
        start = resolved["mode"]
        rung = ladder.index(start)
        while cost > remaining and rung > 0:
            rung -= 1
            p["mode"] = ladder[rung]
            cost = price(model, p)
        if p.get("mode", start) != start:
            adjustments.append({"param": "mode", "from": start, "to": p["mode"]})
    elif per_second and "mode" not in p and _pixels(resolved) > P720:
        width, height = resolved.get("width"), resolved.get("height")
        if isinstance(width, int) and isinstance(height, int):
            new = (1280, 720) if width >= height else (720, 1280)
            p["width"], p["height"] = new
            cost = price(model, p)
            adjustments.append({"param": "width", "from": width, "to": new[0]})
            adjustments.append({"param": "height", "from": height, "to": new[1]})

    name = model.duration_param
    if cost > remaining and per_second and name is not None:
        start = model.resolved(p).get(name)
        shorter = [d for d in model.durations() if isinstance(start, int | float) and d < start]
        for duration in reversed(shorter):
            p[name] = duration
            cost = price(model, p)
            if cost <= remaining:
                break
        if p.get(name, start) != start:
            adjustments.append({"param": name, "from": start, "to": p[name]})
    return p, adjustments, cost


def check_params(model: Model, params: dict[str, Any]) -> None:
    """Raise ``ParamError`` for a value outside the schema (width/height are snapped instead)."""
    for name, spec in model.params.items():
        if name not in params:
            if spec.get("required") and "default" not in spec:
                raise ParamError(f"'{name}' is required for {model.id}.", param=name)
            continue
        value = params[name]
        if name in SNAPPED:
            continue
        if "enum" in spec:
            if value not in spec["enum"] or isinstance(value, bool):
                raise ParamError(
                    f"'{name}' must be one of {spec['enum']}.", param=name, allowed=spec["enum"]
                )
            continue
        kind = spec.get("type")
        if kind in ("integer", "number"):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if not numeric or (kind == "integer" and value != int(value)):
                raise ParamError(f"'{name}' must be a {kind}.", param=name)
            if "min" in spec and value < spec["min"]:
                raise ParamError(f"'{name}' must be >= {spec['min']}.", param=name, min=spec["min"])
            if "max" in spec and value > spec["max"]:
                raise ParamError(f"'{name}' must be <= {spec['max']}.", param=name, max=spec["max"])
        elif kind == "boolean" and not isinstance(value, bool):
            raise ParamError(f"'{name}' must be a boolean.", param=name)
        elif kind == "array" and not isinstance(value, list):
            raise ParamError(f"'{name}' must be an array.", param=name)


def validate_request(body: Any, *, strict: bool = True) -> tuple[Model, dict[str, Any]]:
    """The model and params of a generate/estimate body, or ``RequestError``.

    In order: shape (400 ``INVALID_REQUEST``), model (404 with ``suggestions``),
    ``PROMPT_TOO_LONG``, ``QUANTITY_TOO_HIGH``, then (``strict``) the model's schema
    (400 ``INVALID_PARAMS``).
    """
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise RequestError(400, "INVALID_REQUEST", "Body must be an object with 'model'")
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise RequestError(400, "INVALID_REQUEST", "'params' must be an object")
    model = models().get(body["model"])
    if model is None:
        # The seed's shape: no code, the message in "error".
        raise RequestError(404, "Model not found", None, suggestions=suggest(body["model"]))
    prompt = params.get("prompt")
    if isinstance(prompt, str) and len(prompt) > PROMPT_MAX:
        raise RequestError(
            400,
            "PROMPT_TOO_LONG",
            f"Prompt exceeds {PROMPT_MAX} characters",
            max=PROMPT_MAX,
            got=len(prompt),
        )
    quantity = params.get("quantity")
    if isinstance(quantity, int | float) and quantity > QUANTITY_MAX:
        raise RequestError(
            400,
            "QUANTITY_TOO_HIGH",
            f"Quantity exceeds {QUANTITY_MAX} per request",
            max=QUANTITY_MAX,
            got=quantity,
        )
    if strict:
        try:
            check_params(model, params)
        except ParamError as exc:
            raise RequestError(400, "INVALID_PARAMS", str(exc), **exc.details) from None
    return model, params
