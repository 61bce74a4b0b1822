"""Namespaces and the controlled vocabularies the DCAT mapping recognises."""

from __future__ import annotations

from backends.dcat.rdf import DCAT, DCT, RDFS

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

#: EU High-Value Dataset categories and the tag udata gives each (plus `hvd`).
HVD_CATEGORIES: dict[str, str] = {
    "http://data.europa.eu/bna/c_164e0bf5": "Météorologiques",
    "http://data.europa.eu/bna/c_a9135398": "Entreprises et propriété d'entreprises",
    "http://data.europa.eu/bna/c_ac64a52d": "Géospatiales",
    "http://data.europa.eu/bna/c_b79e35eb": "Mobilité",
    "http://data.europa.eu/bna/c_dd313021": "Observation de la terre et environnement",
    "http://data.europa.eu/bna/c_e1da4e07": "Statistiques",
}
HVD_TAG = "hvd"
HVD_LEGISLATION = "http://data.europa.eu/eli/reg_impl/2023/138/oj"
INSPIRE_TAG = "inspire"
INSPIRE_THEMES = "http://inspire.ec.europa.eu/theme"
INSPIRE_THEME_SCHEME_TITLE = "GEMET - INSPIRE themes, version 1.0"

INSPIRE_LIMITATIONS = "http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
#: INSPIRE Article 13(1) limitations on public access: code -> (udata reason category, French label).
INSPIRE_LIMITATION_CATEGORIES: dict[str, tuple[str, str]] = {
    "INSPIRE_Directive_Article13_1a": (
        "confidentiality_of_proceedings_of_public_authorities",
        "L124-4-I-1 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.a)",
    ),
    "INSPIRE_Directive_Article13_1b": (
        "international_relations_public_security_or_national_defence",
        "L124-5-II-1 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.b)",
    ),
    "INSPIRE_Directive_Article13_1c": (
        "course_of_justice_or_fair_trial",
        "L124-5-II-2 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.c)",
    ),
    "INSPIRE_Directive_Article13_1d": (
        "confidentiality_of_commercial_or_industrial_information",
        "L124-4-I-1 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.d)",
    ),
    "INSPIRE_Directive_Article13_1e": (
        "intellectual_property_rights",
        "L124-5-II-3 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.e)",
    ),
    "INSPIRE_Directive_Article13_1f": (
        "confidentiality_of_personal_data",
        "L124-4-I-1 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.f)",
    ),
    "INSPIRE_Directive_Article13_1g": (
        "protection_of_voluntary_information_suppliers",
        "L124-4-I-3 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.g)",
    ),
    "INSPIRE_Directive_Article13_1h": (
        "protection_of_environment",
        "L124-4-I-2 du code de l'environnement (Directive 2007/2/CE (INSPIRE), Article 13.1.h)",
    ),
}

EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA_MEDIA_TYPES = ("https://www.iana.org/assignments/media-types/", "http://www.iana.org/assignments/media-types/")

#: OGC service protocols, the resource format of a distribution served through one.
OGC_PROTOCOLS = ("wms", "wfs", "wmts", "wcs", "wps", "csw", "sos")
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

#: Titles of a resource without one (udata's words on a portal of that language): with its format, without.
FALLBACK_TITLES: dict[str, tuple[str, str]] = {
    "fr": ("Ressource {format}", "Ressource sans nom"),
    "en": ("{format} resource", "Nameless resource"),
    "de": ("Ressource {format}", "Ressource ohne Namen"),
    "es": ("Recurso {format}", "Recurso sin nombre"),
    "it": ("Risorsa {format}", "Risorsa senza nome"),
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
