"""Where harvested datasets and data services are written: the embedded local catalog (default) or a udata
portal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harvesters.targets.base import (
    BatchPortal,
    Portal,
    PortalError,
    PortalUnavailable,
    Provenance,
    Write,
    Writes,
    Written,
)
from harvesters.targets.local import LocalCatalog
from harvesters.targets.udata import UdataPortal

if TYPE_CHECKING:
    from harvesters.settings import Settings
    from harvesters.store import Store

__all__ = ["BatchPortal", "LocalCatalog", "Portal", "PortalError", "PortalUnavailable", "Provenance", "UdataPortal",
           "Write", "Writes", "Written", "open_portal"]


def open_portal(store: Store, config: Settings) -> Portal:
    """The configured target: the udata portal of HARVEST_UDATA_URL, else the local catalog in the store."""
    if config.udata_url:
        return UdataPortal.open(config)
    return LocalCatalog(store, config.licenses_file)
