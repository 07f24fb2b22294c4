"""The vocabulary every limit table shares: media kinds, generation types, the strict base model.

Kept apart from ``schema.py`` so the per-provider blocks (``gateai.py``) and the model entry can
both build on it without importing each other.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

MediaType = Literal["image", "video", "3d"]
GenerationType = Literal[
    "text-to-image",
    "image-to-image",
    "text-to-video",
    "image-to-video",
    "text-to-3d",
    "image-to-3d",
]
MediaKind = Literal["image", "video", "audio"]

GENERATION_TYPES: tuple[GenerationType, ...] = (
    "text-to-image",
    "image-to-image",
    "text-to-video",
    "image-to-video",
    "text-to-3d",
    "image-to-3d",
)


class Strict(BaseModel):
    """Base of every table model: unknown keys are errors, loaded entries are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
