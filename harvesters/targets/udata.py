"""The udata target: datasets written to a udata portal through its REST API (/api/1).

Every write sends the full payload (udata's PUT clears what it is not sent). udata's API does not
let a client set a dataset's `harvest` block, so provenance goes in `harvest:*` extras, and a
resource's upstream identity in its `harvest:uri` extra so it keeps its portal id across runs.

Politeness: writes are paced (HARVEST_UDATA_WRITES_PER_SECOND); a 429 waits its Retry-After; 5xx
and network errors are retried with exponential backoff and jitter. When the portal stays
unavailable, the circuit breaker opens and PortalUnavailable tells the pipeline to pause the job.
Any other 4xx is the dataset's fault: PortalError with the portal's message (a 401, a redirect or
a non-JSON answer mean a wrong key or URL: the job pauses too). The API key is sent as
X-API-KEY, never on a redirect, and never written into a message.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import requests

from harvesters.http import Http, HttpError, HttpOptions, parse_json, retry_after
from harvesters.licenses import LicenseIndex
from harvesters.models import DataserviceRef, DatasetRef, HarvestSource
from harvesters.settings import Settings
from harvesters.store import Store
from harvesters.targets.base import (
    DataserviceWrite,
    DatasetWrite,
    Kind,
    PortalError,
    PortalUnavailable,
    keep_resource_ids,
)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNAVAILABLE = frozenset({429, 502, 503, 504})  # the portal is overloaded or down: not the request's fault
NOT_PROCESSED = frozenset({429, 503})  # answers meaning the request was not carried out
EXTRA = "harvest:"
RESOURCE_URI_EXTRA = "harvest:uri"
LISTING_FIELDS = "id,title,archived,deleted,last_modified,extras,harvest"
# What a PUT must send back to archive a dataset without clearing anything (resources, left out, are kept).
KEPT_ON_ARCHIVE = (
    "title", "acronym", "description", "license", "frequency", "frequency_date", "temporal_coverage",
    "spatial", "tags", "private", "extras", "access_type", "access_audiences", "authorization_request_url",
    "access_type_reason_category", "access_type_reason",
)


class Breaker:
    """Opens after `threshold` failures in a row (or at once on `trip`); while open, every call is
    refused without touching the network, until `cooldown` seconds have passed and one trial goes through."""

    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None
        self.reason = ""

    def check(self) -> None:
        if self.opened_at is None:
            return
        if time.monotonic() - self.opened_at < self.cooldown:
            raise PortalUnavailable(f"{self.reason} (circuit breaker open for {self.cooldown:g}s)")
        self.opened_at = None  # half-open: one trial, whose failure re-opens at once
        self.failures = self.threshold - 1

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failure(self, reason: str, trip: bool = False) -> bool:
        """Count a failure; True when the breaker is now open."""
        self.failures += 1
        if trip or self.failures >= self.threshold:
            self.opened_at, self.reason = time.monotonic(), reason
        return self.opened_at is not None


class Pacer:
    """Spaces calls evenly: at most `per_second` of them per second, across threads."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            time.sleep(delay)


@dataclass
class Attempt:
    """How one request went: the response, or the network error that stood for it."""

    response: requests.Response | None
    problem: str
    processed_maybe: bool


