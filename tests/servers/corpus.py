"""The shared corpus (../shared/corpus) served the way its `manifest.json` says, one case at a time.

Each case names its files and a serving mode, and this replays it on a CatalogServer:

- `file`: the document at `/<its file name>`, with the case's content type (`derive: pod-add-type` adds the
  POD `@context` and `"@type": "dcat:Dataset"` to each dataset of a data.json);
- `csw-verbatim`: a recorded GetRecordsResponse answering the first GetRecords; any later page (the
  recorded server had more) answers an empty SearchResults, so paging ends there (short of what the
  recording matched, the gather is incomplete: the job fails after harvesting the first page);
- `csw-records`: a paging CSW over the case's records (each file's root; a GetRecordById or GetRecords
  answer gives its records): `startPosition` / `maxRecords` cut the pages, `numberOfRecordsMatched` and
  `nextRecord` are computed from the records (`derive: gmi-as-gmd` renames a gmi:MI_Metadata root);
- `ckan`: the action API: `package_search` pages by `rows` / `start` over the search file's packages
  (`wrap`: the file is one package, or a bare list), or CKAN's "Action name not known" (`search: null`), or
  a bare status (`search_status`); `package_list` and `package_show` from the named files (`show_as_list`:
  DKAN's list answer);
- `ods`: the Explore API v2.1 `catalog/datasets`, paged by `limit` / `offset` with the `total_count` of the
  datasets served (`wrap: dataset`: the file is one dataset).

Documents are read from ../shared on each request, never copied; nothing in them is rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.csw_replay import CSW_PATH, get_records, search_results
from tests.shared import CORPUS, shared

MANIFEST = CORPUS / "manifest.json"
POD_CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
GMD = "http://www.isotc211.org/2005/gmd"
GMI = "http://www.isotc211.org/2005/gmi"
CSW = "http://www.opengis.net/cat/csw/2.0.2"
CKAN_ACTIONS = "/api/3/action/"
ODS_DATASETS = "/api/explore/v2.1/catalog/datasets"
JSON = "application/json; charset=utf-8"
XML = "application/xml"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


@dataclass(frozen=True)
class Case:
    """One case of manifest.json."""

    name: str
    backend: str
    mode: str
    files: tuple[str, ...]
    what: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = None
    derive: str | None = None
    search: str | None = None
    search_status: int | None = None
    package_list: str | None = None
    show_files: tuple[str, ...] = ()
    show_as_list: bool = False
    answer: str | None = None
    wrap: str | None = None

    @classmethod
    def from_manifest(cls, entry: dict[str, Any]) -> Case:
        values = {**entry, "files": tuple(entry["files"]), "show_files": tuple(entry.get("show_files", ()))}
        return cls(**values)

    def path(self, name: str) -> Path:
        """A file of the case, by its manifest path or by its name beside the case's first file."""
        direct = CORPUS / name
        return shared(direct if direct.exists() else (CORPUS / self.files[0]).parent / name)


def load_cases() -> list[Case]:
    """Every case of the manifest, in its order (none when ../shared is absent)."""
    if not MANIFEST.exists():
        return []
    return [Case.from_manifest(entry) for entry in json.loads(MANIFEST.read_text("utf-8"))["cases"]]


@contextmanager
def corpus_server(case: Case) -> Iterator[tuple[CatalogServer, str]]:
    """A running server replaying `case`, and the URL a source of the case's backend harvests."""
    with CatalogServer() as server:
        yield server, SERVE[case.mode](server, case)


# --- file ---------------------------------------------------------------------------------------------------


def serve_file(server: CatalogServer, case: Case) -> str:
    path = case.path(case.files[0])
    body: Any = path
    if case.derive == "pod-add-type":
        body = lambda request: json.dumps(pod_with_types(json.loads(path.read_bytes())))  # noqa: E731
    return server.serve(f"/{path.name}", body, case.content_type or "application/octet-stream")


def pod_with_types(catalog: dict[str, Any]) -> dict[str, Any]:
    """The diagnostic variant of a data.json: the POD context, and every dataset typed dcat:Dataset."""
    return {"@context": catalog.get("@context", POD_CONTEXT), **catalog,
            "dataset": [{"@type": "dcat:Dataset", **dataset} for dataset in catalog.get("dataset", [])]}


# --- CSW ----------------------------------------------------------------------------------------------------


def serve_csw_verbatim(server: CatalogServer, case: Case) -> str:
    recorded = case.path(case.files[0])

    def answer(request: Request) -> Reply:
        if int(get_records(request).get("startPosition", 1)) == 1:
            return Reply(recorded, XML)
        matched = etree.parse(str(recorded), PARSER).getroot().find(f"{{{CSW}}}SearchResults")
        return Reply(search_results([], int(matched.get("numberOfRecordsMatched") or 0), 0), XML)

    return server.handle(CSW_PATH, answer)


