"""The framework's refusals: what callers (CLI, HTTP API, scheduler) turn into a clear message and status; and
the message a person reads for any error (`error_message`)."""

from __future__ import annotations

from pydantic import ValidationError


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


class DuplicateSource(Refused):
    """Another source already harvests this catalog (same URL once normalised, same backend): a second one would
    harvest every dataset twice. Refused unless forced."""

    def __init__(self, existing_id: str, existing_name: str, existing_slug: str, url: str, backend: str) -> None:
        super().__init__(
            f"Source '{existing_name}' ({existing_slug}, {existing_id}) already harvests {url} with backend "
            f"{backend}: a second source on the same catalog would harvest every dataset twice. Use it "
            f"(`harvest run {existing_slug}`), or register anyway with --force (force=true over the HTTP API)"
        )
        self.existing_id = existing_id


class JobEnded(Refused):
    """The job has already ended: it cannot be cancelled."""


class Unavailable(RuntimeError):
    """Something the framework needs is misconfigured or unreachable (a setting, the store, Redis): the message
    says what, in one line."""


class InvalidSetting(Unavailable):
    """A HARVEST_* value that does not fit its setting; the message names the variable."""


class StoreUnavailable(Unavailable):
    """The store (HARVEST_DATABASE_URL) cannot be opened or reached, or cannot take writes now (its disk is full,
    another process holds its lock). During a job, the job stops there, failed with this message, and the next run
    carries on."""


class StoreFull(StoreUnavailable):
    """The store's disk (or database) has no space left."""


class StoreLocked(StoreUnavailable):
    """Another process held the store's write lock past the busy timeout."""


class QueueUnavailable(Unavailable):
    """Redis (HARVEST_REDIS_URL) cannot be reached."""


def error_message(error: BaseException) -> str:
    """A message a person understands, for any error."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        return f"Invalid dataset: {problems}"
    return str(error) or type(error).__name__
