"""The small chart of a source's page: one stacked bar a job (oldest on the left), its items by status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harvesters.models import HarvestJobSummary

STATUSES = ("done", "skipped", "failed", "archived")  # stacked bottom up; pending and started are transient
HEIGHT = 120
BAR_WIDTH = 16
GAP = 6
SLOTS = 30  # bars the chart has room for: a bar keeps its width however many jobs there are


@dataclass(frozen=True)
class Part:
    status: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    x: int
    label: str
    parts: list[Part]


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int = HEIGHT
    bar_width: int = BAR_WIDTH
    statuses: tuple[str, ...] = STATUSES


def counts_chart(jobs: Sequence[HarvestJobSummary]) -> Chart:
    """The chart of these jobs (newest first, as listed), scaled to the job with the most items."""
    ordered = list(reversed(jobs))
    top = max((sum(job.items.by_status.get(status, 0) for status in STATUSES) for job in ordered), default=0) or 1
    bars = []
    for index, job in enumerate(ordered):
        parts, bottom = [], float(HEIGHT)
        for status in STATUSES:
            count = job.items.by_status.get(status, 0)
            if count:
                height = HEIGHT * count / top
                bottom -= height
                parts.append(Part(status, count, round(bottom, 2), round(height, 2)))
        bars.append(Bar(index * (BAR_WIDTH + GAP), job.created.strftime("%Y-%m-%d %H:%M"), parts))
    return Chart(bars, SLOTS * (BAR_WIDTH + GAP) - GAP)
