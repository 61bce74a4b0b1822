"""Ids by a unique start of them, and the shortest start that names each: what people type and read.

Ids are 24 hex digits; any unique start (of at least MIN_PREFIX digits) of one stands for it wherever an id is
taken, and tables show each id by its shortest unique start (SHORT_ID digits at least). Both use the primary
key's index: the first two ids from a prefix on, and an id's neighbours.
"""

from __future__ import annotations

import os
from collections.abc import Collection

from sqlalchemy import Table, func, select

from harvesters.errors import NotFound, Refused
from harvesters.store.database import Database
from harvesters.store.schema import jobs

MIN_PREFIX = 4
SHORT_ID = 8


class AmbiguousId(Refused):
    """A start of an id that names several."""


class Prefixes(Database):
    def complete_id(self, table: Table, prefix: str, what: str) -> str | None:
        """The id of `table` that starts with `prefix` (itself when it is a whole id), None when none does;
        AmbiguousId when several do."""
        prefix = prefix.strip().lower()
        if len(prefix) < MIN_PREFIX or not all(char in "0123456789abcdef" for char in prefix):
            return None
        with self.begin() as conn:
            found = list(conn.execute(select(table.c.id).where(table.c.id >= prefix).order_by(table.c.id)
                                      .limit(2)).scalars())
        matching = [found_id for found_id in found if found_id.startswith(prefix)]
        if len(matching) > 1:
            raise AmbiguousId(f"'{prefix}' starts several {what} ids ({', '.join(matching)}...): give more of it")
        return matching[0] if matching else None

    def short_ids(self, table: Table, ids: Collection[str]) -> dict[str, str]:
        """Each id by its shortest start that no other id of `table` shares (SHORT_ID digits at least)."""
        short = {}
        with self.begin() as conn:
            for full in ids:
                before = conn.execute(select(func.max(table.c.id)).where(table.c.id < full)).scalar()
                after = conn.execute(select(func.min(table.c.id)).where(table.c.id > full)).scalar()
                shared = max(len(os.path.commonprefix([full, other])) for other in (before or "", after or ""))
                short[full] = full[:max(SHORT_ID, shared + 1)]
        return short

    def job_id(self, ident: str) -> str:
        """The id of the job `ident` names: its id or a unique start of it (NotFound otherwise)."""
        found = self.complete_id(jobs, ident, "job")
        if found is None:
            raise NotFound(f"No harvest job '{ident}'")
        return found
