"""Registering and changing harvest sources, with every value checked before it is stored.

The CLI and the HTTP API both go through here, so they accept and refuse the same things, but for the
URL: the command line may name a catalog file (`file:`) or an internal address, the HTTP API may not
(`check_api_url`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from croniter import croniter
from pydantic import ValidationError

from backends import get_backend
from backends.base import ConfigError
from harvesters.models import HarvestSource, Notifications, UserRef, Validation, ValidationState
from harvesters.clock import utcnow
from harvesters.errors import DuplicateSource, NotLaunchable
from harvesters.identity import catalog_identity, normalized_url
from harvesters.origin import ALLOW_PRIVATE, WEB_SCHEMES, is_internal_host
from harvesters.store import Store
from harvesters.targets import Portal

SECRET_MASK = "********"
SCHEDULE_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
SOURCE_FIELDS = ("name", "url", "backend", "description", "config", "schedule", "organization", "owner",
                 "active", "autoarchive", "notifications")
CLEARABLE_FIELDS = ("description", "schedule", "organization", "owner", "notifications")
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")


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
    if values.get("notifications") is not None:
        values["notifications"] = check_notifications(values["notifications"]).model_dump(mode="json")
    backend = get_backend(values.get("backend") or (current.backend if current else ""))
    if "config" in values or "backend" in values:
        config = values.get("config", current.config if current else {})
        if current and config:
            config = restore_secrets(backend.secret_keys(), config, current.config)
        values["config"] = backend.validate_config(config).model_dump(mode="json")
    return values


def check_notifications(value: Notifications | dict[str, Any], api: bool = False,
                        allow_private: bool = False) -> Notifications:
    """Who to notify: addresses that look like emails, a webhook on http(s) (over the HTTP API, not on an internal
    address unless `allow_private`: the same rule as a catalog's URL)."""
    try:
        notifications = Notifications.model_validate(value)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ConfigError(f"Invalid notifications ({where}: {problem['msg']}): expected {{emails: [addresses], "
                          "webhook: URL, on: error or always}") from None
    for email in notifications.emails:
        if not EMAIL.match(email):
            raise ConfigError(f"Invalid notification email '{email}': expected an address like ops@example.org")
    if notifications.webhook:
        webhook = (check_api_url(notifications.webhook, allow_private) if api else check_url(notifications.webhook))
        if urlparse(webhook).scheme not in WEB_SCHEMES:
            raise ConfigError(f"Invalid notification webhook '{webhook}': expected an http(s) URL")
        notifications.webhook = webhook
    return notifications


def check_launchable(source: HarvestSource) -> None:
    """Refuse (NotLaunchable) a source that may not run: deleted or inactive."""
    if source.deleted:
        raise NotLaunchable(f"Source '{source.name}' is deleted: it cannot run")
    if not source.active:
        raise NotLaunchable(f"Source '{source.name}' is inactive: activate it (`harvest source update "
                            f"{source.slug} --active`) to run it")


def register_source(store: Store, force: bool = False, **values: Any) -> HarvestSource:
    """A new source, its values checked. One on a catalog another live source harvests (same URL once normalised,
    same backend) is refused (DuplicateSource, naming that source) unless `force`d."""
    values = {key: value for key, value in values.items() if value is not None}
    for required in ("name", "url", "backend"):
        if not values.get(required):
            raise ConfigError(f"Missing {required}: a source needs a name, a url and a backend")
    values = checked(values)
    values.setdefault("config", {})
    if not force:
        refuse_same_catalog(store, values["url"], values["backend"])
    identity = None if force else catalog_identity(values["url"], values["backend"])
    return store.create_source(**values, identity=identity, validation=Validation().to_json())


def refuse_same_catalog(store: Store, url: str, backend: str, itself: str | None = None) -> None:
    """Raise DuplicateSource when a live source other than `itself` harvests this catalog with this backend
    (sources registered before identities were kept included)."""
    wanted = normalized_url(url)
    for source in store.list_sources():
        if source.id != itself and source.backend == backend and normalized_url(source.url) == wanted:
            raise DuplicateSource(source.id, source.name, source.slug, source.url, source.backend)


def change_source(store: Store, ident: str, clear: Collection[str] = (), force: bool = False,
                  **values: Any) -> HarvestSource:
    """Change the given fields (a None value leaves a field as it is); `clear` names optional fields to empty.
    Moving a source onto a catalog another source harvests is refused unless `force`d, as when registering."""
    current = store.get_source(ident)
    values = checked({key: value for key, value in values.items() if value is not None}, current)
    for field in clear:
        if field not in CLEARABLE_FIELDS:
            raise ConfigError(f"Invalid {field}: it cannot be null")
        values[field] = None
    url, backend = values.get("url", current.url), values.get("backend", current.backend)
    if (url, backend) != (current.url, current.backend) and not current.deleted:
        if not force:
            refuse_same_catalog(store, url, backend, itself=current.id)
        values["identity"] = None if force else catalog_identity(url, backend)
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
    """Mark the source deleted; its jobs and datasets stay, and its catalog may be registered again."""
    return store.update_source(ident, deleted=when or utcnow(), active=False, identity=None)


def archive_datasets(store: Store, portal: Portal, source_id: str) -> tuple[list[str], list[str]]:
    """Archive the source's datasets (and data services) still active on the portal (they are never deleted):
    the ids archived, and one message per dataset that could not be."""
    archived, problems = [], []
    now = utcnow()
    for link in store.active_links(source_id):
        try:
            portal.archive(link.dataset_id, now, link.kind)
        except Exception as error:  # any target's failure is reported; the others are still archived
            problems.append(f"Dataset {link.dataset_id} (remote id {link.remote_id}): {error}")
            continue
        store.archive_link(source_id, link.remote_id)
        archived.append(link.dataset_id)
    return archived, problems


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
