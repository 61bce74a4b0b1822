"""DCAT: any RDF serialization (RDF/XML, Turtle, N-Triples, N3, TriG, JSON-LD), Hydra paging."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urljoin

from backends.base import Backend, GatherError, Option, Record, SkipRecord
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

        A page is never fetched twice; an empty page ends the paging; a page repeating the previous
        one (a server ignoring the page parameter) fails the job rather than looping.
        """
        visited: set[str] = set()
        previous: set[str] = set()
        url: str | None = self.url
        while url and url not in visited:
            visited.add(url)
            records, next_pages = self.read_page(url)
            identifiers = {record.remote_id for record in records}
            if identifiers and identifiers == previous:
                raise GatherError(f"The page {url} repeats the datasets of the previous page: paging stopped")
            yield from records
            if not records:
                return
            previous = identifiers
            links = (urljoin(url, link.strip()) for link in next_pages if link.strip())
            url = next((link for link in links if link not in visited), None)

    def read_page(self, url: str) -> tuple[list[Record], list[str]]:
        """A page's records and its next-page links: recalled when the page is the same as last time and
        all its records were harvested unchanged, else parsed (and remembered)."""
        response = self.http.get(url, headers={"Accept": ACCEPT})
        memory = self.context.pages
        if memory is not None and (recalled := memory.recall(url, response.content)) is not None:
            return recalled
        page = Page(response.content, guess_format(url, media_type(response), response.content),
                    base_iri=response.url)
        records, next_pages = list(page_records(page)), page.next_pages()
        if memory is not None:
            memory.remember(url, response.content, records, next_pages)
        return records, next_pages



    def map(self, record: Record) -> Mapped:
        if not record.data:
            raise SkipRecord("empty record")
        if record.kind == "dataservice":
            return map_dataservice(record.data, self.extra("language"))
        return map_dataset(record.data, self.extra("language"), self.context.licenses)
