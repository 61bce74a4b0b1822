"""What follows a job's end, wherever it ends (its finalize, a pause, a cancel, a timeout): it is logged with its
outcome, counted in the metrics (items by outcome, its duration) and its source's recipients are notified."""

from __future__ import annotations

import logging

from harvesters.http import Http
from harvesters.logs import log_context
from harvesters.metrics import ITEMS, JOB_DURATION
from harvesters.notifications import notify_job_end
from harvesters.settings import Settings
from harvesters.store import Store

log = logging.getLogger(__name__)


def job_ended(store: Store, job_id: str, http: Http, config: Settings) -> None:
    """Log, count and notify the end of a job (a preview's only logged). Never raises: the job has ended."""
    try:
        row = store.job_row(job_id)
        with log_context(job_id=job_id, source_id=row.source_id):
            summary = store.summary(job_id)
            counts = ", ".join(f"{count} {outcome}" for outcome, count in summary.items() if count) or "no item"
            log.info("Job %s of source %s ended %s: %s", job_id, row.source_id, row.status, counts)
            if row.preview:
                return
            for outcome, count in summary.items():
                ITEMS.labels(outcome).inc(count)
            if row.started and row.ended:
                JOB_DURATION.labels(row.status).observe((row.ended - row.started).total_seconds())
            notify_job_end(store, job_id, http, config)
    except Exception:  # the store or a recipient failing now must not fail what called (a worker's task)
        log.exception("What follows the end of job %s failed", job_id)
