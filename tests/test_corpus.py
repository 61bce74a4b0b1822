"""Every case of the shared corpus (../shared/corpus/manifest.json), served the way the manifest says and
harvested by the real Harvester into a fresh local store.

The expectations below were written by reading each document (the corpus' SOURCES.md says where each comes
from), not from our output: per case the items' counts, then per record the values that matter, read with
the accessors of VALUES. Cases failing today because of a point another part of issue 10 owns are marked
`xfail(strict=True)` with the point named, so that the mark is removed when the point lands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from lxml import etree

from backends.csw.iso19139 import KEYWORD_SEPARATORS
from backends.normalize import normalize_tag
from harvesters.pipeline import Harvester
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.servers.corpus import PARSER, Case, corpus_server, load_cases

pytestmark = pytest.mark.servers  # every case is served by the corpus server

Doc = dict[str, Any]

#: How a value is read from a local catalog document (dataset or data service).
VALUES: dict[str, Callable[[Doc], Any]] = {
    "title": lambda doc: doc["title"],
    "description": lambda doc: doc["description"],
    "resources": lambda doc: len(doc["resources"]),
    "formats": lambda doc: sorted({resource["format"] or "" for resource in doc["resources"]}),
    "resource_types": lambda doc: sorted(resource["type"] for resource in doc["resources"]),
    "mimes": lambda doc: sorted(resource["mime"] or "" for resource in doc["resources"]),
    "resource_urls": lambda doc: sorted(resource["url"] for resource in doc["resources"]),
    "resource_rights": lambda doc: [resource["extras"].get("dcat", {}).get("rights") for resource in doc["resources"]],
    "resource_titles": lambda doc: sorted(resource["title"] for resource in doc["resources"]),
    "schemas": lambda doc: sorted((resource.get("schema") or {}).get("url") or "" for resource in doc["resources"]),
    "license": lambda doc: doc["license"],
    "license_kept": lambda doc: doc["extras"].get("harvest:license"),
    "dcat_license": lambda doc: doc["extras"].get("dcat", {}).get("license"),
    "dcat": lambda doc: {key: value for key, value in doc["extras"].get("dcat", {}).items()
                         if key.startswith("spatialResolution")},
    "frequency": lambda doc: doc["frequency"],
    "tags": lambda doc: doc["tags"],
    "temporal": lambda doc: doc["temporal_coverage"] and (doc["temporal_coverage"]["start"],
                                                          doc["temporal_coverage"]["end"]),
    "places": lambda doc: doc["extras"].get("dcat", {}).get("spatial"),
    "polygons": lambda doc: len(doc["spatial"]["geom"]["coordinates"]) if doc["spatial"] else 0,
    "granularity": lambda doc: doc["spatial"] and doc["spatial"]["granularity"],
    "access": lambda doc: (doc["access_type"], doc["access_type_reason_category"]),
    "contacts": lambda doc: [(c["name"], c["email"], c["role"]) for c in doc["contact_points"]],
    "contact_forms": lambda doc: [c["contact_form"] for c in doc["contact_points"]],
    "remote_url": lambda doc: doc["harvest"]["remote_url"],
    "dct_identifier": lambda doc: doc["harvest"]["dct_identifier"],
    "issued": lambda doc: doc["harvest"]["issued_at"],
    "modified": lambda doc: doc["harvest"]["modified_at"],
    "created": lambda doc: doc["harvest"]["created_at"],
    # data services
    "base_api_url": lambda doc: doc["base_api_url"],
    "served": lambda doc: len(doc["datasets"]),
}
#: Values compared as "contains at least these", and as "starts with".
SUBSETS = frozenset({"tags"})
PREFIXES = frozenset({"description"})


@dataclass(frozen=True)
class Expected:
    """What harvesting a case gives: item counts, the job's status, and values per remote id."""

    created: int
    failed: int = 0
    skipped: int = 0
    status: str = "done"
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataservices: dict[str, dict[str, Any]] = field(default_factory=dict)
    xfail: str | None = None  # the issue 10 point another helper owns, when it fails because of it


