"""What a preview tells beyond a run's outcomes: what an update changes, what would be archived, and the
datasets it would write.

- An update is told field by field against what was last written for that remote id: the local catalog's
  document (against the one the write would make of it), or, for a portal, what the store kept of the last
  write (`payloads`): one log line a changed field, compact (`title: 'A' → 'B'`, `tags: +env -old`, `resources: 1
  added (b.csv), 1 changed (a.csv: url)`).
- Archives are predicted as the run would make them: after a complete gather, the links not seen for longer
  than the grace period, unless they are a larger share than allowed (then the refusal is the job's error).
- Each previewed item keeps what would be written; the HTTP API returns it as the full dataset (udata's
  preview shape: the dataset's fields, its `uri` and `page` not available).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from harvesters.clock import utcnow
from harvesters.models import Dataservice, Dataset, HarvestItem, HarvestJobFields, HarvestLog, RemoteMetadata
from harvesters.store import Link, Store
from harvesters.store.slugs import slug_of
from harvesters.targets.base import BatchTarget, Provenance, Rewrites, Target, Write, resource_key
from harvesters.targets.local.documents import dataservice_document, dataset_document

if TYPE_CHECKING:
    from harvesters.models import HarvestSource
    from harvesters.pipeline import Plan
    from harvesters.runtime import Runtime

CHANGE = "Would change "
NOT_AVAILABLE = "not-available"
SHOWN_LENGTH = 60  # characters of a value shown in a change
# what a local catalog's document holds besides its payload's fields, or sets anew at each write
STAMPED = frozenset({"harvest", "organization", "owner", "description_short", "internal", "last_modified",
                     "last_update", "metadata_modified_at"})


class HarvestItemPreview(HarvestItem):
    """An item of a preview: its dataset (or data service) as it would be written, whole."""

    dataset: dict[str, Any] | None = None  # type: ignore[assignment]
    dataservice: dict[str, Any] | None = None  # type: ignore[assignment]


class HarvestJobPreview(HarvestJobFields):
    """udata's preview job shape: the job with its items, each with the full dataset it would write."""

    items: list[HarvestItemPreview] = []


def written_payload(write: Write[Any]) -> dict[str, Any]:
    """What a write sends, as kept to compare later writes with (its write time left out): the payload, its
    `harvest` block, its provenance (to make the write again) and its publisher."""
    provenance = write.provenance
    harvest = {key: value for key, value in write.harvest.items() if key != "last_update"}
    return {"kind": write.kind, "payload": write.document, "organization": write.organization, "owner": write.owner,
            "harvest": harvest, "source_url": provenance.source_url}


def describe_changes(store: Store, target: Target, source_id: str, plans: Sequence[Plan]) -> None:
    """Add to each plan's logs what its update changes against what was last written (one query)."""
    if not plans:
        return
    compared = _compared(store, target, source_id, [plan.write for plan in plans if plan.write is not None])
    for plan in plans:
        pair = compared.get(plan.item.remote_id)
        if pair is None:
            plan.logs.append(_info(CHANGE + "what was last written, which is not known (harvested before it was "
                                            "kept, or adopted): the whole dataset is written again"))
            continue
        plan.logs.extend(_info(CHANGE + change) for change in changes(*pair))


def _compared(store: Store, target: Target, source_id: str, writes: Sequence[Write[Any]]) -> Rewrites:
    """What was last written for each write's remote id, and what the write would write, as `changes` compares
    them: the local catalog's document and the one the write would make of it, else (a portal) what the store
    kept of the last write and this write's payload. By remote id."""
    if isinstance(target, BatchTarget):
        return {remote_id: (_as_written(before), _as_written(after))
                for remote_id, (before, after) in target.rewrites(source_id, writes).items()}
    previous = store.written_payloads(source_id, [write.provenance.remote_id for write in writes])
    return {write.provenance.remote_id: (previous[write.provenance.remote_id], written_payload(write))
            for write in writes if write.provenance.remote_id in previous}


def _as_written(document: dict[str, Any]) -> dict[str, Any]:
    """A local catalog's document as `changes` compares it (`written_payload`'s parts), without what the catalog
    stamps or derives anew at each write (its time, the short description, its contact points' ids)."""
    payload = {key: value for key, value in document.items() if key not in STAMPED}
    if "contact_points" in payload:
        payload["contact_points"] = [{key: value for key, value in contact.items() if key != "id"}
                                     for contact in payload["contact_points"]]
    harvest = {key: value for key, value in document["harvest"].items() if key != "last_update"}
    return {"payload": payload, "harvest": harvest, "organization": _id_of(document["organization"]),
            "owner": _id_of(document["owner"])}