def serve_csw_records(server: CatalogServer, case: Case) -> str:
    def answer(request: Request) -> Reply:
        records = [record for name in case.files for record in csw_records(case.path(name), case.derive)]
        query = get_records(request)
        start, size = int(query.get("startPosition", 1)), int(query.get("maxRecords", 10))
        page = records[start - 1:start - 1 + size]
        following = start + len(page) if page and start - 1 + len(page) < len(records) else 0
        return Reply(search_results(page, len(records), following), XML)

    return server.handle(CSW_PATH, answer)


def csw_records(path: Path, derive: str | None) -> list[str]:
    """The records of a file: its root, or the records of a recorded GetRecords / GetRecordById answer."""
    root = etree.parse(str(path), PARSER).getroot()
    name = etree.QName(root).localname
    if name == "GetRecordsResponse":
        elements = [child for child in root.find(f"{{{CSW}}}SearchResults") if isinstance(child.tag, str)]
    elif name == "GetRecordByIdResponse":
        elements = [child for child in root if isinstance(child.tag, str)]
    else:
        elements = [root]
    if derive == "gmi-as-gmd":
        for element in elements:
            if element.tag == f"{{{GMI}}}MI_Metadata":
                element.tag = f"{{{GMD}}}MD_Metadata"
    return [etree.tostring(element, encoding="unicode") for element in elements]


# --- CKAN ---------------------------------------------------------------------------------------------------


def serve_ckan(server: CatalogServer, case: Case) -> str:
    server.handle(CKAN_ACTIONS + "package_search", lambda request: ckan_search(case, request))
    server.handle(CKAN_ACTIONS + "package_list", lambda request: ckan_list(case))
    server.handle(CKAN_ACTIONS + "package_show", lambda request: ckan_show(case, request))
    return server.url


def ckan_answer(result: Any, status: int = 200) -> Reply:
    return Reply(json.dumps({"success": status == 200, "result": result} if status == 200 else result), JSON,
                 status=status)


def ckan_not_found(action: str) -> Reply:
    return ckan_answer({"success": False, "error": {"__type": "Not Found Error",
                                                    "message": f"Action name not known: {action}"}}, status=400)


def ckan_packages(case: Case, name: str) -> list[dict[str, Any]]:
    """The packages of a file: a package_search answer's results, one package (`wrap: package`), or a list."""
    document = json.loads(case.path(name).read_bytes())
    if case.wrap == "package":
        return [document.get("result", document)]
    if case.wrap == "list":
        return list(document)
    result = document["result"]
    return result["results"] if isinstance(result, dict) else result


def ckan_search(case: Case, request: Request) -> Reply:
    if case.search_status:
        return Reply("Not Found", "text/plain", status=case.search_status)
    if case.search is None:
        return ckan_not_found("package_search")
    packages = ckan_packages(case, case.search)
    start, rows = int(request.query.get("start", 0)), int(request.query.get("rows", 10))
    return ckan_answer({"count": len(packages), "results": packages[start:start + rows]})


def ckan_list(case: Case) -> Reply:
    if case.package_list is None:
        return ckan_not_found("package_list")
    return ckan_answer(json.loads(case.path(case.package_list).read_bytes())["result"])


def ckan_show(case: Case, request: Request) -> Reply:
    wanted = request.query.get("id")
    for name in case.show_files:
        package = json.loads(case.path(name).read_bytes())["result"]
        if wanted in (package.get("id"), package.get("name")):
            return ckan_answer([package] if case.show_as_list else package)
    return ckan_answer({"success": False, "error": {"__type": "Not Found Error", "message": "Not found"}},
                       status=404)


# --- OpenDataSoft -------------------------------------------------------------------------------------------


def serve_ods(server: CatalogServer, case: Case) -> str:
    def answer(request: Request) -> Reply:
        document = json.loads(case.path(case.answer or case.files[0]).read_bytes())
        datasets = [document] if case.wrap == "dataset" else document["results"]
        limit, offset = int(request.query.get("limit", 10)), int(request.query.get("offset", 0))
        return Reply(json.dumps({"total_count": len(datasets), "results": datasets[offset:offset + limit]}), JSON)

    server.handle(ODS_DATASETS, answer)
    return server.url


SERVE = {
    "file": serve_file,
    "csw-verbatim": serve_csw_verbatim,
    "csw-records": serve_csw_records,
    "ckan": serve_ckan,
    "ods": serve_ods,
}
