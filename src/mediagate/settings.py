"""One ``Settings``, built once in ``main()`` and passed down; nothing reads env at import."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("mediagate", appauthor=False))


class Settings(BaseSettings):
    """Configuration from ``MEDIAGATE_*`` environment variables or a ``.env`` file."""

    model_config = SettingsConfigDict(
        env_prefix="MEDIAGATE_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    allow_private_urls: bool = False
    #: The local provider's simulated processing time, as a fraction of each model's typical
    #: upstream time (0 renders as fast as possible).
    local_delay_scale: float = Field(default=0.1, ge=0.0)
    auth_token: SecretStr | None = None
    output_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    allowed_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: Trimmed clips and uploaded inputs older than this are deleted (at start-up, then hourly).
    trim_retention_days: float = Field(default=7.0, gt=0)
    #: Sandboxed media workers (probe/trim of untrusted files): how many run at once, and the
    #: limits each one gets (wall clock, CPU seconds, address space, size of files written).
    media_workers: int = Field(default=2, ge=1, le=64)
    #: Workers kept started ahead of need (within media_workers), so a job skips the ~0.1 s
    #: start-up; 0 starts every worker on demand.
    media_worker_spares: int = Field(default=1, ge=0, le=64)
    media_worker_timeout_s: float = Field(default=300.0, gt=0)
    media_worker_cpu_s: int = Field(default=600, ge=1)
    media_worker_memory_mb: int = Field(default=2048, ge=256)
    media_worker_output_mb: int = Field(default=2048, ge=1)

    kubeez_api_key: SecretStr | None = None
    #: The seeds document Kubeez's paths but not its host; this is the one Kubeez publishes.
    kubeez_base_url: str | None = "https://api.kubeez.com"
    gateai_api_key: SecretStr | None = None
    gateai_base_url: str = "https://core.claude.gg"

    # --- upstream providers: behaviour under trouble (providers/upstream/) ----------------
    upstream_connect_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds to open a connection to a provider's API."
    )
    upstream_read_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds to wait for each read from a provider's API."
    )
    upstream_write_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds to wait for each write to a provider's API."
    )
    upstream_total_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Overall deadline of one API call (connect, send, answer), in seconds.",
    )
    upstream_retry_max_attempts: int = Field(
        default=5,
        ge=1,
        le=50,
        description="Most sends of a submit, an upload or an output download before giving up "
        "(status polls retry until the job's deadline instead).",
    )
    upstream_retry_base_s: float = Field(
        default=1.0, ge=0, description="First backoff ceiling; it doubles per attempt."
    )
    upstream_retry_cap_s: float = Field(
        default=30.0, ge=0, description="Largest backoff ceiling (full jitter draws below it)."
    )
    upstream_retry_max_wait_s: float = Field(
        default=120.0,
        ge=0,
        description="Longest single Retry-After honoured; a longer one ends the call with "
        "rate_limited and its retry_after_s.",
    )
    upstream_breaker_threshold: int = Field(
        default=5,
        ge=1,
        description="Consecutive failed calls (transport faults, 5xx) that open a provider's "
        "circuit breaker.",
    )
    upstream_breaker_cooldown_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds an open breaker fails calls fast before one probe goes through.",
    )
    upstream_output_max_bytes: int = Field(
        default=1024 * 1024 * 1024,
        gt=0,
        description="Largest output file downloaded (rehosted) from a provider, in bytes.",
    )
    upstream_output_timeout_s: float = Field(
        default=600.0, gt=0, description="Overall deadline of one output download, in seconds."
    )
    upstream_max_job_s: float = Field(
        default=3600.0,
        gt=0,
        description="Longest a generation may run upstream when its provider publishes no "
        "limit (GateAI's 40 min comes from its adapter).",
    )
    upstream_job_grace_s: float = Field(
        default=300.0,
        ge=0,
        description="Extra polling after the job time limit, to hear the provider's own verdict.",
    )
    upstream_reconcile_window_s: float = Field(
        default=20.0,
        ge=0,
        description="After an ambiguous submit, how long the provider's job list is watched "
        "for the job before it counts as never made.",
    )
    upstream_window_margin_s: float = Field(
        default=0.5,
        ge=0,
        description="Safety margin added to a provider's request window (latency varies).",
    )
    upstream_poll_slowdown_max: float = Field(
        default=8.0,
        ge=1,
        description="Largest factor a key's poll interval grows to after rate-limited polls.",
    )
    gateai_max_in_flight: int | None = Field(
        default=5, ge=1, description="GateAI generations in flight per key (None: no limit)."
    )
    gateai_window_requests: int | None = Field(
        default=5,
        ge=1,
        description="GateAI generate requests per window per key (None: no limit).",
    )
    gateai_window_s: float = Field(
        default=30.0, gt=0, description="GateAI's sliding request window, in seconds."
    )
    gateai_polls_count: bool = Field(
        default=False,
        description="Whether GateAI status polls count against its request window.",
    )
    kubeez_max_in_flight: int | None = Field(
        default=None,
        ge=1,
        description="Kubeez generations in flight per key (None: unpublished, not limited).",
    )
    # Not in the seeds: Kubeez's public REST docs list 30 media-generation requests a minute.
    kubeez_window_requests: int | None = Field(
        default=30,
        ge=1,
        description="Kubeez generate requests per window per key (None: no client-side limit).",
    )
    kubeez_window_s: float | None = Field(
        default=60.0,
        gt=0,
        description="Kubeez's request window in seconds (None: the adapter's own value).",
    )
    kubeez_models_refresh_s: float = Field(
        default=3600.0,
        gt=0,
        description="How often Kubeez's live model list is refreshed, in seconds.",
    )

    @field_validator("kubeez_base_url", "gateai_base_url", mode="before")
    @classmethod
    def _blank_means_default(cls, value: object, info: ValidationInfo) -> object:
        # ``MEDIAGATE_KUBEEZ_BASE_URL=`` (set but empty) means "the provider's own host".
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[info.field_name or ""].default
        return value.strip().rstrip("/") if isinstance(value, str) else value

    @field_validator("output_dirs", "allowed_dirs", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        # Env values list directories separated by commas or the OS path separator.
        if isinstance(value, str):
            parts = re.split(f"[,{re.escape(os.pathsep)}]", value)
            return [Path(p.strip()).expanduser() for p in parts if p.strip()]
        return value
