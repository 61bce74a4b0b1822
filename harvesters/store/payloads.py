"""What was last written to a portal for each remote id of a source, so that a preview can tell an update field
by field (the local catalog's documents hold what it wrote: nothing is kept here for it)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from harvesters.clock import utcnow
from harvesters.store.database import Database, chunks, upsert
from harvesters.store.schema import payloads


class Payloads(Database):
    def save_payloads(self, conn: Connection, source_id: str, written: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Keep what was written for these remote ids, in the caller's transaction (one statement)."""
        now = utcnow()
        upsert(conn, payloads, [{"source_id": source_id, "remote_id": remote_id, "written": document,
                                 "written_at": now} for remote_id, document in written],
               updated=("written", "written_at"))

    def written_payloads(self, source_id: str, remote_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """What was last written for these remote ids of the source, by remote id."""
        found: dict[str, dict[str, Any]] = {}
        with self.begin() as conn:
            for chunk in chunks(sorted(set(remote_ids))):
                found |= dict(conn.execute(select(payloads.c.remote_id, payloads.c.written).where(
                    payloads.c.source_id == source_id, payloads.c.remote_id.in_(chunk))).all())
        return found
