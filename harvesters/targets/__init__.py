"""Where harvested datasets and data services are written: the embedded local catalog (default) or a udata
portal (`harvesters.targets.udata`, imported only where one is configured)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harvesters.targets.base import (
    BatchTarget,
    Provenance,
    Target,
    TargetError,
    TargetUnavailable,
    Write,
    Writes,
    Written,
)
from harvesters.targets.local import LocalCatalog

if TYPE_CHECKING:
    from harvesters.settings import Settings
    from harvesters.store import Store

__all__ = ["BatchTarget", "LocalCatalog", "Target", "TargetError", "TargetUnavailable", "Provenance", "Write",
           "Writes", "Written", "open_target"]


def open_target(store: Store, config: Settings) -> Target:
    """The configured target: the udata portal of HARVEST_UDATA_URL, else the local catalog in the store."""
    if config.udata_url:
        from harvesters.targets.udata import UdataPortal  # imported here: a run into the local catalog needs none

        return UdataPortal.open(config)
    return LocalCatalog(store, config.licenses_file)
