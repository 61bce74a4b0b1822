"""Registering and changing harvest sources, with every value checked before it is stored.

The CLI and the HTTP API both go through here, so they accept and refuse exactly the same things.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from croniter import croniter

from backends import get_backend
from backends.base import ConfigError
from harvesters.models import HarvestSource, Validation
from harvesters.store import Store, utcnow

SECRET_MASK = "********"
SCHEDULE_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
SOURCE_FIELDS = ("name", "url", "backend", "description", "config", "schedule", "organization", "owner",
                 "active", "autoarchive")


def check_url(url: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https", "file") or not (parsed.netloc or parsed.scheme == "file"):
        raise ConfigError(f"Invalid url '{url}': expected an http(s) URL")
    return url.strip()


def check_schedule(schedule: str | None) -> str | None:
    if schedule is None or not schedule.strip():
        return None
    schedule = schedule.strip()
    if schedule not in SCHEDULE_ALIASES and not croniter.is_valid(schedule):
        raise ConfigError(f"Invalid schedule '{schedule}': expected a cron expression or one of "
                          + ", ".join(SCHEDULE_ALIASES[:4]))
    return schedule


def checked(values: dict[str, Any], current: HarvestSource | None = None) -> dict[str, Any]:
    """Validate the given source fields (backend, url, config against the backend, schedule)."""
    unknown = set(values) - set(SOURCE_FIELDS)
    if unknown:
        raise ConfigError(f"Unknown source field(s): {', '.join(sorted(unknown))}")
    if "name" in values and not str(values["name"] or "").strip():
        raise ConfigError("Invalid name: a source needs a name")
    if "url" in values:
        values["url"] = check_url(values["url"])
    if "schedule" in values:
        values["schedule"] = check_schedule(values["schedule"])
    backend = get_backend(values.get("backend") or (current.backend if current else ""))
    if "config" in values or "backend" in values:
        config = values.get("config", current.config if current else {})
        if current and config:
            config = restore_secrets(backend.secret_keys(), config, current.config)
        values["config"] = backend.validate_config(config).model_dump(mode="json")
    return values


def register_source(store: Store, **values: Any) -> HarvestSource:
    values = {key: value for key, value in values.items() if value is not None}
    for required in ("name", "url", "backend"):
        if not values.get(required):
            raise ConfigError(f"Missing {required}: a source needs a name, a url and a backend")
    values = checked(values)
    values.setdefault("config", {})
    return store.create_source(**values, validation=Validation().to_json())


def change_source(store: Store, ident: str, **values: Any) -> HarvestSource:
    current = store.get_source(ident)
    values = checked({key: value for key, value in values.items() if value is not None}, current)
    return store.update_source(current.id, **values) if values else current


def delete_source(store: Store, ident: str, when: datetime | None = None) -> HarvestSource:
    """Mark the source deleted; its jobs and datasets stay."""
    return store.update_source(ident, deleted=when or utcnow(), active=False)


def public(source: HarvestSource) -> HarvestSource:
    """The source as shown to anyone: secret config values masked."""
    secrets = get_backend(source.backend).secret_keys()
    if not secrets:
        return source
    config = dict(source.config)
    config["extra_configs"] = [
        {**extra, "value": SECRET_MASK} if extra.get("key") in secrets else extra
        for extra in config.get("extra_configs", [])
    ]
    return source.model_copy(update={"config": config})


def restore_secrets(secrets: set[str], config: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """A config sent back with masked secrets keeps the stored secret values."""
    stored = {extra["key"]: extra["value"] for extra in previous.get("extra_configs", [])}
    extras = [
        {**extra, "value": stored.get(extra["key"])}
        if extra.get("key") in secrets and extra.get("value") == SECRET_MASK else extra
        for extra in config.get("extra_configs", [])
    ]
    return {**config, "extra_configs": extras}
