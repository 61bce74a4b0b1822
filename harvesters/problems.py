"""Item problems people can read: grouped by message with their counts (2,000 identical "missing title" rows
are one line), exported whole (CSV or JSON, a chunk at a time), and the rule that a job which harvested nothing
from a non-empty catalog is not a success."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, fields

from harvesters.models import ItemProblemGroup
from harvesters.store import ItemProblem

MAX_GROUPS = 1000  # distinct messages counted; the others are counted together
OTHERS = "(other messages)"
HARVESTED = ("created", "updated", "unchanged", "archived")
NOTHING_HARVESTED = "Nothing harvested"
EXPORT_COLUMNS = [field.name for field in fields(ItemProblem)]


def group_problems(problems: Iterable[ItemProblem], limit: int = MAX_GROUPS) -> list[ItemProblemGroup]:
    """The problems grouped by (status, level, message), the most frequent first."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for problem in problems:
        key = (problem.status, problem.level, problem.message)
        if key not in counts and len(counts) >= limit:
            key = (problem.status, problem.level, OTHERS)
        counts[key] += 1
    return [ItemProblemGroup(status=status, level=level, message=message, count=count)
            for (status, level, message), count in counts.most_common()]


def nothing_harvested(summary: dict[str, int]) -> str | None:
    """Why a job that gathered items but harvested none of them (all skipped or failed) is not a success."""
    gathered = sum(summary.values())
    if not gathered or any(summary.get(outcome) for outcome in HARVESTED):
        return None
    return (f"{NOTHING_HARVESTED}: the {gathered} item(s) gathered were all skipped ({summary.get('skipped', 0)}) "
            f"or failed ({summary.get('failed', 0)})")


def csv_export(problems: Iterable[ItemProblem]) -> Iterator[str]:
    """Every problem as CSV (remote_id, status, level, message), a row at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for problem in problems:
        writer.writerow(astuple(problem))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def json_export(problems: Iterable[ItemProblem]) -> Iterator[str]:
    """Every problem as a JSON array of {remote_id, status, level, message}, an object at a time."""
    yield "["
    for index, problem in enumerate(problems):
        yield ("," if index else "") + json.dumps(asdict(problem), ensure_ascii=False)
    yield "]"


def astuple(problem: ItemProblem) -> tuple[str, ...]:
    return tuple(getattr(problem, column) for column in EXPORT_COLUMNS)
