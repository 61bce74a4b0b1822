"""The gather of an inline run, read ahead in a helper process once its first batch is gathered.

A gather is sequential (a page's links lead to the next one), but reading, parsing and cutting pages
into records is work this process need not do itself. Once an inline run into the local catalog
has gathered a first batch here (a job of one batch never goes further), a `GatheringProcess` forked
from this one carries on the very same gather from where it stands, with its own connections, while
this process records the items, writes the batches and hands them to the mapping process
(harvesters/mapper.py). Each record comes back serialized as the store keeps it, with its digest:
this process stores it and passes it on as it is, without reading it, with the total the catalog
announced (the job's progress) and what the gather said about the job (a page read leniently). The
helper gathers at most a batch ahead (the pipe holds one); a failure of the gather is its last
message, and fails the job as it would have here. Whenever this process would wait for the next
records (the first batch's next page, or the helper's next batch not there yet), it lets the run
write what it has first (`idle`): a slow catalog's first pages are harvested while the rest is read
(and a batch still being mapped is waited for only until the next records come).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any

import orjson

from backends.base import Backend, BackendContext, GatherError, Record
from harvesters.errors import error_message
from harvesters.helpers import HelperProcess
from harvesters.recall import record_digest
from harvesters.store import Store

JSON_OPTIONS = orjson.OPT_NON_STR_KEYS  # as the store writes records


@dataclass(frozen=True, slots=True)
class GatheredRecord:
    """A gathered record; when it comes from the helper, its data stays serialized (`json`, as the store keeps
    it: None for a record without data to store)."""

    record: Record
    json: bytes | None = None
    serialized: bool = False


def stored_record(record: Record) -> bytes | None:
    """The JSON an item keeps of its record: None for a skipped or failed record, or one recalled without
    data."""
    if record.skip_reason or record.error or (record.data is None and record.digest):
        return None
    return orjson.dumps(vars(record), option=JSON_OPTIONS)


Idle = Callable[[HelperProcess | None], None]  # before waiting for records (the helper they come from, if any)


def gathered_records(backend: Backend, store: Store, ahead: int | None,
                     idle: Idle = lambda gathering: None) -> Generator[GatheredRecord]:
    """The backend's records: all read here, or (`ahead`: a batch size) the first batch here and the others
    read ahead by a helper process, in batches of that size; `idle` is called before waiting for them."""
    records = backend.records()
    if ahead is None:
        yield from (GatheredRecord(record) for record in records)
        return
    yield from (GatheredRecord(record) for record in islice(records, ahead))
    idle(None)
    first = next(records, None)  # the helper is started only for a job of more than one batch
    if first is None:
        return
    yield GatheredRecord(first)
    with closing(GatheringProcess(backend, records, store, ahead)) as helper:
        yield from helper.records(idle)


class GatheringProcess(HelperProcess):
    """A helper process carrying on a backend's gather: it sends the records in batches (with the total the
    catalog announced and the gather's warnings about the job), then the end of the gather (and why it failed,
    if it did)."""

    def __init__(self, backend: Backend, records: Iterator[Record], store: Store, size: int) -> None:
        super().__init__("harvest-gathering",
                         lambda requests, answers: _gather(backend, records, store, size, answers))
        self.context = backend.context

    def records(self, idle: Idle) -> Iterator[GatheredRecord]:
        while True:
            if not self.ready():
                idle(self)
            try:
                header = orjson.loads(self.receive())
            except EOFError:
                raise GatherError("The gathering process stopped before the end of the gather") from None
            self.context.warnings.extend(header["warnings"])
            if "failed" in header:
                if header["failed"]:
                    raise GatherError(header["failed"])
                return
            self.context.announce(header["announced"])
            body, offset = self.receive(), 0
            for remote_id, remote_url, kind, skip_reason, warnings, error, digest, length in header["records"]:
                record = Record(remote_id, remote_url, kind=kind, skip_reason=skip_reason, warnings=warnings,
                                error=error, digest=digest)
                yield GatheredRecord(record, body[offset:offset + length] if length else None, serialized=True)
                offset += length


def _gather(backend: Backend, records: Iterator[Record], store: Store, size: int, answers: Connection) -> None:
    """The helper's work: the rest of the gather, a batch per message pair (records' fields, then their JSON),
    then the end (why the gather failed, if it did: it fails the job as it would have in the harvest)."""
    store.engine.dispose(close=False)  # its own connections (those of the harvest stay the harvest's)
    backend.context.warnings.clear()  # those said before it started are the harvest's to report
    batch: list[Record] = []
    failed = None
    while True:
        try:
            record = next(records, None)
        except Exception as error:  # the records read so far, then why
            failed = error_message(error)
            break
        if record is None:
            break
        batch.append(record)
        if len(batch) >= size:
            _send(answers, batch, backend.context)
            batch = []
    _send(answers, batch, backend.context)
    answers.send_bytes(orjson.dumps({"failed": failed, "warnings": _taken(backend.context.warnings)}))


def _send(answers: Connection, records: list[Record], context: BackendContext) -> None:
    if not records:
        return
    header: list[list[Any]] = []
    stored: list[bytes] = []
    for record in records:
        if record.data is not None and not record.digest:
            record.digest = record_digest(vars(record))
        json = stored_record(record) or b""
        header.append([record.remote_id, record.remote_url, record.kind, record.skip_reason, record.warnings,
                       record.error, record.digest, len(json)])
        stored.append(json)
    answers.send_bytes(orjson.dumps({"announced": context.announced, "warnings": _taken(context.warnings),
                                     "records": header}))
    answers.send_bytes(b"".join(stored))


def _taken(warnings: list[str]) -> list[str]:
    """The warnings collected so far, sent to the harvest (which reports them): no longer kept here."""
    taken = list(warnings)
    warnings.clear()
    return taken