class UdataClient:
    """JSON over udata's /api/1 with pacing, retries, backoff and a circuit breaker."""

    def __init__(self, url: str, api_key: str | None, config: Settings) -> None:
        self.url = url.rstrip("/")
        self.config = config
        self.http = Http(HttpOptions.from_settings(config), retries=0)
        self.api_key = api_key
        self.pacer = Pacer(self.config.udata_writes_per_second)
        self.breaker = Breaker(self.config.udata_breaker_threshold, self.config.udata_breaker_cooldown)
        self.writes: Counter[str] = Counter()  # "POST 201", "PUT 503": every write request sent

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        fields: str | None = None,
        recover: Callable[[], Any] | None = None,
    ) -> Any:
        """The JSON answer (None for 204). Retries what may pass later; before re-sending a request the
        portal may have carried out, `recover()` is asked for its effect (a found result is returned)."""
        url = f"{self.url}/api/1/{path.lstrip('/')}"
        headers = {"X-Fields": fields} if fields else {}
        if self.api_key:
            headers["X-API-KEY"] = self.api_key
        config = self.config
        for attempt in itertools.count():
            self.breaker.check()
            if method in WRITE_METHODS:
                self.pacer.wait()
            sent = self._send(method, url, headers, json, params)
            status = sent.response.status_code if sent.response is not None else None
            if status is not None and status < 500 and status not in (401, 429):
                self.breaker.success()
                return self._result(method, url, sent.response)
            if status == 401:
                message = f"{sent.problem}: the portal refused the API key (check HARVEST_UDATA_API_KEY)"
                self.breaker.failure(message, trip=True)
                raise PortalUnavailable(message, status)
            wait = self._wait(sent.response, attempt)
            if wait > config.udata_retry_after_max:
                message = f"{sent.problem}, asking to wait {wait:g}s (more than HARVEST_UDATA_RETRY_AFTER_MAX)"
                self.breaker.failure(message, trip=True)
                raise PortalUnavailable(message, status)
            if attempt == config.udata_max_retries:
                raise self._gave_up(sent, status, attempt + 1)
            time.sleep(wait)
            if recover is not None and sent.processed_maybe and (found := recover()) is not None:
                self.breaker.success()
                return found

    def _send(
        self, method: str, url: str, headers: dict[str, str], json: Any, params: dict[str, Any] | None
    ) -> Attempt:
        try:
            response = self.http.session.request(
                method, url, headers=headers, json=json, params=params, timeout=self.http.timeout,
                allow_redirects=False,  # a redirect would carry the API key elsewhere
            )
        except requests.RequestException as error:
            refused = isinstance(error, requests.ConnectTimeout) or "refused" in str(error).lower()
            if method in WRITE_METHODS:
                self.writes[f"{method} error"] += 1
            return Attempt(None, f"{method} {url} failed: {_network_reason(error)}", processed_maybe=not refused)
        if method in WRITE_METHODS:
            self.writes[f"{method} {response.status_code}"] += 1
        problem = f"{method} {url} answered HTTP {response.status_code} {response.reason or ''}".rstrip()
        return Attempt(response, problem, processed_maybe=response.status_code not in NOT_PROCESSED)

    def _result(self, method: str, url: str, response: requests.Response) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            message = (f"{method} {url} redirects to {response.headers.get('Location', '?')}: "
                       "check HARVEST_UDATA_URL (e.g. https://, no path)")
            self.breaker.failure(message, trip=True)
            raise PortalUnavailable(message, status)
        if status >= 400:
            raise PortalError(f"The portal refused {method} {url}: HTTP {status}: {portal_message(response)}", status)
        if status == 204:
            return None
        try:
            return parse_json(response)
        except HttpError as error:
            raise PortalUnavailable(f"{error} (is HARVEST_UDATA_URL a udata portal?)", status) from None

    def _wait(self, response: requests.Response | None, attempt: int) -> float:
        """Seconds before the next attempt: the portal's Retry-After, else exponential backoff with jitter."""
        if response is not None and (after := retry_after(response.headers.get("Retry-After"))) is not None:
            return after
        ceiling = min(self.config.udata_backoff_max, self.config.udata_backoff * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _gave_up(self, sent: Attempt, status: int | None, attempts: int) -> PortalError:
        message = f"{sent.problem}{_detail(sent.response)} ({attempts} attempts)"
        if status is None or status in UNAVAILABLE:
            self.breaker.failure(message, trip=True)
            return PortalUnavailable(message, status)
        if self.breaker.failure(message):
            return PortalUnavailable(f"{message}; {self.breaker.threshold} requests failed in a row", status)
        return PortalError(message, status)


def portal_message(response: requests.Response) -> str:
    """udata's explanation: its validation errors by field, else its message, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason or ""
    if isinstance(body, dict) and isinstance(body.get("errors"), dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in body["errors"].items())
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)[:300]


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_flatten(inner)}" for key, inner in value.items())
    if isinstance(value, list):
        return " ".join(_flatten(inner) for inner in value)
    return str(value)


def _detail(response: requests.Response | None) -> str:
    if response is None or response.status_code in UNAVAILABLE:
        return ""
    message = portal_message(response)
    return f": {message}" if message else ""


def _network_reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "timed out"
    text = str(error)
    return "connection refused" if "refused" in text.lower() else type(error).__name__


# --- the Portal --------------------------------------------------------------------------------------


@dataclass
class Attached:
    """What `attach` found: datasets adopted, already linked, and duplicates left aside."""

    adopted: list[dict[str, Any]] = field(default_factory=list)
    already_linked: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)


class UdataPortal:
    name = "udata"

    def __init__(self, store: Store, client: UdataClient) -> None:
        self.store = store
        self.client = client
        self._licenses: LicenseIndex | None = None
        self._frequencies: set[str] | None = None
        self._found: dict[str, dict[str, str]] = {}  # source id -> remote id -> dataset id, listed once per job
        self._source_urls: dict[str, str] = {}

    @classmethod
    def open(cls, store: Store, config: Settings) -> UdataPortal:
        """The portal of HARVEST_UDATA_URL, written to with HARVEST_UDATA_API_KEY."""
        if not config.udata_url:
            raise PortalError("No udata portal configured: set HARVEST_UDATA_URL (and HARVEST_UDATA_API_KEY)")
        key = config.udata_api_key.get_secret_value() if config.udata_api_key else None
        return cls(store, UdataClient(config.udata_url, key, config))

    def for_job(self) -> UdataPortal:
        """The same portal and client (pace, breaker), with the reference lists and the dataset index read
        afresh for the job."""
        return type(self)(self.store, self.client)

    # --- reference lists, once per job ---------------------------------------------------------------

    def licenses(self) -> LicenseIndex:
        if self._licenses is None:
            self._licenses = LicenseIndex(self.client.request("GET", "datasets/licenses/"))
        return self._licenses

    def frequencies(self) -> set[str]:
        if self._frequencies is None:
            self._frequencies = {entry["id"] for entry in self.client.request("GET", "datasets/frequencies/")}
        return self._frequencies

    def me(self) -> dict[str, Any]:
        """Who the API key writes as (GET /api/1/me/)."""
        return self.client.request("GET", "me/")

    # --- the Portal protocol ------------------------------------------------------------------------

    def find(self, source_id: str, remote_id: str) -> str | None:
        if source_id not in self._found:
            source = self.store.get_source(source_id)
            self._found[source_id] = {
                key[1]: dataset["id"]
                for dataset in self.datasets(source)
                if (key := provenance(dataset))[0] == source_id and key[1]
            }
        return self._found[source_id].get(remote_id)

    def create(self, write: DatasetWrite) -> DatasetRef:
        body = self._body(write, previous_resources=[])
        document = self.client.request("POST", "datasets/", json=body, recover=lambda: self._just_created(write))
        source_id, remote_id = write.harvest["source_id"], write.harvest["remote_id"]
        if source_id in self._found:
            self._found[source_id][remote_id] = document["id"]
        return _ref(document)

    def update(self, dataset_id: str, write: DatasetWrite) -> DatasetRef:
        current = self._get(dataset_id, fields="id,resources{id,url,title,extras}")
        body = self._body(write, previous_resources=current["resources"])
        return _ref(self.client.request("PUT", f"datasets/{dataset_id}/", json=body))

    def create_dataservice(self, write: DataserviceWrite) -> DataserviceRef:
        body = dataservice_body(write, self._source_url(write.harvest["source_id"]))
        return _dataservice_ref(self.client.request("POST", "dataservices/", json=body))

    def update_dataservice(self, dataservice_id: str, write: DataserviceWrite) -> DataserviceRef:
        """udata 17.18 updates a data service with PATCH (PUT is not allowed)."""
        body = dataservice_body(write, self._source_url(write.harvest["source_id"]))
        return _dataservice_ref(self.client.request("PATCH", f"dataservices/{dataservice_id}/", json=body))

    def archive(self, object_id: str, when: datetime, kind: Kind = "dataset") -> None:
        """Set the dataset's `archived` date, sending back everything else as the portal has it (a dataset
        that reappears upstream is unarchived by its next update, which sends `archived: null`); a data
        service's `archived_at` (PATCH changes nothing else)."""
        if kind == "dataservice":
            self.client.request("PATCH", f"dataservices/{object_id}/", json={"archived_at": when.isoformat()})
            return
        current = self._get(object_id)
        body = {key: current[key] for key in KEPT_ON_ARCHIVE if key in current}
        body["contact_points"] = [contact["id"] for contact in current.get("contact_points") or []]
        if current.get("organization"):
            body["organization"] = current["organization"]["id"]
        self.client.request("PUT", f"datasets/{object_id}/", json=body | {"archived": when.isoformat()})

    def _body(self, write: DatasetWrite, previous_resources: list[dict[str, Any]]) -> dict[str, Any]:
        return dataset_body(write, self.licenses(), self.frequencies(), previous_resources,
                            self._source_url(write.harvest["source_id"]))

    def _source_url(self, source_id: str) -> str:
        if source_id not in self._source_urls:
            self._source_urls[source_id] = self.store.get_source(source_id).url
        return self._source_urls[source_id]

    def _get(self, dataset_id: str, fields: str | None = None) -> dict[str, Any]:
        try:
            return self.client.request("GET", f"datasets/{dataset_id}/", fields=fields)
        except PortalError as error:
            if error.status in (404, 410):
                raise PortalError(f"Dataset {dataset_id} is no longer on the portal (HTTP {error.status}); "
                                  "it is not re-created", error.status) from None
            raise

    # --- listing and adopting -----------------------------------------------------------------------

    def datasets(self, source: HarvestSource, newest_first: bool = False, pages: int | None = None
                 ) -> Iterator[dict[str, Any]]:
        """The datasets of the source's publisher (its organization, else the API key's user), deleted ones
        left out; `pages` limits how many pages are read."""
        if not source.organization:
            yield from (d for d in self.client.request("GET", "me/datasets/", fields=LISTING_FIELDS)
                        if not d.get("deleted"))
            return
        path = f"organizations/{source.organization.id}/datasets/"
        params = {"page": 1, "page_size": self.client.config.udata_page_size,
                  "sort": "-created" if newest_first else "created"}
        while True:
            page = self.client.request("GET", path, params=params, fields=f"data{{{LISTING_FIELDS}}},next_page")
            yield from (dataset for dataset in page["data"] if not dataset.get("deleted"))
            if not page.get("next_page") or params["page"] == pages:
                return
            params["page"] += 1

    def _just_created(self, write: DatasetWrite) -> dict[str, Any] | None:
        """The dataset a POST whose answer was lost may have created: among the publisher's newest."""
        source = self.store.get_source(write.harvest["source_id"])
        wanted = (source.id, write.harvest["remote_id"])
        return next((d for d in self.datasets(source, newest_first=True, pages=1) if provenance(d)[:2] == wanted),
                    None)

    def attach(self, source: HarvestSource) -> Attached:
        """Rebuild the source's links from the portal (see `adoptable`), one dataset per remote id: the
        one this source wrote, else a live one, else the latest modified; other candidates are duplicates."""
        others = {other.id for other in self.store.list_sources()} - {source.id}
        candidates: dict[str, list[tuple[tuple[bool, bool, str], dict[str, Any]]]] = {}
        for dataset in self.datasets(source):
            if adoptable(dataset, source, others):
                source_id, remote_id = provenance(dataset)[:2]
                rank = (source_id == source.id, not dataset.get("archived"), dataset.get("last_modified") or "")
                entry = {"remote_id": remote_id, "dataset_id": dataset["id"], "title": dataset.get("title"),
                         "archived": dataset.get("archived")}
                candidates.setdefault(remote_id, []).append((rank, entry))
        result = Attached()
        for remote_id, found in candidates.items():
            (_, entry), *others_found = sorted(found, key=lambda pair: pair[0], reverse=True)
            result.duplicates += [duplicate for _, duplicate in others_found]
            if self.store.get_link(source.id, remote_id) is not None:
                result.already_linked.append(entry)
                continue
            self.store.save_link(source.id, remote_id, entry["dataset_id"], payload_hash=None)
            if entry["archived"]:
                self.store.archive_link(source.id, remote_id)
            result.adopted.append(entry)
        return result


