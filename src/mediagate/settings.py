"""One ``Settings`` object, built once in ``main()`` and passed down. Nothing reads env at import."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing import Annotated

from pydantic import field_validator


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("mediagate", appauthor=False))


class Settings(BaseSettings):
    """Configuration from ``MEDIAGATE_*`` environment variables or a ``.env`` file."""

    model_config = SettingsConfigDict(
        env_prefix="MEDIAGATE_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    allow_private_urls: bool = False
    local_delay_scale: float = Field(default=1.0, ge=0.0)
    auth_token: SecretStr | None = None
    output_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    allowed_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)

    kubeez_api_key: SecretStr | None = None
    kubeez_base_url: str = "https://api.kubeez.com"
    gateai_api_key: SecretStr | None = None
    gateai_base_url: str = "https://api.gateai.example"

    @field_validator("output_dirs", "allowed_dirs", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        # Env values are os.pathsep- or comma-separated lists of directories.
        if isinstance(value, str):
            parts = [p.strip() for chunk in value.split(",") for p in chunk.split(":")]
            return [Path(p) for p in parts if p]
        return value
