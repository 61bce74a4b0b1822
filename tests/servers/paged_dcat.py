"""A generated DCAT catalog of any size: Turtle pages linked by hydra:next, served by a CatalogServer.

Dataset i has the identifier `ds-{i:05d}` and one CSV distribution; page N (`?page=N`) holds the
datasets (N-1)*page_size .. N*page_size-1.
"""

from __future__ import annotations

from harvesters.models import HarvestSource
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.servers.catalog import CatalogServer, Reply, Request

PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
"""

DATASET = """<{base}/datasets/{i}> a dcat:Dataset ;
    dct:identifier "ds-{i:05d}" ;
    dct:title "Jeu de données n°{i}"@fr ;
    dct:description "Mesures de la station {i}, mises à jour chaque jour."@fr ;
    dcat:keyword "mesures"@fr, "station-{station}"@fr ;
    dcat:landingPage <{base}/explore/{i}> ;
    dcat:distribution <{base}/datasets/{i}/csv> .
<{base}/datasets/{i}/csv> a dcat:Distribution ;
    dct:title "Mesures (CSV)"@fr ;
    dcat:downloadURL <{base}/files/{i}.csv> ;
    dct:format "CSV" .
"""


def catalog_page(url: str, base: str, page: int, count: int, page_size: int) -> str:
    first, last = (page - 1) * page_size, min(page * page_size, count)
    parts = [PREFIXES, f"<{url}> a dcat:Catalog ; dct:title \"Catalogue généré\"@fr .\n"]
    parts += [DATASET.format(base=base, i=i, station=i % 37) for i in range(first, last)]
    if last < count:
        parts.append(f"<{url}?page={page}> a hydra:PartialCollectionView ; hydra:next <{url}?page={page + 1}> .\n")
    return "".join(parts)


def serve_paged_catalog(server: CatalogServer, count: int, page_size: int = 100,
                        path: str = "/generated/catalog.ttl") -> str:
    """Serve a catalog of `count` datasets at `path`; return its URL."""
    url = server.url + path

    def page(request: Request) -> Reply:
        number = int(request.query.get("page", "1"))
        return Reply(catalog_page(url, server.url, number, count, page_size), "text/turtle")

    return server.handle(path, page)


def paged_source(store: Store, server: CatalogServer, count: int) -> HarvestSource:
    """A registered DCAT source on a generated catalog of `count` datasets."""
    url = serve_paged_catalog(server, count, path=f"/generated/{count}/catalog.ttl")
    return register_source(store, name=f"Stations ({count})", url=url, backend="dcat")


def remote_ids(count: int) -> set[str]:
    """The identifiers of a generated catalog's datasets."""
    return {f"ds-{i:05d}" for i in range(count)}


def harvested_remote_ids(store: Store, source: HarvestSource) -> list[str]:
    """The remote id of each dataset of the source in the local catalog (a duplicate would show twice)."""
    return [dataset["harvest"]["remote_id"] for dataset in LocalCatalog(store).list_datasets(source.id)]
