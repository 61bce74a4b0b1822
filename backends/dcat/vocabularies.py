"""Namespaces and the controlled vocabularies the DCAT mapping recognises (those ISO 19139 reads too are in
backends/vocabularies.py)."""

from __future__ import annotations

from backends.dcat.rdf import DCAT, DCT, RDFS
from backends.vocabularies import OGC_PROTOCOLS

SKOS = "http://www.w3.org/2004/02/skos/core#"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
ORG = "http://www.w3.org/ns/org#"
SPDX = "http://spdx.org/rdf/terms#"
SCHEMA = "http://schema.org/"
SCHEMA_HTTPS = "https://schema.org/"
SCV = "http://purl.org/NET/scovo#"
TIME = "http://www.w3.org/2006/time#"
GEODCAT = "http://data.europa.eu/930/"
LOCN = "http://www.w3.org/ns/locn#"
ADMS = "http://www.w3.org/ns/adms#"
DQV = "http://www.w3.org/ns/dqv#"
OWL = "http://www.w3.org/2002/07/owl#"
DCATAP = "http://data.europa.eu/r5r/"

#: Predicates naming the label of a concept, agent or document, by preference.
#: `describedBy` of DCAT-US (POWDER-S; the bundled POD context writes the POWDER namespace): documentation.
DESCRIBED_BY = ("http://www.w3.org/2007/05/powder-s#describedby", "http://www.w3.org/2007/05/powder#describedby")
LABELS = (SKOS + "prefLabel", RDFS + "label", DCT + "title", FOAF + "name", VCARD + "fn")

#: Literal datatypes carrying a geometry (any predicate).
GEOJSON_DATATYPES = frozenset({
    "https://www.iana.org/assignments/media-types/application/vnd.geo+json",
    "http://www.iana.org/assignments/media-types/application/vnd.geo+json",
    "http://www.opengis.net/ont/geosparql#geojsonliteral",
})
WKT_DATATYPES = frozenset({"http://www.opengis.net/ont/geosparql#wktliteral", "http://www.opengis.net/rdf#wktliteral"})

#: Who a dataset names, and the udata contact point role each becomes (in this order).
CONTACT_ROLES: tuple[tuple[str, str], ...] = (
    (DCAT + "contactPoint", "contact"),
    (ADMS + "contactPoint", "contact"),  # older DCAT-AP profiles and the POD JSON-LD example
    (DCT + "publisher", "publisher"),
    (DCT + "creator", "creator"),
    (DCT + "rightsHolder", "rightsHolder"),
    (GEODCAT + "custodian", "custodian"),
    (GEODCAT + "distributor", "distributor"),
    (GEODCAT + "originator", "originator"),
    (GEODCAT + "principalInvestigator", "principalInvestigator"),
    (GEODCAT + "processor", "processor"),
    (GEODCAT + "resourceProvider", "resourceProvider"),
    (GEODCAT + "user", "user"),
)

EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA_MEDIA_TYPES = ("https://www.iana.org/assignments/media-types/", "http://www.iana.org/assignments/media-types/")

#: An OGC protocol named by an access service (`geodcatap:serviceProtocol`, `dct:conformsTo`) in any of the usual
#: spellings (`http://www.opengeospatial.org/standards/wms`, `.../serviceType/ogc/wfs`, `OGC:WMS-1.3.0-http-get-map`).
PROTOCOL_PATTERN = rf"(?<![a-z])({'|'.join(sorted(OGC_PROTOCOLS, key=len, reverse=True))})(?![a-z])"

#: The EU access-right vocabulary and the udata access type each gives.
EU_ACCESS_RIGHT = "http://publications.europa.eu/resource/authority/access-right/"
EU_ACCESS_TYPES: dict[str, str] = {"PUBLIC": "open", "RESTRICTED": "restricted", "NON_PUBLIC": "restricted"}

#: Media types and the resource format udata shows for them (others: their subtype).
FORMAT_BY_MEDIA_TYPE: dict[str, str] = {
    "text/csv": "csv", "application/json": "json", "application/geo+json": "geojson",
    "application/vnd.geo+json": "geojson", "application/xml": "xml", "text/xml": "xml", "application/rdf+xml": "rdf",
    "text/turtle": "ttl", "application/ld+json": "jsonld", "application/zip": "zip", "application/pdf": "pdf",
    "text/html": "html", "text/plain": "txt", "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": "ods", "application/gml+xml": "gml",
    "application/vnd.google-earth.kml+xml": "kml", "application/vnd.google-earth.kmz": "kmz",
    "application/x-shapefile": "shp", "application/x-netcdf": "netcdf", "image/tiff": "tiff",
}

#: `dct:conformsTo` values that name a metadata profile or a regulation, not the schema of a distribution.
PROFILE_PREFIXES = ("http://dcat-ap.de/def/", "http://data.europa.eu/eli/", "http://data.europa.eu/930/",
                    "http://data.europa.eu/r5r/", "http://inspire.ec.europa.eu/")

#: Quality metrics of a spatial resolution (GeoDCAT-AP, `dqv:isMeasurementOf`), kept as `dcat` extras.
SPATIAL_RESOLUTION_METRICS = ("spatialResolutionInMeters", "spatialResolutionAsScale",
                              "spatialResolutionAsDistance", "spatialResolutionAsAngularDistance")

#: OWL-Time duration parts (`time:DurationDescription`) and their ISO 8601 designator.
TIME_DURATION_PARTS = (("years", "Y"), ("months", "M"), ("weeks", "W"), ("days", "D"))
TIME_DURATION_TIME_PARTS = (("hours", "H"), ("minutes", "M"))
