"""CSW 2.0.2 GetRecords paging, shared by the CSW backends.

One POSTed GetRecords per page (resultType=results, ElementSetName full, sorted by identifier),
paged by `nextRecord` until the server says it is done, goes beyond what it matched, returns
nothing or stops advancing; fewer records than it matched by then fail the gather as incomplete.
A page's records are yielded as lxml elements; the caller maps them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from backends.base import ErrorAnswer, GatherError, Http, HttpError, IncompleteGather, Option, parse_xml

CSW = "http://www.opengis.net/cat/csw/2.0.2"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
PAGE_SIZE_OPTION = Option(
    "page_size", "Page size", int, f"Records asked per GetRecords request (1 to {MAX_PAGE_SIZE})",
    default=DEFAULT_PAGE_SIZE,
)

# The ISO Application Profile's queryables are case-sensitive on pycsw (`apiso:Type`), while some
# GeoNetwork versions only know them lowercased: the first page is retried with the other spelling.
QUERYABLE_SPELLINGS = (("apiso:Type", "apiso:Identifier"), ("apiso:type", "apiso:identifier"))

GET_RECORDS = """<?xml version="1.0" encoding="UTF-8"?>
<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"
    xmlns:ogc="http://www.opengis.net/ogc" xmlns:gmd="http://www.isotc211.org/2005/gmd"
    xmlns:apiso="http://www.opengis.net/cat/csw/apiso/1.0"
    service="CSW" version="2.0.2" resultType="results" outputFormat="application/xml"
    startPosition="{start}" maxRecords="{size}" outputSchema={schema}>
  <csw:Query typeNames="gmd:MD_Metadata">
    <csw:ElementSetName>full</csw:ElementSetName>
    <csw:Constraint version="1.1.0">
      <ogc:Filter>{filter}</ogc:Filter>
    </csw:Constraint>
    <ogc:SortBy>
      <ogc:SortProperty>
        <ogc:PropertyName>{identifier}</ogc:PropertyName>
        <ogc:SortOrder>ASC</ogc:SortOrder>
      </ogc:SortProperty>
    </ogc:SortBy>
  </csw:Query>
</csw:GetRecords>
"""
TYPE_EQUALS = """
        <ogc:PropertyIsEqualTo>
          <ogc:PropertyName>{queryable}</ogc:PropertyName>
          <ogc:Literal>{value}</ogc:Literal>
        </ogc:PropertyIsEqualTo>"""


def get_records_body(schema: str, start: int, size: int, types: tuple[str, ...], spelling: int = 0) -> bytes:
    """The GetRecords request for one page: records of the given hierarchy levels, sorted by identifier."""
    type_name, identifier = QUERYABLE_SPELLINGS[spelling]
    tests = "".join(TYPE_EQUALS.format(queryable=type_name, value=value) for value in types)
    condition = f"<ogc:Or>{tests}</ogc:Or>" if len(types) > 1 else tests
    return GET_RECORDS.format(schema=quoteattr(schema), start=start, size=size, filter=condition,
                              identifier=identifier).encode()


class CswException(GatherError):
    """The server answered an ows:ExceptionReport."""


@dataclass(frozen=True)
class SearchPage:
    """One GetRecords answer: its records and what it says about the next page."""

    start: int
    records: list[etree._Element]
    matched: int | None
    next_record: int | None

    def next_start(self) -> int | None:
        """Where the next page starts, or None when paging must stop."""
        following = self.next_record
        if not self.records or not following:  # nothing returned, nextRecord 0 or unreadable
            return None
        if self.matched is not None and following > self.matched:
            return None
        return following if following > self.start else None  # a nextRecord that does not advance


class CswClient:
    def __init__(self, http: Http, url: str, output_schema: str, page_size: int,
                 record_types: tuple[str, ...], announce: Callable[[int | None], None] = lambda total: None) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise GatherError(f"Page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        self.http = http
        self.url = url
        self.output_schema = output_schema
        self.page_size = page_size
        self.record_types = record_types
        self.announce = announce  # told the number of records the server matched (numberOfRecordsMatched)
        self.spelling = 0

    def pages(self) -> Iterator[SearchPage]:
        """Every page of the result set, fetched one at a time; fewer records than the last page says the server
        matched (`numberOfRecordsMatched`) make the gather incomplete."""
        page = self.first_page()
        received = 0
        while True:
            self.announce(page.matched)
            yield page
            received += len(page.records)
            start = page.next_start()
            if not start:
                break
            page = self.fetch(start)
        if page.matched is not None and received < page.matched:
            raise IncompleteGather(f"{self.url} matched {page.matched} records (numberOfRecordsMatched)",
                                   f"its pages returned {received}")

    def records(self) -> Iterator[tuple[int, etree._Element]]:
        """Every record with its position in the result set (1-based)."""
        for page in self.pages():
            for offset, element in enumerate(page.records):
                yield page.start + offset, element

    def first_page(self) -> SearchPage:
        try:
            return self.fetch(1)
        except CswException as refused:
            self.spelling = 1
            try:
                return self.fetch(1)
            except CswException:
                raise refused from None

    def fetch(self, start: int) -> SearchPage:
        body = get_records_body(self.output_schema, start, self.page_size, self.record_types, self.spelling)
        try:
            response = self.http.post(self.url, data=body, headers={"Content-Type": "application/xml"})
        except HttpError as error:
            answer = ErrorAnswer.of(error)
            if answer is not None and answer.xml is not None and (message := report_message(answer.xml)):
                raise CswException(message) from None
            raise
        return search_page(start, response.content, self.url)


def search_page(start: int, content: bytes, url: str) -> SearchPage:
    """Read a GetRecordsResponse; an ows:ExceptionReport or anything else fails the job."""
    root = parse_xml(content, url)
    if message := report_message(root):
        raise CswException(message)
    results = root.find(f"{{{CSW}}}SearchResults")
    if etree.QName(root).localname != "GetRecordsResponse" or results is None:
        raise GatherError(f"Unexpected CSW answer from {url}: <{etree.QName(root).localname}> "
                          "instead of a GetRecordsResponse with SearchResults")
    return SearchPage(
        start=start,
        records=[child for child in results if isinstance(child.tag, str)],
        matched=_int(results.get("numberOfRecordsMatched")),
        next_record=_int(results.get("nextRecord")),
    )


def report_message(root: etree._Element) -> str | None:
    """'Failed to query CSW: <code> (<locator>): <text>' for any OWS version's ExceptionReport."""
    if not isinstance(root.tag, str) or etree.QName(root).localname != "ExceptionReport":
        return None
    parts = []
    for exception in root.iter("{*}Exception"):
        label = " ".join(filter(None, [exception.get("exceptionCode"),
                                       f"({exception.get('locator')})" if exception.get("locator") else None]))
        text = " ".join(" ".join(t.split()) for t in exception.itertext() if t.strip())
        parts.append(": ".join(filter(None, [label, text])))
    detail = "; ".join(filter(None, parts)) or " ".join(" ".join(root.itertext()).split())
    return f"Failed to query CSW: {detail}" if detail else "Failed to query CSW"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def position_id(position: int) -> str:
    """The stand-in identifier of a record whose own cannot be read: its rank in the result set."""
    return f"csw-record-{position}"
