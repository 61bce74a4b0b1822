"""CSW records asked as DCAT (or GeoDCAT-AP) RDF/XML, each mapped with the DCAT mapping."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree
from pyoxigraph import RdfFormat

from backends.base import GatherError, Option, Record
from backends.csw.client import PAGE_SIZE_OPTION, CswClient, check_record, invalid_record, position_id
from backends.dcat import DcatBackend
from backends.dcat.rdf import DCT, Page
from backends.dcat.records import page_records
from harvesters.models import Mapped

DCAT_SCHEMA = "http://www.w3.org/ns/dcat#"
GEODCAT_SCHEMA = "http://data.europa.eu/930/"
RECORD_TYPES = ("dataset", "nonGeographicDataset", "series", "service")
#: Base of the relative IRIs some servers emit (GeoNetwork's GeoDCAT-AP names a dataset by its bare
#: identifier): resolving them against the CSW endpoint would make up URLs that do not exist.
RELATIVE_BASE = "urn:x-csw-relative:/"


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
        client = CswClient(self.http, self.url, schema, self.extra("page_size"), RECORD_TYPES)
        for position, element in client.records():
            yield from self.record_datasets(position, element)

    def record_datasets(self, position: int, element: etree._Element) -> Iterator[Record]:
        """The datasets (and data services) of one CSW record, or one failed item saying why there are none."""
        try:
            page = Page(etree.tostring(element), RdfFormat.RDF_XML, base_iri=RELATIVE_BASE)
        except GatherError as error:
            reason = str(error).replace(f" from {RELATIVE_BASE}", "")
            yield invalid_record(_identifier(element, position), f"CSW record {position}: {reason}")
            return
        records = list(page_records(page))
        if page.warning:
            self.report_lenient(f"CSW record {position}", page.warning, records)
        yield from records
        if not records:
            yield invalid_record(_identifier(element, position), f"CSW record {position} holds no DCAT dataset")

    def map(self, record: Record) -> Mapped:
        check_record(record)
        return super().map(record)


def _identifier(element: etree._Element, position: int) -> str:
    """The record's dct:identifier read from its XML, else its position."""
    text = next((node.text.strip() for node in element.iter(f"{{{DCT}}}identifier") if node.text and node.text.strip()),
                None)
    return text or position_id(position)
