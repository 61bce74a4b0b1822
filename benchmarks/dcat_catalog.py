"""A generated, realistic DCAT-AP catalog in paged RDF/XML, for benchmarks and paging tests.

Each dataset has a French and an English title, a description, keywords, an EU data theme, a
license, an EU frequency, a period of time, a WKT bounding polygon, a vCard contact point, a
publisher, dates, and 1 to 3 distributions with format, media type, size, license and a sha256
checksum. Pages link to the next one with a Hydra PartialCollectionView. Deterministic per seed.

`python -m benchmarks.dcat_catalog` serves such catalogs over HTTP on 127.0.0.1 (see `CatalogHandler`).
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
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


def dataset_xml(base: str, index: int, rng: random.Random, title: str | None = None) -> str:
    """Dataset `index`; titled `title` (in both languages) if given, else by its number."""
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
    <dct:title xml:lang="fr">{escape(title or f"Jeu de données {index}")}</dct:title>
    <dct:title xml:lang="en">{escape(title or f"Dataset {index}")}</dct:title>
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


def page_xml(base: str, page: int, page_size: int, total: int, seed: int = 0, title: str | None = None) -> bytes:
    """Page `page` (from 1) of a `total`-dataset catalog whose pages are `{base}/catalog.rdf?page=N`."""
    first = (page - 1) * page_size
    indexes = range(first, min(first + page_size, total))
    datasets = "".join(dataset_xml(base, index, random.Random(seed * 1_000_003 + index), title) for index in indexes)
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


class CatalogHandler(BaseHTTPRequestHandler):
    """`/{total}/{same|distinct}/catalog.rdf?page=N`: page N of that catalog, generated when asked for (so a
    100,000-dataset catalog costs the server no memory)."""

    page_size = 100

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        parts = urlsplit(self.path)
        try:
            total, titles, name = parts.path.strip("/").split("/")
            page = int(dict(parse_qsl(parts.query)).get("page", "1"))
            assert name == "catalog.rdf" and titles in ("same", "distinct")
            body = cached_page(f"http://{self.headers['Host']}/{total}/{titles}", page, self.page_size, int(total),
                               "Jeu de données" if titles == "same" else None)
        except (ValueError, AssertionError):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rdf+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@lru_cache(maxsize=2048)
def cached_page(base: str, page: int, page_size: int, total: int, title: str | None) -> bytes:
    """Pages asked for again (a re-run) are not generated again: the server's work stays out of the figures."""
    return page_xml(base, page, page_size, total, title=title)


def catalog_url(server: str, total: int, same_titles: bool = False) -> str:
    """The first page of a generated catalog served by `serve` at `server`."""
    return f"{server}/{total}/{'same' if same_titles else 'distinct'}/catalog.rdf?page=1"


def serve() -> None:
    """Serve generated catalogs on 127.0.0.1 (any free port) until killed; print the server's URL first."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), CatalogHandler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve()
