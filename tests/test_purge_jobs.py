"""Retention: `harvest purge-jobs` deletes old finished job records, never datasets or running jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harvesters.clock import utcnow
from harvesters.pipeline import Harvester
from harvesters.store import Store
from tests.helpers import Cli
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import harvested_remote_ids, paged_source


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


def aged(store: Store, job_id: str, days: float) -> str:
    store.update_job(job_id, created=utcnow() - timedelta(days=days))
    return job_id


def test_old_finished_jobs_are_deleted_with_their_items(cli: Cli, store: Store,
                                                        catalog_server: CatalogServer) -> None:
    source = paged_source(store, catalog_server, 12)
    ancient = aged(store, Harvester(store).run(source).id, days=400)
    recent = aged(store, Harvester(store).run(source).id, days=30)
    running = aged(store, store.create_job(source.id, exclusive=True), days=500)

    assert cli.json("purge-jobs") == {"deleted": 1}  # default: older than 365 days
    assert {job.id for job in store.list_jobs(source.id)} == {recent, running}
    assert store.count_items(ancient) == 0 and store.count_items(recent) == 12
    assert cli.json("purge-jobs", "--older-than", "7") == {"deleted": 1}
    assert [job.id for job in store.list_jobs(source.id)] == [running]
    assert len(harvested_remote_ids(store, source)) == 12  # datasets are kept
    assert "0 job(s) deleted" in cli("purge-jobs", "--older-than", "0").stdout
