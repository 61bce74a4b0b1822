"""OpenDataSoft, Explore API v2.1.

The catalog is listed 100 datasets a page; the API refuses `offset + limit >= 10000`, so a larger catalog is
read from the catalog export instead (one JSON array, decoded as it arrives). Each dataset carries everything
the mapping needs: no per-dataset request.
"""

from __future__ import annotations

import codecs
import json
import mimetypes
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests

from backends.base import (
    Backend,
    Dataset,
    ErrorAnswer,
    GatherError,
    HttpError,
    IncompleteGather,
    LicenseIndex,
    Mapped,
    Option,
    Record,
    RemoteMetadata,
    Resource,
    SkipRecord,
    label_message,
    license_extras,
    parse_json,
)
from backends.normalize import (
    file_extension,
    frequency_id,
    html_to_markdown,
    make_contact,
    normalize_tags,
    parse_datetime,
    text,
)

API_PATH = "/api/explore/v2.1"
PAGE_SIZE = 100
OFFSET_WINDOW = 10_000  # the API refuses offset + limit >= OFFSET_WINDOW
ODS_FILE = "odsfile://"  # an attachment's `url`: the file's name after it
SHAPEFILE_MAX_RECORDS = 50_000  # a larger shapefile export is truncated by the platform
RECORD_EXPORTS = {  # format: (title, mime)
    "csv": ("CSV", "text/csv"),
    "json": ("JSON", "application/json"),
    "geojson": ("GeoJSON", "application/geo+json"),
    "shp": ("Shapefile", "application/zip"),
}


class OdsBackend(Backend):
    name = "ods"
    display_name = "OpenDataSoft"
    filters = (
        Option("keyword", "Keyword", str, "Only (include) or not (exclude) datasets with this keyword"),
        Option("theme", "Theme", str, "Only (include) or not (exclude) datasets with this theme"),
        Option("publisher", "Publisher", str, "Only (include) or not (exclude) datasets from this publisher"),
    )
    features = (
        Option("inspire", "INSPIRE datasets", bool, "Harvest datasets that carry INSPIRE metadata", default=False),
    )
    extra_configs = (
        Option("where", "ODSQL where", str, "An ODSQL `where` clause the datasets must match"),
    )

    @property
    def portal(self) -> str:
        """The portal's root, whether the source URL is the site or its Explore API."""
        url = self.url.rstrip("/")
        return url[: url.index("/api/")] if "/api/" in url + "/" else url

    def gather(self) -> Iterator[Record]:
        """Every dataset, paged or exported; fewer than the catalog's `total_count` make the gather incomplete."""
        params = self.query()
        page = self.page(params, offset=0)
        total = int(page.get("total_count") or 0)
        self.context.announce(total)
        exported = total + PAGE_SIZE > OFFSET_WINDOW  # paging could not reach the last datasets
        received = 0
        if exported:
            for dataset in self.export(params):
                received += 1
                yield self.record(dataset)
        else:
            while results := page["results"]:
                yield from map(self.record, results)
                received += len(results)
                if received >= total:
                    return
                page = self.page(params, received)
                total = int(page.get("total_count") or 0)
                self.context.announce(total)
        if received < total:
            raise IncompleteGather(f"{self.portal}{API_PATH}/catalog/datasets counts {total} datasets (total_count)",
                                   f"its {'export' if exported else 'pages'} gave {received}")

    def query(self) -> list[tuple[str, Any]]:
        """Filters as `refine` / `exclude` facets, the `where` extra config, and a stable order."""
        params: list[tuple[str, Any]] = [("order_by", "dataset_id")]
        params += [("refine" if flt.type == "include" else "exclude", f'{flt.key}:"{flt.value}"')
                   for flt in self.config.filters]
        if where := self.extra("where"):
            params.append(("where", where))
        return params

    def page(self, params: list[tuple[str, Any]], offset: int) -> dict[str, Any]:
        url = f"{self.portal}{API_PATH}/catalog/datasets"
        with self.request(url, [*params, ("limit", PAGE_SIZE), ("offset", offset)]) as response:
            answer = parse_json(response)
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise GatherError(f"{url} did not answer like the Explore API v2.1 (no 'results' list)")
        return answer

    def export(self, params: list[tuple[str, Any]]) -> Iterator[Any]:
        with self.request(f"{self.portal}{API_PATH}/catalog/exports/json", params, stream=True) as response:
            yield from iter_json_array(response)

    def request(self, url: str, params: list[tuple[str, Any]], stream: bool = False) -> requests.Response:
        try:
            return self.http.get(url, params=params, stream=stream)
        except HttpError as error:
            answer = ErrorAnswer.of(error)
            message = ods_message(answer.json) if answer else None
            if answer is None or message is None:
                raise
            raise GatherError(answer.annotate(message, url)) from None

    def record(self, dataset: Any) -> Record:
        dataset_id = str(dataset.get("dataset_id") or "").strip() if isinstance(dataset, dict) else ""
        return Record(remote_id=dataset_id, remote_url=explore_url(self.portal, dataset_id) if dataset_id else None,
                      data=dataset, skip_reason=None if dataset_id else "dataset without dataset_id")

    def map(self, record: Record) -> Mapped:
        return map_dataset(record.data, self.portal, self.context.licenses, inspire=self.feature("inspire"))