def _id_of(reference: dict[str, Any] | None) -> str | None:
    return reference["id"] if reference else None


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields that differ, each described in a few words."""
    found = []
    for part in ("payload", "harvest"):
        old, new = before.get(part) or {}, after.get(part) or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                name = key if part == "payload" else f"harvest.{key}"
                found.append(f"{name}: {_difference(key, old.get(key), new.get(key))}")
    for key in ("organization", "owner"):
        if before.get(key) != after.get(key):
            found.append(f"{key}: {_quote(before.get(key))} → {_quote(after.get(key))}")
    return found


def _difference(key: str, old: Any, new: Any) -> str:
    if key == "resources" and isinstance(old, list) and isinstance(new, list):
        return _resources_difference(old, new)
    if isinstance(old, list) and isinstance(new, list) and all(isinstance(v, str) for v in [*old, *new]):
        added, removed = [v for v in new if v not in old], [v for v in old if v not in new]
        return " ".join([*(f"+{value}" for value in added), *(f"-{value}" for value in removed)]) or "reordered"
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        parts = [f"+{k}" if k not in old else f"-{k}" if k not in new else f"{k} changed"
                 for k in keys if old.get(k) != new.get(k)]
        return ", ".join(parts)
    return f"{_quote(old)} → {_quote(new)}"


def _resources_difference(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str:
    before = {resource_key(resource): resource for resource in old}
    after = {resource_key(resource): resource for resource in new}
    added = [_name(after[key]) for key in after if key not in before]
    removed = [_name(before[key]) for key in before if key not in after]
    changed = [f"{_name(after[key])}: {_changed_keys(before[key], after[key])}"
               for key in after if key in before and before[key] != after[key]]
    parts = [f"{len(found)} {label} ({'; '.join(found)})" for label, found in
             (("added", added), ("removed", removed), ("changed", changed)) if found]
    return ", ".join(parts) or "reordered"


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> str:
    return ", ".join(sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key)))


def _name(resource: dict[str, Any]) -> str:
    return str(resource.get("title") or resource.get("url"))


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH - 3] + "..."


def _info(message: str) -> dict[str, str]:
    return HarvestLog(level="info", message=message).to_json()


def predict_archives(store: Store, job_id: str, vanished: Sequence[Link]) -> None:
    """Record, as the preview's `archived` items, what the run would archive (nothing is archived)."""
    for link in vanished:
        noun = "Data service" if link.kind == "dataservice" else "Dataset"
        store.add_item(job_id, link.remote_id, "archived", dataset_id=link.dataset_id, kind=link.kind,
                       logs=[_info(f"{noun} would be archived: no longer on the remote (preview)")])


@contextmanager
def forgotten_preview(store: Store, source_id: str, max_items: int | None) -> Iterator[str]:
    """A new preview job of the source, to run and read: deleted afterwards, whatever happened, since a preview
    leaves nothing behind (the command line's and the HTTP API's alike)."""
    job_id = store.create_job(source_id, preview=True, max_items=max_items)
    try:
        yield job_id
    finally:
        store.delete_job(job_id)


def preview_run(runtime: Runtime, source: HarvestSource) -> HarvestJobPreview:
    """A dry run on the source's first records (HARVEST_PREVIEW_MAX_ITEMS), nothing written, its job deleted
    after: what the API's preview and the console's show."""
    store = runtime.store
    limit = runtime.config.preview_max_items
    with forgotten_preview(store, source.id, limit) as job_id:
        runtime.harvester().run_job(job_id)
        return preview_job(store, job_id, limit)


def preview_job(store: Store, job_id: str, limit: int) -> HarvestJobPreview:
    """The preview job with its first `limit` items, each with the full dataset (or data service) it would
    write."""
    job = store.job_row(job_id).to_model()
    now = utcnow()
    items = []
    for item, record in store.list_items_with_records(job_id, limit):
        shown = item.model_dump(exclude={"dataset", "dataservice"})
        document = _document(record, now) if record else None
        kind = (record or {}).get("kind")
        items.append(HarvestItemPreview(**shown, dataset=document if kind == "dataset" else None,
                                        dataservice=document if kind == "dataservice" else None))
    return HarvestJobPreview(**job.model_dump(exclude={"items"}), items=items)


def _document(record: dict[str, Any], now: Any) -> dict[str, Any]:
    """The full document a previewed write would make (udata's dataset shape; ids and pages not available)."""
    harvest = record["harvest"]
    remote = RemoteMetadata.model_validate({key: harvest[key] for key in RemoteMetadata.model_fields})
    provenance = Provenance(source_id=harvest["source_id"], source_url=record["source_url"],
                            remote_id=harvest["remote_id"], backend=harvest["backend"], remote=remote, last_update=now)
    publisher = {"organization": record["organization"], "owner": record["owner"]}
    if record["kind"] == "dataservice":
        service: Write[Dataservice] = Write("dataservice", record["payload"], provenance, **publisher)
        return dataservice_document(NOT_AVAILABLE, service, created_at=now, modified_at=now)
    write: Write[Dataset] = Write("dataset", record["payload"], provenance, **publisher)
    document = dataset_document(NOT_AVAILABLE, slug_of(write.title), write, [], created_at=now,
                                last_modified=now, archived=None)
    return document | {"uri": None, "page": None}

