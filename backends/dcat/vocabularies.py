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
#: Service standards (dct:conformsTo of an access service) and the resource format they give.
OGC_STANDARDS = "http://www.opengeospatial.org/standards/"
OGC_PROTOCOLS = ("wms", "wfs", "wmts", "wcs", "wps", "csw", "sos")
