"""The local catalog's tables: one harvested document per (source, remote id), in the store's database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, MetaData, String, Table, Text, UniqueConstraint

from harvesters.store.schema import UTCDateTime

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
