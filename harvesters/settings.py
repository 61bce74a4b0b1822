"""Runtime settings, read from HARVEST_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARVEST_")

    database_url: str = "sqlite:///harvest.db"
    http_connect_timeout: float = 10.0
    http_read_timeout: float = 60.0
    http_retries: int = 2
    http_total_timeout: float = Field(300.0, gt=0)  # seconds for one request: connect, headers and whole body
    http_max_bytes: int = Field(200_000_000, ge=1)  # bytes of one answer's body, counted after decompression
    http_retry_after_max: float = Field(120.0, ge=0)  # seconds; a catalog's longer Retry-After fails the request
    allow_private_addresses: bool = False  # let catalogs' links and redirects reach internal addresses (an intranet)
    gather_max_pages: int = Field(10_000, ge=1)  # requests one gather may make: an endless pager fails the job
    gather_max_records: int = Field(1_000_000, ge=1)  # records one gather may yield
    autoarchive_grace_days: float = Field(7.0, ge=0)
    autoarchive_max_share: float = Field(0.5, ge=0, le=1)
    licenses_file: str | None = None
    batch_size: int = Field(100, ge=1)
    map_ahead: bool = True  # inline runs into the local catalog map the next batch in a helper process meanwhile
    preview_max_items: int = Field(20, ge=1)
    # distributed jobs (harvesters/queue.py, scheduler.py, sweeper.py)
    redis_url: str | None = None  # e.g. redis://127.0.0.1:6379/0; without it, jobs run inline
    queue: str = "harvest"  # the RQ queue launched jobs and their item batches go to
    job_timeout: float = Field(12 * 3600, gt=0)  # seconds; an unfinished job older than this is failed
    heartbeat_interval: float = Field(10.0, gt=0)  # seconds between a working process's heartbeats
    heartbeat_timeout: float = Field(60.0, gt=0)  # seconds without heartbeat after which a job is resumed
    scheduler_interval: float = Field(5.0, gt=0)  # seconds between two scheduler ticks (due runs + sweep)
    # udata portal target (harvesters/targets/udata.py); without a URL, datasets go to the local catalog
    udata_url: str | None = None  # e.g. https://demo.data.gouv.fr
    udata_api_key: SecretStr | None = None  # sent as X-API-KEY, never shown
    udata_writes_per_second: float = Field(2.0, gt=0)  # POST/PUT pace, retries included
    udata_max_retries: int = Field(5, ge=0)  # per request, on 429, 5xx and network errors
    udata_backoff: float = Field(1.0, ge=0)  # seconds; the n-th retry waits about backoff * 2**n (jittered)
    udata_backoff_max: float = Field(60.0, ge=0)  # seconds; cap of one backoff wait
    udata_retry_after_max: float = Field(300.0, ge=0)  # seconds; a longer Retry-After pauses the job instead
    udata_breaker_threshold: int = Field(3, ge=1)  # consecutive failed writes (5xx after retries) that pause the job
    udata_breaker_cooldown: float = Field(300.0, ge=0)  # seconds the open breaker refuses calls before a trial
    udata_page_size: int = Field(100, ge=1, le=1000)  # datasets per page when listing the portal


def settings() -> Settings:
    """Settings as the environment says now (cheap; tests change the environment)."""
    return Settings()