PHILADELPHIA = {
    "2009-2012-police-advisory-commission-complaints": {
        "title": "2009-2012 Police Advisory Commission Complaints",
        "resources": 4,  # 5 distributions, the CSV and SHP ones naming the same URL
        "formats": ["api", "csv", "geojson", "html"],
        "tags": ["police-advisory-commission", "public-safety"],
        "contacts": [("City of Philadelphia Open Data Program", "maps@phila.gov", "contact"),
                     ("City of Philadelphia", None, "publisher")],
        "license": "notspecified",
        "license_kept": "https://metadata.phila.gov/#help/help-faqs/what-are-the-terms-of-use/",
        "modified": None,  # "modified": null
    },
    "2020-census-police-district-crosswalk": {
        "title": "2020 Census to Police District Crosswalk", "resources": 1, "formats": ["csv"],
        "contacts": [("Lance Hannon", "Lance.Hannon@Villanova.edu", "contact"),
                     ("Villanova University", None, "publisher")],
        "license_kept": "https://opendataphilly.org/licenses/other",
    },
    "311-service-and-information-requests": {"frequency": "daily"},  # "modified": "R/P1D"
    "crime-incidents": {"title": "Crime Incidents", "frequency": "daily"},
}
CFTC = {
    "cftc-dc1": {"title": "Commitment of Traders", "frequency": "weekly", "modified": None,
                 # its distribution, and its describedBy (the explanatory notes) as documentation
                 "resources": 2, "resource_types": ["documentation", "main"],
                 "places": ["United States"], "polygons": 0,  # "spatial": a place name, kept in extras
                 "contacts": [("Harold W. Hild", "hhild@CFTC.GOV", "contact"),
                              ("U.S. Commodity Futures Trading Commission", None, "publisher")],
                 "tags": ["commitment-of-traders", "cot", "open-interest"]},
    "cftc-dc2": {"title": "Bank Participation Reports", "frequency": "monthly"},
    "cftc-dc5": {"title": "Net Positions Changes Data", "frequency": "unknown",
                 "modified": "2011-06-30T00:00:00Z"},
}
ATOM_SERVICE = {
    "title": "Service de téléchargement ATOM pour Data50",
    "base_api_url": "https://atom.cuzk.gov.cz/Data50/Data50.xml",
    "tags": ["atom", "base-de-donnees-topographique", "inspire", "service-de-telechargement", "transport"],
    "contacts": [
        ("Bureau tchèque de topographie, de cartographie et du cadastre", "cuzk.helpdesk@cuzk.gov.cz", "publisher"),
        ("Bureau tchèque de topographie, de cartographie et du cadastre", "cuzk.helpdesk@cuzk.gov.cz", "custodian"),
        ("Bureau tchèque de topographie, de cartographie et du cadastre", "cuzk.helpdesk@cuzk.gov.cz", "user"),
    ],
}
MARACOOS = ("AVHRR Sea Surface Temperature for MARACOOS (Mid-Atlantic Regional Association Coastal Ocean Observing "
            "System)")
AERIAL_PHOTOS = {f"{ident}": {"title": "Aerial Photos"} for ident in (
    "366f6257-19eb-4f20-ba78-0698ac4aae77", "75a7eb5e-336e-453d-ab06-209b1070d396",
    "a7308c0a-b748-48e2-bab7-0a608a51d416", "0173e0d7-6ea9-4407-b846-f29d6bfa9903")}
DEMO_CKAN = {
    "62513382-3b26-4bc8-9096-40b6ce8383c0": {"title": "100 Validated Species of Plants", "license": "other-open",
                                             "resources": 1},
    "9c3036b8-f6ac-4a4e-9036-5a3cc90c3900": {"title": "規管海外物業銷售", "license": "cc-by", "resources": 1},
    "17be64bb-da74-4195-9bb8-565c39846af2": {"title": "2016 Regione Asia Est Oceania * Classi di età",
                                             "license": "cc-by", "resources": 1},
}
DEMO_CKAN_CONTACTS = {"62513382-3b26-4bc8-9096-40b6ce8383c0": {
    "contacts": [("TKKIM", "misoh049@gmail.com", "contact"), ("TKKIM", "misoh049@gmail.com", "creator")]}}
HDX = {
    "87a5dbbc-db76-4a0f-a20f-5210a20a3bc9": {"title": "ACLED Conflict Data for Guinea", "resources": 1,
                                             "license": "cc-by-sa"},
    "d80ef63d-6b5e-4188-9e33-654155e03013": {"title": "ACLED Conflict Data for Eritrea", "resources": 2,
                                             "license": "cc-by-sa"},
}

