"""Harvest sources: registered, changed, found by id, slug or name, listed; their schedule claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from harvesters.clock import new_id, utcnow
from harvesters.errors import DuplicateSource, NotFound
from harvesters.models import HarvestSource, Notifications, OrganizationRef, UserRef, Validation
from harvesters.store.database import Database, counting
from harvesters.store.schema import sources
from harvesters.store.slugs import free_slugs


@dataclass(frozen=True, slots=True)
class ScheduledSource:
    """What the scheduler reads of a source (its last scheduled run is not part of the model)."""

    id: str
    name: str
    schedule: str
    accepted: bool
    created_at: datetime
    scheduled_at: datetime | None


#: A source by id, slug or name (a live one first); built once, as it is run on every request about a source.
_IDENT: BindParameter[str] = bindparam("ident")
BY_IDENT = (select(sources).where((sources.c.id == _IDENT) | (sources.c.slug == _IDENT) | (sources.c.name == _IDENT))
            .order_by(sources.c.deleted.is_not(None)))
SLUG_ATTEMPTS = 5  # registrations racing for one slug: the loser takes the next free one


class Sources(Database):
    def create_source(self, **values: Any) -> HarvestSource:
        """A new source. One whose `identity` another live source has raises DuplicateSource, also when another
        process registers it at the same moment (a unique key settles the race)."""
        values.setdefault("config", {})
        values.setdefault("validation", Validation().to_json())
        for attempt in range(SLUG_ATTEMPTS):
            try:
                with self.begin() as conn:
                    values |= {"id": new_id(), "created_at": utcnow()}
                    [values["slug"]] = free_slugs(conn, sources.c.slug, [values["name"]])
                    conn.execute(insert(sources).values(**values))
                return self.get_source(values["id"])
            except IntegrityError:
                if values.get("identity") and (existing := self.source_with_identity(values["identity"])):
                    raise DuplicateSource(existing.id, existing.name, existing.slug, existing.url,
                                          existing.backend) from None
                if attempt == SLUG_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def source_with_identity(self, identity: str) -> HarvestSource | None:
        """The live source of this catalog identity (harvesters/identity.py), if any."""
        with self.begin() as conn:
            row = conn.execute(select(sources).where(sources.c.identity == identity)).mappings().first()
        return _source(row) if row else None

    def update_source(self, ident: str, **values: Any) -> HarvestSource:
        source = self.get_source(ident)
        with self.begin() as conn:
            conn.execute(update(sources).where(sources.c.id == source.id).values(**values))
        return self.get_source(source.id)

    def forget_source(self, source_id: str) -> None:
        """Remove a source that left nothing behind (a preview's own source) from the store."""
        with self.begin() as conn:
            conn.execute(delete(sources).where(sources.c.id == source_id))

    def get_source(self, ident: str) -> HarvestSource:
        """A source by id, slug or name."""
        with self.begin() as conn:
            row = conn.execute(BY_IDENT, {"ident": ident}).mappings().first()
        if row is None:
            raise NotFound(f"No harvest source '{ident}'")
        return _source(row)

    def list_sources(self, deleted: bool = False, q: str | None = None, owner: str | None = None,
                     offset: int = 0, limit: int | None = None) -> list[HarvestSource]:
        """Sources in creation order; `q` searches name and URL, `owner` is an organization or user id."""
        query = _listing_query(deleted, q, owner, limit is not None)
        with self.begin() as conn:
            return [_source(row) for row in conn.execute(query, {"offset": offset, "limit": limit}).mappings()]

    def count_sources(self, deleted: bool = False, q: str | None = None, owner: str | None = None) -> int:
        with self.begin() as conn:
            return conn.execute(_count_query(deleted, q, owner)).scalar_one()

    # --- schedules ----------------------------------------------------------------------------------

    def scheduled_sources(self) -> list[ScheduledSource]:
        """Active, not deleted sources with a schedule."""
        query = select(sources.c.id, sources.c.name, sources.c.schedule, sources.c.validation, sources.c.created_at,
                       sources.c.scheduled_at).where(
            sources.c.schedule.is_not(None), sources.c.active.is_(True), sources.c.deleted.is_(None),
        ).order_by(sources.c.created_at)
        with self.begin() as conn:
            return [ScheduledSource(id=row.id, name=row.name, schedule=row.schedule,
                                    accepted=(row.validation or {}).get("state") == "accepted",
                                    created_at=row.created_at, scheduled_at=row.scheduled_at)
                    for row in conn.execute(query)]

    def claim_schedule(self, source_id: str, due: datetime) -> bool:
        """Record `due` as the source's last scheduled run; True for the one scheduler that did it first."""
        with self.begin() as conn:
            return conn.execute(update(sources).where(
                sources.c.id == source_id, (sources.c.scheduled_at.is_(None)) | (sources.c.scheduled_at < due),
            ).values(scheduled_at=due)).rowcount == 1


# The listing's statements are kept for the searches made last (building one takes longer than SQLite takes to run
# it): every listing without a search runs the same two.
SEARCHES = 64


@lru_cache(SEARCHES)
def _sources_query(deleted: bool, q: str | None, owner: str | None) -> Select[Any]:
    query = select(sources)
    if not deleted:
        query = query.where(sources.c.deleted.is_(None))
    if q:
        query = query.where(sources.c.name.icontains(q, autoescape=True) | sources.c.url.icontains(q, autoescape=True))
    if owner:
        query = query.where((sources.c.owner == owner) | (sources.c.organization == owner))
    return query


@lru_cache(SEARCHES)
def _listing_query(deleted: bool, q: str | None, owner: str | None, limited: bool) -> Select[Any]:
    """In creation order, from row `offset`, at most `limit` rows when limited."""
    query = _sources_query(deleted, q, owner).order_by(sources.c.created_at, sources.c.id).offset(bindparam("offset"))
    return query.limit(bindparam("limit")) if limited else query


@lru_cache(SEARCHES)
def _count_query(deleted: bool, q: str | None, owner: str | None) -> Select[int]:
    return counting(_sources_query(deleted, q, owner))


def _source(row: RowMapping) -> HarvestSource:
    return HarvestSource(
        id=row["id"], slug=row["slug"], name=row["name"], url=row["url"], backend=row["backend"],
        description=row["description"], config=row["config"] or {}, schedule=row["schedule"],
        organization=OrganizationRef(id=row["organization"]) if row["organization"] else None,
        owner=UserRef(id=row["owner"]) if row["owner"] else None,
        active=row["active"], autoarchive=row["autoarchive"],
        validation=Validation.model_validate(row["validation"] or {}),
        created_at=row["created_at"], deleted=row["deleted"],
        notifications=Notifications.model_validate(row["notifications"]) if row["notifications"] else None,
    )
