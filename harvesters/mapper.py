"""Mapping records, here or ahead in a helper process while this one gathers and writes.

A backend's `map` is pure (one record in, one payload out), so it can run beside the rest of a job.
`map_record` maps one stored record in this process, into a `MappingOutcome`: the payload in
Mapped's JSON shape (what the pipeline hashes and writes), or why the record is skipped or failed.
Every batch of every job goes through it: inline runs, RQ workers, resumed jobs.

An inline run writing to the local catalog (`harvest run`) uses the second CPU too (`InlineDispatch`):
its batches are processed one behind the gather, and while this process writes a batch, a
`MappingProcess` (forked from this one, so it holds the job's backend as it is) maps the batch
gathered last, and hashes and shapes the writes of its datasets (what the writing process would do
next, harvesters/writes.py). Records go to it as JSON, payloads come back as JSON: compact, and
nothing is validated twice. Each record is read from its JSON when it is mapped, and each outcome
written to JSON once made, while their objects are still in the processor's cache (reading a whole
batch first, then mapping it, costs the helper a tenth more). Each batch is sent to it before the outcomes
of the one before are received, so that it has its next batch at hand whenever it is done with one (neither
process waits for the other's turn); it holds two batches at most (memory stays bounded) and keeps no
state: if it dies, its batches are mapped here. A job of one batch never starts it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import orjson

from backends.base import Backend, Record, SkipRecord
from harvesters.errors import error_message
from harvesters.helpers import HelperProcess, first_ready
from harvesters.models import HarvestSource, Mapped
from harvesters.shape import Shape
from harvesters.store import NewItem
from harvesters.writes import hashed_and_shaped

if TYPE_CHECKING:
    from harvesters.pipeline import Harvester

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MappingOutcome:
    """What mapping one record gave: the payload in Mapped's JSON shape (`dataset` or `dataservice`,
    `remote`, `warnings`), else why it is skipped or failed; a dataset mapped ahead comes with the payload hash
    and the shape of its write (harvesters/writes.py), which its writing process need not make again."""

    mapped: dict[str, Any] | None = None
    skipped: str | None = None
    failed: str | None = None
    digest: str | None = None
    shape: Shape | None = None


@dataclass
class GatheredBatch:
    """A batch the gather of this process dispatches: its pending items by id, with their records (processed
    here, they are not read back from the store) and the hashes of those records by remote id where known;
    and what mapping them gave, once mapped ahead."""

    items: dict[int, NewItem]
    hashes: dict[str, str]
    mappings: dict[int, MappingOutcome] = field(default_factory=dict)


def map_record(backend: Backend, record: dict[str, Any] | None) -> MappingOutcome:
    """Map one record (its fields as gathered, or as stored with its item) in this process."""
    mapped = _mapped(backend, record)
    return MappingOutcome(mapped=mapped.model_dump(mode="json")) if isinstance(mapped, Mapped) else mapped


def _mapped(backend: Backend, record: dict[str, Any] | None) -> Mapped | MappingOutcome:
    try:
        return backend.map(Record(**record or {}))
    except SkipRecord as skip:
        return MappingOutcome(skipped=str(skip))
    except Exception as error:  # any failure fails this item alone
        return MappingOutcome(failed=error_message(error))


# --- the helper process -----------------------------------------------------------------------------


class MappingProcess(HelperProcess):
    """A helper process that maps batches of records with one job's backend (and hashes and shapes the writes of
    the source's datasets): a batch sent, then its outcomes received, in turn (while it maps, this process does the
    rest)."""

    def __init__(self, backend: Backend, source: HarvestSource) -> None:
        super().__init__("harvest-mapping", lambda requests, answers: _serve(backend, source, requests, answers))

    def outcomes(self) -> list[MappingOutcome]:
        """The outcomes of the batch sent last, in its order."""
        return [MappingOutcome(*outcome) for outcome in orjson.loads(self.receive())]


def _serve(backend: Backend, source: HarvestSource, requests: Connection, answers: Connection) -> None:
    """The helper's loop: map each batch received, send back its outcomes, until the harvest's pipes close."""
    while True:
        answer: list[bytes] = []
        for record in _records(requests.recv_bytes()):
            mapped = _mapped(backend, record)
            if isinstance(mapped, Mapped):
                payload = mapped.model_dump(mode="json")
                outcome = [payload, None, None, *hashed_and_shaped(source, record or {}, payload)]
            else:
                outcome = [None, mapped.skipped, mapped.failed, None, None]
            answer.append(orjson.dumps(outcome, option=orjson.OPT_NON_STR_KEYS))
        answers.send_bytes(b"[" + b",".join(answer) + b"]")


def records_message(records: list[bytes]) -> bytes:
    """A batch as sent to the helper: each record's JSON (as the store keeps it), after the list of their lengths."""
    return orjson.dumps([len(record) for record in records]) + b"\n" + b"".join(records)


