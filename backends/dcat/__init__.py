"""DCAT: any RDF serialization, Hydra paging."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

from backends.base import Backend, Option, Record, SkipRecord
from backends.dcat.mapping import DCT, map_dataset
from backends.dcat.rdf import ACCEPT, DCAT, Page, guess_format
from backends.normalize import is_http_url
from harvesters.http import media_type
from harvesters.models import Mapped

DATASET_TYPES = (DCAT + "Dataset", DCAT + "DatasetSeries")
STUB_REFERENCES = {DCAT + "servesDataset", DCT + "hasPart"}


class DcatBackend(Backend):
    name = "dcat"
    display_name = "DCAT"
    extra_configs = (
        Option("language", "Preferred language", str, "Language of the literals to keep", default="fr"),
    )

    def gather(self) -> Iterator[Record]:
        visited: set[str] = set()
        url: str | None = self.url
        while url and url not in visited:
            visited.add(url)
            page = self.fetch_page(url)
            yield from self.records(page)
            url = next((urljoin(url, link) for link in page.next_pages() if urljoin(url, link) not in visited), None)

    def fetch_page(self, url: str) -> Page:
        response = self.http.get(url, headers={"Accept": ACCEPT})
        fmt = guess_format(url, media_type(response))
        return Page(response.content, fmt, base_iri=response.url)

    def records(self, page: Page) -> Iterator[Record]:
        stop = set(DATASET_TYPES)
        for subject in page.subjects_of_type(*DATASET_TYPES):
            predicates = page.graph[subject]
            if DCT + "title" not in predicates and page.referenced_by(subject) <= STUB_REFERENCES | {
                DCAT + "dataset"
            } and page.referenced_by(subject) & STUB_REFERENCES:
                continue  # a stub only pointed to by a data service or a series
            identifiers = [v["@value"] for v in predicates.get(DCT + "identifier", []) if "@value" in v]
            remote_id = identifiers[0].strip() if identifiers else ("" if subject.startswith("_:") else subject)
            landing = [v.get("@id") or v.get("@value") for v in predicates.get(DCAT + "landingPage", [])]
            remote_url = next((u for u in landing if is_http_url(u)), subject if is_http_url(subject) else None)
            yield Record(
                remote_id=remote_id,
                remote_url=remote_url,
                data={"@id": subject, "graph": page.closure(subject, stop)},
                skip_reason=None if remote_id else "missing identifier",
            )

    def map(self, record: Record) -> Mapped:
        if not record.data:
            raise SkipRecord("empty record")
        return map_dataset(record.data, self.extra("language"))
