"""Reading upstream JSON answers defensively: the small readers every adapter needs."""

from __future__ import annotations

import math

from mediagate.errors import MediagateError


def answer_id(value: object) -> str | None:
    """A job id as the upstream sent it (a non-blank string, or an integer), else ``None``."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def finite_number(value: object) -> float | None:
    """A JSON number that is finite (booleans, NaN and infinities are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def unreadable(provider: str, what: str, why: str) -> MediagateError:
    """``upstream_error`` for an answer that does not have the documented shape."""
    return MediagateError(
        "upstream_error",
        f"{provider} sent an unreadable {what} answer ({why}).",
        hint="This is an upstream fault; retry later.",
    )
