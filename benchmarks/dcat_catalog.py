"""A generated, realistic DCAT-AP catalog in paged RDF/XML, for benchmarks and paging tests.

Each dataset has a French and an English title, a description, keywords, an EU data theme, a
license, an EU frequency, a period of time, a WKT bounding polygon, a vCard contact point, a
publisher, dates, and 1 to 3 distributions with format, media type, size, license and a sha256
checksum. Pages link to the next one with a Hydra PartialCollectionView. Deterministic per seed.
"""

from __future__ import annotations

import hashlib
import random
from xml.sax.saxutils import escape

NAMESPACES = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#" '
    'xmlns:dct="http://purl.org/dc/terms/" xmlns:foaf="http://xmlns.com/foaf/0.1/" '
    'xmlns:vcard="http://www.w3.org/2006/vcard/ns#" xmlns:locn="http://www.w3.org/ns/locn#" '
    'xmlns:spdx="http://spdx.org/rdf/terms#" xmlns:hydra="http://www.w3.org/ns/hydra/core#" '
    'xmlns:skos="http://www.w3.org/2004/02/skos/core#"'
)
XSD = "http://www.w3.org/2001/XMLSchema#"
LICENSES = (
    "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    "http://opendatacommons.org/licenses/odbl/summary/",
)
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "IRREG", "UPDATE_CONT")
FORMATS = (("CSV", "text/csv"), ("JSON", "application/json"), ("GEOJSON", "application/geo+json"),
           ("ZIP", "application/zip"))
THEMES = ("ENVI", "TRAN", "ECON", "GOVE", "REGI")
WORDS = ("eau", "air", "transport", "budget", "population", "énergie", "voirie", "école", "santé", "culture")


def dataset_xml(base: str, index: int, rng: random.Random) -> str:
    uri = f"{base}/datasets/{index}"
    west, south = rng.uniform(-5, 8), rng.uniform(42, 50)
    east, north = west + rng.uniform(0.01, 1), south + rng.uniform(0.01, 1)
    polygon = f"POLYGON(({west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}))"
    year = rng.randint(2000, 2020)
    description = f"Description du jeu de données {index} : {' '.join(rng.sample(WORDS, 5))}."
    keywords = "".join(f"<dcat:keyword>{word}</dcat:keyword>" for word in rng.sample(WORDS, 3))
    license = rng.choice(LICENSES)
    distributions = "".join(distribution_xml(uri, n, license, rng) for n in range(1, rng.randint(1, 3) + 1))
    return f"""
  <dcat:Dataset rdf:about="{uri}">
    <dct:identifier>dataset-{index}</dct:identifier>
    <dct:title xml:lang="fr">Jeu de données {index}</dct:title>
    <dct:title xml:lang="en">Dataset {index}</dct:title>
    <dct:description xml:lang="fr">{escape(description)}</dct:description>
    {keywords}
    <dcat:theme rdf:resource="http://publications.europa.eu/resource/authority/data-theme/{rng.choice(THEMES)}"/>
    <dct:license rdf:resource="{license}"/>
    <dct:accrualPeriodicity rdf:resource="http://publications.europa.eu/resource/authority/frequency/{rng.choice(FREQUENCIES)}"/>
    <dct:temporal><dct:PeriodOfTime>
      <dcat:startDate rdf:datatype="http://www.w3.org/2001/XMLSchema#date">{year}-01-01</dcat:startDate>
      <dcat:endDate rdf:datatype="http://www.w3.org/2001/XMLSchema#date">{year + 1}-12-31</dcat:endDate>
    </dct:PeriodOfTime></dct:temporal>
    <dct:spatial><dct:Location>
      <locn:geometry rdf:datatype="http://www.opengis.net/ont/geosparql#wktLiteral">{polygon}</locn:geometry>
    </dct:Location></dct:spatial>
    <dcat:contactPoint><vcard:Organization>
      <vcard:fn>Service données {index % 50}</vcard:fn>
      <vcard:hasEmail rdf:resource="mailto:contact{index % 50}@example.org"/>
    </vcard:Organization></dcat:contactPoint>
    <dct:publisher rdf:resource="{base}/organizations/{index % 20}"/>
    <dct:issued rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">{year}-03-01T10:00:00</dct:issued>
    <dct:modified rdf:datatype="{XSD}dateTime">2023-06-{rng.randint(10, 28)}T10:00:00</dct:modified>
    <dcat:landingPage rdf:resource="{uri}/page"/>
    {distributions}
  </dcat:Dataset>"""


def distribution_xml(dataset_uri: str, n: int, license: str, rng: random.Random) -> str:
    fmt, mime = rng.choice(FORMATS)
    url = f"{dataset_uri}/files/{n}.{fmt.lower()}"
    return f"""
    <dcat:distribution><dcat:Distribution rdf:about="{dataset_uri}/distributions/{n}">
      <dct:title>Fichier {n} ({fmt})</dct:title>
      <dcat:downloadURL rdf:resource="{url}"/>
      <dcat:accessURL rdf:resource="{dataset_uri}/distributions/{n}/access"/>
      <dct:format rdf:resource="http://publications.europa.eu/resource/authority/file-type/{fmt}"/>
      <dcat:mediaType rdf:resource="https://www.iana.org/assignments/media-types/{mime}"/>
      <dcat:byteSize rdf:datatype="{XSD}decimal">{rng.randint(1_000, 50_000_000)}</dcat:byteSize>
      <dct:license rdf:resource="{license}"/>
      <spdx:checksum><spdx:Checksum>
        <spdx:algorithm rdf:resource="http://spdx.org/rdf/terms#checksumAlgorithm_sha256"/>
        <spdx:checksumValue>{hashlib.sha256(url.encode()).hexdigest()}</spdx:checksumValue>
      </spdx:Checksum></spdx:checksum>
    </dcat:Distribution></dcat:distribution>"""


def page_xml(base: str, page: int, page_size: int, total: int, seed: int = 0) -> bytes:
    """Page `page` (from 1) of a `total`-dataset catalog whose pages are `{base}/catalog.rdf?page=N`."""
    first = (page - 1) * page_size
    indexes = range(first, min(first + page_size, total))
    datasets = "".join(dataset_xml(base, index, random.Random(seed * 1_000_003 + index)) for index in indexes)
    organizations = "".join(
        f'<foaf:Organization rdf:about="{base}/organizations/{n}"><foaf:name>Organisation {n}</foaf:name>'
        f"</foaf:Organization>" for n in range(20)
    )
    view = f"{base}/catalog.rdf?page={page}"
    next_link = f'<hydra:next rdf:resource="{base}/catalog.rdf?page={page + 1}"/>' if first + page_size < total else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF {NAMESPACES}>
  <dcat:Catalog rdf:about="{base}/catalog">
    <dct:title>Catalogue généré</dct:title>
    {"".join(f'<dcat:dataset rdf:resource="{base}/datasets/{index}"/>' for index in indexes)}
  </dcat:Catalog>
  <hydra:PartialCollectionView rdf:about="{view}">
    <hydra:totalItems rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">{total}</hydra:totalItems>
    {next_link}
  </hydra:PartialCollectionView>
  {organizations}{datasets}
</rdf:RDF>
""".encode()


def pages(base: str, total: int, page_size: int, seed: int = 0) -> list[bytes]:
    return [page_xml(base, page, page_size, total, seed) for page in range(1, -(-total // page_size) + 1)]