EXPECTED: dict[str, Expected] = {
    # --- DCAT (static documents) --------------------------------------------------------------------------
    "ckanext-dcat-gob-es": Expected(1, datasets={
        "https://datos.madrid.es/egob/catalogo/300676-0-deporte-encuesta-escuelas": {
            "title": "Estudio de Satisfacción con el Programa de Escuelas Municipales de Promoción Deportiva en "
                     "centros escolares",
            "resources": 1, "formats": ["xls"],
            "frequency": "annual",  # a dct:Frequency whose rdf:value is time:years 1
            "tags": ["deporte-escolar", "escuelas", "promocion"],
            "contacts": [("Ayuntamiento de Madrid", None, "publisher")],  # a skos:Concept with a label
            "license": "notspecified", "license_kept": "https://datos.madrid.es/egob/catalogo/aviso-legal",
            "issued": "2024-04-15T09:08:02+02:00",  # the offset kept
        }}),
    "ckanext-dcat-gov-de": Expected(1, datasets={
        "c1be4007-d811-48fb-8818-2cb358b06a63": {
            "title": "Liefer- und Abholservices (Gastronomie)",
            "resources": 9, "formats": ["", "csv", "geojson", "gml", "kml", "wfs", "wms", "xlsx"],
            "license": "cc-zero",  # every distribution: http://dcat-ap.de/def/licenses/cc-zero
            "dcat_license": ["http://dcat-ap.de/def/licenses/cc-zero"],
            "access": ("open", None),  # EU access right PUBLIC
            "tags": ["hvd", "okonomie", "statistiques", "wirtschaft"],  # HVD category c_e1da4e07
            "contacts": [
                ("Hanse- und Universitätsstadt Rostock – Kataster-, Vermessungs- und Liegenschaftsamt",
                 "geodienste@rostock.de", "contact"),
                ("Hanse- und Universitätsstadt Rostock", None, "publisher"),
                ("Hanse- und Universitätsstadt Rostock – Kataster-, Vermessungs- und Liegenschaftsamt",
                 "geodienste@rostock.de", "creator"),
            ],
            "polygons": 1, "granularity": "other",  # GeoJSON and WKT of one polygon
            "remote_url": "https://www.opendata-hro.de/dataset/c1be4007-d811-48fb-8818-2cb358b06a63",
        }}),
    "ckanext-dcat-sweden-nobel": Expected(1, datasets={
        "http://nobelprize.org/datasets/dcat#ds1": {
            "title": "Linked Nobel prizes", "resources": 1, "formats": ["rdf"], "frequency": "daily",
            "temporal": ("1905-03-01", "2013-01-05"),
            "contacts": [("Nobel Media AB", "info@nobelmedia.org", "contact"),  # adms:contactPoint
                         ("Nobel Media AB", None, "publisher")],
            "license": "notspecified", "license_kept": "http://creativecommons.org/licenses/by-nc/3.0/",
            "dcat_license": ["http://creativecommons.org/licenses/by-nc/3.0/"],  # the distribution's, lifted
            "remote_url": "http://data.nobelprize.org/", "tags": ["nobel-prize", "prize", "science"],
        }}),
    "ckanext-dcat-afs": Expected(1, datasets={
        "http://example.com/data/test-dataset-1": {
            "title": "A test dataset on your catalogue", "resources": 2, "formats": ["csv", "html"],
            "tags": ["pollution", "stats"],
            "contacts": [("Name of the Publishing Organization", "contact@some.org", "publisher")],
            "dcat_license": ["https://url.to.license"], "license_kept": "https://url.to.license",
            "remote_url": "http://url.to.dataset.home", "modified": "2012-05-10T21:04:00Z",
        }}),
    "ckanext-dcat-deri": Expected(1, datasets={
        "http://data.london.gov.uk/dataset/Abandoned_Vehicles": {
            "title": "Abandoned Vehicles", "frequency": "annual", "resources": 1, "formats": ["txt"],
            "issued": None,  # "06/05/2009" is no ISO 8601 date
        }}),
    "ckanext-dcat-catalog-pod": Expected(1, datasets={
        "http://www.agency.gov/datasets/widgets-data": {
            "title": "U.S. Widget Manufacturing Statistics", "frequency": "annual",  # R/P1Y
            "license": "cc-zero",  # its context names http://purl.org/dc/terms/#license
            "temporal": ("2009-09-01", "2010-05-31"),
            "contacts": [("Jane Doe", "jane.doe@agency.gov", "contact"),
                         ("Widget Services", "widget.services@agency.gov", "publisher")],
            # 4 distributions and the dataset's describedBy data dictionary (documentation)
            "resources": 5, "formats": ["", "api", "csv", "json", "zipped csv"],
            "resource_types": ["documentation", "main", "main", "main", "main"],
            "schemas": ["", "", "", "", "http://www.agency.gov/widget-data-standard/"],
            "tags": ["factory", "manufacturing", "widget"],
            "remote_url": "http://agency.gov/widgets/data", "issued": "2011-11-22T00:00:00Z",
        }}),
    "ckanext-dcat-catalog-at-graph": Expected(1, datasets={
        "https://ckan.example.org/dataset/d4ce4e6e-ab89-44cb-bf5c-33a162c234de#dataset": {
            "title": "Title dataset", "license": "cc-zero", "resource_titles": ["download.zip"],
            "dcat_license": ["http://www.opendefinition.org/licenses/cc-zero"],
            "contacts": [("Jane Doe", "jane.doe@agency.gov", "contact")],
        }}),
    "ckanext-dcat-health": Expected(1, datasets={
        "http://example.com/dataset/1234567890": {
            "title": "HealthDCAT-AP test dataset", "access": ("restricted", None),  # access-right NON_PUBLIC
            "frequency": "daily", "temporal": ("2020-03-01", "2024-12-31"),
            "resources": 1, "formats": ["csv"],  # adms:sample is no distribution
            "resource_rights": [["_g_L202C11377", "internalURI:wasGeneratedBy0", "_g_L123C7733"]],  # 3 labels
            "contacts": [("Contact Point", "contact@example.com", "contact"),
                         ("Contact Point", "info@example.com", "publisher"),
                         ("Contact Point", "info@example.com", "creator")],
            "dcat": {"spatialResolutionInMeters": ["10"]},
            "license": "notspecified",
            "dcat_license": ["Creative Commons Attribution-NonCommercial-NoDerivs 3.0 Unported"],
            "tags": ["test-1", "test-2", "test-3"],
        }}),
    "ckanext-dcat-catalog": Expected(2, datasets={
        "https://data.some.org/catalog/datasets/1": {
            "title": "Example dataset 1", "resources": 3, "formats": ["", "csv", "pdf"],  # pdf: IMT rdf:value
            "contacts": [("Publishing Organization for dataset 1", "contact@some.org", "publisher")],
            "license_kept": "https://data.some.org/link/to/license", "tags": ["pollution", "stats"],
        },
        "https://data.some.org/catalog/datasets/2": {
            "title": "Example dataset 2", "resources": 2, "formats": ["html", "pdf"], "license_kept": None,
            "issued": "2012-06-21T00:00:00Z",
        }}),
    "datagov-cftc-data": Expected(7, datasets=CFTC),
    "datagov-cftc-data+type": Expected(7, datasets=CFTC),
    "datagov-philadelphia-data": Expected(402, datasets=PHILADELPHIA),
    "datagov-philadelphia-data+type": Expected(402, datasets=PHILADELPHIA),
    "datajson-arm": Expected(3, datasets={
        "10.5439/1027266": {
            "title": "Short Wave Flux Analysis: 1-min resolution on SKYAD data, Long algorithm",
            "dct_identifier": "10.5439/1027266",  # a DOI, kept in the harvest block
            "resource_titles": ["Ressource cdf"],  # no title, no file name: udata's French fallback
            "contacts": [("ARM Data Center", "adc@arm.gov", "contact"),
                         ("Atmospheric Radiation Measurement Data Center", None, "publisher")],
            "license_kept": "https://project-open-data.cio.gov/unknown-license",
            "modified": "2019-06-27T12:41:27Z",
        },
        "avhrr12": {"resource_titles": ["Ressource hdfjpg"]},
    }),
    "datajson-ny": Expected(1, datasets={
        "https://data.ny.gov/api/views/22ew-dxez": {
            "title": "State of New York Mortgage Agency (SONYMA) Loans Purchased: Beginning 2004",
            "resources": 4, "formats": ["csv", "json", "rdf", "xml"],  # from their media types
            "remote_url": "https://data.ny.gov/d/22ew-dxez", "tags": ["economic-development", "sonyma"],
            "contacts": [("Open Data NY", "opendata@its.ny.gov", "contact"), ("State of New York", None, "publisher")],
            "issued": "2016-07-21T00:00:00Z",
        }}),
    "datajson-geospatial": Expected(2, datasets={
        "tl_2013_us_county.shp.xml": {
            "modified": "2013-01-01T00:00:00Z",  # "2013": a partial date
            "resources": 2, "formats": ["xml", "zip"], "schemas": ["", "http://www.isotc211.org/2005/gmd"],
            "tags": ["geospatial", "nation", "polygon"],
            "polygons": 1,  # "[[-14.601813, -179.231086], [71.441059, 179.859681]]": south-west, north-east corners
        },
        "USGS:5ec70f9d82ce476925eddc9e": {"resources": 2, "schemas": ["", "http://www.fgdc.gov/schemas/metadata"],
                                          "polygons": 1},
    }),
    "dcatapit-unibo-catalog": Expected(12, datasets={
        "7deb0ce5-3a25-47d8-8784-8086333b3114": {
            "title": "Staff", "description": "Distribution of the teaching and non-teaching staff of the Uni",
            # CC BY 3.0 IT on every distribution: not the portal's cc-by (4.0), license versions are kept apart
            "resources": 4, "formats": ["csv"], "license": "notspecified", "license_kept": "CC BY 3.0 IT",
            "resource_titles": ["Non-teaching staff distribution by category", "Staff distribution by citizenship",
                                "Staff distribution by gender", "Staff distribution by type"],
        }}),
    "dcatde-catalog-endpoint": Expected(6, datasets={
        "b5882a57-d142-4930-9290-b12bbb6e3f0c": {"title": "Titel", "resource_titles": ["Ressource sans nom"]},
        "63961baa-2fd0-40d4-9242-4a9640ff5f1e": {
            "title": "Aktuelle Ausschreibungen nach VOL, VOB, VOF oder für Interessenbekundungsverfahren",
            "resources": 7, "license": "cc-by",  # http://dcat-ap.de/def/licenses/cc-by
        },
        "4ade8a03-2801-471a-8f7f-97c70265e7eb": {  # distributions of different licenses: none lifted
            "title": "Testdatensatz Lizenz Offenheit", "license": "notspecified", "dcat_license": None,
            # the second's dcat:mediaType is the URL of a vocabulary file: no media type, no format
            "formats": ["", "json"], "mimes": ["", "application/json"],
        },
        "bd2d4fa6-e9ad-470d-888b-5eb1378d39e9": {
            "title": "Naturräume Geest und Marsch", "frequency": "annual", "temporal": ("2016-01-01", "2016-12-31"),
            "polygons": 1,
            "formats": ["gml", "zip"], "mimes": ["", "application/gml+xml"],  # <dcat:mediaType>ZIP: a format
        }}),
    "switzerland-bfs-catalog": Expected(2, datasets={
        "346252@bundesamt-fur-statistik-bfs": {
            "title": "Annuaire statistique de la Suisse 1894",
            "tags": ["bases-statistiques-et-generalites", "publication"],  # the French keywords only
            "resource_titles": ["Annuaire statistique de la Suisse 1894", "Annuaire statistique de la Suisse 1894",
                                "Statistisches Jahrbuch der Schweiz 1894"],  # the last has a German title only
            "temporal": ("1894-01-01", "1894-12-31"), "issued": "1893-12-31T23:00:00Z",
            "places": ["Schweiz"],
            "contacts": [("info@bfs.admin.ch", "auskunftsdienst@bfs.admin.ch", "contact")],
            "remote_url": "https://www.bfs.admin.ch/bfs/de/home/statistiken.html",
        },
        "346266@bundesamt-fur-statistik-bfs": {"title": "Annuaire statistique de la Suisse 1901", "resources": 3},
    }),
    "dcat-ap-es-hvd-full": Expected(2, datasets={
        "http://dcat-ap-es.ejemplo.org/dataset/red-transporte-hvd": {
            "title": "National Public Transport Network - High Value Data",  # English throughout, never mixed
            "description": "High value dataset about the Spanish public transport network",
            "tags": ["geospatiales", "gtfs", "high-value", "hvd", "mobility", "public-transport"],
            "license": "cc-zero", "frequency": "daily", "access": ("open", None),
            "temporal": ("2024-06-09", None),
            "resource_titles": ["CSV Distribution - Transport Stops", "GTFS Distribution - National Transport Network",
                                "GTFS Realtime Distribution - Real-Time Data"],
            # the realtime one names its own format (PROTOCOL_BUF); its service speaks WFS and WMS, so neither
            "formats": ["csv", "protocol_buf", "zip"],
            "schemas": ["", "https://gtfs.org/realtime/reference/", "https://gtfs.org/schedule/reference/"],
            "contacts": [("Transport Data Office (datos.gob.es)", "datos-transporte@ejemplo.gob.es", "contact")],
            "issued": "2024-06-09T00:00:00+01:00",
        }},
        dataservices={"http://dcat-ap-es.ejemplo.org/dataservice/api-geoespacial-hvd": {
            "title": "API Geoespacial de Datos de Alto Valor",
            "base_api_url": "https://api.dcat-ap-es.ejemplo.org/geoespacial/v1", "served": 1,
            "tags": ["api", "geoespacial", "hvd", "meteorologiques", "ogc"],
            "contacts": [("Soporte API Geoespacial (Oficina Técnica de Servicios Geoespaciales)",
                          "api-geo@ejemplo.gob.es", "contact")],
        }}),
    "dcat-ap-3-bee-series": Expected(6, datasets={  # 4 datasets, the series and the data service
        "https://data.gov.gr/id/dataset/BeePopulation2023": {
            "title": "Bee population 2023 in the region of Thessaloniki and Athens",
            "resources": 0,  # its two distributions have no URL
            "issued": "2023-03-21T00:00:00Z",
        },
        "https://data.gov.gr/id/datasetseries/BeePopulation": {"title": "Bee population"},
        "https://data.gov.gr/id/dataset/BeePopulationLive": {"title": "life counts of the Bee population in Greece"},
    }, dataservices={"example-api:EA-API-Platform": {
        "title": "API platform for biodiversity data", "base_api_url": "https://ea.gov.gr/api/v2/biodiversity",
        "served": 1,
    }}),
    "geodcat-ap-dataset": Expected(1, datasets={
        "eea_r_3035_10_m_noise-contours-end2017_i_2016_v01_r00": {
            "access": ("restricted", "intellectual_property_rights"), "license": "notspecified",
            "license_kept": None, "frequency": "irregular", "temporal": ("2016-01-01", "2016-12-31"),
            "resources": 1, "formats": ["wms"], "resource_titles": ["Ressource wms"],  # the WMS service first
            "polygons": 1, "contacts": [("European Environment Agency", "info@eea.europa.eu", "contact")],
            "dcat": {"spatialResolutionInMeters": ["10"]}, "created": "2019-10-31T00:00:00Z",
            "tags": ["inspire", "noise-map"],
        }}),
    "iso2dcat-cz-multilingual": Expected(1, dataservices={
        "https://cuzk.cz/CZ-00025712-CUZK_ATOM_DATA50": ATOM_SERVICE}),
    # --- CSW, ISO 19139 ---------------------------------------------------------------------------------------
    # A recorded first page of a larger result set (2 of 216, 5 of 18): the replay's later pages are empty, an
    # incomplete gather (issue 15): the job fails, what the first page held is harvested, nothing archived.
    "owslib-inspire-getrecords": Expected(2, status="failed", dataservices={
        "8dad9c98-0512-4845-a2bf-3ace1c93df6f": {"title": "SUVIM station network WMS"},
        "eeae2de7-0a09-4b69-b7a0-0b6b20903fd5": {"title": "CSW Suchdienst der ZAMG"},
    }),
    "pycsw-apiso-getrecords-all": Expected(5, status="failed", datasets=AERIAL_PHOTOS,
                                           dataservices={"3e9a8c05": {"title": "test Title"}}),
    "geodatagov-sample3-getrecords": Expected(2, datasets={
        "c540e08e-015c-11e5-853f-22000b8e85d8": {
            "title": "Syria_RefugeeSites_2015Apr16_HIU_USDoS",
            # of 18 links: the WFS and WMS services and the 8 GeoNode data exports (WWW:DOWNLOAD, no function
            # code); not the layer page, the legend, thumbnails, tiles nor the PNG/PDF/JPEG map renderings
            "resources": 10, "formats": ["csv", "gml", "json", "kml", "wfs", "wms", "xls", "zip"],
        },
        "11ea3390-1143-11e5-8c2b-22000b8e85d8": {"title": "Syria_IDPSites_2015Jun11_HIU_USDoS"},
    }),
    "geodatagov-sample4-getrecords": Expected(2, datasets={
        "OT.102019.6339.1": {  # its only transfer option, a DOI named "Download" (protocol HTTP, no function code)
            "title": "Alteration of Groundwater Flow due to Slow Landslide Failure, CA",
            "resource_urls": ["https://doi.org/10.5069/G9SQ8XJP"], "resource_types": ["other"]},
        "OT.102019.6341.1": {"title": "High Resolution Topography of House Range Fault, Utah"},
    }),
    "pycsw-apiso-records": Expected(18, datasets={
        **AERIAL_PHOTOS,
        "S2B_MSIL2A_20200902T090559_N0214_R050_T34SFG_20200902T113910.SAFE": {
            "title": "S2B_MSIL2A_20200902T090559_N0214_R050_T34SFG_20200902T113910.SAFE"},
        "NS06agg": {"title": "PacIOOS Nearshore Sensor 06: Pohnpei, Micronesia"},
    }, dataservices={"3e9a8c05": {"title": "test Title"}}),
    "pycsw-duplicatefileid": Expected(1, failed=1, status="done-errors",
                                      datasets={"org.maracoos:avhrr.sst": {"title": MARACOOS}}),
    "pycsw-idswithpaths": Expected(6, datasets={
        ident: {"title": MARACOOS} for ident in ("https://ioos.noaa.gov/stations/BRJASL", "/i/started/with/a/slash",
                                                 "urn:hi:im:a:urn:or:url", "hello/i/am/a/path")}),
    "pycsw-idswithpaths+md": Expected(6, datasets={
        ident: {"title": MARACOOS} for ident in ("https://ioos.noaa.gov/stations/BRJASL", "/i/started/with/a/slash",
                                                 "urn:hi:im:a:urn:or:url", "hello/i/am/a/path")}),
    "owslib-dov-getrecordbyid": Expected(1, datasets={
        "6c39d716-aecc-4fbc-bac8-4f05a49a78d5": {"title": "Grondwatermeetnetten"}}),
    "owslib-geobretagne": Expected(1, datasets={
        "955c3e47-411e-4969-b61b-3556d1b9f879": {"title": "Cadastre 2018 en Bretagne"}}),
    "owslib-iso-identifier": Expected(1, datasets={
        "f44dac86-2228-412f-8355-e56446ca9933": {"title": "Eemsmonding volgens het Eems-Dollardverdrag",
                                                 "license": "other-pd"}}),  # the Public Domain Mark 1.0
    "owslib-marine-ie-anchors": Expected(1, datasets={
        "ie.marine.data:dataset.1135": {"title": "CE0911 Climate Change Survey",
                                        "license": "cc-by", "license_kept": None}}),  # useLimitation "CC-By 4.0"
    "owslib-iso-mi": Expected(1, datasets={
        "3f342f64-9348-11df-ba6a-0014c2c00eab": {"title": "title in English"}}),
    "owslib-iso-mi+md": Expected(1, datasets={"3f342f64-9348-11df-ba6a-0014c2c00eab": {"title": "title in English"}}),
    "owslib-eman-latin1": Expected(1, datasets={"3f342f64-9348-11df-ba6a-0014c2c00eab": {
        "title": "ALLSPECIES",  # its two cited parties are nameless links (no name, no email): no contacts
        "contacts": [("EMAN Office (Environment Canada)", "Marlene.Doyle@ec.gc.ca", "contact")]}}),
    "owslib-17bd184a": Expected(1, datasets={"17bd184a-7e7d-4f81-95a5-041449a7212b": {"title": "Air temperature"}}),
    "owslib-geocat-che": Expected(1, datasets={
        "3d2981af-d5db-4122-8db6-1ea41ed44b3f": {
            "title": "Gewässerschutzkarte",
            "resources": 0,  # its only link is a map viewer page (WWW:LINK)
            "contacts": [("Amt für Umweltschutz", "info.afu@zg.ch", "rightsHolder")],
            "contact_forms": ["http://www.zg.ch/afu/"]}}),  # a che:LocalisedURL
    "spatial-gemini-fcs": Expected(1, datasets={
        "B8A22DF4-B0DC-4F0B-A713-0CF5F8784A28": {  # an untyped data download page; the other link is no URL
            "title": "FCS Conservancy Polygons", "resource_urls": ["http://www.forestry.gov.uk/datadownload"]}}),
    "spatial-gemini-dataset1": Expected(1, datasets={"test-dataset-1": {"title": "Country Parks (Scotland)"}}),
    "spatial-gemini-wales1": Expected(1, datasets={"11edc4ec-5269-40b9-86c8-17201fa4e74e-new": {
        "title": "World Heritage Sites in Wales GIS Polygon and Polyline Dataset",
        "formats": ["wms"]}}),  # `.../wms?request=getCapabilities` without a SERVICE parameter, and OGC:WMS
    "spatial-gemini-wales2": Expected(1, datasets={"be06a48d-36fa-4369-a585-7fcc319db4c0-new": {
        "title": "Protected sites: Country Parks - GIS dataset"}}),
    "spatial-iso19139-dataset": Expected(1, datasets={"test-dataset-1": {"title": "Country Parks (Scotland)"}}),
    "datagov-valid-iso2": Expected(1, datasets={"gov.noaa.nmfs.inport:47598": {
        "title": "Bringing Wetlands to Market: Expanding Blue Carbon Implementation - NERRS/NSC(NERRS Science "
                 "Collaborative)"}}),
    "datagov-too-many-keywords": Expected(1, datasets={
        "gov.noaa.psl.dataset.NOAACIRESDOE_20th_Century_Reanalysis_V3": {
            "title": "NOAA/CIRES/DOE 20th Century Reanalysis (V3)"}}),
    "datagov-too-many-keywords+md": Expected(1, datasets={
        "gov.noaa.psl.dataset.NOAACIRESDOE_20th_Century_Reanalysis_V3": {
            "title": "NOAA/CIRES/DOE 20th Century Reanalysis (V3)"}}),
    "datagov-invalid-iso2": Expected(1, datasets={"gov.noaa.nmfs.inport:47662": {
        "title": "Assessing How Climate Change Will Affect Coastal Habitats in the Northeast - NERRS/NSC(NERRS "
                 "Science Collaborative)"}}),
    "geodatagov-nodc-cw-region": Expected(1, datasets={
        "gov.noaa.class:CW_REGION": {"title": "CoastWatch Regions in HDF Format", "resources": 6,
                                     "resource_titles": ["0099041", "CLASS: CoastWatch Regions in HDF format",
                                                         "Ressource sans nom", "Ressource sans nom", "iso",
                                                         "opendap"]}}),
    "geodatagov-nodc-cw-region+md": Expected(1, datasets={
        "gov.noaa.class:CW_REGION": {"title": "CoastWatch Regions in HDF Format"}}),
    "geodatagov-bad-tags": Expected(1, datasets={
        "gov.noaa.class:CW_REGION": {"title": "CoastWatch Regions in HDF Format"}}),
    "geodatagov-census-county": Expected(1, datasets={"tl_2013_us_county.shp.xml": {
        "title": "TIGER/Line Shapefile, 2013, nation, U.S., Current County and Equivalent National Shapefile"}}),
    # no fileIdentifier at all: the dataset has no remote id to be found by, it is skipped (as csw-record-1); a job
    # that harvested nothing from a catalog with items ends with errors ("Nothing harvested")
    "geodatagov-census-series": Expected(0, skipped=1, status="done-errors"),
    "geodatagov-census-necta-gmi": Expected(1, datasets={"cb_2014_us_necta_500k.shp.iso.xml": {
        "title": "2014 Cartographic Boundary File, New England City and Town Area for United States, 1:500,000"}}),
    "semic-fr-oceano-series": Expected(1, datasets={"OCEANO_MODELE_HYDRODYN.xml": {
        "title": "Modèle hydrodynamique 3D d'évolution de l'océan", "license": "lov2"}}),
    # --- CSW, DCAT ---------------------------------------------------------------------------------------------
    "semic-geodcat-csw": Expected(
        4, datasets={
            "http://www.my-organisation.eu/so/lu/land-use-map": {
                "title": "Land Use map of MyCountry", "resources": 2, "formats": ["wfs", "wms"],  # serviceProtocol
                "access": ("restricted", "confidentiality_of_commercial_or_industrial_information"),
                "dcat": {"spatialResolutionAsScale": ["0.00002"]}},
            "http://www.shom.fr/OCEANO/MODELE_HYDRODYN": {"title": "Modèle hydrodynamique 3D d'évolution de l'océan"},
        },
        dataservices={"https://cuzk.cz/CZ-00025712-CUZK_ATOM_DATA50": ATOM_SERVICE,
                      "123e4567-e89b-12d3-a456-426655440123": {}}),
    # --- CKAN and DKAN --------------------------------------------------------------------------------------
    "ckan-demo-search": Expected(3, datasets=DEMO_CKAN),
    "ckan-demo-fallback": Expected(3, datasets=DEMO_CKAN),
    "dkan-shape-demo": Expected(3, datasets=DEMO_CKAN),
    "ckan-hdx-search": Expected(2, skipped=8, datasets=HDX),  # 8 packages without resources
    "ckan-hdx-search-paged": Expected(2, skipped=8, datasets=HDX),
    "ckan-hdx-unesco": Expected(1, datasets={"f5d0ab3b-5549-486e-a619-1fc5702237f7": {
        "title": "Zimbabwe - Education Indicators", "resources": 9,
        # cc-by-igo (CC BY 3.0 IGO) is not the portal's cc-by (4.0): kept as text
        "license": "notspecified",
        "license_kept": "Creative Commons Attribution for Intergovernmental Organisations"}}),
    "ckan-datagov-hud": Expected(3, datasets={
        "8e81ab5c-d959-4401-8ac1-d73f1820c55d": {
            "title": "HUD Subprime and Manufactured Home Lender List", "temporal": ("1993-01-01", "2005-12-31"),
            "contacts": [("Shula Markland", "Shula.Markland@HUD.gov", "contact"),  # maintainer
                         ("US Department of Housing and Urban Development", None, "publisher")]},  # the extra
        "c7ef46a1-559f-4fb5-99c4-8797758e1537": {"temporal": ("2001-01-01", "2001-12-31")},
    }),
    # --- OpenDataSoft ------------------------------------------------------------------------------------------
    "ods-explore-sdk-datasets": Expected(2, datasets={
        "world-administrative-boundaries-countries-and-territories": {
            "title": "World Administrative Boundaries - Countries and Territories", "resources": 4,
            "license_kept": "Open Government Licence v3.0"},
        "geonames-all-cities-with-a-population-1000": {"title": "Geonames - All Cities with a population > 1000"},
    }),
    "ods-explore-sdk-dataset": Expected(1, datasets={"geonames-all-cities-with-a-population-1000": {
        "title": "Geonames - All Cities with a population > 1000", "license": "cc-by", "resources": 3}}),
}


