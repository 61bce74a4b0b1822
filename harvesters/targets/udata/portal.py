"""A udata portal as the pipeline's target: datasets and data services written through its REST API, a few at
a time within the portal's write budget.

The portal reads nothing from the store: a write carries its provenance (source, catalog URL, remote id)
and its publisher. What a job needs from the portal (its licenses and frequencies, the publisher's datasets
to find those harvested before, its contact points) is read once per job, by the job's view of the portal
(`for_job`); views share the process's client (budget, circuit breaker) and its pool of writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

from harvesters.licenses import LicenseIndex
from harvesters.models import Dataservice, Dataset
from harvesters.settings import Settings
from harvesters.targets.base import Kind, TargetError, TargetUnavailable, Write, Writes, Written
from harvesters.targets.udata.client import UdataClient
from harvesters.targets.udata.contacts import ContactBook
from harvesters.targets.udata.memo import Memo
from harvesters.targets.udata.payloads import archive_body, dataservice_body, dataset_body, read_provenance

LISTING_FIELDS = "id,title,archived,deleted,last_modified,extras,harvest"


class UdataPortal:
    name = "udata"

    def __init__(self, client: UdataClient, writers: ThreadPoolExecutor) -> None:
        self.client = client
        self.writers = writers
        self.contacts = ContactBook(client)
        self._lists: Memo[str, Any] = Memo()  # licenses, frequencies
        self._found: Memo[tuple[str, str | None], dict[str, str]] = Memo()  # (source, publisher): remote id -> id

    @classmethod
    def open(cls, config: Settings) -> UdataPortal:
        """The portal of HARVEST_UDATA_URL, written to with HARVEST_UDATA_API_KEY, by up to
        HARVEST_UDATA_CONCURRENT_WRITES writes at a time."""
        if not config.udata_url:
            raise TargetError("No udata portal configured: set HARVEST_UDATA_URL (and HARVEST_UDATA_API_KEY)")
        key = config.udata_api_key.get_secret_value() if config.udata_api_key else None
        writers = ThreadPoolExecutor(config.udata_concurrent_writes, thread_name_prefix="udata-write")
        return cls(UdataClient(config.udata_url, key, config), writers)

    def for_job(self) -> UdataPortal:
        """The same client (budget, breaker) and writers, with the reference lists, the dataset index and the
        contact points read afresh for the job."""
        return type(self)(self.client, self.writers)

    # --- reference lists, once per job ---------------------------------------------------------------

    def licenses(self) -> LicenseIndex:
        return self._lists.get("licenses", lambda: LicenseIndex(self.client.request("GET", "datasets/licenses/")))

    def frequencies(self) -> set[str]:
        return self._lists.get("frequencies", lambda: {
            entry["id"] for entry in self.client.request("GET", "datasets/frequencies/")})

    def me(self) -> dict[str, Any]:
        """Who the API key writes as (GET /api/1/me/)."""
        return self.client.request("GET", "me/")

    # --- writes --------------------------------------------------------------------------------------

    def write_each(self, writes: Writes) -> Iterator[tuple[int, Written | Exception]]:
        """Write them by up to HARVEST_UDATA_CONCURRENT_WRITES at a time (the budget spaces the requests),
        yielding each as it is done; once the portal is unavailable, none is started any more."""
        queue = iter(enumerate(writes))
        running: dict[Future[Written], int] = {}
        stopped = False
        while True:
            while not stopped and len(running) < self.client.config.udata_concurrent_writes:
                if (entry := next(queue, None)) is None:
                    break
                index, (write, known) = entry
                running[self.writers.submit(self.write, write, known)] = index
            if not running:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                try:
                    yield index, future.result()
                except Exception as error:
                    stopped = stopped or isinstance(error, TargetUnavailable)
                    yield index, error

    def write(self, write: Write[Any], known: str | None = None) -> Written:
        """Update the dataset (or data service) `known`, else the dataset the portal has for the write's
        (source, remote id), else create it."""
        contacts, warnings = self.contacts.ids(write.payload.contact_points, write.organization)
        if isinstance(write.payload, Dataservice):
            body = dataservice_body(write, contacts)
            if known:  # udata 17.18 updates a data service with PATCH (PUT is not allowed)
                return Written(self.client.request("PATCH", f"dataservices/{known}/", json=body)["id"], "updated",
                               tuple(warnings))
            return Written(self.client.request("POST", "dataservices/", json=body)["id"], "created", tuple(warnings))
        target = known or self._index(write).get(write.provenance.remote_id)
        if target:
            current = self._get(target, fields="id,resources{id,url,title,extras}")
            body = self._dataset_body(write, current["resources"], contacts)
            return Written(self.client.request("PUT", f"datasets/{target}/", json=body)["id"], "updated",
                           tuple(warnings))
        body = self._dataset_body(write, [], contacts)
        document = self.client.request("POST", "datasets/", json=body, recover=lambda: self._just_created(write))
        self._index(write)[write.provenance.remote_id] = document["id"]
        return Written(document["id"], "created", tuple(warnings))

    def archive(self, object_id: str, when: datetime, kind: Kind = "dataset") -> None:
        """Set the dataset's `archived` date, sending back everything else as the portal has it (a dataset
        that reappears upstream is unarchived by its next update, which sends `archived: null`); a data
        service's `archived_at` (PATCH changes nothing else)."""
        if kind == "dataservice":
            self.client.request("PATCH", f"dataservices/{object_id}/", json={"archived_at": when.isoformat()})
            return
        current = self._get(object_id)
        self.client.request("PUT", f"datasets/{object_id}/", json=archive_body(current, when.isoformat()))

    def _dataset_body(self, write: Write[Dataset], previous_resources: list[dict[str, Any]],
                      contacts: list[str]) -> dict[str, Any]:
        return dataset_body(write, self.licenses(), self.frequencies(), previous_resources, contacts)

    def _get(self, dataset_id: str, fields: str | None = None) -> dict[str, Any]:
        try:
            return self.client.request("GET", f"datasets/{dataset_id}/", fields=fields)
        except TargetError as error:
            if error.status in (404, 410):
                raise TargetError(f"Dataset {dataset_id} is no longer on the portal (HTTP {error.status}); "
                                  "it is not re-created", error.status) from None
            raise

    # --- finding what was harvested before ----------------------------------------------------------

    def _index(self, write: Write[Any]) -> dict[str, str]:
        """The publisher's datasets harvested for the write's source, by remote id: listed once per job."""
        source_id, organization = write.provenance.source_id, write.organization
        return self._found.get((source_id, organization), lambda: {
            found.remote_id: dataset["id"] for dataset in self.datasets(organization)
            if (found := read_provenance(dataset)).source_id == source_id and found.remote_id})

    def _just_created(self, write: Write[Any]) -> dict[str, Any] | None:
        """The dataset a POST whose answer was lost may have created: among the publisher's newest."""
        source_id, remote_id = write.provenance.source_id, write.provenance.remote_id
        for dataset in self.datasets(write.organization, newest_first=True, pages=1):
            found = read_provenance(dataset)
            if (found.source_id, found.remote_id) == (source_id, remote_id):
                return dataset
        return None

    def datasets(self, organization: str | None, newest_first: bool = False, pages: int | None = None
                 ) -> Iterator[dict[str, Any]]:
        """The datasets of a publisher (an organization, else the API key's user), deleted ones left out;
        `pages` limits how many pages are read."""
        if not organization:
            yield from (d for d in self.client.request("GET", "me/datasets/", fields=LISTING_FIELDS)
                        if not d.get("deleted"))
            return
        path = f"organizations/{organization}/datasets/"
        params: dict[str, Any] = {"page": 1, "page_size": self.client.config.udata_page_size,
                                  "sort": "-created" if newest_first else "created"}
        while True:
            page = self.client.request("GET", path, params=params, fields=f"data{{{LISTING_FIELDS}}},next_page")
            yield from (dataset for dataset in page["data"] if not dataset.get("deleted"))
            if not page.get("next_page") or params["page"] == pages:
                return
            params["page"] += 1
