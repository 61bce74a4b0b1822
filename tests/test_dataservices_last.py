"""A job writes its data services after its datasets: a data service names the datasets it serves by their links,
so one processed first (gathered before them, in another batch, by another worker) would leave them out. The
gather dispatches dataset items only; `finalize`, once every dataset item is settled, writes the data services.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesters.pipeline import Harvester
from harvesters.queue import launch
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.targets import LocalCatalog
from tests.servers.catalog import CatalogServer
from tests.servers.csw_replay import iso_record, paged_records
from tests.servers.workers import Processes, wait_until_finished
from tests.tiers import starts

SERVED = ("air", "water", "soil")
SERVICE = """<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco"
    xmlns:srv="http://www.isotc211.org/2005/srv">
  <gmd:fileIdentifier><gco:CharacterString>measures-api</gco:CharacterString></gmd:fileIdentifier>
  <gmd:hierarchyLevel><gmd:MD_ScopeCode codeListValue="service"/></gmd:hierarchyLevel>
  <gmd:identificationInfo><srv:SV_ServiceIdentification>
    <gmd:citation><gmd:CI_Citation>
      <gmd:title><gco:CharacterString>Measures API</gco:CharacterString></gmd:title>
    </gmd:CI_Citation></gmd:citation>
    <gmd:abstract><gco:CharacterString>The measures, served.</gco:CharacterString></gmd:abstract>
    <srv:containsOperations><srv:SV_OperationMetadata><srv:connectPoint><gmd:CI_OnlineResource>
      <gmd:linkage><gmd:URL>https://api.example.org/measures/</gmd:URL></gmd:linkage>
    </gmd:CI_OnlineResource></srv:connectPoint></srv:SV_OperationMetadata></srv:containsOperations>
    {operates_on}
  </srv:SV_ServiceIdentification></gmd:identificationInfo>
</gmd:MD_Metadata>"""


def serve_service_first(server: CatalogServer) -> str:
    """A CSW whose first ISO record is a service operating on the dataset records that follow it."""
    service = SERVICE.format(operates_on="".join(f'<srv:operatesOn uuidref="{name}"/>' for name in SERVED))
    return paged_records(server, [service.encode(), *(iso_record(name).encode() for name in SERVED)])


def check_the_service_serves_them_all(store: Store, job_id: str) -> None:
    job = store.get_job(job_id)
    assert job.status == "done", job.errors
    (service,) = [item for item in job.items if item.dataservice is not None]
    assert [log.message for log in service.logs] == ["Data service created"]  # no "left out" warning
    catalog = LocalCatalog(store)
    datasets = {dataset["harvest"]["remote_id"]: dataset["id"] for dataset in catalog.list_datasets(job.source)}
    assert sorted(datasets) == sorted(SERVED)
    assert service.dataservice is not None
    document = catalog.get_dataservice(service.dataservice.id)
    assert document is not None
    assert sorted(reference["id"] for reference in document["datasets"]) == sorted(datasets.values())


@pytest.fixture
def one_item_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "1")


def test_inline_a_data_service_gathered_first_is_written_last(
    store: Store, catalog_server: CatalogServer, one_item_per_batch: None
) -> None:
    url = serve_service_first(catalog_server)
    source = register_source(store, name="Service first", url=url, backend="csw-iso-19139")
    job = Harvester(store).run(source)
    check_the_service_serves_them_all(store, job.id)


@pytest.fixture
@starts("servers")
def processes(tmp_path: Path, redis_url: str, database_url: str) -> Iterator[Processes]:
    with Processes(tmp_path) as started:
        yield started


def test_on_workers_a_data_service_gathered_first_is_written_last(
    store: Store, catalog_server: CatalogServer, one_item_per_batch: None, processes: Processes
) -> None:
    """The data service's batch would be enqueued first: the worker that is not gathering would take it at once."""
    url = serve_service_first(catalog_server)
    source = register_source(store, name="Service first", url=url, backend="csw-iso-19139")
    processes.worker()
    processes.worker()
    job_id = launch(store, source.id)
    wait_until_finished(store, job_id, processes)
    check_the_service_serves_them_all(store, job_id)
