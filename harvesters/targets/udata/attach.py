"""Adoption: a source's links rebuilt from the datasets a portal already has, so that a lost database (or
datasets udata's own harvester made) is adopted instead of duplicated."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from harvesters.models import HarvestSource
from harvesters.store import Store
from harvesters.targets.udata.payloads import read_provenance


@dataclass(frozen=True, slots=True)
class AttachedDataset:
    remote_id: str
    dataset_id: str
    title: str | None
    archived: str | None


@dataclass
class Attached:
    """What `attach` found: datasets adopted, already linked, and duplicates left aside."""

    adopted: list[AttachedDataset] = field(default_factory=list)
    already_linked: list[AttachedDataset] = field(default_factory=list)
    duplicates: list[AttachedDataset] = field(default_factory=list)


def attach(datasets: Iterable[dict[str, Any]], store: Store, source: HarvestSource) -> Attached:
    """Link the source to its datasets among these portal datasets (see `adoptable`), one dataset per remote
    id: the one this source wrote, else a live one, else the latest modified; other candidates are
    duplicates. A remote id the source already has a link for is left as it is."""
    others = {other.id for other in store.list_sources()} - {source.id}
    candidates: dict[str, list[tuple[tuple[bool, bool, str], AttachedDataset]]] = {}
    for dataset in datasets:
        if adoptable(dataset, source, others):
            found = read_provenance(dataset)
            assert found.remote_id is not None
            rank = (found.source_id == source.id, not dataset.get("archived"), dataset.get("last_modified") or "")
            entry = AttachedDataset(found.remote_id, dataset["id"], dataset.get("title"), dataset.get("archived"))
            candidates.setdefault(found.remote_id, []).append((rank, entry))
    result = Attached()
    for remote_id, ranked in candidates.items():
        (_, entry), *others_found = sorted(ranked, key=lambda pair: pair[0], reverse=True)
        result.duplicates += [duplicate for _, duplicate in others_found]
        if store.get_link(source.id, remote_id) is not None:
            result.already_linked.append(entry)
            continue
        store.save_link(source.id, remote_id, entry.dataset_id, payload_hash=None)
        if entry.archived:
            store.archive_link(source.id, remote_id)
        result.adopted.append(entry)
    return result


def adoptable(dataset: dict[str, Any], source: HarvestSource, other_sources: set[str]) -> bool:
    """Whether a portal dataset is one of the source's: written for this source; or written by us from the
    same catalog URL for a source we no longer have (lost database); or harvested by udata itself from the
    same domain (no `harvest:*` extras)."""
    found = read_provenance(dataset)
    if not found.remote_id or found.source_id in other_sources:
        return False
    if found.source_id == source.id:
        return True
    if found.source_url is not None:
        return found.source_url == source.url
    return not found.ours and found.domain == urlparse(source.url).hostname
