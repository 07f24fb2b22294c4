"""The error hierarchy: every rejected call becomes one of these, with a stable code.

The codes are public API (see GUIDE.md §3). ``MediagateError.payload`` is the single place
that shapes the JSON an agent receives; the server wraps it into an ``isError`` tool result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Every code an agent may receive. Adding one is an API change; renaming one is a break.
ERROR_CODES: frozenset[str] = frozenset(
    {
        "invalid_arguments",
        "unknown_model",
        "variant_required",
        "variant_mismatch",
        "unsupported_generation_type",
        "prompt_too_long",
        "negative_prompt_too_long",
        "source_media_required",
        "source_media_not_allowed",
        "too_few_images",
        "too_many_images",
        "too_few_videos",
        "too_many_videos",
        "too_many_audios",
        "video_reference_not_allowed",
        "unsupported_audio_url",
        "unsupported_video_url",
        "too_many_references",
        "reference_duration_exceeded",
        "invalid_kling_elements",
        "invalid_duration",
        "aspect_ratio_invalid_for_model",
        "aspect_ratio_incompatible_with_high_res",
        "invalid_resolution",
        "invalid_quality",
        "unknown_voice",
        "unknown_character",
        "missing_source_url",
        "unsafe_source_url",
        "source_fetch_failed",
        "source_too_large",
        "invalid_trim_range",
        "trim_too_long",
        "ffmpeg_failed",
        "processor_timeout",
        "processor_unavailable",
        "generation_not_found",
        "idempotency_conflict",
        "budget_exceeded",
        "provider_not_configured",
        "rate_limited",
        "upstream_rejected",
        "upstream_error",
        "upstream_unavailable",
        "content_filtered",
    }
)


class MediagateError(Exception):
    """A call we refuse or could not complete, with a stable ``code`` and fix-it details.

    ``details`` carries what an agent needs to repair the call: ``allowed``, ``max``, ``got``,
    ``suggestions``, ``available_variants``, ``hint``, ``field`` ...
    """

    __slots__ = ("code", "details", "message")

    def __init__(self, code: str, message: str, **details: Any) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unregistered error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON object an agent receives: ``{"error", "message", ...details}``."""
        return {"error": self.code, "message": self.message, **self.details}

    def __repr__(self) -> str:
        return f"MediagateError({self.code!r}, {self.message!r}, **{self.details!r})"


def unknown_name(message: str, field: str, got: str, known: Iterable[str]) -> MediagateError:
    """``invalid_arguments`` for a name that is not one of ``known`` (with close matches)."""
    import difflib

    names = sorted(known)
    return MediagateError(
        "invalid_arguments",
        message,
        field=field,
        suggestions=difflib.get_close_matches(got, names, n=3) or None,
        allowed=names,
    )