def adoptable(dataset: dict[str, Any], source: HarvestSource, other_sources: set[str]) -> bool:
    """Whether a portal dataset is one of the source's: written for this source; or written by us from the
    same catalog URL for a source we no longer have (lost database); or harvested by udata itself from the
    same domain (no `harvest:*` extras)."""
    source_id, remote_id, domain = provenance(dataset)
    extras = dataset.get("extras") or {}
    if not remote_id or source_id in other_sources:
        return False
    if source_id == source.id:
        return True
    if EXTRA + "source_url" in extras:
        return bool(extras[EXTRA + "source_url"] == source.url)
    return EXTRA + "source_id" not in extras and domain == urlparse(source.url).hostname


def provenance(dataset: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(source id, remote id, domain) of a portal dataset: our `harvest:*` extras, else udata's own `harvest`."""
    extras = dataset.get("extras") or {}
    native = dataset.get("harvest") or {}
    return (
        extras.get(EXTRA + "source_id") or native.get("source_id"),
        extras.get(EXTRA + "remote_id") or native.get("remote_id"),
        extras.get(EXTRA + "domain") or native.get("domain"),
    )


def _ref(document: dict[str, Any]) -> DatasetRef:
    return DatasetRef(id=document["id"], title=document.get("title"), page=document.get("page"),
                      uri=document.get("uri"))


def _dataservice_ref(document: dict[str, Any]) -> DataserviceRef:
    return DataserviceRef(id=document["id"], title=document.get("title"),
                          self_api_url=document.get("self_api_url"), self_web_url=document.get("self_web_url"))


# --- payloads ----------------------------------------------------------------------------------------


def dataset_body(
    write: DatasetWrite,
    licenses: LicenseIndex,
    frequencies: set[str],
    previous_resources: list[dict[str, Any]],
    source_url: str,
) -> dict[str, Any]:
    """The full body of POST/PUT /api/1/datasets/: every field sent (None clears it), values the portal
    does not know (license, frequency) kept in `harvest:*` extras instead, the title standing for a missing
    description (which udata requires), provenance in extras (with the source's URL, so that `attach`
    recognises the catalog after our database is lost)."""
    data = write.document
    extras = provenance_extras(data["extras"], write.harvest, source_url)
    body: dict[str, Any] = {
        "title": data["title"],
        "description": data["description"] or data["title"],  # udata refuses an empty description
        "acronym": data["acronym"],
        "tags": data["tags"],
        "license": None,
        "frequency": None,
        "temporal_coverage": _temporal(data["temporal_coverage"]),
        "spatial": _spatial(data["spatial"]),
        "access_type": data["access_type"],
        "access_type_reason_category": data["access_type_reason_category"],
        "private": data["private"],
        "extras": extras,
        "resources": [resource_body(resource) for resource in
                      keep_resource_ids([_with_uri(old) for old in previous_resources], write.payload.resources)],
        "archived": None,
    }
    for key, known in (("license", licenses.ids), ("frequency", frequencies)):
        if data[key] in known:
            body[key] = data[key]
        elif data[key]:
            extras[EXTRA + key] = data[key]
    if write.organization:
        body["organization"] = write.organization
    return body


def dataservice_body(write: DataserviceWrite, source_url: str) -> dict[str, Any]:
    """The body of POST/PATCH /api/1/dataservices/: every mapped field (its `datasets` are portal dataset
    ids), provenance in extras as for datasets, `archived_at` null (an update un-archives)."""
    # udata references contact points by id
    data = {key: value for key, value in write.document.items() if key != "contact_points"}
    body = {**data, "extras": provenance_extras(data["extras"], write.harvest, source_url), "archived_at": None}
    if write.organization:
        body["organization"] = write.organization
    return body


def provenance_extras(extras: dict[str, Any], harvest: dict[str, Any], source_url: str) -> dict[str, Any]:
    """The mapped extras and the `harvest` block as `harvest:*` extras (udata's `harvest` is read-only)."""
    kept = {key: value for key, value in extras.items() if value is not None}
    kept |= {EXTRA + key: value for key, value in harvest.items()
             if value is not None and key not in ("archived", "archived_at")}
    kept[EXTRA + "source_url"] = source_url
    return kept


def resource_body(resource: Any) -> dict[str, Any]:
    data = resource.model_dump(mode="json", exclude={"harvest", "created_at", "last_modified"})
    if data["id"] is None:
        del data["id"]
    extras = {key: value for key, value in data["extras"].items() if value is not None}
    if resource.harvest and resource.harvest.uri:
        extras[RESOURCE_URI_EXTRA] = resource.harvest.uri
    return {**data, "extras": extras}


def _with_uri(resource: dict[str, Any]) -> dict[str, Any]:
    """A portal resource as keep_resource_ids reads it: its upstream identity from its extras."""
    return {**resource, "harvest": {"uri": (resource.get("extras") or {}).get(RESOURCE_URI_EXTRA)}}


def _spatial(spatial: dict[str, Any] | None) -> dict[str, Any] | None:
    """The spatial coverage without unset parts (udata refuses a null granularity)."""
    kept = {key: value for key, value in (spatial or {}).items() if value not in (None, [])}
    return kept or None


def _temporal(coverage: dict[str, Any] | None) -> dict[str, str] | None:
    """udata takes dates (YYYY-MM-DD) for a temporal coverage."""
    if not coverage or not coverage.get("start"):
        return None
    return {key: value[:10] for key, value in coverage.items() if value}
