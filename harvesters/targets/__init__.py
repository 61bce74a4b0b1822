"""Where harvested datasets are written: the embedded local catalog (default) or a udata portal."""

from harvesters.targets.base import DatasetWrite, Portal
from harvesters.targets.local import LocalCatalog

__all__ = ["DatasetWrite", "LocalCatalog", "Portal", "open_portal"]


def open_portal(store: "Store") -> Portal:  # noqa: F821 - resolved lazily to avoid an import cycle
    """The configured target: the local catalog in the store."""
    return LocalCatalog(store)
