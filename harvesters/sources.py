"""Registering and changing harvest sources, with every value checked before it is stored.

The CLI and the HTTP API both go through here, so they accept and refuse the same things, but for the
URL (one rule, `check_url`, told where the URL comes from): the command line may name a catalog file
(`file:`) or an internal address, the HTTP API may not (`check_api_url`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from backends import get_backend
from backends.base import ConfigError
from harvesters.archiving import archive_links
from harvesters.clock import utcnow
from harvesters.errors import DuplicateSource, NotLaunchable
from harvesters.identity import catalog_identity, normalized_url
from harvesters.models import HarvestSource, Notifications, UserRef, Validation, ValidationState
from harvesters.origin import ALLOW_PRIVATE, WEB_SCHEMES, is_internal_host
from harvesters.settings import settings
from harvesters.store import Store
from harvesters.targets import Target
from harvesters.vault import SecretUnreadable, Vault

SECRET_MASK = "********"
SCHEDULE_ALIASES = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
SOURCE_FIELDS = ("name", "url", "backend", "description", "config", "schedule", "organization", "owner",
                 "active", "autoarchive", "notifications")
CLEARABLE_FIELDS = ("description", "schedule", "organization", "owner", "notifications")
#: The most characters of a source's text fields (the HTTP API also caps a request's body, HARVEST_API_MAX_BODY_BYTES).
MAX_LENGTHS = {"name": 255, "url": 2048, "description": 10_000, "backend": 64, "schedule": 255,
               "organization": 64, "owner": 64}
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")


def check_url(url: str, files: bool = True, allow_private: bool = True, what: str = "url") -> str:
    """An http(s) URL naming a host, or (with `files`: a catalog file named on the command line) a `file:` URL
    naming a file by its absolute path; on an internal address (loopback, private, link-local, localhost) only
    with `allow_private`. A refusal names the value as `what`."""
    url = url.strip()
    expected = "expected an http(s) URL" + (" or a file: URL with an absolute path" if files else "")
    try:
        parsed = urlparse(url)
        host = parsed.hostname
    except ValueError as error:  # e.g. a malformed IPv6 host
        raise ConfigError(f"Invalid {what} '{url}': {error}") from None
    if parsed.scheme == "file" and files and parsed.path.startswith("/"):
        return url
    if parsed.scheme not in WEB_SCHEMES or not host:
        raise ConfigError(f"Invalid {what} '{url}': {expected}")
    if not allow_private and is_internal_host(host):
        raise ConfigError(f"Invalid {what} '{url}': {host} is an internal address; {ALLOW_PRIVATE}")
    return url


def check_api_url(url: str, allow_private: bool) -> str:
    """A URL sent over the HTTP API: http(s) only (`file:` is for the command line), off internal addresses
    unless `allow_private` (HARVEST_ALLOW_PRIVATE_ADDRESSES)."""
    return check_url(url, files=False, allow_private=allow_private)


def check_schedule(schedule: str | None) -> str | None:
    if schedule is None or not schedule.strip():
        return None
    from croniter import croniter  # imported here: only a schedule given needs it

    schedule = schedule.strip()
    if schedule not in SCHEDULE_ALIASES and not croniter.is_valid(schedule):
        raise ConfigError(f"Invalid schedule '{schedule}': expected a cron expression or one of "
                          + ", ".join(SCHEDULE_ALIASES[:4]))
    return schedule


def check_lengths(values: dict[str, Any]) -> None:
    """Refuse a text field longer than its bound (MAX_LENGTHS), naming it."""
    for name, most in MAX_LENGTHS.items():
        if isinstance(values.get(name), str) and len(values[name]) > most:
            raise ConfigError(f"Invalid {name}: {len(values[name])} characters, at most {most} allowed")


def check_fields(values: dict[str, Any], current: HarvestSource | None = None,
                 vault: Vault | None = None) -> dict[str, Any]:
    """Validate the given source fields (lengths, backend, url, config against the backend, schedule); secret
    config values come out sealed. A change of URL or backend drops the stored secrets: they were given for
    where the source pointed, and are kept only when given again."""
    unknown = set(values) - set(SOURCE_FIELDS)
    if unknown:
        raise ConfigError(f"Unknown source field(s): {', '.join(sorted(unknown))}")
    check_lengths(values)
    if "name" in values and not str(values["name"] or "").strip():
        raise ConfigError("Invalid name: a source needs a name")
    if "url" in values:
        values["url"] = check_url(values["url"])
    if "schedule" in values:
        values["schedule"] = check_schedule(values["schedule"])
    if values.get("notifications") is not None:
        values["notifications"] = check_notifications(values["notifications"]).model_dump(mode="json")
    backend = get_backend(values.get("backend") or (current.backend if current else ""))
    moved = current is not None and (values.get("url", current.url) != current.url
                                     or values.get("backend", current.backend) != current.backend)
    if "config" in values or "backend" in values or moved:
        config = values.get("config", current.config if current else {})
        if current and moved:
            secrets = backend.secret_keys() | get_backend(current.backend).secret_keys()
            config = restore_secrets(secrets, without_secrets(config, secrets) if "config" not in values else config,
                                     {}, "is not kept when the source's URL or backend changes")
        elif current and config:
            config = restore_secrets(backend.secret_keys(), config, current.config)
        validated = backend.validate_config(config).model_dump(mode="json")
        values["config"] = (vault or Vault.from_settings(settings())).seal_config(validated, backend.secret_keys())
    return values


def changes_config(current: HarvestSource, config: dict[str, Any], vault: Vault | None = None) -> bool:
    """Whether `config`, once checked, differs from the source's (secrets compared opened: each sealing differs)."""
    vault = vault or Vault.from_settings(settings())
    secrets = get_backend(current.backend).secret_keys()
    given = check_fields({"config": config}, current, vault)["config"]
    return vault.open_config(given, secrets, current.name) != vault.open_config(current.config, secrets, current.name)


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
        notifications.webhook = check_url(notifications.webhook, files=False, allow_private=allow_private or not api,
                                          what="notification webhook")
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
    values = check_fields(values)
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
    values = check_fields({key: value for key, value in values.items() if value is not None}, current)
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


