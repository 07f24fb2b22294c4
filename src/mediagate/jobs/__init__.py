"""Durable generation jobs: the record, its state machine and the SQLite-backed store."""

from mediagate.jobs.model import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    UNFINISHED_STATUSES,
    Generation,
    GenerationStatus,
    InvalidTransition,
    can_transition,
    canonical_hash,
    new_generation_id,
)
from mediagate.jobs.store import JobStore

__all__ = [
    "ALLOWED_TRANSITIONS",
    "TERMINAL_STATUSES",
    "UNFINISHED_STATUSES",
    "Generation",
    "GenerationStatus",
    "InvalidTransition",
    "JobStore",
    "can_transition",
    "canonical_hash",
    "new_generation_id",
]
