"""GateAI's answers that are not results, as stable mediagate errors (pure; no I/O).

Seed 004 names the error codes (``PROMPT_TOO_LONG``, ``QUANTITY_TOO_HIGH``, ``RATE_LIMITED``)
but not the error body's shape, so the code and message are read from the common spellings:
``{"error": "CODE", "message": "..."}``, ``{"error": {"code", "message"}}``, ``{"code", ...}``.
"""

from __future__ import annotations

import re
from typing import Any

from mediagate.errors import MediagateError

KEY_HINT = "Check MEDIAGATE_GATEAI_API_KEY: GateAI keys look like sk-…, one per account."
#: GateAI's sliding rate-limit window (5 requests per 30 s): the longest a 429 lasts unless a
#: generation holds every in-flight slot.
WINDOW_S = 30.0

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
_CONTENT_RE = re.compile(
    r"safety|polic(?:y|ies)|moderat|nsfw|inappropriate|prohibited|flagged|sensitive|unsafe"
    r"|content[\s_-]*(?:filter|block|violat|check|rule)",
    re.IGNORECASE,
)
_HARD_LIMIT_RE = re.compile(r"40\s*-?\s*min|hard\s*limit", re.IGNORECASE)
_LIMIT_OF = {"PROMPT_TOO_LONG": 1500, "QUANTITY_TOO_HIGH": 8}


def upstream_code_and_message(body: Any) -> tuple[str | None, str | None]:
    """The upstream's error code (``UPPER_SNAKE``) and human message, when it gave them."""
    code: str | None = None
    message: str | None = None
    if isinstance(body, str):
        return None, body.strip()[:500] or None
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):
        code = _str(error.get("code")) or _str(error.get("type"))
        message = _str(error.get("message"))
    elif isinstance(error, str):
        if _CODE_RE.match(error):
            code = error
        else:
            message = error
    code = code or _str(body.get("code"))
    message = message or _str(body.get("message")) or _str(body.get("detail"))
    if code is not None and not _CODE_RE.match(code):
        message = message or code
        code = None
    return code, (message[:500] if message else None)


def error_from_response(
    status_code: int, body: Any, *, retry_after_s: float | None = None
) -> MediagateError:
    """Map a non-2xx GateAI answer to a stable error (upstream code and message kept)."""
    code, text = upstream_code_and_message(body)
    said = f" GateAI said: {text}" if text else ""
    if status_code in (401, 403):
        return MediagateError(
            "upstream_rejected",
            "GateAI refused the API key." + said,
            http_status=status_code,
            upstream_code=code,
            upstream_message=text,
            hint=KEY_HINT,
        )
    if status_code == 429 or code == "RATE_LIMITED":
        wait = retry_after_s if retry_after_s is not None else _retry_after(body)
        return MediagateError(
            "rate_limited",
            "GateAI's rate limit is reached (5 generations in flight, 5 requests per 30 s).",
            retry_after_s=wait if wait is not None else WINDOW_S,
            upstream_code=code,
            upstream_message=text,
            hint="Retry after retry_after_s; generations already started keep running.",
        )
    if status_code >= 500:
        return MediagateError(
            "upstream_error",
            f"GateAI failed with HTTP {status_code}." + said,
            http_status=status_code,
            upstream_code=code,
            upstream_message=text,
        )
    if status_code == 402 or (code is not None and "BUDGET" in code):
        return MediagateError(
            "budget_exceeded",
            "GateAI's daily budget for this key is spent." + said,
            http_status=status_code,
            upstream_code=code,
            upstream_message=text,
            hint="The budget resets daily at 00:00 UTC (03:00 Turkey time).",
        )
    suggestions = body.get("suggestions") if isinstance(body, dict) else None
    return MediagateError(
        "upstream_rejected",
        f"GateAI rejected the request (HTTP {status_code}"
        + (f", {code})." if code else ").")
        + said,
        http_status=status_code,
        upstream_code=code,
        upstream_message=text,
        max=_LIMIT_OF.get(code or ""),
        suggestions=suggestions if isinstance(suggestions, list) and suggestions else None,
    )


def failure_error(text: str | None) -> MediagateError:
    """The error a ``FAILED`` generation ends with, from GateAI's failure text."""
    if text and _CONTENT_RE.search(text):
        return MediagateError(
            "content_filtered",
            f"GateAI's content filter refused the generation: {text}",
            upstream_message=text,
            hint="Rephrase the prompt or use other source media.",
        )
    if text and _HARD_LIMIT_RE.search(text):
        return MediagateError(
            "upstream_error",
            "GateAI stopped the generation at its 40-minute hard limit "
            "(the charge was refunded at 20 minutes).",
            upstream_message=text,
            hint="Retry later or with a shorter or lower-resolution video.",
        )
    return MediagateError(
        "upstream_error",
        f"GateAI reported the generation failed: {text}"
        if text
        else "GateAI reported the generation failed without a reason.",
        upstream_message=text,
    )


def _retry_after(body: Any) -> float | None:
    if not isinstance(body, dict):
        return None
    for key in ("retry_after", "retryAfter", "retry_after_s"):
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
