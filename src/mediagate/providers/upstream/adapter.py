"""What one upstream API looks like to the shared driver: pure mapping, no I/O.

An adapter turns a validated :class:`GenerationRequest` into HTTP calls and the upstream's
answers back into our states. It never sends anything itself: the shared driver
(``providers/upstream/driver.py``) owns the client, limits, retries, the circuit breaker,
reconciliation after an ambiguous submit, polling and rehosting of outputs, identically for
every upstream. Adapters are therefore tested without a network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mediagate.catalog.request import GenerationRequest
from mediagate.catalog.schema import ModelEntry
from mediagate.errors import MediagateError

UpstreamState = Literal["pending", "queued", "processing", "completed", "failed"]
#: What an output file is: the media itself, or a preview beside it (3D: a JPG of a GLB).
OutputRole = Literal["output", "preview", "thumbnail"]


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One request relative to the provider's base URL."""

    method: Literal["GET", "POST"]
    path: str
    json: Any = None
    params: Mapping[str, str] | None = None
    #: Whether the call bills or creates something (a submit): never retried blindly.
    creates: bool = False


@dataclass(frozen=True, slots=True)
class UpstreamOutput:
    """One output file the upstream made (its URL usually expires)."""

    url: str
    media_type: str
    role: OutputRole = "output"
    #: Provider fields worth keeping beside the rehosted file (dimensions, optimized_url, …).
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What a successful submit answered."""

    upstream_id: str
    #: Price the upstream charged, in its own unit (GateAI: dollars; Kubeez: credits).
    cost: float | None = None
    #: Changes the upstream made to the request (GateAI budget downgrades), as sentences.
    adjustments: tuple[str, ...] = ()
    #: Some upstreams answer a finished job straight away.
    status: UpstreamStatus | None = None


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    """One poll's answer, in our terms."""

    state: UpstreamState
    #: Percent, 0–100.
    progress: float | None = None
    message: str | None = None
    outputs: tuple[UpstreamOutput, ...] = ()
    #: Set when ``state == "failed"``: the stable error the generation ends with.
    error: MediagateError | None = None
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class UpstreamLimits:
    """The provider's published limits per API key, enforced client-side (queueing).

    ``None`` means unlimited. Whether polls count against the request window is not
    documented for every provider, so it is a setting.
    """

    max_in_flight: int | None = None
    window_requests: int | None = None
    window_s: float = 30.0
    polls_count_in_window: bool = False
    #: A generation stops holding an in-flight slot upstream after this long (GateAI: 10 min).
    slot_release_s: float | None = None
    #: The longest a generation may run upstream before the driver gives up polling
    #: (GateAI: a 40 min hard limit); ``None`` uses ``MEDIAGATE_UPSTREAM_MAX_JOB_S``.
    max_job_s: float | None = None


@dataclass(frozen=True, slots=True)
class PollPlan:
    """Adaptive polling: start at ``first_s``, grow by ``factor`` up to ``max_s``."""

    first_s: float
    max_s: float
    factor: float = 1.5


#: Images finish in seconds, videos and 3D in minutes: poll accordingly.
IMAGE_POLLS = PollPlan(first_s=1.0, max_s=5.0)
LONG_JOB_POLLS = PollPlan(first_s=5.0, max_s=15.0)


def poll_plan_for(media_type: str) -> PollPlan:
    """The usual plan: images ~1→5 s, everything longer (videos, 3D) ~5→15 s."""
    return IMAGE_POLLS if media_type == "image" else LONG_JOB_POLLS


class UpstreamAdapter(Protocol):
    """The pure half of a provider (``providers/<name>/mapping.py``)."""

    name: str
    limits: UpstreamLimits
    #: How files from our own media store (local inputs) reach the upstream: uploaded first
    #: (``upload_call``, multipart field ``file``) or inlined as ``data:`` URIs.
    local_inputs: Literal["upload", "data_uri"]

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Headers that authenticate every call."""
        ...

    def submit_call(
        self, request: GenerationRequest, entry: ModelEntry, inputs: Sequence[str]
    ) -> HttpCall:
        """The create call for ``request``; ``inputs`` are the source URLs as the upstream
        must see them (public URLs, or ``data:`` URIs / upload URLs for local files)."""
        ...

    def parse_submit(self, body: Any) -> Submitted:
        """Read a 2xx submit answer; raise ``MediagateError('upstream_error')`` if malformed."""
        ...

    def status_call(self, upstream_id: str) -> HttpCall:
        """The poll call for one upstream job."""
        ...

    def parse_status(self, body: Any, *, elapsed_s: float) -> UpstreamStatus:
        """Read a 2xx poll answer (``elapsed_s`` since submit, for time-limit messages)."""
        ...

    def parse_error(
        self, status_code: int, body: Any, *, retry_after_s: float | None
    ) -> MediagateError:
        """Map a non-2xx answer to a stable error (upstream code and hint kept in details)."""
        ...

    def poll_plan(self, request: GenerationRequest) -> PollPlan:
        """How often to poll this kind of job (images ~1→5 s, videos ~5→15 s)."""
        ...

    def reconcile_call(self) -> HttpCall | None:
        """A read that lists this key's recent jobs, or ``None`` if the API has none.

        Used after an ambiguous submit (timeout, reset, 5xx, unreadable answer): the driver
        looks for the job instead of submitting again, so nothing is charged twice.
        """
        ...

    def find_submitted(
        self,
        body: Any,
        *,
        request: GenerationRequest,
        entry: ModelEntry,
        submitted_after_s: float,
        known_ids: frozenset[str],
    ) -> str | Literal["absent"] | None:
        """Pick our job out of a ``reconcile_call`` answer.

        Returns its upstream id; ``"absent"`` when the listing proves no such job was made
        (safe to submit again); ``None`` when it cannot tell. ``submitted_after_s`` is how
        long ago the ambiguous submit started; ``known_ids`` are upstream ids other
        generations already own.
        """
        ...

    def upload_call(self) -> HttpCall | None:
        """The multipart upload call, or ``None`` when the API has no upload answering URLs
        (then ``local_inputs`` must be ``"data_uri"``)."""
        ...

    def parse_upload(self, body: Any) -> str:
        """The public URL an upload answered."""
        ...

    def cancel_call(self, upstream_id: str) -> HttpCall | None:
        """The upstream's cancel call, or ``None`` when it has none."""
        ...
