"""A harvester framework for open-data portals that speak the udata API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("udata-harvesters")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
