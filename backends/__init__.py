"""Backends, one module or package per protocol, found through the `harvesters.backends` entry points."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from backends.base import Backend, ConfigError

ENTRY_POINT_GROUP = "harvesters.backends"


@cache
def registry() -> dict[str, type[Backend]]:
    """Every installed backend by name; another package adds one by declaring an entry point."""
    found: dict[str, type[Backend]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        backend = entry.load()
        found[backend.name] = backend
    return dict(sorted(found.items()))


def get_backend(name: str) -> type[Backend]:
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(registry()) or "none installed"
        raise ConfigError(f"Unknown backend '{name}' (known: {known})") from None
