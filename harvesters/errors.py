"""The framework's refusals: what callers (CLI, HTTP API, scheduler) turn into a clear message and status; and
the message a person reads for any error (`describe`)."""

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


def describe(error: BaseException) -> str:
    """A message a person understands, for any error."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        return f"Invalid dataset: {problems}"
    return str(error) or type(error).__name__
