"""DCAT: any RDF serialization (RDF/XML, Turtle, N-Triples, N3, TriG, JSON-LD), Hydra paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urljoin

from backends.base import Backend, GatherError, IncompleteGather, Mapped, Option, Record, SkipRecord, media_type
from backends.dcat.mapping import map_dataservice, map_dataset
from backends.dcat.rdf import ACCEPT, Page, guess_format
from backends.dcat.records import page_records


class HeldServices:
    """Data services held until the end of the gather, so that the datasets they serve (on any page) are
    harvested before them: the framework finds those datasets by remote id, or by URI (a data service names a
    dataset of another page by its URI). Bounded: beyond the cap, services are yielded at once."""

    MAX_SERVICES = 10_000

    def __init__(self) -> None:
        self.held: list[Record] = []

    def datasets_first(self, records: list[Record]) -> Iterator[Record]:
        for record in records:
            if record.kind == "dataservice" and len(self.held) < self.MAX_SERVICES:
                self.held.append(record)
            else:
                yield record

    def services(self) -> Iterator[Record]:
        yield from self.held


class DcatBackend(Backend):
    name = "dcat"
    display_name = "DCAT"
    extra_configs: ClassVar[tuple[Option, ...]] = (
        Option("language", "Preferred language", str,
               "Language of the literals to keep when a record has it (fr, en...), and of the titles given to "
               "nameless resources", default="fr"),
    )

    def gather(self) -> Iterator[Record]:
        """Every page's records, following Hydra `next` / `nextPage` links; data services come last (the
        datasets they serve are named by remote id when described on the same page, else by URI).

        A page is never fetched twice; a page repeating the previous one (a server ignoring the page
        parameter) fails the job rather than looping. A first page without any dataset or data service
        fails the job, saying what the document holds. The gather must read what the catalog announced:
        a next page that is empty, or pages holding fewer records than `hydra:totalItems`, make it
        incomplete. A page read leniently is reported on the job and on each of its records.
        """
        visited: set[str] = set()
        previous: set[str] = set()
        services = HeldServices()
        announced: int | None = None
        received = 0
        url: str | None = self.url
        referrer: str | None = None
        while url and url not in visited:
            visited.add(url)
            records, next_pages, total, page = self.read_page(url)
            identifiers = {record.remote_id for record in records}
            if identifiers and identifiers == previous:
                raise GatherError(f"The page {url} repeats the datasets of the previous page: paging stopped")
            if not records:
                if referrer:
                    raise IncompleteGather(f"{referrer} links to a next page, {url} (hydra:next)",
                                           "that page " + ("has an empty body" if page is None else "holds no dataset"))
                if page is None:
                    raise GatherError(f"{url} answered with an empty body")
                raise GatherError(f"No DCAT dataset nor data service in {url}: {page.summary()}")
            announced = total if announced is None else announced
            self.context.announce(announced)
            yield from services.datasets_first(records)
            received += len(records)
            previous = identifiers
            links = (urljoin(url, link.strip()) for link in next_pages if link.strip())
            referrer, url = url, next((link for link in links if link not in visited), None)
        yield from services.services()
        if announced is not None and received < announced:
            raise IncompleteGather(f"{self.url} announced {announced} datasets (hydra:totalItems)",
                                   f"its pages held {received}")

    def report_lenient(self, what: str, warning: str, records: list[Record]) -> None:
        """A page read leniently: a warning for the job, and one on each of its records."""
        self.context.warnings.append(f"The {what} is {warning} ({len(records)} records from it carry a warning)")
        for record in records:
            record.warnings.append(f"Read from the {what}, which is {warning}")

    def read_page(self, url: str) -> tuple[list[Record], list[str], int | None, Page | None]:
        """The records at `url`, its next-page links, the total it announces, and the page parsed (None for an
        empty body, or a page recalled: the same as last time, all its records harvested unchanged). A page
        read strictly is remembered; one read leniently is reported instead."""
        response = self.http.get(url, headers={"Accept": ACCEPT})
        memory = self.context.pages
        if memory is not None and (recalled := memory.recall(url, response.content)) is not None:
            records, notes = recalled
            return records, notes["next"], notes["total"], None
        if not response.content.strip():
            return [], [], None, None
        page = Page(response.content, guess_format(url, media_type(response), response.content), base_iri=response.url)
        records, next_pages, total = list(page_records(page)), page.next_pages(), page.total_items()
        if page.warning:
            self.report_lenient(f"page {url}", page.warning, records)
        elif memory is not None and records:
            memory.remember(url, response.content, records, {"next": next_pages, "total": total})
        return records, next_pages, total, page

    def map(self, record: Record) -> Mapped:
        if not record.data:
            raise SkipRecord("empty record")
        if record.kind == "dataservice":
            return map_dataservice(record.data, self.extra("language"))
        return map_dataset(record.data, self.extra("language"), self.context.licenses)
