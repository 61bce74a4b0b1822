"""A hostile catalog server: one real HTTP server on 127.0.0.1 whose paths are the faults a catalog can throw.

Parameters come from the query string, or (for CKAN and ODS, whose clients build their own URLs under the
source's) from the path segment after the case: `/ckan/total=300,served=240/api/3/action/package_search`.
Every request is recorded (`requests`), and the bytes streamed to each path are counted (`sent`).

| path | answers |
| --- | --- |
| `/hydra/catalog.ttl?total=300&served=240&page_size=100&empty=1&delay=0` | Turtle pages announcing `total` datasets (hydra:totalItems, hydra:next while more are announced) but holding only the first `served`: a short page, then empty ones (`empty=1`: empty bodies); each answered after `delay` seconds |
| `/ckan/total=..,served=../api/3/action/package_search` | CKAN's package_search, counting `total` |
| `/ods/total=..,served=../api/explore/v2.1/catalog/datasets` | ODS Explore v2.1, `total_count` = `total` |
| `/csw?total=..&served=..` | CSW GetRecords, `numberOfRecordsMatched` = `total` |
| `/hydra/next?to=URL` | a Turtle page (of dataset ds-99999) whose hydra:next is URL |
| `/redirect?to=URL&status=302` | a redirect to URL |
| `/endless?page=N` | a Turtle page of one dataset and a next page, without end |
| `/slow?bytes_per_second=1&seconds=30&phase=body` | a Turtle body (`phase=headers`: the headers) trickled out, for at most `seconds` |
| `/gzip-bomb?size=2000000000` | a gzip-encoded body inflating to `size` bytes |
| `/big?size=N` | a plain body of `size` bytes, without Content-Length |
| `/retry-after?seconds=3600&status=503&times=1` | `status` with that Retry-After for the first `times` requests, then a catalog |
| `/flaky?fault=drop&times=2` | for the first `times` requests, the connection closed with no answer (`fault=drop`) or that status with no Retry-After (`fault=503`); then a catalog |
| `/doctype?case=lower` | RDF/XML whose DTD (`<!doctype`, `<!DOCTYPE`, `<!DocType`...) expands a title to 100 MB |
| `/lenient/catalog.ttl?broken=1` | Turtle whose second dataset's first distribution has an unclosed `<` (the lines up to the next `>` vanish into one IRI); `broken=0`: the same, valid |
| `/jsonld/surrogate` | JSON-LD whose second dataset's title holds the escape `\\ud800` |
| `/resources/catalog.ttl` | a dataset whose distributions link to `javascript:`, `data:`, `file:` and https URLs |
"""

from __future__ import annotations

import json
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from tests.servers.catalog import CatalogServer, Reply, Request
from tests.servers.csw_replay import get_records, iso_record, search_results
from tests.servers.paged_dcat import DATASET, PREFIXES

MAX_STREAM_SECONDS = 60  # a trickling answer never lasts longer, whatever a test asks
CHUNK = 1 << 20
SCRIPT_LINK = "javascript:alert(document.cookie)"
DATA_LINK = "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="  # <script>alert(1)</script>
LINKING_DATASET = 99_999  # the dataset of `/hydra/next`, apart from those of the catalogs it links to


def dataset_id(i: int) -> str:
    return f"ds-{i:05d}"


