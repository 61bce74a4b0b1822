"""Runtime settings, read from HARVEST_* environment variables and from a `.env` file in the working directory.

A value that does not fit its setting is refused naming the variable (`InvalidSetting`); a HARVEST_* variable
that names no setting is ignored, and `unknown_variables` says which, so that entry points warn about typos.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from harvesters.errors import InvalidSetting

PREFIX = "HARVEST_"
ENV_FILE = ".env"
#: HARVEST_* variables that are not settings of the program: the test suite reads this one (tests/shared.py).
NOT_SETTINGS = frozenset({"HARVEST_SHARED_DIR"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=ENV_FILE, extra="ignore")

    database_url: str = "sqlite:///harvest.db"
    http_connect_timeout: float = 10.0
    http_read_timeout: float = 60.0
    http_retries: int = 2
    http_total_timeout: float = Field(300.0, gt=0)  # seconds for one request: connect, headers and whole body
    http_max_bytes: int = Field(200_000_000, ge=1)  # bytes of one answer's body, counted after decompression
    http_retry_after_max: float = Field(120.0, ge=0)  # seconds; a catalog's longer Retry-After fails the request
    secret_key: SecretStr | None = None  # Fernet key(s), comma-separated: the first seals secret config values
    allow_private_addresses: bool = False  # let catalogs' links and redirects reach internal addresses (an intranet)
    gather_max_pages: int = Field(10_000, ge=1)  # requests one gather may make: an endless pager fails the job
    gather_max_records: int = Field(1_000_000, ge=1)  # records one gather may yield
    autoarchive_grace_days: float = Field(7.0, ge=0)
    autoarchive_max_share: float = Field(0.5, ge=0, le=1)
    licenses_file: str | None = None
    batch_size: int = Field(100, ge=1)
    map_ahead: bool = True  # helper processes read the catalog and map the next batch ahead (harvesters/pipeline.py)
    preview_max_items: int = Field(20, ge=1)
    api_max_body_bytes: int = Field(1_000_000, ge=1)  # bytes of an HTTP API request's body; 413 beyond
    api_threads: int = Field(2, ge=1)  # threads answering the HTTP API's requests (previews have their own)
    # distributed jobs (harvesters/queue.py, scheduler.py, sweeper.py)
    redis_url: str | None = None  # e.g. redis://127.0.0.1:6379/0; without it, jobs run inline
    queue: str = "harvest"  # the RQ queue launched jobs and their item batches go to
    job_timeout: float = Field(12 * 3600, gt=0)  # seconds; an unfinished job older than this is failed
    heartbeat_interval: float = Field(10.0, gt=0)  # seconds between a working process's heartbeats
    heartbeat_timeout: float = Field(60.0, gt=0)  # seconds without heartbeat after which a job is resumed
    scheduler_interval: float = Field(5.0, gt=0)  # seconds between two scheduler ticks (due runs + sweep)
    # udata portal target (harvesters/targets/udata/); without a URL, datasets go to the local catalog
    udata_url: str | None = None  # e.g. https://demo.data.gouv.fr
    udata_api_key: SecretStr | None = None  # sent as X-API-KEY, never shown
    udata_writes_per_second: float = Field(2.0, gt=0)  # the portal's write budget, for the whole deployment
    udata_concurrent_writes: int = Field(4, ge=1, le=10)  # writes in flight at once per process (a slow portal)
    udata_max_retries: int = Field(5, ge=0)  # per request, on 429, 5xx and network errors
    udata_backoff: float = Field(1.0, ge=0)  # seconds; the n-th retry waits about backoff * 2**n (jittered)
    udata_backoff_max: float = Field(60.0, ge=0)  # seconds; cap of one backoff wait
    udata_retry_after_max: float = Field(300.0, ge=0)  # seconds; a longer Retry-After pauses the job instead
    udata_breaker_threshold: int = Field(3, ge=1)  # consecutive failed writes (5xx after retries) that pause the job
    udata_breaker_cooldown: float = Field(300.0, ge=0)  # seconds the open breaker refuses calls before a trial
    udata_page_size: int = Field(100, ge=1, le=1000)  # datasets per page when listing the portal
    # logs (harvesters/logs.py): unset level = INFO for workers, the scheduler and the API, WARNING for commands
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    log_format: Literal["text", "json"] = "text"
    # notifications (harvesters/notifications.py): the SMTP server emails go through
    smtp_host: str | None = None  # unset: no email is sent (a source naming recipients gets a job warning)
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "harvest@localhost"  # the From of notification emails
    smtp_timeout: float = Field(30.0, gt=0)  # seconds for the whole exchange with the SMTP server
    # the web console (harvesters/console/)
    console_secret: SecretStr | None = None  # signs its session cookies; unset: a random one per `harvest serve`
    console_session_hours: float = Field(8.0, gt=0)  # a login lasts this long
    console_secure_cookie: bool = False  # served over HTTPS (behind a proxy): the session cookie goes over HTTPS only

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def settings() -> Settings:
    """Settings as the environment (and `.env`) say now (cheap; tests change the environment). A value that does
    not fit raises InvalidSetting naming its variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise InvalidSetting(describe_invalid(error)) from None


def describe_invalid(error: ValidationError) -> str:
    """The first invalid setting, by its variable: `Invalid HARVEST_BATCH_SIZE='ten': Input should be...`."""
    problem = error.errors()[0]
    name = PREFIX + "_".join(str(part) for part in problem["loc"]).upper()
    return f"Invalid {name}={problem.get('input')!r}: {problem['msg']}"


def unknown_variables(environ: Mapping[str, str] | None = None, env_file: str | Path = ENV_FILE) -> list[str]:
    """The HARVEST_* variables (of the environment and of `.env`) that name no setting, each with the setting it
    was probably meant to be: `HARVEST_BATCHSIZE (did you mean HARVEST_BATCH_SIZE?)`."""
    known = {PREFIX + name.upper() for name in Settings.model_fields}
    suffixes = {name.removeprefix(PREFIX): name for name in known}
    names = {name.upper() for name in (os.environ if environ is None else environ)}
    if Path(env_file).is_file():
        names |= {name.upper() for name in dotenv_values(env_file)}
    unknown = sorted(name for name in names if name.startswith(PREFIX) and name not in known | NOT_SETTINGS)
    described = []
    for name in unknown:
        close = difflib.get_close_matches(name.removeprefix(PREFIX), suffixes, n=1, cutoff=0.8)
        described.append(name + (f" (did you mean {suffixes[close[0]]}?)" if close else ""))
    return described
