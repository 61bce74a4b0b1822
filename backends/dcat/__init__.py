"""DCAT: any RDF serialization (RDF/XML, Turtle, N-Triples, N3, TriG, JSON-LD), Hydra paging."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

from backends.base import Backend, GatherError, IncompleteGather, Option, Record, SkipRecord
from backends.dcat.mapping import map_dataservice, map_dataset
from backends.dcat.rdf import ACCEPT, Page, guess_format
from backends.dcat.records import page_records
from harvesters.http import media_type
from harvesters.models import Mapped


class DcatBackend(Backend):
    name = "dcat"
    display_name = "DCAT"
    extra_configs = (
        Option("language", "Preferred language", str, "Language of the literals to keep (fr, en...)", default="fr"),
    )

    def gather(self) -> Iterator[Record]:
        """Every page's records, following Hydra `next` / `nextPage` links.

        A page is never fetched twice; a page repeating the previous one (a server ignoring the page
        parameter) fails the job rather than looping. The gather must read what the catalog announced: a
        next page that is empty, or pages holding fewer records than `hydra:totalItems`, make it incomplete.
        A page read leniently is reported on the job and on each of its records.
        """
        visited: set[str] = set()
        previous: set[str] = set()
        announced: int | None = None
        received = 0
        url: str | None = self.url
        referrer: str | None = None
        while url and url not in visited:
            visited.add(url)
            page = self.fetch_page(url)
            records = list(page_records(page)) if page else []
            identifiers = {record.remote_id for record in records}
            if identifiers and identifiers == previous:
                raise GatherError(f"The page {url} repeats the datasets of the previous page: paging stopped")
            if page and page.warning:
                self.report_lenient(f"page {url}", page.warning, records)
            yield from records
            if not records:
                if referrer:
                    raise IncompleteGather(f"{referrer} links to a next page, {url} (hydra:next)",
                                           "that page " + ("has an empty body" if page is None else "holds no dataset"))
                if page is None:
                    raise GatherError(f"{url} answered with an empty body")
                return
            received += len(records)
            announced = page.total_items() if announced is None else announced
            previous = identifiers
            links = (urljoin(url, link.strip()) for link in page.next_pages() if link.strip())
            referrer, url = url, next((link for link in links if link not in visited), None)
        if announced is not None and received < announced:
            raise IncompleteGather(f"{self.url} announced {announced} datasets (hydra:totalItems)",
                                   f"its pages held {received}")

    def report_lenient(self, what: str, warning: str, records: list[Record]) -> None:
        """A page read leniently: a warning for the job, and one on each of its records."""
        self.context.warnings.append(f"The {what} is {warning} ({len(records)} records from it carry a warning)")
        for record in records:
            record.warnings.append(f"Read from the {what}, which is {warning}")

    def fetch_page(self, url: str) -> Page | None:
        """The page at `url`, or None for an empty body."""
        response = self.http.get(url, headers={"Accept": ACCEPT})
        if not response.content.strip():
            return None
        fmt = guess_format(url, media_type(response), response.content)
        return Page(response.content, fmt, base_iri=response.url)

    def map(self, record: Record) -> Mapped:
        if not record.data:
            raise SkipRecord("empty record")
        if record.kind == "dataservice":
            return map_dataservice(record.data, self.extra("language"))
        return map_dataset(record.data, self.extra("language"), self.context.licenses)