class HostileServer(CatalogServer):
    def __init__(self) -> None:
        super().__init__()
        self.sent: Counter[str] = Counter()  # bytes streamed, by path
        self.cases: dict[str, Callable[[Request, dict[str, str]], Reply]] = {
            "hydra": self.hydra, "ckan": self.ckan, "ods": self.ods, "csw": self.csw, "redirect": self.redirect,
            "endless": self.endless, "slow": self.slow, "gzip-bomb": self.gzip_bomb, "big": self.big,
            "retry-after": self.retry_after, "flaky": self.flaky, "doctype": self.doctype, "lenient": self.lenient,
            "jsonld": self.surrogate, "resources": self.resources,
        }

    def reply_for(self, request: Request) -> Reply:
        parts = request.path.split("/")
        case = self.cases.get(parts[1] if len(parts) > 1 else "")
        if case is None:
            return super().reply_for(request)
        params = dict(request.query)
        if len(parts) > 2 and "=" in parts[2]:
            params |= dict(pair.split("=", 1) for pair in parts[2].split(","))
        return case(request, params)

    def counted(self, path: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.sent[path] += len(chunk)
            yield chunk

    # --- announced, not served ---------------------------------------------------------------------------

    def hydra(self, request: Request, params: dict[str, str]) -> Reply:
        if request.path == "/hydra/next":
            return turtle(self.url + request.path, [LINKING_DATASET], next_url=params["to"])
        total, served, size = (int(params.get(key, default)) for key, default in
                               (("total", 300), ("served", params.get("total", 300)), ("page_size", 100)))
        number = int(params.get("page", 1))
        time.sleep(min(float(params.get("delay", 0)), MAX_STREAM_SECONDS))
        indexes = list(range((number - 1) * size, min(number * size, total, served)))
        if not indexes and params.get("empty") == "1":
            return Reply(b"", "text/turtle")
        query = {key: value for key, value in request.query.items() if key != "page"}
        url = f"{self.url}{request.path}?{urlencode(query)}"
        following = f"{url}&page={number + 1}" if number * size < total else None
        return turtle(f"{url}&page={number}", indexes, next_url=following, total=total)

    def ckan(self, request: Request, params: dict[str, str]) -> Reply:
        total, served = int(params["total"]), int(params.get("served", params["total"]))
        start, rows = int(request.query.get("start", 0)), int(request.query.get("rows", 1000))
        packages = [ckan_package(i) for i in range(start, min(start + rows, total, served))]
        return Reply(json.dumps({"success": True, "result": {"count": total, "results": packages}}),
                     "application/json")

    def ods(self, request: Request, params: dict[str, str]) -> Reply:
        total, served = int(params["total"]), int(params.get("served", params["total"]))
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 100))
        datasets = [ods_dataset(i) for i in range(offset, min(offset + limit, total, served))]
        return Reply(json.dumps({"total_count": total, "results": datasets}), "application/json")

    def csw(self, request: Request, params: dict[str, str]) -> Reply:
        total, served = int(params["total"]), int(params.get("served", params["total"]))
        query = get_records(request)
        start, size = int(query.get("startPosition")), int(query.get("maxRecords"))
        records = [iso_record(dataset_id(i - 1)) for i in range(start, min(start + size, total + 1, served + 1))]
        following = start + size if start + size <= total else 0
        return Reply(search_results(records, matched=total, next_record=following), "application/xml")

    # --- out of the origin ---------------------------------------------------------------------------------

    def redirect(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(b"", "text/plain", status=int(params.get("status", 302)), headers={"Location": params["to"]})

    # --- without bounds ------------------------------------------------------------------------------------

    def endless(self, request: Request, params: dict[str, str]) -> Reply:
        number = int(params.get("page", 1))
        url = self.url + request.path
        return turtle(f"{url}?page={number}", [number], next_url=f"{url}?page={number + 1}")

    def slow(self, request: Request, params: dict[str, str]) -> Reply:
        pause = 1 / float(params.get("bytes_per_second", 1))
        until = time.monotonic() + min(float(params.get("seconds", 30)), MAX_STREAM_SECONDS)
        headers = params.get("phase") == "headers"
        start = b"HTTP/1.1 200 OK\r\nContent-Type: text/turtle\r\nX-Slow: " if headers else b""

        def trickle() -> Iterator[bytes]:
            yield start
            while time.monotonic() < until:
                time.sleep(pause)
                yield b"a" if headers else b" "

        return Reply(content_type="text/turtle", stream=self.counted(request.path, trickle()), raw=headers)

    def gzip_bomb(self, request: Request, params: dict[str, str]) -> Reply:
        size = int(params.get("size", 2_000_000_000))

        def inflating() -> Iterator[bytes]:
            compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            zeros = b"\0" * CHUNK
            for _ in range(size // CHUNK):
                if data := compressor.compress(zeros):
                    yield data
            yield compressor.flush()

        return Reply(content_type="text/turtle", headers={"Content-Encoding": "gzip"},
                     stream=self.counted(request.path, inflating()))

    def big(self, request: Request, params: dict[str, str]) -> Reply:
        size = int(params.get("size", 300_000_000))
        spaces = b" " * CHUNK
        chunks = (spaces[:min(CHUNK, size - sent)] for sent in range(0, size, CHUNK))
        return Reply(content_type="text/turtle", stream=self.counted(request.path, chunks))

    def retry_after(self, request: Request, params: dict[str, str]) -> Reply:
        if len(self.requests_to(request.path)) <= int(params.get("times", 1_000_000)):
            return Reply(b"Busy", "text/plain", status=int(params.get("status", 503)),
                         headers={"Retry-After": params.get("seconds", "3600")})
        return turtle(self.url + request.path, [0, 1])

    def flaky(self, request: Request, params: dict[str, str]) -> Reply:
        if len(self.requests_to(request.path)) > int(params.get("times", 1)):
            return turtle(self.url + request.path, [0, 1])
        fault = params.get("fault", "drop")
        return Reply(stream=iter(()), raw=True) if fault == "drop" else Reply(b"Down", "text/plain", status=int(fault))

    # --- hostile documents ---------------------------------------------------------------------------------

    def doctype(self, request: Request, params: dict[str, str]) -> Reply:
        keyword = {"lower": "doctype", "upper": "DOCTYPE", "mixed": "DocType"}[params.get("case", "lower")]
        return Reply(billion_laughs(keyword), "application/rdf+xml")

    def lenient(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(spliced_catalog(self.url, broken=params.get("broken", "1") == "1"), "text/turtle")

    def surrogate(self, request: Request, params: dict[str, str]) -> Reply:
        datasets = [{"@id": f"{self.url}/datasets/{i}", "@type": "http://www.w3.org/ns/dcat#Dataset",
                     "http://purl.org/dc/terms/identifier": dataset_id(i),
                     "http://purl.org/dc/terms/title": f"Jeu {i}"} for i in range(3)]
        body = json.dumps({"@graph": datasets}).replace("Jeu 1", "Jeu \\ud800 1")
        return Reply(body, "application/ld+json")

    def resources(self, request: Request, params: dict[str, str]) -> Reply:
        links = {"script": SCRIPT_LINK, "inline": DATA_LINK, "local": "file:///etc/passwd",
                 "file": f"{self.url}/files/0.csv"}
        distributions = "".join(f'<{self.url}/d/{name}> a dcat:Distribution ; dct:title "{name}" ; '
                                f'dcat:downloadURL <{link}> .\n' for name, link in links.items())
        references = ", ".join(f"<{self.url}/d/{name}>" for name in links)
        body = (f'{PREFIXES}<{self.url}/datasets/0> a dcat:Dataset ; dct:identifier "{dataset_id(0)}" ; '
                f'dct:title "Liens" ; dcat:distribution {references} .\n{distributions}')
        return Reply(body, "text/turtle")


def turtle(url: str, indexes: list[int], next_url: str | None = None, total: int | None = None) -> Reply:
    """A Turtle catalog page of the generated datasets `indexes` (paged_dcat's), with Hydra paging."""
    base = url.split("/", 3)[:3]
    parts = [PREFIXES, f'<{url}> a dcat:Catalog ; dct:title "Catalogue hostile" .\n']
    parts += [DATASET.format(base="/".join(base), i=i, station=i % 37) for i in indexes]
    view = [f"hydra:next <{next_url}>"] if next_url else []
    view += [f"hydra:totalItems {total}"] if total is not None else []
    if view:
        parts.append(f"<{url}#view> a hydra:PartialCollectionView ; {' ; '.join(view)} .\n")
    return Reply("".join(parts), "text/turtle")


def ckan_package(i: int) -> dict[str, object]:
    return {"id": dataset_id(i), "name": dataset_id(i), "title": f"Jeu {i}", "state": "active", "private": False,
            "resources": [{"id": f"r-{i}", "name": "CSV", "url": f"https://files.example.org/{i}.csv",
                           "format": "CSV"}]}


def ods_dataset(i: int) -> dict[str, object]:
    return {"dataset_id": dataset_id(i), "has_records": True, "features": [],
            "metas": {"default": {"title": f"Jeu {i}"}}}


def billion_laughs(keyword: str) -> bytes:
    """A 1 kB RDF/XML document whose entities expand its one title to 100 MB (in a parser that expands them)."""
    entities = '<!ENTITY l0 "lollollollollollollollollollol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 8))
    return (f'<?xml version="1.0"?>\n<!{keyword} rdf:RDF [{entities}]>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/" '
            'xmlns:dcat="http://www.w3.org/ns/dcat#"><dcat:Dataset rdf:about="http://data.test.org/d">'
            '<dct:identifier>ds-00000</dct:identifier><dct:title>&l7;</dct:title></dcat:Dataset></rdf:RDF>').encode()


def spliced_catalog(url: str, broken: bool) -> str:
    """Two datasets; the second has two distributions. Broken, its first download URL misses its `>`: lenient
    parsing runs that IRI on to the next `>`, two lines later, and that distribution's format and access URL
    vanish into it."""
    close = "" if broken else ">"
    return f"""{PREFIXES}
<{url}/datasets/0> a dcat:Dataset ; dct:identifier "{dataset_id(0)}" ; dct:title "Intact" ;
    dcat:distribution <{url}/d/0> .
<{url}/d/0> a dcat:Distribution ; dct:title "CSV" ; dcat:downloadURL <{url}/files/0.csv> .
<{url}/datasets/1> a dcat:Dataset ; dct:identifier "{dataset_id(1)}" ; dct:title "Abîmé" ;
    dcat:distribution <{url}/d/1>, <{url}/d/2> .
<{url}/d/1> a dcat:Distribution ; dct:title "CSV" ; dcat:downloadURL <{url}/files/1.csv{close} ;
    dct:format "CSV" ;
    dcat:accessURL <{url}/access/1> .
<{url}/d/2> a dcat:Distribution ; dct:title "JSON" ; dcat:downloadURL <{url}/files/1.json> .
"""

