"""Observability: /healthz, /metrics in the Prometheus text format (the store's and Redis's state at scrape time,
the processes' events, added up over real workers in prometheus-client's multiprocess mode), and logs with job
and source ids, as text or JSON, from workers and the scheduler."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harvesters.clock import utcnow
from harvesters.pipeline import Harvester
from harvesters.queue import launch
from harvesters.sources import register_source, validate_source
from harvesters.store import Store
from tests.helpers import datasets_page
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer
from tests.servers.paged_dcat import paged_source, serve_paged_catalog
from tests.servers.redis_server import free_port
from tests.servers.udata_portal import UdataPortal as UdataServer
from tests.servers.workers import Processes, wait_for, wait_until_finished

HARVEST = str(Path(sys.executable).with_name("harvest"))


def scrape(api: ApiClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics, by name and labels."""
    answer = httpx.get(api.server_url + "/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text) for sample in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_healthz_says_what_is_unreachable(api: ApiClient, redis_server: object,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    healthy = httpx.get(api.server_url + "/healthz")
    assert healthy.status_code == 200
    assert healthy.json() == {"status": "ok", "store": "ok", "redis": "not configured (jobs run inline)"}
    monkeypatch.setenv("HARVEST_REDIS_URL", redis_server.url)  # type: ignore[attr-defined]
    assert httpx.get(api.server_url + "/healthz").json()["redis"] == "ok"
    monkeypatch.setenv("HARVEST_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    down = httpx.get(api.server_url + "/healthz")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable" and down.json()["redis"].startswith("Redis is unreachable")


def test_metrics_count_jobs_items_durations_and_catalog_requests(api: ApiClient, store: Store,
                                                                 catalog_server: CatalogServer) -> None:
    before = scrape(api)
    url = catalog_server.serve("/catalog.json", datasets_page({"id": "a", "title": "A"}, {"id": "b"},
                                                              {"id": "c", "error": "Broken"}), "application/json")
    source = api.send("POST", "/sources/", json={"name": "Counted", "url": url, "backend": "jsonlist"}).json()
    Harvester(store).run(store.get_source(source["id"]))
    after = scrape(api)
    assert value(after, "harvest_jobs", status="done-errors") == 1
    assert value(after, "harvest_jobs", status="running") == 0 and value(after, "harvest_jobs", status="done") == 0
    for outcome, count in {"created": 1, "skipped": 1, "failed": 1, "updated": 0}.items():
        assert value(after, "harvest_items_total", outcome=outcome) - \
            value(before, "harvest_items_total", outcome=outcome) == count
    assert value(after, "harvest_job_duration_seconds_count", status="done-errors") - \
        value(before, "harvest_job_duration_seconds_count", status="done-errors") == 1
    assert value(after, "harvest_catalog_request_duration_seconds_count") - \
        value(before, "harvest_catalog_request_duration_seconds_count") == 1


def test_metrics_count_portal_writes_retries_and_the_breaker(api: ApiClient, store: Store, udata: UdataServer,
                                                             catalog_server: CatalogServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name, setting in {"HARVEST_UDATA_URL": udata.url, "HARVEST_UDATA_API_KEY": udata.api_key,
                          "HARVEST_UDATA_WRITES_PER_SECOND": "100", "HARVEST_UDATA_BACKOFF": "0.01",
                          "HARVEST_UDATA_MAX_RETRIES": "1", "HARVEST_UDATA_BREAKER_COOLDOWN": "600"}.items():
        monkeypatch.setenv(name, setting)
    url = catalog_server.serve("/portal.json", datasets_page(*({"id": f"p{n}", "title": f"P{n}"} for n in range(3))),
                               "application/json")
    source = register_source(store, name="Portal", url=url, backend="jsonlist", organization=udata.org_id)
    before = scrape(api)
    udata.set_faults(503, 1, methods=("POST",))  # the first write is retried, then goes through
    assert Harvester(store).run(source).status == "done"
    after = scrape(api)
    assert value(after, "harvest_portal_write_duration_seconds_count", method="POST") - \
        value(before, "harvest_portal_write_duration_seconds_count", method="POST") == 4  # 3 writes, 1 retried
    assert value(after, "harvest_portal_retries_total", method="POST") - \
        value(before, "harvest_portal_retries_total", method="POST") == 1
    assert value(after, "harvest_portal_breaker_open") == 0
    udata.set_faults(503, 10, methods=("PUT", "POST"))  # the portal stays unavailable: the breaker opens
    catalog_server.serve("/portal.json", datasets_page({"id": "p0", "title": "P0, renamed"}), "application/json")
    paused = Harvester(store).run(source)
    udata.clear_faults()
    assert paused.status == "failed" and paused.errors[-1].message.startswith("Paused")
    assert value(scrape(api), "harvest_portal_breaker_open") == 1


def test_workers_metrics_add_up_in_multiprocess_mode(api: ApiClient, store: Store, catalog_server: CatalogServer,
                                                     redis_url: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))  # the workers' and this scrape's
    monkeypatch.setenv("HARVEST_BATCH_SIZE", "50")
    source = paged_source(store, catalog_server, 300)
    with Processes(tmp_path) as processes:
        job_id = launch(store, source.id)
        assert value(scrape(api), "harvest_queue_depth", queue="harvest") == 1  # its gather waits for a worker
        processes.worker()
        processes.worker()
        assert wait_until_finished(store, job_id, processes).status == "done"
        wait_for(lambda: value(scrape(api), "harvest_queue_workers", queue="harvest") == 2, 30, "two workers")
        samples = scrape(api)
    assert value(samples, "harvest_items_total", outcome="created") == 300  # counted by the workers only
    assert value(samples, "harvest_job_duration_seconds_count", status="done") == 1
    assert value(samples, "harvest_catalog_request_duration_seconds_count") == 3  # three pages
    assert value(samples, "harvest_queue_depth", queue="harvest") == 0
    assert value(samples, "harvest_jobs", status="done") == 1


def json_lines(text: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_worker_logs_json_lines_naming_the_job_and_source(store: Store, catalog_server: CatalogServer,
                                                            redis_url: str, database_url: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    source = paged_source(store, catalog_server, 120)
    job_id = launch(store, source.id)
    env = {"PATH": str(Path(sys.executable).parent), "HARVEST_DATABASE_URL": database_url,
           "HARVEST_REDIS_URL": redis_url, "HARVEST_ALLOW_PRIVATE_ADDRESSES": "1", "HARVEST_LOG_FORMAT": "json"}
    done = subprocess.run([HARVEST, "worker", "--burst"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stderr)
    messages = {line["message"]: line for line in lines}
    gathering = messages[f"Gathering job {job_id}"]
    assert (gathering["level"], gathering["job_id"], gathering["source_id"]) == ("INFO", job_id, source.id)
    ended = next(line for line in lines if line["message"].startswith(f"Job {job_id} of source {source.id} ended"))
    assert ended["message"].endswith("ended done: 120 created") and ended["job_id"] == job_id
    assert any(line["message"].startswith("Worker ") and "listening on queue(s) harvest" in line["message"]
               for line in lines)
    quiet = subprocess.run([HARVEST, "worker", "--burst"], env=env | {"HARVEST_LOG_LEVEL": "WARNING"}, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert json_lines(quiet.stderr) == []


def test_the_scheduler_logs_what_it_launches_and_how_it_ends(store: Store, catalog_server: CatalogServer,
                                                             database_url: str, tmp_path: Path) -> None:
    source = register_source(store, name="Hourly", url=serve_paged_catalog(catalog_server, 5), backend="dcat",
                             schedule="@hourly")
    validate_source(store, source.id, "accepted")
    store.update_source(source.id, created_at=utcnow().replace(year=2020))  # due since long ago
    env = {"PATH": str(Path(sys.executable).parent), "HARVEST_DATABASE_URL": database_url,
           "HARVEST_ALLOW_PRIVATE_ADDRESSES": "1", "HARVEST_SCHEDULER_INTERVAL": "0.5"}
    scheduler = subprocess.Popen([HARVEST, "scheduler"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: store.list_jobs(source.id) and store.list_jobs(source.id)[0].status == "done", 60,
                 "the scheduled job to be done")
    finally:
        scheduler.send_signal(signal.SIGTERM)
        _, logged = scheduler.communicate(timeout=30)
    job_id = store.list_jobs(source.id)[0].id
    assert "INFO harvesters.scheduler Scheduler started: a tick every 0.5 s" in logged
    assert f"Launched job {job_id} of source Hourly" in logged
    assert f"[job={job_id} source={source.id}] Job {job_id} of source {source.id} ended done: 5 created" in logged
    assert "Scheduler stopped" in logged