def _records(batch: bytes) -> Iterator[dict[str, Any] | None]:
    """The records of a batch (`records_message`), each read from its JSON when asked for."""
    end = batch.index(b"\n")
    view, offset = memoryview(batch), end + 1
    for length in orjson.loads(view[:end]):
        yield orjson.loads(view[offset:offset + length])
        offset += length


# --- the inline run's dispatch ------------------------------------------------------------------------


class InlineDispatch:
    """The dispatch of an inline run: from the second batch on, the helper process maps each batch while this
    one writes the batch before it (each sent as it is dispatched, its outcomes received when it is processed).
    A batch is processed when the next one is dispatched, when the gather would wait for records (`idle`), or at
    the gather's end (`finish`). Without a helper (`ahead` false: one CPU, or writes over HTTP, where mapping is
    not what takes time), each batch is processed as it is dispatched."""

    def __init__(self, harvester: Harvester, job_id: str, ahead: bool) -> None:
        self.harvester = harvester
        self.job_id = job_id
        self.ahead = ahead
        self.helper: MappingProcess | None = None
        self.dispatched = 0
        self.waiting: deque[tuple[list[int], GatheredBatch | None]] = deque()
        self.mapping: deque[GatheredBatch] = deque()  # the batches the helper maps, their outcomes not received yet

    def __call__(self, job_id: str, item_ids: list[int]) -> None:
        batch = self.harvester.gathered(item_ids)
        if self.ahead and self.dispatched and batch is not None:  # the first batch is mapped here: a job of one
            self._send(batch)  # batch starts no helper
        self.dispatched += 1
        self.waiting.append((item_ids, batch))
        while len(self.waiting) > (1 if self.ahead else 0):
            self._process_next()

    def finish(self) -> None:
        """Process what is waiting."""
        while self.waiting:
            self._process_next()

    def idle(self, gathering: HelperProcess | None) -> None:
        """The gather waits for records: process what is waiting, unless its batch is still being mapped and the
        records come first from the helper gathering them (`gathering`)."""
        if gathering is not None and self.mapping and self.helper is not None \
                and first_ready(self.helper, gathering) is gathering:
            return
        self.finish()

    def close(self) -> None:
        self.mapping.clear()
        if self.helper is not None:
            self.helper.close()
            self.helper = None

    def _send(self, batch: GatheredBatch) -> None:
        """Send the batch to the helper (started now if need be), unless it cannot take it. A batch too large for the
        helper's input to hold waits for the outcomes of the one before (`HelperProcess.holds`)."""
        message = records_message([item.stored_record() for item in batch.items.values()])
        if self.mapping and self.helper is not None and not self.helper.holds(len(message)):
            self._collect(self.mapping[0])
        if self.ahead and self._with_helper(lambda helper: helper.send(message), start=True):
            self.mapping.append(batch)

    def _collect(self, batch: GatheredBatch) -> None:
        """Receive the outcomes of this batch, the first of those the helper maps."""
        self.mapping.popleft()
        self._with_helper(lambda helper: batch.mappings.update(zip(batch.items, helper.outcomes(), strict=True)))

    def _with_helper(self, use: Callable[[MappingProcess], None], start: bool = False) -> bool:
        try:
            if self.helper is None and start:
                scope = self.harvester.scope(self.harvester.store.job_row(self.job_id))
                self.helper = MappingProcess(scope.backend, scope.source)
            if self.helper is None:
                return False
            use(self.helper)
            return True
        except (EOFError, OSError, ValueError) as error:  # the helper died: its batches are mapped here
            log.warning("The mapping process stopped (%s): mapping in this process", error)
            self.close()
            self.ahead = False
            return False

    def _process_next(self) -> None:
        item_ids, batch = self.waiting.popleft()
        if self.mapping and self.mapping[0] is batch:
            self._collect(batch)
        self.harvester.process(self.job_id, item_ids, batch)
