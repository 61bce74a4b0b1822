"""A running job's progress, told the same way to the command line and to the HTTP API: its stage (gather,
write, archive), the items it expects (what the catalog announced while it gathers, what it gathered after),
those processed, the rate and the time left. Everything comes from the store, so any process can tell it."""

from __future__ import annotations

from datetime import datetime

from harvesters.models import JobProgress
from harvesters.store import JobRow

UNPROCESSED = ("pending", "started")


def job_progress(row: JobRow, counts: dict[str, int], now: datetime) -> JobProgress | None:
    """The progress of an unfinished job whose items have these counts by status; None once it has ended."""
    if row.finished:
        return None
    items = sum(counts.values())
    processed = items - sum(counts.get(status, 0) for status in UNPROCESSED)
    expected = row.announced
    if expected is not None and row.max_items is not None:
        expected = min(expected, row.max_items)
    total = items if row.gathered else (max(expected, items) if expected is not None else None)
    elapsed = (now - row.started).total_seconds() if row.started else 0.0
    rate = processed / elapsed if elapsed > 0 and processed else None
    eta = max(total - processed, 0) / rate if rate and total is not None else None
    return JobProgress(stage=row.stage, announced=row.announced, total=total, processed=processed,
                       rate=round(rate, 2) if rate else None, eta=round(eta, 1) if eta is not None else None)


def describe_progress(progress: JobProgress) -> str:
    """One line for people: `write 250/1000 · 41.7/s · ETA 18s`."""
    done = f"{progress.processed}/{progress.total}" if progress.total is not None else f"{progress.processed}"
    parts = [f"{progress.stage or 'pending'} {done}"]
    if progress.rate:
        parts.append(f"{progress.rate:.1f}/s")
    if progress.eta is not None:
        parts.append(f"ETA {duration(progress.eta)}")
    return " · ".join(parts)


def duration(seconds: float) -> str:
    """`42s`, `3m05s`, `2h07m`."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
