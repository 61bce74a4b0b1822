"""Runtime settings, read from HARVEST_* environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARVEST_")

    database_url: str = "sqlite:///harvest.db"
    http_connect_timeout: float = 10.0
    http_read_timeout: float = 60.0
    http_retries: int = 2
    autoarchive_grace_days: float = Field(7.0, ge=0)
    autoarchive_max_share: float = Field(0.5, ge=0, le=1)
    licenses_file: str | None = None
    batch_size: int = Field(100, ge=1)


def settings() -> Settings:
    """Settings as the environment says now (cheap; tests change the environment)."""
    return Settings()
