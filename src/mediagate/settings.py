"""One ``Settings``, built once in ``main()`` and passed down; nothing reads env at import."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, SecretStr, field_validator
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
    #: The seeds document Kubeez's paths but not its API host; set it with the key.
    kubeez_base_url: str | None = None
    gateai_api_key: SecretStr | None = None
    gateai_base_url: str = "https://core.claude.gg"

    @field_validator("output_dirs", "allowed_dirs", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        # Env values list directories separated by commas or the OS path separator.
        if isinstance(value, str):
            parts = re.split(f"[,{re.escape(os.pathsep)}]", value)
            return [Path(p.strip()).expanduser() for p in parts if p.strip()]
        return value
