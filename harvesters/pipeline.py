"""A harvest job, step by step: gather -> one item per remote record -> map -> write -> finalize.

The steps are separate so that the same code runs inline (`Harvester.run`) or spread over
workers (gather dispatches batches of item ids; any process may `process` a batch; `finalize`
runs once, after the last dataset item). Item state lives in the SQL store, so memory does not
grow with the catalog: records are stored as they are gathered and dropped once processed. Data
services name the datasets they serve by their links: the gather dispatches dataset items only,
and `finalize` writes the data services first, once every dataset item is settled.

A batch is processed in a few statements whatever its size: its items are claimed in one, their
links read in one; each item is mapped on its own (a failure fails that item alone); then the
writes, the links and the items' outcomes go in one transaction (the local catalog's documents
too), or, for a portal over HTTP and after a batch write failed, write by write (the portal may
keep a few in flight) followed by one transaction for the bookkeeping.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from backends import get_backend
from backends.base import Backend, BackendContext
from harvesters import __version__
from harvesters.archiving import archive_links
from harvesters.clock import utcnow
from harvesters.errors import StoreUnavailable, error_message
from harvesters.gatherer import GatheredRecord, Idle, gathered_records, stored_record
from harvesters.heartbeat import heartbeat
from harvesters.http import Http, HttpOptions
from harvesters.job_end import job_ended
from harvesters.licenses import LicenseIndex
from harvesters.mapper import GatheredBatch, InlineDispatch, MappingOutcome, map_record
from harvesters.models import HarvestError, HarvestJob, HarvestSource
from harvesters.ownership import OtherOwners
from harvesters.preview import describe_changes, predict_archives, written_payload
from harvesters.problems import nothing_harvested
from harvesters.recall import CANONICAL, PageRecall, record_digest, unchanged
from harvesters.settings import Settings, settings
from harvesters.shape import Shape, losses, shape_of
from harvesters.store import ClaimedItem, JobRow, Link, NewItem, NewLink, SettledItem, Store
from harvesters.store.failures import record_failure
from harvesters.targets import (
    BatchTarget,
    Target,
    TargetUnavailable,
    Write,
    Written,
    open_target,
)
from harvesters.vault import SecretUnreadable, Vault
from harvesters.writes import dataset_write, payload_hash, provenance_of, publisher

log = logging.getLogger(__name__)
Dispatch = Callable[[str, list[int]], None]
Progress = Callable[[str], None]
Entries = list[dict[str, str]]
NOUNS = {"dataset": "Dataset", "dataservice": "Data service"}  # an item's kind, in its logs
SCOPES_KEPT = 4  # jobs whose scope a process keeps (a worker may serve a few jobs at once)
STATISTICS_EVERY = 1.0  # seconds between two looks at the store's statistics (Store.refresh_statistics)


@dataclass
class JobScope:
    """What every batch of one job shares within a process: its source, its backend, the target with the
    caches that belong to the job (the portal's licenses and frequencies, its dataset index), and the digest
    of what a mapping depends on besides the record."""

    source: HarvestSource
    target: Target
    backend: Backend
    context: bytes
    owners: OtherOwners
    announced: int | None = None  # the catalog's announced number of records, as recorded on the job

    def record_hash(self, digest: str) -> str:
        """The hash of a record (by its digest) as mapped in this job: equal hashes, equal mappings."""
        return record_hash(self.context, digest)


@dataclass
class Plan:
    """One claimed item on its way: mapped, then what to write and what the store knows of it."""

    item: ClaimedItem
    mapped: dict[str, Any] | None = None  # Mapped's JSON shape
    logs: Entries = field(default_factory=list)  # what its mapping said
    gathered: Entries = field(default_factory=list)  # what the gather said of its record (a page read leniently)
    held: bool = False  # not written: read with doubts, it would have made the dataset poorer
    write: Write[Any] | None = None
    digest: str = ""  # the write's payload hash
    shape: Shape | None = None  # the write's shape (harvesters/shape.py)
    link: Link | None = None
    written: Written | None = None
    settled: SettledItem | None = None  # failed or skipped before any write

    @property
    def unchanged(self) -> bool:
        link = self.link
        return link is not None and link.payload_hash == self.digest and link.archived_at is None


@dataclass
class Outcomes:
    """A batch's bookkeeping: the items settled and the links to save (written, or seen unchanged)."""

    settled: list[SettledItem] = field(default_factory=list)
    links: list[NewLink] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # remote ids of links kept as they are, seen now
    # what was written to a portal, by remote id (a preview compares the next writes with it)
    payloads: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class Harvester:
    """Runs jobs, writing to `target` (by default the one `config` names; each job works on its own
    view of it, `target.for_job()`, whose caches live as long as the job in this process).

    Built once per process by the composition root (harvesters/runtime.py) with the settings, the HTTP
    client and the target it hands down; built bare (tests, scripts), it reads the environment once."""

    def __init__(
        self,
        store: Store,
        target: Target | None = None,
        http: Http | None = None,
        progress: Progress | None = None,
        config: Settings | None = None,
    ) -> None:
        self.store = store
        self.config = config or settings()
        self.http = http or Http(HttpOptions.from_settings(self.config))
        self.target = target if target is not None else open_target(store, self.config)
        self.progress = progress or (lambda outcome: None)
        self._scopes: OrderedDict[str, JobScope] = OrderedDict()
        self._licenses: tuple[Target, LicenseIndex] | None = None
        self._statistics_refreshed = 0.0
        # the batch this process's gather dispatches: processed here (an inline run), its records are mapped
        # as gathered instead of read back from the store
        self._dispatched: GatheredBatch | None = None

    # --- the whole job, inline ------------------------------------------------------------------------

    def run(self, source: HarvestSource, preview: bool = False, max_items: int | None = None,
            exclusive: bool = False, with_items: bool = True) -> HarvestJob:
        """Run a new job inline; `exclusive` refuses it while the source has another running (JobAlreadyRunning).
        The job comes back with its items unless `with_items` is false (a large job's items stay in the store)."""
        job_id = self.store.create_job(source.id, preview=preview, max_items=max_items, exclusive=exclusive)
        self.run_job(job_id)
        return self.store.get_job(job_id, with_items=with_items)

    def run_job(self, job_id: str, resume: bool = False) -> None:
        """Run an already created job to its end, inline; `resume` carries on one whose worker was lost.
        Interrupted (Ctrl-C), the job fails at once, so that the source may run again; so it does when the store
        cannot take writes (a full disk, a lock held too long)."""
        dispatch = InlineDispatch(self, job_id, ahead=self._maps_ahead())
        with self.failing_on_store_errors(job_id), heartbeat(self.store, job_id, self.config.heartbeat_interval):
            try:
                if resume:
                    self.resume(job_id, dispatch)
                else:
                    self.gather(job_id, dispatch, idle=dispatch.idle if dispatch.ahead else None)
                dispatch.finish()
                self.finalize(job_id)
            except KeyboardInterrupt:
                self.store.fail_job(job_id, "Interrupted before its end; the next run carries on")
                raise
            finally:
                dispatch.close()
                self._scopes.pop(job_id, None)

    @contextmanager
    def failing_on_store_errors(self, job_id: str) -> Iterator[None]:
        """A store that cannot take writes stops the job there: it ends failed, saying why in plain words (or,
        when not even that can be written, StoreUnavailable says so)."""
        try:
            yield
        except StoreUnavailable as error:
            self._scopes.pop(job_id, None)
            if record_failure(self.store, job_id, error):
                job_ended(self.store, job_id, self.http, self.config)

    def reads_ahead(self) -> bool:
        """Whether this process's gathers read the catalog ahead in a helper process (harvesters/gatherer.py): with
        a second CPU, unless HARVEST_MAP_AHEAD says no helper processes."""
        return self.config.map_ahead and (os.cpu_count() or 1) > 1

    def _maps_ahead(self) -> bool:
        """Whether an inline run also maps its batches ahead in a helper process (harvesters/mapper.py): when writes
        go to the store (the local catalog)."""
        return self.reads_ahead() and isinstance(self.target, BatchTarget)

    def gathered(self, item_ids: Sequence[int]) -> GatheredBatch | None:
        """The records of the batch this process's gather dispatches, when these are its items."""
        batch = self._dispatched
        return batch if batch is not None and list(batch.items) == list(item_ids) else None

    def resume(self, job_id: str, dispatch: Dispatch) -> None:
        """Carry on a job whose worker was lost: gather again if that was cut short, else dispatch what is left."""
        if self.store.job_row(job_id).gathered:
            self.redispatch(job_id, dispatch)
        else:
            self.gather(job_id, dispatch, resume=True)

    def redispatch(self, job_id: str, dispatch: Dispatch, kind: str = "dataset") -> None:
        """Dispatch every pending item of the job of this kind again, in batches (data services are written
        last, by `finalize`)."""
        pending, size = self.store.pending_item_ids(job_id, kind), self.config.batch_size
        for start in range(0, len(pending), size):
            dispatch(job_id, pending[start:start + size])

    def scope(self, job: JobRow) -> JobScope:
        """The job's scope in this process, opened by its first batch (the portal's licenses are read then)."""
        if (scope := self._scopes.get(job.id)) is None:
            source = self.store.get_source(job.source_id)
            target = self.target.for_job()
            backend = get_backend(source.backend)
            licenses = self._licenses_of(target)
            mapping = mapping_context(source, licenses.ids)
            pages = PageRecall(self.store, source.id, lambda digest: record_hash(mapping, digest), not job.preview)
            context = BackendContext(http=self.http, licenses=licenses, pages=pages)
            config = Vault.from_settings(self.config).open_config(source.config, backend.secret_keys(), source.name)
            scope = JobScope(source, target, backend(source.url, backend.validate_config(config), context), mapping,
                             OtherOwners(self.store, source))
            self._scopes[job.id] = scope
            while len(self._scopes) > SCOPES_KEPT:
                self._scopes.popitem(last=False)
        self._scopes.move_to_end(job.id)
        return scope

    def source_of(self, job_id: str) -> str:
        """The id of the job's source (known without a query once its scope is open in this process)."""
        scope = self._scopes.get(job_id)
        return scope.source.id if scope is not None else self.store.job_row(job_id).source_id

    def _refresh_statistics(self) -> None:
        """Let the store refresh its statistics every few seconds (tables a harvest fills, on PostgreSQL)."""
        if time.monotonic() - self._statistics_refreshed > STATISTICS_EVERY:
            self.store.refresh_statistics()
            self._statistics_refreshed = time.monotonic()

    def _licenses_of(self, target: Target) -> LicenseIndex:
        """The portal's licenses, read once per view of it (per job for a udata portal; once for the local
        catalog, whose view is itself)."""
        if self._licenses is None or self._licenses[0] is not target:
            self._licenses = (target, target.licenses())
        return self._licenses[1]

    # --- gather ---------------------------------------------------------------------------------------

    def gather(self, job_id: str, dispatch: Dispatch, resume: bool = False, idle: Idle | None = None) -> None:
        """Record one pending item per remote record, dispatching them in batches as they come.

        `resume` restarts a gather cut short (its worker died): the items it had recorded are dispatched
        again, and the records it had reached are not recorded twice. With `idle` (an inline run, a worker with
        a second CPU), the catalog is read in a helper process after the first batch (harvesters/gatherer.py), and
        `idle` called whenever the next records are not there yet.
        """
        job = self.store.job_row(job_id)
        known = self.store.last_item_id(job_id) if resume else 0
        if known:
            self.redispatch(job_id, dispatch)
        else:
            self.store.update_job(job_id, status="initializing", started=job.started or utcnow(), stage="gather")
        batch: list[NewItem] = []
        digests: dict[str, str] = {}  # of the batch's records, by remote id, where known (recalled ones)

        def flush() -> bool:
            """Record the batch and dispatch it, on one connection; whether the job has ended since."""
            with self.store.connected():
                self._refresh_statistics()
                self._report_gather_warnings(job_id)
                self._record_announced(job)
                if batch and self.ended(job_id):  # cancelled meanwhile: what is left of the catalog is not recorded
                    batch.clear()
                    digests.clear()
                    return True
                fresh = self._new_items(job, batch, known)
                hashes = self._settle_unchanged(job, fresh, digests)
                pending = self.store.add_items(job_id, fresh)
                batch.clear()
                digests.clear()
                recorded = list(zip(pending, (item for item in fresh if item.status == "pending"), strict=True))
                datasets = [item_id for item_id, item in recorded if item.kind != "dataservice"]  # services: last
                self._dispatched = GatheredBatch({item_id: item for item_id, item in recorded
                                                  if item.kind != "dataservice"}, hashes)
                if datasets:
                    dispatch(job_id, datasets)
                self._dispatched = None
                return self.ended(job_id)

        truncated = failed = False
        try:
            backend = self.scope(job).backend
            budget = backend.context.budget  # a resumed gather reads the catalog again from its start
            budget.pages = budget.records = 0
            ahead = self.config.batch_size if idle else None
            with closing(gathered_records(backend, self.store, ahead, idle or (lambda gathering: None))) as records:
                for count, gathered in enumerate(records):
                    if job.max_items is not None and count >= job.max_items:
                        truncated = True
                        break
                    batch.append(self._item(gathered))
                    self._record_announced(job)
                    if gathered.record.digest:
                        digests[gathered.record.remote_id] = gathered.record.digest
                    if len(batch) >= self.config.batch_size and flush():  # paused (portal unavailable), or
                        truncated = True  # cancelled: stop reading the catalog
                        break
            flush()
        except StoreUnavailable:  # the store's failure, not the catalog's: the job stops here
            raise
        except Exception as error:  # any failure to reach or read the catalog fails the job
            failed = True
            flush()
            self.store.add_job_error(job_id, error_message(error))
        status = {} if self.ended(job_id) else {"status": "processing", "stage": "write"}
        self.store.update_job(job_id, **status, gathered=True, truncated=truncated or failed, gather_failed=failed)

    def _report_gather_warnings(self, job_id: str) -> None:
        """What the gather said about the whole job so far (a page read leniently, naming it): one warning each."""
        scope = self._scopes.get(job_id)
        warnings = scope.backend.context.warnings if scope is not None else []
        for warning in warnings:
            self.store.add_job_error(job_id, warning, level="warning")
        warnings.clear()

    def _record_announced(self, job: JobRow) -> None:
        """Record the number of records the catalog announced once the backend knows it (the job's progress)."""
        scope = self._scopes.get(job.id)
        announced = scope.backend.context.announced if scope else None
        if announced is not None and scope is not None and scope.announced != announced:
            self.store.update_job(job.id, announced=announced)
            scope.announced = announced

    def _item(self, gathered: GatheredRecord) -> NewItem:
        """A gathered record as an item: pending (with its record, unless it was recalled without data), or
        already settled (failed with the record's error, or skipped). The record's JSON is made once (stored,
        and sent to a mapping process)."""
        record = gathered.record
        item = NewItem(remote_id=record.remote_id, remote_url=record.remote_url, kind=record.kind, status="pending",
                       warnings=record.warnings)
        if record.error:
            item.status, item.errors = "failed", [HarvestError(message=record.error).to_json()]
        elif record.skip_reason:
            item.status = "skipped"
            item.logs = [_log("warning", record.skip_reason), *gather_logs(record.warnings)]
        elif gathered.serialized:  # read ahead: kept as the helper serialized it
            item.record_json = gathered.json
        else:
            item.record_json = stored_record(record)
            item.record = dict(vars(record)) if item.record_json is not None else None
        return item

    def _new_items(self, job: JobRow, batch: list[NewItem], known: int) -> list[NewItem]:
        """The batch without what a resumed gather had recorded (item ids up to `known`); a remote id seen
        earlier in the job (or earlier in the batch) fails its later items."""
        recorded = self.store.recorded_remote_ids(job.id, {item.remote_id for item in batch}) if batch else {}
        fresh = [item for item in batch if not (known and recorded.get(item.remote_id, known + 1) <= known)]
        seen = set(recorded)
        for item in fresh:
            if item.status == "pending" and item.remote_id in seen:
                item.status = "failed"
                item.forget_record()
                item.errors = [HarvestError(message=f"Identifier '{item.remote_id}' already exists").to_json()]
            elif item.status == "pending":
                seen.add(item.remote_id)
            if item.status != "pending":
                self.progress(item.status)
        return fresh

    def _settle_unchanged(self, job: JobRow, fresh: list[NewItem], digests: dict[str, str]) -> dict[str, str]:
        """Settle at once the pending datasets whose record is the one last mapped (same hash): unchanged,
        with what that mapping said, without mapping them again. Return the record hashes of the others."""
        scope = self._scopes.get(job.id)
        candidates = [item for item in fresh if item.status == "pending" and item.kind == "dataset"
                      and (item.has_record or item.remote_id in digests)]
        if scope is None or not candidates:
            return {}
        hashes = {item.remote_id: scope.record_hash(digests.get(item.remote_id) or record_digest(item.record or {}))
                  for item in candidates}
        links = self.store.links_of(scope.source.id, hashes)
        seen = []
        for item in candidates:
            link = links.get(item.remote_id)
            if not unchanged(link, hashes[item.remote_id]):
                if not item.has_record:  # recalled, but its link changed since: it is not mapped blind
                    item.status = "failed"
                    item.errors = [HarvestError(message="Recalled unchanged from its page, but harvested otherwise "
                                                        "meanwhile: the next run reads it again").to_json()]
                    self.progress("failed")
                continue
            assert link is not None
            summary = link.summary or {}
            item.logs = [*gather_logs(item.warnings), *summary.get("logs", []),
                         _log("info", "Dataset unchanged" + (" (preview)" if job.preview else ""))]
            item.status, item.outcome = "done", "unchanged"
            item.forget_record()
            item.dataset_id, item.dataset_title = link.dataset_id, summary.get("title")
            seen.append(item.remote_id)
            self.progress("unchanged")
        if seen and not job.preview:
            with self.store.begin() as conn:
                self.store.touch_links(conn, scope.source.id, seen)
        return hashes

    # --- process --------------------------------------------------------------------------------------

    def process(self, job_id: str, item_ids: Iterable[int], gathered: GatheredBatch | None = None) -> None:
        """Map and write a batch of pending items; an item's failure is recorded on it and never stops the
        job, but an unavailable portal pauses it: the items not written stay pending for the next run.
        `gathered` holds their records when this process gathered them (and maybe what mapping them gave)."""
        with self.store.connected():  # one connection for the batch's statements
            self._process(job_id, item_ids, gathered)

    def _process(self, job_id: str, item_ids: Iterable[int], gathered: GatheredBatch | None) -> None:
        job = self.store.job_row(job_id)
        if job.finished:  # paused, or ended otherwise: nothing more to write
            return
        try:
            scope = self.scope(job)
        except TargetUnavailable as error:  # the portal's licenses could not be read
            return self.pause(job_id, error)
        except SecretUnreadable as error:  # this worker's HARVEST_SECRET_KEY does not open the source's secrets
            if self.store.fail_job(job_id, str(error)):
                job_ended(self.store, job_id, self.http, self.config)
            return
        item_ids = list(item_ids)
        self._refresh_statistics()
        claimed = self.store.claim_items(item_ids, records=gathered is None)
        mappings = gathered.mappings if gathered is not None else {}
        if gathered is not None:  # records read only for those not mapped ahead
            known, hashes = gathered.items, gathered.hashes
            claimed = [replace(item, record=None if item.id in mappings else known[item.id].fields(),
                               record_hash=hashes.get(item.remote_id), warnings=known[item.id].warnings)
                       for item in claimed]
        # datasets first: a data service names the datasets it serves by their links
        for kind in ("dataset", "dataservice"):
            part = [item for item in claimed if item.kind == kind]
            if part and not self._process_part(job, scope, part, mappings):
                return

    def _process_part(self, job: JobRow, scope: JobScope, claimed: list[ClaimedItem],
                      mappings: dict[int, MappingOutcome]) -> bool:
        """Process items of one kind (mapped ahead where `mappings` say); False when the portal became
        unavailable (the job is paused)."""
        plans = [self._plan_of(item, mappings.get(item.id) or map_record(scope.backend, item.record))
                 for item in claimed]
        mapped = [plan for plan in plans if plan.mapped is not None]
        wanted = {plan.item.remote_id for plan in mapped}
        wanted |= {served for plan in mapped if plan.mapped and plan.mapped["dataservice"]
                   for served in plan.mapped["dataservice"]["datasets"]}
        links = self.store.links_of(scope.source.id, wanted) if wanted else {}
        links |= self._served_by_uri(scope, mapped, links)
        for plan in mapped:
            self._plan(scope, plan, links)
        scope.owners.refuse_taken(self.store, mapped)
        if job.preview:
            describe_changes(self.store, scope.target, scope.source.id,
                             [plan for plan in mapped if plan.link and not plan.unchanged and plan.settled is None])
        to_write = [plan for plan in plans if plan.settled is None and not plan.unchanged and not job.preview]
        if to_write and self.ended(job.id):  # cancelled meanwhile: its items are not written
            return False
        # an item not settled has its write (`_outcomes` asserts it)
        writes = [(plan.write, plan.link.dataset_id if plan.link else None) for plan in to_write
                  if plan.write is not None]
        if to_write and isinstance(scope.target, BatchTarget):
            try:
                with self.store.begin() as conn:
                    written = scope.target.write_batch(conn, writes)
                    for plan, done in zip(to_write, written, strict=True):
                        plan.written = done
                    outcomes = self._outcomes(scope, plans, job.preview)
                    self._record(conn, scope.source.id, outcomes)
                self._report(outcomes)
                return True
            except StoreUnavailable:
                raise
            except Exception:  # one item's write spoils the batch's: one at a time, each failing alone
                log.warning("Batch write of %d items failed; writing them one at a time", len(to_write), exc_info=True)
                for plan in to_write:
                    plan.written = None
        unavailable = None
        for index, result in scope.target.write_each(writes):
            plan = to_write[index]
            if isinstance(result, Written):
                plan.written = result
                self.progress(result.outcome)  # as it happens: a write over HTTP takes a while
            elif isinstance(result, TargetUnavailable):
                unavailable = result
            elif isinstance(result, StoreUnavailable):  # the store's failure, not the item's: the job stops
                raise result
            else:
                plan.settled = _failed(plan.item, result)
            if self.ended(job.id):  # cancelled: no more of its items are started (those in flight end)
                break
        outcomes = self._outcomes(scope, plans, job.preview)
        with self.store.begin() as conn:
            self._record(conn, scope.source.id, outcomes)
        self._report(outcomes, reported={plan.item.id for plan in to_write if plan.written is not None})
        if unavailable is not None:
            self.store.release_items([plan.item.id for plan in to_write if plan.written is None
                                      and plan.settled is None])
            self.pause(job.id, unavailable)
            return False
        return True

    def _served_by_uri(self, scope: JobScope, mapped: Sequence[Plan], links: dict[str, Link]) -> dict[str, Link]:
        """The links of the datasets data services name by URI (a dataset of another page), by that URI."""
        uris = {served for plan in mapped if plan.mapped and plan.mapped["dataservice"]
                for served in plan.mapped["dataservice"]["datasets"] if served not in links}
        return self.store.links_of_uris(scope.source.id, uris) if uris else {}

    @staticmethod
    def _plan_of(item: ClaimedItem, outcome: MappingOutcome) -> Plan:
        gathered = gather_logs(item.warnings)
        if outcome.skipped is not None:
            return Plan(item, settled=SettledItem(item.id, "skipped",
                                                  logs=[*gathered, _log("warning", outcome.skipped)]))
        if outcome.mapped is None:
            return Plan(item, settled=replace(_failure(item, outcome.failed or "Mapping failed"), logs=gathered))
        return Plan(item, outcome.mapped, [_log("warning", warning) for warning in outcome.mapped["warnings"]],
                    gathered, digest=outcome.digest or "", shape=outcome.shape)

    def _plan(self, scope: JobScope, plan: Plan, links: dict[str, Link]) -> None:
        """What to write for a mapped item, its hash, and its link (if it was harvested before)."""
        assert plan.mapped is not None
        try:
            plan.write = self._write_for(scope.source, plan.item, plan.mapped, plan.logs, links)
            plan.digest = plan.digest or payload_hash(plan.write)  # a dataset mapped ahead comes hashed and shaped
            plan.shape = plan.shape or shape_of(plan.write.document)
        except Exception as error:
            plan.settled = _failed(plan.item, error)
            return
        plan.link = links.get(plan.item.remote_id)
        if plan.gathered and plan.link is not None and not plan.unchanged:
            self._hold_if_poorer(plan, plan.link)

    @staticmethod
    def _hold_if_poorer(plan: Plan, link: Link) -> None:
        """A record read with doubts (a page read leniently) whose mapping holds fewer resources or field values
        than the last write of its dataset is not written: the dataset keeps its last version, the item says why."""
        assert plan.write is not None
        assert plan.shape is not None
        lost = losses((link.summary or {}).get("shape"), plan.shape)
        if not lost:
            return
        noun = NOUNS[plan.write.kind]
        warning = _log("warning", f"{noun} not updated: read with the warning above, it holds less than its last "
                                  f"harvest ({'; '.join(lost)}); it keeps its last version until its record reads "
                                  "cleanly")
        plan.held = True
        plan.settled = SettledItem(plan.item.id, "skipped", dataset_id=link.dataset_id,
                                   dataset_title=plan.write.title,
                                   logs=[*plan.gathered, *plan.logs, warning])

    @staticmethod
    def _outcomes(scope: JobScope, plans: Sequence[Plan], preview: bool) -> Outcomes:
        """The bookkeeping of a batch once written; a plan neither settled nor written (the portal became
        unavailable) is left out: it goes back to pending."""
        outcomes = Outcomes()
        documents_kept = isinstance(scope.target, BatchTarget)  # the local catalog's documents hold what it writes
        for plan in plans:
            if plan.settled is not None:
                outcomes.settled.append(plan.settled)
                if plan.held and not preview:
                    outcomes.seen.append(plan.item.remote_id)
                continue
            assert plan.write is not None
            left_out = [_log("warning", warning) for warning in plan.written.warnings] if plan.written else []
            kept = [*plan.logs, *left_out]  # with what the target left out (a contact point it refused)
            link, noun, logs = plan.link, NOUNS[plan.write.kind], [*plan.gathered, *kept]
            title = plan.write.title
            saved: dict[str, Any] = {"payload_hash": plan.digest, "kind": plan.write.kind,
                                     "summary": {"title": title, "logs": kept, "shape": plan.shape}}
            if plan.write.kind == "dataset":  # a data service also depends on the links of what it serves
                saved["record_hash"] = plan.item.record_hash or scope.record_hash(record_digest(plan.item.record or {}))
                if (uri := plan.write.provenance.remote.uri) and uri != plan.item.remote_id:
                    saved["uri"] = uri  # a data service may name the dataset by it
            dataset_id: str | None
            if plan.unchanged:
                assert link is not None
                outcome, dataset_id = "unchanged", link.dataset_id
                if not preview:
                    outcomes.links.append(NewLink(plan.item.remote_id, dataset_id, **saved))
            elif preview:
                outcome, dataset_id = ("updated" if link else "created"), (link.dataset_id if link else None)
            elif plan.written is None:
                continue
            else:
                outcome, dataset_id = plan.written.outcome, plan.written.id
                if link and link.archived_at is not None:
                    logs.append(_log("info", f"{noun} is back on the remote: unarchived"))
                outcomes.links.append(NewLink(plan.item.remote_id, dataset_id, **saved))
                if not documents_kept:
                    outcomes.payloads.append((plan.item.remote_id, written_payload(plan.write)))
            logs.append(_log("info", f"{noun} {outcome}" + (" (preview)" if preview else "")))
            outcomes.settled.append(SettledItem(plan.item.id, "done", outcome, dataset_id, title, logs=logs,
                                                record=written_payload(plan.write) if preview else None))
        return outcomes

    def _record(self, conn: Connection, source_id: str, outcomes: Outcomes) -> None:
        self.store.save_links(conn, source_id, outcomes.links)
        self.store.touch_links(conn, source_id, outcomes.seen)
        self.store.save_payloads(conn, source_id, outcomes.payloads)
        self.store.settle_items(conn, outcomes.settled)

    def _report(self, outcomes: Outcomes, reported: Collection[int] = ()) -> None:
        for item in outcomes.settled:
            if item.id not in reported:
                self.progress(item.outcome or item.status)

    def _served(self, dataservice: dict[str, Any], links: dict[str, Link], logs: Entries) -> dict[str, Any]:
        """The data service (as JSON) with our ids of the datasets it serves (remote ids, exact match); a dataset
        this source has not harvested is left out, with a warning."""
        served = []
        for remote_id in dataservice["datasets"]:
            link = links.get(remote_id)
            if link is not None and link.kind == "dataset":
                served.append(link.dataset_id)
            else:
                logs.append(_log("warning", f"Served dataset '{remote_id}' not harvested from this source: left out"))
        return {**dataservice, "datasets": served}

    def _write_for(self, source: HarvestSource, item: ClaimedItem, mapped: dict[str, Any], logs: Entries,
                   links: dict[str, Link]) -> Write[Any]:
        if mapped["dataservice"] is None:
            return dataset_write(source, item.remote_id, item.remote_url, mapped)
        return Write("dataservice", self._served(mapped["dataservice"], links, logs),
                     provenance_of(source, item.remote_id, item.remote_url, mapped), *publisher(source))

    def pause(self, job_id: str, error: TargetUnavailable) -> None:
        """End the job now (status failed) with a job error saying why; unwritten items stay pending."""
        pending = self.store.count_unfinished_items(job_id)
        message = (f"Paused: the portal is unavailable ({error_message(error)}). {pending} item(s) not written stay "
                   "pending; the next run writes them.")
        if self.store.pause_job(job_id, message):
            job_ended(self.store, job_id, self.http, self.config)

    def ended(self, job_id: str) -> bool:
        return self.store.job_finished(job_id)

    # --- finalize -------------------------------------------------------------------------------------

    def finalize(self, job_id: str) -> None:
        """Once every dataset item is settled: write the data services, archive what vanished upstream (when
        safe), then set the job's final status. Whoever settles the last item calls it; the store lets exactly
        one caller through."""
        if not self.store.claim_finalize(job_id):
            return
        self.redispatch(job_id, self.process, kind="dataservice")  # every dataset is settled: they name them all
        if self.ended(job_id):  # paused while writing them
            return
        job = self.store.job_row(job_id)
        source = self.store.get_source(job.source_id)
        if source.autoarchive and not job.truncated:
            self.store.update_job(job_id, stage="archive")
            self.archive_vanished(source, job_id, preview=job.preview)
        elif source.autoarchive and job.preview:
            self.store.add_job_error(job_id, "Archives not predicted: this preview did not read the whole catalog",
                                     level="info")
        summary = self.store.summary(job_id)
        if not job.gather_failed and (nothing := nothing_harvested(summary)):
            self.store.add_job_error(job_id, nothing)
        job = self.store.job_row(job_id)
        if job.gather_failed:
            status = "failed"
        elif summary["failed"] or any(error["level"] == "error" for error in job.errors):
            status = "done-errors"
        else:
            status = "done"
        self.store.update_job(job_id, status=status, ended=utcnow())
        self._scopes.pop(job_id, None)
        job_ended(self.store, job_id, self.http, self.config)

    def archive_vanished(self, source: HarvestSource, job_id: str, preview: bool = False) -> None:
        """Archive datasets (and data services) no longer on the remote, unless that would archive too large
        a share; a `preview` records what would be archived, archiving nothing."""
        config = self.config
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
                "(HARVEST_AUTOARCHIVE_MAX_SHARE); nothing " + ("would be archived" if preview else "was archived"),
            )
            return
        if preview:
            return predict_archives(self.store, job_id, vanished)
        target = self._scopes[job_id].target if job_id in self._scopes else self.target.for_job()
        for done in archive_links(self.store, target, vanished, now):
            link = done.link
            if done.error is not None:
                error = HarvestError(message=f"Archiving failed: {error_message(done.error)}")
                self.store.add_item(job_id, link.remote_id, "failed", dataset_id=link.dataset_id, kind=link.kind,
                                    errors=[error.to_json()])
                continue
            self.store.add_item(job_id, link.remote_id, "archived", dataset_id=link.dataset_id, kind=link.kind,
                                logs=[_log("info", f"{NOUNS[link.kind]} archived: no longer on the remote")])
            self.progress("archived")


def mapping_context(source: HarvestSource, licenses: Sequence[str]) -> bytes:
    """What a record's mapping depends on besides the record: this code's version, the source's backend,
    URL, config and publisher, and the target's licenses."""
    context = [__version__, source.backend, source.url, source.config, source.organization and source.organization.id,
               source.owner and source.owner.id, sorted(licenses)]
    return hashlib.sha256(orjson.dumps(context, option=CANONICAL)).digest()


def record_hash(context: bytes, digest: str) -> str:
    """The hash of a record's digest within a mapping context."""
    return hashlib.sha256(context + digest.encode()).hexdigest()


def gather_logs(warnings: Iterable[str]) -> Entries:
    """The warnings the gather gave a record, for its item's logs."""
    return [_log("warning", warning) for warning in warnings]


def _failed(item: ClaimedItem, error: BaseException) -> SettledItem:
    return _failure(item, error_message(error))


def _failure(item: ClaimedItem, message: str) -> SettledItem:
    return SettledItem(item.id, "failed", errors=[HarvestError(message=message).to_json()])


def _log(level: str, message: str) -> dict[str, str]:
    """A log entry in HarvestLog's JSON shape (made once an item or two: without the model)."""
    return {"level": level, "message": message}
