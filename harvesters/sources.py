"""Registering and changing harvest sources, with every value checked before it is stored.

The CLI and the HTTP API both go through here, so they accept and refuse the same things, but for the
URL: the command line may name a catalog file (`file:`) or an internal address, the HTTP API may not
(`check_api_url`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from croniter import croniter

from backends import get_backend
from backends.base import ConfigError
from harvesters.models import HarvestSource, UserRef, Validation, ValidationState
from harvesters.clock import utcnow
from harvesters.errors import NotLaunchable
from harvesters.origin import ALLOW_PRIVATE, WEB_SCHEMES, is_internal_host
from harvesters.store import Store
from harvesters.targets import Target

SECRET_MASK = "********"
SCHEDULE_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
SOURCE_FIELDS = ("name", "url", "backend", "description", "config", "schedule", "organization", "owner",
                 "active", "autoarchive")
CLEARABLE_FIELDS = ("description", "schedule", "organization", "owner")


def check_url(url: str) -> str:
    """An http(s) URL, or a `file:` one (a catalog file named on the command line)."""
    try:
        parsed = urlparse(url.strip())
    except ValueError as error:  # e.g. a malformed IPv6 host
        raise ConfigError(f"Invalid url '{url}': {error}") from None
    if parsed.scheme not in (*WEB_SCHEMES, "file") or not (parsed.netloc or parsed.scheme == "file"):
        raise ConfigError(f"Invalid url '{url}': expected an http(s) URL")
    return url.strip()


def check_api_url(url: str, allow_private: bool) -> str:
    """A source URL sent over the HTTP API: http(s) only (`file:` is for the command line), and not on an internal
    address (loopback, private, link-local, localhost) unless `allow_private` (HARVEST_ALLOW_PRIVATE_ADDRESSES)."""
    url = check_url(url)
    parsed = urlparse(url)
    if parsed.scheme not in WEB_SCHEMES or not parsed.hostname:
        raise ConfigError(f"Invalid url '{url}': expected an http(s) URL")
    if not allow_private and is_internal_host(parsed.hostname):
        raise ConfigError(f"Invalid url '{url}': {parsed.hostname} is an internal address; {ALLOW_PRIVATE}")
    return url


def check_schedule(schedule: str | None) -> str | None:
    if schedule is None or not schedule.strip():
        return None
    schedule = schedule.strip()
    if schedule not in SCHEDULE_ALIASES and not croniter.is_valid(schedule):
        raise ConfigError(f"Invalid schedule '{schedule}': expected a cron expression or one of "
                          + ", ".join(SCHEDULE_ALIASES[:4]))
    return schedule


def check_fields(values: dict[str, Any], current: HarvestSource | None = None) -> dict[str, Any]:
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


def check_launchable(source: HarvestSource) -> None:
    """Refuse (NotLaunchable) a source that may not run: deleted or inactive."""
    if source.deleted:
        raise NotLaunchable(f"Source '{source.name}' is deleted: it cannot run")
    if not source.active:
        raise NotLaunchable(f"Source '{source.name}' is inactive: activate it (`harvest source update "
                            f"{source.slug} --active`) to run it")


def register_source(store: Store, **values: Any) -> HarvestSource:
    values = {key: value for key, value in values.items() if value is not None}
    for required in ("name", "url", "backend"):
        if not values.get(required):
            raise ConfigError(f"Missing {required}: a source needs a name, a url and a backend")
    values = check_fields(values)
    values.setdefault("config", {})
    return store.create_source(**values, validation=Validation().to_json())


def change_source(store: Store, ident: str, clear: Collection[str] = (), **values: Any) -> HarvestSource:
    """Change the given fields (a None value leaves a field as it is); `clear` names optional fields to empty."""
    current = store.get_source(ident)
    values = check_fields({key: value for key, value in values.items() if value is not None}, current)
    for field in clear:
        if field not in CLEARABLE_FIELDS:
            raise ConfigError(f"Invalid {field}: it cannot be null")
        values[field] = None
    return store.update_source(current.id, **values) if values else current


def validate_source(store: Store, ident: str, state: ValidationState, comment: str | None = None,
                    by: str | UserRef | None = None) -> HarvestSource:
    """Accept or refuse a source (udata's validation workflow): only accepted sources run on schedule."""
    if state not in ("accepted", "refused"):
        raise ConfigError(f"Invalid validation state '{state}': expected accepted or refused")
    comment = (comment or "").strip() or None
    if state == "refused" and not comment:
        raise ConfigError("Refusing a source needs a comment saying why")
    user = UserRef(id=by) if isinstance(by, str) else by
    validation = Validation(state=state, comment=comment, by=user, on=utcnow())
    return store.update_source(ident, validation=validation.to_json())


def delete_source(store: Store, ident: str, when: datetime | None = None) -> HarvestSource:
    """Mark the source deleted; its jobs and datasets stay."""
    return store.update_source(ident, deleted=when or utcnow(), active=False)


def archive_datasets(store: Store, target: Target, source_id: str) -> tuple[list[str], list[str]]:
    """Archive the source's datasets (and data services) still active on the target (they are never deleted):
    the ids archived, and one message per dataset that could not be."""
    archived, problems = [], []
    now = utcnow()
    for link in store.active_links(source_id):
        try:
            target.archive(link.dataset_id, now, link.kind)
        except Exception as error:  # any target's failure is reported; the others are still archived
            problems.append(f"Dataset {link.dataset_id} (remote id {link.remote_id}): {error}")
            continue
        store.archive_link(source_id, link.remote_id)
        archived.append(link.dataset_id)
    return archived, problems


def mask_secrets(source: HarvestSource) -> HarvestSource:
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
