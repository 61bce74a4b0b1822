"""Where harvested datasets and data services are written: the embedded local catalog (default) or a udata
portal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harvesters.settings import settings
from harvesters.targets.base import DataserviceWrite, DatasetWrite, Portal, PortalError, PortalUnavailable
from harvesters.targets.local import LocalCatalog
from harvesters.targets.udata import UdataPortal

if TYPE_CHECKING:
    from harvesters.store import Store

__all__ = ["DataserviceWrite", "DatasetWrite", "LocalCatalog", "Portal", "PortalError", "PortalUnavailable",
           "UdataPortal", "open_portal"]


def open_portal(store: Store) -> Portal:
    """The configured target: the udata portal of HARVEST_UDATA_URL, else the local catalog in the store."""
    if settings().udata_url:
        return UdataPortal.from_settings(store)
    return LocalCatalog(store)
