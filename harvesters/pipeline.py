"""A harvest job, step by step: gather -> one item per remote record -> map -> write -> finalize.

The steps are separate so that the same code runs inline (`Harvester.run`) or spread over
workers (gather dispatches batches of item ids; any process may `process` a batch; `finalize`
runs once, after the last item). Item state lives in the SQL store, so memory does not grow
with the catalog: records are stored as they are gathered and dropped once processed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError
from sqlalchemy.engine import RowMapping

from backends import get_backend
from backends.base import Backend, BackendContext, Record, SkipRecord
from harvesters.heartbeat import heartbeat
from harvesters.http import Http
from harvesters.licenses import LicenseIndex
from harvesters.models import (
    FINISHED_JOB_STATUSES,
    Dataservice,
    HarvestError,
    HarvestJob,
    HarvestLog,
    HarvestSource,
    Mapped,
)
from harvesters.settings import settings
from harvesters.store import Store, utcnow
from harvesters.targets import DataserviceWrite, DatasetWrite, Portal, PortalUnavailable, open_portal

Dispatch = Callable[[str, list[int]], None]
Progress = Callable[[str], None]
NOUNS = {"dataset": "Dataset", "dataservice": "Data service"}  # an item's kind, in its logs


class Harvester:
    def __init__(
        self,
        store: Store,
        portal: Portal | None = None,
        http: Http | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.portal = portal if portal is not None else open_portal(store)
        self._licenses: LicenseIndex | None = None
        self.http = http or Http()
        self.progress = progress or (lambda outcome: None)

    # --- the whole job, inline ------------------------------------------------------------------------

    def run(self, source: HarvestSource, preview: bool = False, max_items: int | None = None,
            exclusive: bool = False) -> HarvestJob:
        """Run a new job inline; `exclusive` refuses it while the source has another running (JobAlreadyRunning)."""
        job_id = self.store.create_job(source.id, preview=preview, max_items=max_items, exclusive=exclusive)
        self.run_job(job_id)
        return self.store.get_job(job_id)

    def run_job(self, job_id: str, resume: bool = False) -> None:
        """Run an already created job to its end, inline; `resume` carries on one whose worker was lost.
        Interrupted (Ctrl-C), the job fails at once, so that the source may run again."""
        with heartbeat(self.store, job_id):
            try:
                if resume:
                    self.resume(job_id, dispatch=self.process)
                else:
                    self.gather(job_id, dispatch=self.process)
                self.finalize(job_id)
            except KeyboardInterrupt:
                self.store.fail_job(job_id, "Interrupted before its end; the next run carries on")
                raise

    def resume(self, job_id: str, dispatch: Dispatch) -> None:
        """Carry on a job whose worker was lost: gather again if that was cut short, else dispatch what is left."""
        if self.store.job_row(job_id)["gathered"]:
            self.redispatch(job_id, dispatch)
        else:
            self.gather(job_id, dispatch, resume=True)

    def redispatch(self, job_id: str, dispatch: Dispatch) -> None:
        """Dispatch every pending item of the job again, in batches."""
        pending, size = self.store.pending_item_ids(job_id), settings().batch_size
        for start in range(0, len(pending), size):
            dispatch(job_id, pending[start:start + size])

    def backend_for(self, source: HarvestSource) -> Backend:
        backend = get_backend(source.backend)
        config = backend.validate_config(source.config)
        return backend(source.url, config, BackendContext(http=self.http, licenses=self.licenses()))

    def licenses(self) -> LicenseIndex:
        """The target portal's licenses, fetched once per Harvester."""
        if self._licenses is None:
            self._licenses = self.portal.licenses()
        return self._licenses

    # --- gather ---------------------------------------------------------------------------------------

    def gather(self, job_id: str, dispatch: Dispatch, resume: bool = False) -> None:
        """Record one pending item per remote record, dispatching them in batches as they come.

        `resume` restarts a gather cut short (its worker died): the items it had recorded are dispatched
        again, and the records it had reached are not recorded twice.
        """
        job = self.store.job_row(job_id)
        source = self.store.get_source(job["source_id"])
        known = self.store.last_item_id(job_id) if resume else 0
        if known:
            self.redispatch(job_id, dispatch)
        else:
            self.store.update_job(job_id, status="initializing", started=job["started"] or utcnow())
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            self._fail_duplicates(job_id, batch)
            pending = self.store.add_items(job_id, batch) if batch else []
            batch.clear()
            if pending:
                dispatch(job_id, pending)

        truncated = failed = False
        batch_size = settings().batch_size  # read once: building Settings costs milliseconds
        try:
            backend = self.backend_for(source)
            for count, record in enumerate(backend.records()):
                if job["max_items"] is not None and count >= job["max_items"]:
                    truncated = True
                    break
                if not (known and self.store.has_item(job_id, record.remote_id, up_to=known)):
                    self._record(job_id, record, batch)
                if len(batch) >= batch_size:
                    flush()
                    if self.ended(job_id):  # paused (portal unavailable): stop reading the catalog
                        truncated = True
                        break
            flush()
        except Exception as error:  # any failure to reach or read the catalog fails the job
            failed = True
            flush()
            self.store.add_job_error(job_id, describe(error))
        status = {} if self.ended(job_id) else {"status": "processing"}
        self.store.update_job(job_id, **status, gathered=True, truncated=truncated or failed, gather_failed=failed)

    def _record(self, job_id: str, record: Record, batch: list[dict[str, Any]]) -> None:
        """Queue a gathered record as an item: pending, or already settled (skipped, duplicate)."""
        item: dict[str, Any] = {"remote_id": record.remote_id, "remote_url": record.remote_url, "kind": record.kind}
        if record.skip_reason:
            item |= {"status": "skipped", "logs": [_log("warning", record.skip_reason)]}
            self.progress("skipped")
        else:
            item |= {"status": "pending", "record": dict(vars(record))}
        batch.append(item)

    def _fail_duplicates(self, job_id: str, batch: list[dict[str, Any]]) -> None:
        """A remote id seen earlier in the job (or earlier in the batch) fails its later items."""
        pending = [item for item in batch if item["status"] == "pending"]
        seen = self.store.known_remote_ids(job_id, {item["remote_id"] for item in pending})
        for item in pending:
            if item["remote_id"] in seen:
                error = HarvestError(message=f"Identifier '{item['remote_id']}' already exists").to_json()
                item.update(status="failed", errors=[error], record=None)
                self.progress("failed")
            seen.add(item["remote_id"])

    # --- process --------------------------------------------------------------------------------------

    def process(self, job_id: str, item_ids: Iterable[int]) -> None:
        """Map and write each pending item; an item's failure is recorded on it and never stops the job,
        but an unavailable portal pauses it: the item and the rest stay pending for the next run."""
        job = self.store.job_row(job_id)
        if job["status"] in FINISHED_JOB_STATUSES:  # paused, or ended otherwise: nothing more to write
            return
        source = self.store.get_source(job["source_id"])
        try:
            backend = self.backend_for(source)
        except PortalUnavailable as error:  # the portal's licenses could not be read
            return self.pause(job_id, error)
        for item_id in item_ids:
            item = self.store.claim_item(item_id)
            if item is None:  # already processed (re-delivery, another worker)
                continue
            try:
                status, values = self._process_item(source, backend, item, preview=job["preview"])
            except PortalUnavailable as error:
                self.store.release_item(item_id)
                self.pause(job_id, error)
                return
            except Exception as error:
                status, values = "failed", {"errors": [HarvestError(message=describe(error)).to_json()]}
            self.store.finish_item(item_id, status, **values)
            self.progress(values.get("outcome") or status)

    def _process_item(
        self, source: HarvestSource, backend: Backend, item: RowMapping, preview: bool
    ) -> tuple[str, dict[str, Any]]:
        record = Record(**item["record"])
        try:
            mapped = backend.map(record)
        except SkipRecord as skip:
            return "skipped", {"logs": [_log("warning", str(skip))]}
        logs = [_log("warning", warning) for warning in mapped.warnings]
        write = self._write_for(source, record, mapped, logs)
        digest = payload_hash(write)
        link = self.store.get_link(source.id, record.remote_id)
        title, noun = write.payload.title, NOUNS[write.kind]
        if link and link["payload_hash"] == digest and link["archived_at"] is None:
            outcome, dataset_id = "unchanged", link["dataset_id"]
            if not preview:
                self.store.touch_link(source.id, record.remote_id)
        elif preview:
            outcome, dataset_id = ("updated" if link else "created"), (link["dataset_id"] if link else None)
        else:
            dataset_id, outcome = self._save(source.id, record.remote_id, write, link)
            if link and link["archived_at"] is not None:
                logs.append(_log("info", f"{noun} is back on the remote: unarchived"))
            self.store.save_link(source.id, record.remote_id, dataset_id, digest, kind=write.kind)
        logs.append(_log("info", f"{noun} {outcome}" + (" (preview)" if preview else "")))
        return "done", {"outcome": outcome, "dataset_id": dataset_id, "dataset_title": title, "logs": logs}

    def _save(self, source_id: str, remote_id: str, write: DatasetWrite | DataserviceWrite,
              link: RowMapping | None) -> tuple[str, str]:
        """Update what the link (else, for a dataset, the portal) knows, or create it: its id and the outcome."""
        if isinstance(write, DataserviceWrite):
            if link:
                return self.portal.update_dataservice(link["dataset_id"], write).id, "updated"
            return self.portal.create_dataservice(write).id, "created"
        dataset_id = link["dataset_id"] if link else self.portal.find(source_id, remote_id)
        if dataset_id:
            return self.portal.update(dataset_id, write).id, "updated"
        return self.portal.create(write).id, "created"

    def _served(self, source_id: str, dataservice: Dataservice, logs: list[dict[str, str]]) -> Dataservice:
        """The data service with our ids of the datasets it serves (remote ids, exact match); a dataset this
        source has not harvested is left out, with a warning."""
        served = []
        for remote_id in dataservice.datasets:
            link = self.store.get_link(source_id, remote_id)
            if link is not None and link["kind"] == "dataset":
                served.append(link["dataset_id"])
            else:
                logs.append(_log("warning", f"Served dataset '{remote_id}' not harvested from this source: left out"))
        return dataservice.model_copy(update={"datasets": served})

    def _write_for(self, source: HarvestSource, record: Record, mapped: Mapped,
                   logs: list[dict[str, str]]) -> DatasetWrite | DataserviceWrite:
        remote = mapped.remote.model_dump(mode="json")
        harvest = {
            "archived": None,
            "archived_at": None,
            "backend": source.backend,
            "created_at": remote["created_at"],
            "dct_identifier": remote["dct_identifier"],
            "domain": urlparse(source.url).hostname or "",
            "issued_at": remote["issued_at"],
            "last_update": utcnow().isoformat(),
            "modified_at": remote["modified_at"],
            "remote_id": record.remote_id,
            "remote_url": remote["remote_url"] or record.remote_url,
            "source_id": source.id,
            "uri": remote["uri"],
        }
        organization = source.organization.id if source.organization else None
        owner = source.owner.id if source.owner else None
        if mapped.dataservice is not None:
            dataservice = self._served(source.id, mapped.dataservice, logs)
            return DataserviceWrite(dataservice=dataservice, harvest=harvest, organization=organization, owner=owner)
        return DatasetWrite(dataset=mapped.dataset, harvest=harvest, organization=organization, owner=owner)

    def pause(self, job_id: str, error: PortalUnavailable) -> None:
        """End the job now (status failed) with a job error saying why; unwritten items stay pending."""
        pending = self.store.count_unfinished_items(job_id)
        message = (f"Paused: the portal is unavailable ({describe(error)}). {pending} item(s) not written stay "
                   "pending; the next run writes them.")
        self.store.pause_job(job_id, message)

    def ended(self, job_id: str) -> bool:
        return self.store.job_row(job_id)["status"] in FINISHED_JOB_STATUSES

    # --- finalize -------------------------------------------------------------------------------------

    def finalize(self, job_id: str) -> None:
        """Once every item is settled: archive what vanished upstream (when safe), then set the job's final
        status. Whoever settles the last item calls it; the store lets exactly one caller through."""
        if not self.store.claim_finalize(job_id):
            return
        job = self.store.job_row(job_id)
        source = self.store.get_source(job["source_id"])
        if source.autoarchive and not job["preview"] and not job["truncated"]:
            self.archive_vanished(source, job_id)
        job = self.store.job_row(job_id)
        failed_items = self.store.summary(job_id)["failed"]
        if job["gather_failed"]:
            status = "failed"
        elif failed_items or any(error["level"] == "error" for error in job["errors"]):
            status = "done-errors"
        else:
            status = "done"
        self.store.update_job(job_id, status=status, ended=utcnow())

    def archive_vanished(self, source: HarvestSource, job_id: str) -> None:
        """Archive datasets (and data services) no longer on the remote, unless that would archive too large
        a share."""
        config = settings()
        now = utcnow()
        vanished = self.store.vanished_links(source.id, job_id, now - timedelta(days=config.autoarchive_grace_days))
        if not vanished:
            return
        active = self.store.count_active_links(source.id)
        if len(vanished) > config.autoarchive_max_share * active:
            self.store.add_job_error(
                job_id,
                f"Autoarchive refused: {len(vanished)} of {active} datasets ({len(vanished) / active:.0%}) "
                f"are no longer on the remote, more than the {config.autoarchive_max_share:.0%} allowed "
                "(HARVEST_AUTOARCHIVE_MAX_SHARE); nothing was archived",
            )
            return
        for link in vanished:
            kind = link["kind"]
            try:
                self.portal.archive(link["dataset_id"], now, kind)
            except Exception as error:
                self.store.add_item(job_id, link["remote_id"], "failed", dataset_id=link["dataset_id"], kind=kind,
                                    errors=[HarvestError(message=f"Archiving failed: {describe(error)}").to_json()])
                continue
            self.store.archive_link(source.id, link["remote_id"])
            self.store.add_item(job_id, link["remote_id"], "archived", dataset_id=link["dataset_id"], kind=kind,
                                logs=[_log("info", f"{NOUNS[kind]} archived: no longer on the remote")])
            self.progress("archived")


def payload_hash(write: DatasetWrite | DataserviceWrite) -> str:
    """A canonical hash of what would be written, ignoring the write's own timestamp."""
    harvest = {key: value for key, value in write.harvest.items() if key != "last_update"}
    canonical = json.dumps(
        [write.payload.model_dump(mode="json"), harvest, write.organization, write.owner],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe(error: BaseException) -> str:
    """A message a person understands, for any error."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        return f"Invalid dataset: {problems}"
    return str(error) or type(error).__name__


def _log(level: str, message: str) -> dict[str, str]:
    return HarvestLog(level=level, message=message).to_json()
