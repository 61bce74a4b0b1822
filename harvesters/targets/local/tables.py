"""The local catalog's tables: one harvested document per (source, remote id), in the store's database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, MetaData, String, Table, Text, UniqueConstraint, delete, exists
from sqlalchemy.engine import Connection

from harvesters.store.schema import UTCDateTime, payloads

metadata = MetaData()


def catalog_table(name: str, *columns: Column[Any]) -> Table:
    return Table(
        name, metadata,
        Column("id", String(24), primary_key=True),
        *columns,
        Column("source_id", String(24)),
        Column("remote_id", String(512)),
        Column("title", Text, nullable=False),
        Column("archived", UTCDateTime()),
        Column("data", JSON, nullable=False, info={"compression": "lz4"}),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("last_modified", UTCDateTime(), nullable=False),
        UniqueConstraint("source_id", "remote_id", name=f"uq_{name}_source_remote"),
    )


datasets = catalog_table("datasets", Column("slug", String(255), nullable=False, unique=True))
dataservices = catalog_table("dataservices")


def forget_kept_payloads(conn: Connection) -> None:
    """What older versions kept of the catalog's own writes (`payloads`) is deleted: its documents hold it."""
    for table in (datasets, dataservices):
        conn.execute(delete(payloads).where(exists().where(table.c.source_id == payloads.c.source_id,
                                                           table.c.remote_id == payloads.c.remote_id)))
