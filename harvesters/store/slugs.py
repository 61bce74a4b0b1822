"""Free slugs for new sources and datasets, in a constant number of queries whatever the titles.

A title's slug is its slugified form; when that is taken, the next number of its family
(`title`, `title-2`, `title-3`...): one query finds which slugs of a batch are taken, one more per
repeated title reads the highest number of its family (not one query per candidate).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from slugify import slugify
from sqlalchemy import Column, func, select
from sqlalchemy.engine import Connection

SLUG_MAX_LENGTH = 200
FAMILY_PAGE = 50


def slug_of(title: str) -> str:
    # text-unidecode is what slugify's "auto" transliteration falls back to without Unidecode installed;
    # naming it spares slugify a failing import per call
    return slugify(title, max_length=SLUG_MAX_LENGTH, backend="text-unidecode") or "untitled"


def free_slugs(conn: Connection, column: Column[Any], titles: Sequence[str]) -> list[str]:
    """A distinct free slug for each title (in order), none already in `column`."""
    bases = [slug_of(title) for title in titles]
    repeated = Counter(bases)
    stored = set(conn.execute(select(column).where(column.in_(set(bases)))).scalars())
    last = {base: highest_number(conn, column, base)
            for base, count in repeated.items() if count > 1 or base in stored}
    used: set[str] = set()
    slugs = []
    for base in bases:
        slug = base
        while slug in used or slug in stored:
            last[base] = max(last.get(base) or highest_number(conn, column, base), 1) + 1
            slug = f"{base}-{last[base]}"
        used.add(slug)
        slugs.append(slug)
    return slugs


def highest_number(conn: Connection, column: Column[Any], base: str) -> int:
    """The highest N of the slugs `base-N` in `column` (1 when there is none): longest first, so the
    first numbered one found is the highest."""
    query = (select(column).where(column.startswith(base + "-", autoescape=True))
             .order_by(func.length(column).desc(), column.desc()).limit(FAMILY_PAGE))
    offset = 0
    while page := list(conn.execute(query.offset(offset)).scalars()):
        for slug in page:
            suffix = slug[len(base) + 1:]
            if suffix.isdigit():
                return int(suffix)
        offset += FAMILY_PAGE
    return 1
