"""API keys for the operator HTTP API: created and revoked from the CLI, only their SHA-256 hash is stored.

A key is 32 random bytes, so a fast hash is enough to make the stored value useless to a reader of the
database; the plain key is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, insert, select, update
from sqlalchemy.engine import RowMapping

from harvesters.clock import new_id, utcnow
from harvesters.errors import NotFound
from harvesters.store import Store
from harvesters.store.schema import UTCDateTime

KEY_PREFIX = "hvk_"

metadata = MetaData()
api_keys = Table(
    "api_keys", metadata,
    Column("id", String(24), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    def to_json(self) -> dict[str, str | None]:
        return {"id": self.id, "name": self.name, "created_at": self.created_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None}


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """The key table of a store (created on first use)."""

    def __init__(self, store: Store) -> None:
        store.ensure_tables(metadata)
        self.store = store

    def create(self, name: str) -> tuple[ApiKey, str]:
        """A new key named `name`: its record and the plain key, which is not kept anywhere."""
        name = name.strip()
        if not name:
            raise ValueError("An API key needs a name")
        if any(key.name == name for key in self.list_keys() if key.revoked_at is None):
            raise ValueError(f"An active API key named '{name}' already exists")
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = new_id()
        with self.store.begin() as conn:
            conn.execute(insert(api_keys).values(id=key_id, name=name, key_hash=key_hash(plain), created_at=utcnow()))
        return self.get(key_id), plain

    def get(self, ident: str) -> ApiKey:
        """A key by id (or a unique start of it), or the active key of that name."""
        with self.store.begin() as conn:
            row = conn.execute(
                select(api_keys).where((api_keys.c.id == ident) | (api_keys.c.name == ident))
                .order_by(api_keys.c.revoked_at.is_not(None), api_keys.c.created_at.desc())
            ).mappings().first()
        if row is None:
            if (full := self.store.complete_id(api_keys, ident, "API key")) is None:
                raise NotFound(f"No API key '{ident}'")
            return self.get(full)
        return _key(row)

    def list_keys(self) -> list[ApiKey]:
        with self.store.begin() as conn:
            return [_key(row) for row in conn.execute(select(api_keys).order_by(api_keys.c.created_at)).mappings()]

    def revoke(self, ident: str) -> ApiKey:
        key = self.get(ident)
        if key.revoked_at is None:
            with self.store.begin() as conn:
                conn.execute(update(api_keys).where(api_keys.c.id == key.id).values(revoked_at=utcnow()))
        return self.get(key.id)

    def check(self, plain: str) -> ApiKey | None:
        """The key record for a presented key, revoked or not; None when no such key was ever issued."""
        with self.store.begin() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash(plain))).mappings().first()
        return _key(row) if row else None


def _key(row: RowMapping) -> ApiKey:
    return ApiKey(id=row["id"], name=row["name"], created_at=row["created_at"], revoked_at=row["revoked_at"])
