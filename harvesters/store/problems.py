"""The problems of a job's items, one row per error or warning, read a chunk of items at a time (an export or a
grouped report of a job of any size never holds its items in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Text, cast, or_, select

from harvesters.store.database import Database
from harvesters.store.schema import items

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """One error or warning of an item: what `harvest job errors` exports."""

    remote_id: str
    status: str
    level: str
    message: str


#: Items with something to say: failed or skipped, or with an error, or a warning in their logs.
HAS_PROBLEMS = or_(items.c.status.in_(("failed", "skipped")), cast(items.c.errors, Text) != "[]",
                   cast(items.c.logs, Text).like('%"level":"warning"%'))


class Problems(Database):
    def item_problems(self, job_id: str) -> Iterator[ItemProblem]:
        """Every error and warning of the job's items, in the order the items were gathered."""
        last = 0
        while True:
            query = (select(items.c.id, items.c.remote_id, items.c.status, items.c.errors, items.c.logs)
                     .where(items.c.job_id == job_id, items.c.id > last, HAS_PROBLEMS)
                     .order_by(items.c.id).limit(CHUNK))
            with self.begin() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                for entry in [*(row.errors or []), *(log for log in row.logs or [] if log.get("level") != "info")]:
                    yield ItemProblem(row.remote_id, row.status, entry.get("level", "error"), entry["message"])
            if len(rows) < CHUNK:
                return
            last = rows[-1].id