# --- mapping ------------------------------------------------------------------------------------------------


def map_dataset(data: dict[str, Any], portal: str, licenses: LicenseIndex | None = None,
                inspire: bool = False) -> Mapped:
    dataset_id = data["dataset_id"]
    metas = data.get("metas") or {}
    default, dcat = metas.get("default") or {}, metas.get("dcat") or {}
    if not inspire and any(value not in (None, "", [], {}) for value in (metas.get("inspire") or {}).values()):
        raise SkipRecord(f"Dataset {dataset_id} has INSPIRE metadata (enable the 'inspire' feature to harvest it)")
    resources = [*record_exports(data, portal), *files(data, portal, "attachments"),
                 *files(data, portal, "alternative_exports")]
    if not resources:
        raise SkipRecord(f"Dataset {dataset_id} has neither records nor files")
    title = text(default.get("title"))
    if not title:
        raise SkipRecord(f"Dataset {dataset_id} has no title")
    license_values = [value for value in (text(default.get("license")), text(default.get("license_url"))) if value]
    license_id = licenses.guess(*license_values) if licenses and license_values else None
    warnings: list[str] = []
    contact = make_contact(text(dcat.get("contact_name")), text(dcat.get("contact_email")), None, "contact", warnings)
    extras = {f"ods:{key}": default[key] for key in ("references", "publisher") if text(default.get(key))}
    extras |= license_extras(license_id, *license_values)
    dataset = Dataset(
        title=title,
        description=html_to_markdown(default.get("description")),
        tags=normalize_tags([*as_list(default.get("keyword")), *as_list(default.get("theme"))]),
        license=license_id,
        frequency=frequency_id(text(dcat.get("accrualperiodicity"))),
        contact_points=[contact] if contact else [],
        resources=resources,
        extras=extras,
    )
    remote = RemoteMetadata(
        remote_url=explore_url(portal, dataset_id),
        created_at=parse_datetime(text(dcat.get("created"))),
        issued_at=parse_datetime(text(dcat.get("issued"))),
        modified_at=parse_datetime(text(default.get("modified"))),
    )
    return Mapped(dataset=dataset, remote=remote, warnings=warnings)


def record_exports(data: dict[str, Any], portal: str) -> list[Resource]:
    """CSV and JSON exports of the records; GeoJSON for geo datasets, and Shapefile when it would be complete."""
    if not data.get("has_records"):
        return []
    default = (data.get("metas") or {}).get("default") or {}
    formats = ["csv", "json"]
    if "geo" in (data.get("features") or []):
        formats.append("geojson")
        count = default.get("records_count")
        if isinstance(count, int) and count <= SHAPEFILE_MAX_RECORDS:
            formats.append("shp")
    base = f"{portal}{API_PATH}/catalog/datasets/{quote(data['dataset_id'], safe='')}/exports"
    modified = parse_datetime(text(default.get("data_processed")) or text(default.get("modified")))
    return [
        Resource(title=f"{RECORD_EXPORTS[fmt][0]} export", url=f"{base}/{fmt}", description=fields_description(data),
                 format=fmt, mime=RECORD_EXPORTS[fmt][1], last_modified=modified, extras={"ods:type": "export"})
        for fmt in formats
    ]


