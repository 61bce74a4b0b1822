"""The framework's refusals: what callers (CLI, HTTP API, scheduler) turn into a clear message and status."""

from __future__ import annotations


class NotFound(LookupError):
    """No such source, job or key."""


class Refused(RuntimeError):
    """What is asked conflicts with the current state (e.g. launching a source that already runs)."""


class JobAlreadyRunning(Refused):
    def __init__(self, source_id: str, job_id: str | None) -> None:
        super().__init__(
            f"Source {source_id} already has a running job ({job_id}): one job at a time per source; "
            "launch again once it has ended (a job whose worker died is resumed by `harvest sweep`)"
        )
        self.source_id = source_id
        self.job_id = job_id


class NotLaunchable(Refused):
    """The source may not run: inactive or deleted."""


class StoreUnavailable(RuntimeError):
    """The store cannot take writes now (its disk is full, another process holds its lock): the job stops, failed
    with this message, and the next run carries on."""


class StoreFull(StoreUnavailable):
    """The store's disk (or database) has no space left."""


class StoreLocked(StoreUnavailable):
    """Another process held the store's write lock past the busy timeout."""
