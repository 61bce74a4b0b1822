"""Backends, one module or package per protocol, found through the `harvesters.backends` entry points."""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from backends.base import Backend, ConfigError

ENTRY_POINT_GROUP = "harvesters.backends"
log = logging.getLogger(__name__)


@cache
def registry() -> dict[str, type[Backend]]:
    """Every installed backend by name; another package adds one by declaring an entry point.

    A backend that fails to import is left out with a warning: one broken plugin must not stop
    the harvests of every other backend.
    """
    found: dict[str, type[Backend]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            backend = entry.load()
        except Exception as error:  # a third-party plugin may fail in any way
            log.warning("Backend %r (%s) cannot be loaded: %s", entry.name, entry.value, error)
            continue
        found[backend.name] = backend
    return dict(sorted(found.items()))


def get_backend(name: str) -> type[Backend]:
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(registry()) or "none installed"
        raise ConfigError(f"Unknown backend '{name}' (known: {known})") from None
