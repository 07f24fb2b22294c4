"""One generation (a job): its states, the legal moves between them, its id and request hash.

A generation is recorded before any provider sees the request and then only moves forward:
``pending → queued → processing → completed | failed | canceled``. Terminal states are final;
the store refuses to rewrite them so history cannot be corrupted by a late poll or a retry.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GenerationStatus(StrEnum):
    """The public status of a generation (spelling is API: "canceled", one l)."""

    PENDING = "pending"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        """True for completed, failed and canceled: nothing may follow."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES: frozenset[GenerationStatus] = frozenset(
    {GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.CANCELED}
)

UNFINISHED_STATUSES: frozenset[GenerationStatus] = frozenset(
    {GenerationStatus.PENDING, GenerationStatus.QUEUED, GenerationStatus.PROCESSING}
)

_ENDINGS = TERMINAL_STATUSES

#: Legal moves. ``processing → processing`` exists for progress updates; terminal → nothing.
ALLOWED_TRANSITIONS: Mapping[GenerationStatus, frozenset[GenerationStatus]] = {
    GenerationStatus.PENDING: frozenset(
        {GenerationStatus.QUEUED, GenerationStatus.PROCESSING, *_ENDINGS}
    ),
    # queued → queued carries a new status message ("waiting for a free slot", "rate
    # limited, retrying in 8 s") while a job waits upstream.
    GenerationStatus.QUEUED: frozenset(
        {GenerationStatus.QUEUED, GenerationStatus.PROCESSING, *_ENDINGS}
    ),
    GenerationStatus.PROCESSING: frozenset({GenerationStatus.PROCESSING, *_ENDINGS}),
    GenerationStatus.COMPLETED: frozenset(),
    GenerationStatus.FAILED: frozenset(),
    GenerationStatus.CANCELED: frozenset(),
}


def can_transition(current: GenerationStatus, new: GenerationStatus) -> bool:
    """Whether ``current → new`` is a legal move in the transition table."""
    return new in ALLOWED_TRANSITIONS[current]


class InvalidTransition(Exception):
    """A caller asked for a move the state machine forbids.

    This is a programming error in the runner or a provider, never an agent error, so it is
    deliberately not a ``MediagateError``.
    """

    def __init__(
        self,
        generation_id: str,
        current: GenerationStatus,
        requested: GenerationStatus | None,
        reason: str,
    ) -> None:
        super().__init__(f"generation {generation_id}: {reason}")
        self.generation_id = generation_id
        self.current = current
        self.requested = requested


# ---------------------------------------------------------------------------------------------
# ids

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_LIMIT = 1 << _RANDOM_BITS
_TIME_LIMIT = 1 << 48
ID_PREFIX = "gen_"
#: ``gen_`` + 26 Crockford base32 characters (10 for the ms timestamp, 16 for randomness).
GENERATION_ID_PATTERN = r"^gen_[0-7][0-9A-HJKMNP-TV-Z]{25}$"


def _encode(value: int) -> str:
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


class _IdGenerator:
    """ULID-style ids that sort by creation time, strictly increasing within a process.

    Within one millisecond (or if the clock steps back) the random part is bumped by a random
    step instead of redrawn, so ids created later always sort later and stay hard to guess.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def __call__(self) -> str:
        ms = time.time_ns() // 1_000_000
        with self._lock:
            if ms <= self._last_ms:
                ms = self._last_ms
                rand = self._last_rand + 1 + int.from_bytes(os.urandom(4), "big")
                if rand >= _RANDOM_LIMIT:
                    ms += 1
                    rand = int.from_bytes(os.urandom(10), "big") >> 1
            else:
                # One bit of headroom keeps same-millisecond bumps from overflowing in practice.
                rand = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms, self._last_rand = ms, rand
        return ID_PREFIX + _encode(((ms % _TIME_LIMIT) << _RANDOM_BITS) | rand)


#: Return a new generation id (``gen_`` + 26 sortable characters). Thread-safe.
new_generation_id = _IdGenerator()


def canonical_hash(args: Mapping[str, Any]) -> str:
    """Hex sha256 of the canonical JSON of ``args`` (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# the record


class Generation(BaseModel):
    """One generation job as stored: the normalized request, where it is, what it produced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=GENERATION_ID_PATTERN)
    status: GenerationStatus
    model: str
    provider: str
    request: dict[str, Any]
    idempotency_key: str | None = None
    request_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    progress: float | None = Field(default=None, ge=0, le=100)
    status_message: str | None = None
    upstream_id: str | None = None
    outputs: list[dict[str, Any]] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    estimated_time_seconds: float | None = None
    estimated_cost_credits: float | None = None
    attempts: int = Field(default=0, ge=0)
    created_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the job is completed, failed or canceled (it will never change again)."""
        return self.status in TERMINAL_STATUSES
