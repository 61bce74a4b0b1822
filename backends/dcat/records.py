"""Cut a parsed DCAT page into records: one per dataset (or series) and one per standalone data service."""

from __future__ import annotations

from collections.abc import Iterator

from backends.base import Record
from backends.dcat.mapping import Node, remote_url
from backends.dcat.rdf import DCAT, DCT, Page

DATASET_TYPES = (DCAT + "Dataset", DCAT + "DatasetSeries")
#: A title-less dataset only pointed to through these is a reference to a dataset described elsewhere.
STUB_REFERENCES = frozenset({DCAT + "servesDataset", DCT + "hasPart"})


def page_records(page: Page) -> Iterator[Record]:
    """The page's datasets, then its data services: those a catalog lists (`dcat:service`), and those that are
    not only a distribution's access service."""
    for subject in page.subjects_of_type(*DATASET_TYPES):
        if not is_stub(page, subject):
            yield dataset_record(page, subject)
    for subject in page.subjects_of_type(DCAT + "DataService"):
        incoming = page.referenced_by(subject)
        if DCAT + "accessService" not in incoming or DCAT + "service" in incoming:
            yield dataservice_record(page, subject)


def is_stub(page: Page, subject: str) -> bool:
    if DCT + "title" in page.graph[subject]:
        return False
    incoming = page.referenced_by(subject)
    return bool(incoming) and incoming <= STUB_REFERENCES


def remote_id(page: Page, subject: str) -> str:
    """`dct:identifier`, else the node's URI; empty for a blank node without identifier."""
    identifiers = [v["@value"].strip() for v in page.graph[subject].get(DCT + "identifier", ()) if "@value" in v]
    identifier = next((value for value in identifiers if value), "")
    return identifier or ("" if subject.startswith("_:") else subject)


def dataset_record(page: Page, subject: str) -> Record:
    graph = page.closure(subject)
    identifier = remote_id(page, subject)
    return Record(
        remote_id=identifier,
        remote_url=remote_url(Node(graph, subject)),
        data={"@id": subject, "graph": graph},
        skip_reason=None if identifier else "missing identifier",
    )


def dataservice_record(page: Page, subject: str) -> Record:
    """A data service, with the remote ids of the datasets it serves (exactly as the page names them)."""
    graph = page.closure(subject)
    identifier = remote_id(page, subject)
    served = [
        remote_id(page, obj["@id"]) if obj["@id"] in page.graph else obj["@id"]
        for obj in page.graph[subject].get(DCAT + "servesDataset", ())
        if "@id" in obj
    ]
    return Record(
        remote_id=identifier,
        remote_url=remote_url(Node(graph, subject)),
        data={"@id": subject, "graph": graph, "datasets": [ident for ident in served if ident]},
        kind="dataservice",
        skip_reason=None if identifier else "missing identifier",
    )