def archive_datasets(store: Store, target: Target, source_id: str) -> tuple[list[str], list[str]]:
    """Archive the source's datasets (and data services) still active on the target (they are never deleted):
    the ids archived, and one message per dataset that could not be."""
    archived, problems = [], []
    for done in archive_links(store, target, store.active_links(source_id), utcnow()):
        if done.error is None:
            archived.append(done.link.dataset_id)
        else:
            problems.append(f"Dataset {done.link.dataset_id} (remote id {done.link.remote_id}): {done.error}")
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


def restore_secrets(secrets: set[str], config: dict[str, Any], previous: dict[str, Any],
                    missing: str = "has no stored value") -> dict[str, Any]:
    """A config sent back with masked secrets keeps the stored secret values; a masked one with none stored is
    refused (`missing` says why)."""
    stored = {extra["key"]: extra["value"] for extra in previous.get("extra_configs", []) if extra["key"] in secrets}
    extras = []
    for extra in config.get("extra_configs", []):
        if extra.get("key") in secrets and extra.get("value") == SECRET_MASK:
            if extra["key"] not in stored:
                raise ConfigError(f"Extra config '{extra['key']}' is a secret sent masked, but it {missing}: give "
                                  "its value again, or leave it out")
            extra = {**extra, "value": stored[extra["key"]]}
        extras.append(extra)
    return {**config, "extra_configs": extras}


def without_secrets(config: dict[str, Any], secrets: set[str]) -> dict[str, Any]:
    return {**config, "extra_configs": [extra for extra in config.get("extra_configs", [])
                                        if extra.get("key") not in secrets]}


def rotate_secrets(store: Store, vault: Vault) -> tuple[list[str], list[str]]:
    """Seal every source's secrets again with the vault's first key: the ids of the sources resealed, and one
    message per source whose secrets could not be opened."""
    resealed, problems = [], []
    for source in store.list_sources(deleted=True):
        secrets = get_backend(source.backend).secret_keys()
        if not any(extra.get("key") in secrets for extra in source.config.get("extra_configs", [])):
            continue
        try:
            config = vault.reseal_config(source.config, secrets, source.name)
        except (SecretUnreadable, ConfigError) as error:
            problems.append(str(error))
            continue
        store.update_source(source.id, config=config)
        resealed.append(source.id)
    return resealed, problems


def dropped_secrets(before: HarvestSource, after: HarvestSource) -> list[str]:
    """The secret config keys `before` had and `after` no longer has (its URL or backend changed)."""
    def secret_keys(source: HarvestSource) -> set[str]:
        secrets = get_backend(source.backend).secret_keys()
        return {extra["key"] for extra in source.config.get("extra_configs", []) if extra["key"] in secrets}

    return sorted(secret_keys(before) - secret_keys(after))
