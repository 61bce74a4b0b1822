"""The vocabularies more than one protocol reads (DCAT and ISO 19139 alike), and what reading them takes.

Languages (their ISO 639 codes), the INSPIRE themes and the INSPIRE limitations on public access, the EU
high-value dataset categories, the OGC service protocols, udata's contact point roles and the titles udata
gives a resource without one. A backend's own vocabulary stays in the backend (backends/dcat/vocabularies.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

from harvesters.licenses import title_key

# --- languages ----------------------------------------------------------------------------------------

LANGUAGE_CODES: tuple[frozenset[str], ...] = (
    frozenset({"fr", "fre", "fra"}),
    frozenset({"en", "eng"}),
    frozenset({"de", "ger", "deu"}),
    frozenset({"es", "spa"}),
    frozenset({"it", "ita"}),
    frozenset({"nl", "dut", "nld"}),
    frozenset({"pt", "por"}),
)


@lru_cache(maxsize=64)
def language_codes(language: str) -> frozenset[str]:
    """The ISO 639-1/639-2 codes naming `language` (`fr` -> fr, fre, fra)."""
    code = language.strip().lower().split("-")[0]
    return next((codes for codes in LANGUAGE_CODES if code in codes), frozenset({code}))


@lru_cache(maxsize=256)
def language_key(tag: str) -> str:
    """One key per language whatever its spelling: `fr-FR`, `fre`, `FRA` -> `fr`; empty for untagged."""
    codes = language_codes(tag) if tag else frozenset({""})
    return min(codes, key=lambda code: (len(code), code))


# --- INSPIRE ------------------------------------------------------------------------------------------

INSPIRE_TAG = "inspire"
INSPIRE_THEMES = "http://inspire.ec.europa.eu/theme"
INSPIRE_THEME_SCHEME_TITLE = "GEMET - INSPIRE themes, version 1.0"


def is_inspire_theme_uri(uri: str | None) -> bool:
    """Whether a URI names an INSPIRE theme (or the theme register itself), over http or https."""
    return (uri or "").replace("https://", "http://", 1).startswith(INSPIRE_THEMES)


def is_inspire_themes_title(title: str | None) -> bool:
    """Whether a thesaurus or concept scheme title is the INSPIRE themes' (`GEMET - INSPIRE themes, version 1.0`)."""
    return bool(title) and title_key(title or "") == title_key(INSPIRE_THEME_SCHEME_TITLE)


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
_LIMITATION_BY_LABEL = {title_key(label): category for category, label in INSPIRE_LIMITATION_CATEGORIES.values()}


def inspire_limitation(values: list[str]) -> str | None:
    """The udata reason category of an INSPIRE Article 13(1) limitation named by URI or French label."""
    for value in values:
        code = value.removeprefix(INSPIRE_LIMITATIONS.replace("http://", "https://")).removeprefix(INSPIRE_LIMITATIONS)
        if code in INSPIRE_LIMITATION_CATEGORIES:
            return INSPIRE_LIMITATION_CATEGORIES[code][0]
        if category := _LIMITATION_BY_LABEL.get(title_key(value)):
            return category
    return None


# --- EU high-value datasets ---------------------------------------------------------------------------

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
#: A high-value dataset category's URI, as data.europa.eu or publications.europa.eu write it.
HVD_URI = re.compile(r"^https?://(data\.europa\.eu|publications\.europa\.eu/resource/authority)/bna/", re.IGNORECASE)


# --- services, contacts, resources --------------------------------------------------------------------

#: OGC service protocols, the resource format of a distribution served through one.
OGC_PROTOCOLS = ("wms", "wfs", "wmts", "wcs", "wps", "csw", "sos")

#: udata's contact point roles (GeoDCAT-AP's names for them).
UDATA_CONTACT_ROLES = frozenset({
    "contact", "publisher", "creator", "rightsHolder", "custodian", "distributor", "originator",
    "principalInvestigator", "processor", "resourceProvider", "user",
})

#: Titles of a resource without one (udata's words on a portal of that language): with its format, without.
FALLBACK_TITLES: dict[str, tuple[str, str]] = {
    "fr": ("Ressource {format}", "Ressource sans nom"),
    "en": ("{format} resource", "Nameless resource"),
    "de": ("Ressource {format}", "Ressource ohne Namen"),
    "es": ("Recurso {format}", "Recurso sin nombre"),
    "it": ("Risorsa {format}", "Risorsa senza nome"),
}


def fallback_title(fmt: str | None, language: str) -> str:
    """The title of a resource that has none, in `language` (udata's words on a French portal)."""
    with_format, nameless = FALLBACK_TITLES.get(language_key(language), FALLBACK_TITLES["en"])
    return with_format.format(format=fmt.lower()) if fmt else nameless
