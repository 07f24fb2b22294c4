"""Upstream trouble as stable errors: ``rate_limited``, ``upstream_rejected``, ``upstream_error``,
``upstream_unavailable``, ``content_filtered``, ``provider_not_configured``.

Adapters map their own error bodies (``UpstreamAdapter.parse_error``); :func:`error_for_status`
is the generic mapping they (and the driver, when an adapter's mapping itself fails) fall back
on. Whatever the upstream said about itself — its error code, message and hint — is kept in
the details, so an agent or operator can look it up, but never becomes our ``error`` code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx2

from mediagate.errors import MediagateError

if TYPE_CHECKING:
    from mediagate.providers.upstream.adapter import UpstreamAdapter
    from mediagate.providers.upstream.client import Answer

_MAX_TEXT = 500
#: Upstream statuses meaning "the service is down or overloaded", not "your job broke".
_UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
#: Keys an upstream's JSON error commonly uses, in the order they are believed.
_CODE_KEYS = ("code", "error_code", "type", "error")
_MESSAGE_KEYS = ("message", "error_message", "detail", "msg", "error", "description")
_HINT_KEYS = ("hint", "suggestion", "help")


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


def _first_text(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return _clip(value.strip())
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key in _CODE_KEYS:
            return str(value)
    return None


def upstream_details(body: Any) -> dict[str, str]:
    """The upstream's own error code, message and hint from a JSON (or text) error body.

    Understands the common shapes: ``{"error": {"code", "message"}}``, ``{"error": "...",
    "message": "..."}``, ``{"detail": "..."}`` and plain text. Missing parts are left out.
    """
    out: dict[str, str] = {}
    if isinstance(body, str):
        if body.strip():
            out["upstream_message"] = _clip(body.strip())
        return out
    if not isinstance(body, dict):
        return out
    inner = body.get("error")
    sources: list[dict[str, Any]] = [inner] if isinstance(inner, dict) else []
    sources.append(body)
    for source in sources:
        code = _first_text(source, _CODE_KEYS)
        message = _first_text(source, _MESSAGE_KEYS)
        hint = _first_text(source, _HINT_KEYS)
        if code and "upstream_code" not in out:
            out["upstream_code"] = code
        if message and "upstream_message" not in out and message != out.get("upstream_code"):
            out["upstream_message"] = message
        if hint and "upstream_hint" not in out:
            out["upstream_hint"] = hint
    return out


def error_for_status(
    provider: str, status_code: int, body: Any, *, retry_after_s: float | None = None
) -> MediagateError:
    """The generic stable error for a non-2xx upstream answer.

    401/403 → ``provider_not_configured`` (the key is wrong or lacks access); 429 →
    ``rate_limited`` with ``retry_after_s``; 451 → ``content_filtered``; 502/503/504 →
    ``upstream_unavailable``; other 5xx and 408 → ``upstream_error``; any other 4xx →
    ``upstream_rejected``.
    """
    details: dict[str, Any] = {"provider": provider, "status": status_code}
    details.update(upstream_details(body))
    said = details.get("upstream_message")
    suffix = f": {said}" if said else "."
    if status_code in (401, 403):
        return MediagateError(
            "provider_not_configured",
            f"{provider} refused the API key (HTTP {status_code}){suffix}",
            hint=f"Check MEDIAGATE_{provider.upper()}_API_KEY.",
            **details,
        )
    if status_code == 429:
        details.pop("provider")
        return rate_limited(provider, retry_after_s, **details)
    if status_code == 451:
        return MediagateError(
            "content_filtered", f"{provider} refused the content (HTTP 451){suffix}", **details
        )
    if status_code in _UNAVAILABLE_STATUSES:
        return MediagateError(
            "upstream_unavailable",
            f"{provider} is unavailable (HTTP {status_code}){suffix}",
            retry_after_s=_rounded(retry_after_s),
            **details,
        )
    if status_code >= 500 or status_code == 408:
        return MediagateError(
            "upstream_error", f"{provider} failed (HTTP {status_code}){suffix}", **details
        )
    return MediagateError(
        "upstream_rejected",
        f"{provider} rejected the request (HTTP {status_code}){suffix}",
        **details,
    )


def mapped_error(adapter: UpstreamAdapter, answer: Answer) -> MediagateError:
    """The adapter's error for a non-2xx answer (the generic mapping if the adapter fails)."""
    try:
        return adapter.parse_error(
            answer.status_code, answer.body, retry_after_s=answer.retry_after_s
        )
    except Exception:
        return error_for_status(
            adapter.name, answer.status_code, answer.body, retry_after_s=answer.retry_after_s
        )


def rate_limited(provider: str, retry_after_s: float | None, **details: Any) -> MediagateError:
    """``rate_limited`` with the wait the upstream asked for (when it said)."""
    details["provider"] = provider
    wait = _rounded(retry_after_s)
    when = f" Retry in about {wait:g} s." if wait is not None else ""
    return MediagateError(
        "rate_limited",
        f"{provider} is rate limiting this API key.{when}",
        retry_after_s=wait,
        **details,
    )


def breaker_open(provider: str, retry_after_s: float) -> MediagateError:
    """``upstream_unavailable`` while the circuit breaker is open (no call was made)."""
    wait = _rounded(retry_after_s) or 0.0
    return MediagateError(
        "upstream_unavailable",
        f"{provider} is failing; new calls are paused for about {wait:g} s.",
        provider=provider,
        retry_after_s=wait,
        hint="Retry after retry_after_s, or use another provider.",
    )


def transport_error(provider: str, exc: BaseException, *, what: str) -> MediagateError:
    """A connection-level failure of ``what`` (e.g. ``"the submit"``) as a stable error."""
    if isinstance(exc, (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)):
        return MediagateError(
            "upstream_unavailable",
            f"{provider} could not be reached for {what}.",
            provider=provider,
            reason=type(exc).__name__,
        )
    return MediagateError(
        "upstream_error",
        f"{what.capitalize()} to {provider} failed in transit ({type(exc).__name__}).",
        provider=provider,
        reason=type(exc).__name__,
    )


def submit_outcome_unknown(provider: str, reason: str, **details: Any) -> MediagateError:
    """The submit may or may not have created (and charged) a job, and nothing can tell."""
    return MediagateError(
        "upstream_error",
        f"It is unknown whether {provider} accepted this generation ({reason}).",
        provider=provider,
        submit_outcome="unknown",
        hint=(
            f"{provider} may have started, and charged for, this generation. Check the "
            "provider's dashboard before submitting the same request again."
        ),
        **details,
    )


def not_configured(provider: str, missing: str) -> MediagateError:
    """``provider_not_configured`` for a missing key or base URL."""
    return MediagateError(
        "provider_not_configured",
        f"{provider} is not configured: {missing} is not set.",
        provider=provider,
        hint=f"Set MEDIAGATE_{provider.upper()}_{missing.upper()}.",
    )


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(max(0.0, seconds), 1)
