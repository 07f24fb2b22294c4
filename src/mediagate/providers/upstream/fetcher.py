"""The fetcher for upstream outputs: the SSRF-guarded one, plus the ``Retry-After`` it saw.

A CDN that rate-limits an output download says when to come back; the guarded fetcher
reports a refused download as ``source_fetch_failed`` (``reason: "http_status"``) with the
status only. This subclass adds the answer's ``Retry-After`` as ``retry_after_s``, so the
rehoster waits as long as asked instead of its own backoff.
"""

from __future__ import annotations

import httpx2

from mediagate.errors import MediagateError
from mediagate.media.fetch import GuardedFetcher, Sink
from mediagate.providers.upstream.retry import retry_after_from


class OutputFetcher(GuardedFetcher):
    """A :class:`GuardedFetcher` whose HTTP-status failures carry ``retry_after_s``."""

    async def _read_body(
        self, response: httpx2.Response, url: str, field: str, sink: Sink
    ) -> tuple[str | None, int]:
        try:
            return await super()._read_body(response, url, field, sink)
        except MediagateError as exc:
            wait = retry_after_from(response.headers)
            if exc.details.get("reason") == "http_status" and wait is not None:
                exc.details.setdefault("retry_after_s", round(wait, 3))
            raise
