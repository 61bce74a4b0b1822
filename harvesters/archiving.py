"""Archiving a source's datasets (and data services) on the portal, never deleting them: what vanished from its
catalog (autoarchive, at a job's end) or all it still has (a source deleted with `--archive-datasets`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from harvesters.store import Link, Store
from harvesters.targets import Target


@dataclass(frozen=True)
class Archiving:
    """What became of one link: archived (`error` None), or why it could not be."""

    link: Link
    error: Exception | None = None


def archive_links(store: Store, target: Target, links: Iterable[Link], when: datetime) -> Iterator[Archiving]:
    """Archive each link's dataset on the target, then mark the link archived; a failure is told and the others
    are still archived."""
    for link in links:
        try:
            target.archive(link.dataset_id, when, link.kind)
        except Exception as error:  # any target's failure is reported; the others are still archived
            yield Archiving(link, error)
            continue
        store.archive_link(link.source_id, link.remote_id)
        yield Archiving(link)
