"""Mapping records, here or ahead in a helper process while this one gathers and writes.

A backend's `map` is pure (one record in, one payload out), so it can run beside the rest of a job.
`map_record` maps one stored record in this process, into a `MappingOutcome`: the payload in
Mapped's JSON shape (what the pipeline hashes and writes), or why the record is skipped or failed.
Every batch of every job goes through it: inline runs, RQ workers, resumed jobs.

An inline run writing to the local catalog (`harvest run`) uses the second CPU too (`InlineDispatch`):
its batches are processed one behind the gather, and while this process reads the next page and
writes a batch, a `MappingProcess` (forked from this one, so it holds the job's backend as it is)
maps the batch gathered last. Records go to it as JSON, payloads come back as JSON: compact, and
nothing is validated twice. The helper holds one batch at a time (memory stays bounded) and keeps
no state: if it dies, its batch is mapped here. A job of one batch never starts it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import orjson

from backends.base import Backend, Record, SkipRecord
from harvesters.errors import describe
from harvesters.models import Mapped
from harvesters.store import NewItem

if TYPE_CHECKING:
    from harvesters.pipeline import Harvester

log = logging.getLogger(__name__)
JOIN_TIMEOUT = 5.0  # seconds a helper gets to exit once its job is over


@dataclass(frozen=True, slots=True)
class MappingOutcome:
    """What mapping one record gave: the payload in Mapped's JSON shape (`dataset` or `dataservice`,
    `remote`, `warnings`), else why it is skipped or failed."""

    mapped: dict[str, Any] | None = None
    skipped: str | None = None
    failed: str | None = None


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
        return MappingOutcome(failed=describe(error))


# --- the helper process -----------------------------------------------------------------------------


class MappingProcess:
    """A helper process that maps batches of records with one job's backend: a batch sent, then its outcomes
    received, in turn (while it maps, this process does the rest)."""

    def __init__(self, backend: Backend) -> None:
        context = multiprocessing.get_context("fork")  # the child starts with the backend as it is here
        requests, self._requests = context.Pipe(duplex=False)
        self._outcomes, outcomes = context.Pipe(duplex=False)
        self._process = context.Process(target=_serve, args=(backend, requests, outcomes, self._requests,
                                                             self._outcomes), name="harvest-mapping", daemon=True)
        self._process.start()
        requests.close()  # the child's ends: closed here, so that each side sees the other's exit
        outcomes.close()

    def send(self, records: list[bytes]) -> None:
        """Send a batch: each record's JSON (as the store keeps it)."""
        self._requests.send_bytes(b"[" + b",".join(records) + b"]")

    def receive(self) -> list[MappingOutcome]:
        """The outcomes of the batch sent last, in its order."""
        return [MappingOutcome(*outcome) for outcome in orjson.loads(self._outcomes.recv_bytes())]

    def close(self) -> None:
        self._requests.close()  # the child reads the end of its input, and exits
        self._outcomes.close()
        self._process.join(JOIN_TIMEOUT)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _serve(backend: Backend, requests: Connection, outcomes: Connection, *parents: Connection) -> None:
    """The helper's loop: map each batch received, send back its outcomes, until this process's input ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the harvest: it ends this process by its input
    for end in parents:
        end.close()
    try:
        while True:
            records = orjson.loads(requests.recv_bytes())
            answer = []
            for record in records:
                mapped = _mapped(backend, record)
                if isinstance(mapped, Mapped):  # its JSON as pydantic writes it, sent as it is
                    answer.append([orjson.Fragment(mapped.model_dump_json()), None, None])
                else:
                    answer.append([None, mapped.skipped, mapped.failed])
            outcomes.send_bytes(orjson.dumps(answer))
    except (EOFError, OSError):  # the harvest is over (or gone)
        pass
    finally:
        os._exit(0)


# --- the inline run's dispatch ------------------------------------------------------------------------


class InlineDispatch:
    """The dispatch of an inline run: each batch is processed when the next one is gathered, mapped meanwhile
    by a helper process (started with the second batch); `finish` processes the last one. Without a helper
    (`ahead` false: one CPU, or writes over HTTP, where mapping is not what takes time), each batch is
    processed as it is dispatched."""

    def __init__(self, harvester: Harvester, job_id: str, ahead: bool) -> None:
        self.harvester = harvester
        self.job_id = job_id
        self.ahead = ahead
        self.helper: MappingProcess | None = None
        self.waiting: deque[tuple[list[int], GatheredBatch | None, bool]] = deque()  # (items, batch, sent ahead)

    def __call__(self, job_id: str, item_ids: list[int]) -> None:
        batch = self.harvester.gathered(item_ids)
        sent = False
        if self.ahead and self.waiting:
            self._collect()
            sent = batch is not None and self._send(batch)
        self.waiting.append((item_ids, batch, sent))
        while len(self.waiting) > (1 if self.ahead else 0):
            self._process_next()

    def finish(self) -> None:
        """Process what is still waiting (the last batch)."""
        if self.waiting:
            self._collect()
        while self.waiting:
            self._process_next()

    def close(self) -> None:
        if self.helper is not None:
            self.helper.close()
            self.helper = None

    def _send(self, batch: GatheredBatch) -> bool:
        """Send the batch to the helper (started now if need be); False if it cannot take it."""
        return self._with_helper(lambda helper: helper.send([item.stored_record() for item in batch.items.values()]),
                                 start=True)

    def _collect(self) -> None:
        """Receive the outcomes of the batch the helper maps, if any (before sending it another)."""
        item_ids, batch, sent = self.waiting[-1]
        if sent and batch is not None:
            self._with_helper(lambda helper: batch.mappings.update(zip(batch.items, helper.receive(), strict=True)))

    def _with_helper(self, use: Callable[[MappingProcess], None], start: bool = False) -> bool:
        try:
            if self.helper is None and start:
                self.helper = MappingProcess(self.harvester.scope(self.harvester.store.job_row(self.job_id)).backend)
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
        item_ids, batch, _ = self.waiting.popleft()
        self.harvester.process(self.job_id, item_ids, batch)
