"""CSW records asked as DCAT (or GeoDCAT-AP) RDF/XML, each mapped with the DCAT mapping."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree
from pyoxigraph import RdfFormat

from backends.base import GatherError, Option, Record
from backends.csw.client import PAGE_SIZE_OPTION, CswClient, position_id
from backends.dcat import DcatBackend
from backends.dcat.rdf import DCAT, DCT, Page
from backends.dcat.records import page_records
from backends.dcat.vocabularies import FOAF
from backends.normalize import is_http_url

DCAT_SCHEMA = "http://www.w3.org/ns/dcat#"
GEODCAT_SCHEMA = "http://data.europa.eu/930/"
RECORD_TYPES = ("dataset", "nonGeographicDataset", "series", "service")
#: Base of the relative IRIs some servers emit (GeoNetwork's GeoDCAT-AP names a dataset by its bare
#: identifier): resolving them against the CSW endpoint would make up URLs that do not exist.
RELATIVE_BASE = "urn:x-csw-relative:/"
RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
#: What a record describes, named by its rdf:about when nothing else names it.
DESCRIBED = ("Dataset", "DatasetSeries", "DataService")


class CswDcatBackend(DcatBackend):
    name = "csw-dcat"
    display_name = "CSW-DCAT"
    features = (
        *DcatBackend.features,
        Option("geodcatap", "GeoDCAT-AP", bool,
               "Ask for GeoDCAT-AP (outputSchema http://data.europa.eu/930/); the server must support it",
               default=False),
    )
    extra_configs = (*DcatBackend.extra_configs, PAGE_SIZE_OPTION)

    def gather(self) -> Iterator[Record]:
        schema = GEODCAT_SCHEMA if self.feature("geodcatap") else DCAT_SCHEMA
        client = CswClient(self.http, self.url, schema, self.extra("page_size"), RECORD_TYPES,
                           self.context.announce)
        for position, element in client.records():
            yield from self.record_datasets(position, element)

    def record_datasets(self, position: int, element: etree._Element) -> Iterator[Record]:
        """The datasets (and data services) of one CSW record, or one failed item saying why there are none."""
        try:
            page = Page(etree.tostring(element), RdfFormat.RDF_XML, base_iri=RELATIVE_BASE)
        except GatherError as error:
            reason = str(error).replace(f" from {RELATIVE_BASE}", "")
            yield Record(remote_id=_identifier(element, position), error=f"CSW record {position}: {reason}")
            return
        records = [identified(record, page, position) for record in page_records(page)]
        if page.warning:
            self.report_lenient(f"CSW record {position}", page.warning, records)
        yield from records
        if not records:
            yield Record(remote_id=_identifier(element, position), error=f"CSW record {position} holds no DCAT dataset")


def identified(record: Record, page: Page, position: int) -> Record:
    """A record named by the dct:identifier of its catalog record (`foaf:isPrimaryTopicOf`, as GeoNetwork and
    SEMIC's stylesheet write the fileIdentifier) when the resource itself has none; else, skipped, by its
    position in the result set."""
    if record.remote_id:
        return record
    identifier = catalog_record_identifier(page, record.data["@id"])
    if identifier:
        return Record(remote_id=identifier, remote_url=record.remote_url, data=record.data, kind=record.kind)
    reason = f"CSW record {position}: missing identifier (none on the resource nor on its catalog record)"
    return Record(remote_id=position_id(position), remote_url=record.remote_url, kind=record.kind, skip_reason=reason)


def catalog_record_identifier(page: Page, subject: str) -> str | None:
    for topic in page.graph.get(subject, {}).get(FOAF + "isPrimaryTopicOf", ()):
        literals = page.graph.get(topic.get("@id", ""), {}).get(DCT + "identifier", ())
        if text := next((value["@value"].strip() for value in literals if value.get("@value", "").strip()), None):
            return text
    return None


def _identifier(element: etree._Element, position: int) -> str:
    """The record's dct:identifier read from its XML, else the URI of the dataset or service it describes,
    else its position."""
    text = next((node.text.strip() for node in element.iter(f"{{{DCT}}}identifier") if node.text and node.text.strip()),
                None)
    described = (node.get(RDF_ABOUT, "").strip() for node in element.iter(*(f"{{{DCAT}}}{kind}" for kind in DESCRIBED)))
    return text or next((uri for uri in described if is_http_url(uri)), None) or position_id(position)