def files(data: dict[str, Any], portal: str, kind: str) -> list[Resource]:
    """Attachments (documentation) or alternative exports (data files), by their download URL on the API."""
    base = f"{portal}{API_PATH}/catalog/datasets/{quote(data['dataset_id'], safe='')}/{kind}"
    resources = []
    for entry in data.get(kind) or []:
        if not isinstance(entry, dict) or not text(entry.get("id")):
            continue
        mime = text(entry.get("mimetype")).lower()
        resources.append(Resource(
            title=text(entry.get("title")) or entry["id"],
            url=f"{base}/{quote(entry['id'], safe='')}",
            description=text(entry.get("description")) or None,
            type="documentation" if kind == "attachments" else "main",
            format=file_format(text(entry.get("url")), mime),
            mime=mime if "/" in mime else None,
            extras={"ods:type": kind.removesuffix("s")},
        ))
    return resources


def file_format(url: str, mime: str) -> str | None:
    """The file's extension (`odsfile://gtfs.zip` names the file `gtfs.zip`: zip), else the MIME type's usual one."""
    return file_extension(url.removeprefix(ODS_FILE)) or (mimetypes.guess_extension(mime) or "").lstrip(".") or None


def fields_description(data: dict[str, Any]) -> str | None:
    """The dataset's fields as a Markdown list: `- *label*: name [type] description`."""
    lines = []
    for field in data.get("fields") or []:
        line = f"- *{field.get('label') or field.get('name')}*: {field.get('name')} [{field.get('type')}]"
        lines.append(f"{line} {field['description']}" if field.get("description") else line)
    return "\n".join(lines) or None


def explore_url(portal: str, dataset_id: str) -> str:
    return f"{portal}/explore/dataset/{quote(dataset_id, safe='')}/"


def as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value if item]
    return [value] if isinstance(value, str) and value.strip() else []


# --- reading answers ----------------------------------------------------------------------------------------


def ods_message(body: Any) -> str | None:
    """The message of an Explore API error answer's body (`{"error_code": ..., "message": ...}`), if it is one."""
    if not isinstance(body, dict) or not body.get("message"):
        return None
    return label_message(body.get("error_code"), body["message"])


def iter_json_array(response: requests.Response, chunk_size: int = 1 << 16) -> Iterator[Any]:
    """The items of a JSON array answer, decoded as the bytes arrive (memory holds one chunk and one item)."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer, position, opened = "", 0, False
    for chunk in response.iter_content(chunk_size):
        buffer = buffer[position:] + utf8.decode(chunk)
        position = 0
        while True:
            position = skip_separators(buffer, position)
            if position == len(buffer):
                break
            if not opened:
                if buffer[position] != "[":
                    raise not_json_array(response, buffer[position:])
                opened, position = True, position + 1
                continue
            if buffer[position] == "]":
                return
            try:
                item, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError:
                break  # the item is not complete yet
            if end == len(buffer) or buffer[end] not in " \t\r\n,]":
                break  # a number cut by the chunk ("7." of "7.25") goes on in the next one
            yield item
            position = end
    raise HttpError(f"{response.url} returned an invalid or truncated JSON array")


def skip_separators(buffer: str, position: int) -> int:
    while position < len(buffer) and buffer[position] in " \t\r\n,":
        position += 1
    return position


def not_json_array(response: requests.Response, start: str) -> HttpError:
    if start.startswith("<"):
        return HttpError(f"{response.url} returned HTML where JSON was expected")
    return HttpError(f"{response.url} did not return a JSON array")