def case_params() -> list[Any]:
    cases = load_cases()
    if not cases:
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared/corpus is absent"))]
    return [pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=reason)]
                         if (reason := EXPECTED[case.name].xfail) else []) for case in cases]


def harvest(case: Case, store: Store) -> tuple[Any, dict[str, int], LocalCatalog]:
    with corpus_server(case) as (_, url):
        source = register_source(store, name=case.name, url=url, backend=case.backend, config=case.config or None)
        job = Harvester(store).run(source)
    return job, store.summary(job.id), LocalCatalog(store)


def check(documents: dict[str, Doc], expected: dict[str, dict[str, Any]], kind: str) -> None:
    for remote_id, values in expected.items():
        assert remote_id in documents, f"{kind} {remote_id!r} not harvested (got {sorted(documents)[:10]})"
        for key, value in values.items():
            found = VALUES[key](documents[remote_id])
            if key in SUBSETS:
                assert set(value) <= set(found), f"{kind} {remote_id!r}: {key} {found} lacks {value}"
            elif key in PREFIXES:
                assert found.startswith(value), f"{kind} {remote_id!r}: {key} {found[:80]!r} is not {value!r}..."
            else:
                assert found == value, f"{kind} {remote_id!r}: {key} is {found!r}, expected {value!r}"


