"""The composition root: settings, store, HTTP client, target and Harvester, built once where a process
starts working (a CLI command, the HTTP API, an RQ worker, a job's thread) and handed down.

Nothing below reads the environment: each component gets its settings from here (scrapy's
`from_crawler` style). An RQ worker keeps one Runtime for as long as its settings hold, so that a
job's caches (the portal's reference lists, its dataset index) serve every batch of the job that
the worker processes, not one batch.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property

from harvesters.http import Http, HttpOptions
from harvesters.pipeline import Harvester, Progress
from harvesters.settings import PREFIX, Settings, settings
from harvesters.store import Store
from harvesters.targets import Target, open_target

RUNTIMES_KEPT = 4


@dataclass
class Runtime:
    config: Settings
    store: Store

    @classmethod
    def from_environment(cls, store: Store | None = None) -> Runtime:
        """The settings of the HARVEST_* variables, and the store they name (unless one is given)."""
        config = settings()
        return cls(config, store or Store(config.database_url))

    @cached_property
    def http(self) -> Http:
        return Http(HttpOptions.from_settings(self.config))

    @cached_property
    def target(self) -> Target:
        """The target, opened once (the udata client's circuit breaker and pool of writes are the process's)."""
        return open_target(self.store, self.config)

    def harvester(self, progress: Progress | None = None) -> Harvester:
        return Harvester(self.store, self.target, self.http, progress, self.config)

    @cached_property
    def worker_harvester(self) -> Harvester:
        """The one Harvester of a worker process: its job scopes outlive a task."""
        return self.harvester()

    def close(self) -> None:
        self.store.engine.dispose()


@dataclass
class Runtimes:
    """The Runtime of each environment a process sees (one in production; tests change it), per thread, the
    last few kept: the settings are read again only when the HARVEST_* variables change."""

    kept: dict[tuple[tuple[tuple[str, str], ...], int], Runtime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Runtime:
        key = (_environment(), threading.get_ident())
        with self.lock:
            runtime = self.kept.pop(key, None)
            if runtime is None:
                config = settings()
                runtime = Runtime(config, Store(config.database_url))
            self.kept[key] = runtime
            while len(self.kept) > RUNTIMES_KEPT:
                self.kept.pop(next(iter(self.kept))).close()
        return runtime


def _environment() -> tuple[tuple[str, str], ...]:
    """What the settings are read from: the HARVEST_* variables (any case), secrets included."""
    return tuple(sorted((name.upper(), value) for name, value in os.environ.items()
                        if name.upper().startswith(PREFIX)))
