"""Tables for a terminal of any width, 80 columns included: ids are never cut, long texts (titles, URLs,
messages) fold onto several lines, and when even that does not fit, the columns that matter least are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.table import Table

FOLDED_WIDTH = 12  # the narrowest a folding column is made before columns are left out
BORDERS = 3  # a column's padding and border, in cells


@dataclass(frozen=True)
class Column:
    header: str
    priority: int = 0  # 0: always shown; the highest numbers are left out first when the table is too wide
    fold: bool = False  # may fold onto several lines (titles, URLs, messages); else shown whole (ids, dates)
    justify: str = "left"


def fitted_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int,
                 title: str | None = None) -> Table:
    """A table of these rows that fits in `width` cells."""
    natural = [max([cell_len(column.header), *(cell_len(row[index]) for row in rows)])
               for index, column in enumerate(columns)]
    kept = list(range(len(columns)))

    def needed(indices: list[int]) -> int:
        return 1 + sum(min(natural[i], FOLDED_WIDTH) if columns[i].fold else natural[i] for i in indices) \
            + BORDERS * len(indices)

    while needed(kept) > width:
        droppable = [index for index in kept if columns[index].priority > 0]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda index: (columns[index].priority, index)))
    table = Table(title=title)
    for index in kept:
        column = columns[index]
        table.add_column(column.header, justify=column.justify,  # type: ignore[arg-type]
                         no_wrap=not column.fold, overflow="fold",
                         min_width=None if column.fold else natural[index])
    for row in rows:
        table.add_row(*(row[index] for index in kept))
    return table