def by_remote_id(documents: list[Doc]) -> dict[str, Doc]:
    return {document["harvest"]["remote_id"]: document for document in documents}


@pytest.mark.parametrize("case", case_params())
def test_corpus_case(case: Case, store: Store) -> None:
    expected = EXPECTED[case.name]
    job, summary, catalog = harvest(case, store)
    counts = {key: summary[key] for key in ("created", "failed", "skipped")}
    errors = [error.message for error in job.errors]
    assert (job.status, counts) == (expected.status, {"created": expected.created, "failed": expected.failed,
                                                      "skipped": expected.skipped}), errors
    datasets, dataservices = by_remote_id(catalog.list_datasets()), by_remote_id(catalog.list_dataservices())
    assert len(datasets) + len(dataservices) == expected.created
    assert len(dataservices) == len(expected.dataservices)
    check(datasets, expected.datasets, "dataset")
    check(dataservices, expected.dataservices, "data service")


def test_every_case_of_the_manifest_has_expectations() -> None:
    names = [case.name for case in load_cases()] or pytest.skip("../shared/corpus is absent")
    assert sorted(names) == sorted(EXPECTED)


def test_ckan_maintainer_and_author_become_contact_points(store: Store) -> None:
    case = next((case for case in load_cases() if case.name == "ckan-demo-search"), None) or pytest.skip(
        "../shared/corpus is absent")
    _, _, catalog = harvest(case, store)
    check(by_remote_id(catalog.list_datasets()), DEMO_CKAN_CONTACTS, "dataset")


def test_a_record_of_1259_keywords_keeps_every_tag_within_udata_limits(store: Store) -> None:
    """udata refuses a tag shorter than 3 or longer than 96 characters and sets no limit on their number
    (TAG_MIN_LENGTH, TAG_MAX_LENGTH): every keyword of the record is kept, none is longer than udata allows."""
    case = next((case for case in load_cases() if case.name == "datagov-too-many-keywords"), None) or pytest.skip(
        "../shared/corpus is absent")
    keywords = etree.parse(str(case.path(case.files[0])), PARSER).getroot().xpath(
        "//gmd:descriptiveKeywords//gmd:keyword/*/text()", namespaces={"gmd": "http://www.isotc211.org/2005/gmd"})
    _, _, catalog = harvest(case, store)
    (dataset,) = catalog.list_datasets()
    assert len(keywords) == 1259
    assert all(3 <= len(tag) <= 96 for tag in dataset["tags"])
    assert set(dataset["tags"]) == {tag for keyword in keywords for part in KEYWORD_SEPARATORS.split(keyword)
                                    if (tag := normalize_tag(part))}
