"""The web console in a real browser: Debian's Chromium (Playwright) on a real `harvest serve`, against a store
filled by real harvests of catalogs served on 127.0.0.1. Every page is saved as a screenshot under the test's
tmp_path; no request may leave this machine (`Browser` aborts them and the `browser` fixture checks none was
asked for)."""

from __future__ import annotations

import csv
import io
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from harvesters.apikeys import ApiKeys
from harvesters.models import HarvestSource
from harvesters.pipeline import Harvester
from harvesters.sources import register_source, validate_source
from harvesters.store import Store
from tests.servers.catalog import CatalogServer
from tests.servers.console import CHROMIUM, Browser, HarvestServe, screenshot
from tests.servers.hostile import HostileServer
from tests.servers.paged_dcat import DATASET, PREFIXES

pytestmark = pytest.mark.browser

UNTITLED = 20
STATIONS = 6
MISSING_TITLE = "missing title on dataset"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's Chromium is not installed ({CHROMIUM}): `make test` installs it with apt-get")
    with Browser() as browser:
        yield browser


@pytest.fixture
def browser(chromium: Browser) -> Iterator[Browser]:
    """The module's Chromium; the test fails if any page asked for a host other than this machine."""
    chromium.refused.clear()
    yield chromium
    assert chromium.refused == [], f"requests off this machine: {chromium.refused}"


def datasets(base: str, prefix: str, count: int) -> list[str]:
    """The generated datasets (paged_dcat's), their identifiers `{prefix}-00000`...: sources on one host never
    share a remote id."""
    return [DATASET.format(base=f"{base}/{prefix}", i=i, station=i).replace('"ds-', f'"{prefix}-')
            for i in range(count)]


def stations_catalog(base: str) -> str:
    """STATIONS datasets and a data service serving the first of them."""
    service = (f'<{base}/st/api> a dcat:DataService ; dct:identifier "st-api" ; dct:title "API des stations" ; '
               f'dcat:endpointURL <{base}/st/api> ; dcat:servesDataset <{base}/st/datasets/0> .\n')
    return "".join([PREFIXES, f"<{base}/st> a dcat:Catalog .\n", *datasets(base, "st", STATIONS), service])


def untitled_catalog(base: str) -> str:
    """Two datasets with a title and UNTITLED without one (each skipped with the same problem)."""
    parts = [PREFIXES, f"<{base}/untitled> a dcat:Catalog .\n", *datasets(base, "nt", 2)]
    parts += [f'<{base}/untitled/{i}> a dcat:Dataset ; dct:identifier "untitled-{i}" ; '
              f'dct:description "Sans titre {i}" .\n' for i in range(UNTITLED)]
    return "".join(parts)


@dataclass
class Console:
    """The console served on the test's store, its sources, an admin key, and a browser page."""

    url: str
    store: Store
    key: str
    stations: HarvestSource
    untitled: HarvestSource
    slow: HarvestSource
    page: Page
    shots: Path

    def open(self, path: str) -> Page:
        self.page.goto(self.url + path)
        return self.page

    def shot(self, name: str, phone: bool = False) -> Path:
        return screenshot(self.page, self.shots, name, phone)

    def log_in(self, key: str | None = None) -> None:
        self.open("/login")
        self.page.get_by_label("API key").fill(key or self.key)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_text("Logged in as console-tests")).to_be_visible()

    def api(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}/api/1/harvest{path}", timeout=10)


@pytest.fixture
def console(store: Store, browser: Browser, catalog_server: CatalogServer, hostile_server: HostileServer,
            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    monkeypatch.setenv("HARVEST_ALLOW_PRIVATE_ADDRESSES", "1")
    stations_url = catalog_server.serve("/stations/catalog.ttl", stations_catalog(catalog_server.url), "text/turtle")
    untitled_url = catalog_server.serve("/untitled/catalog.ttl", untitled_catalog(catalog_server.url), "text/turtle")
    slow_url = f"{hostile_server.url}/hydra/catalog.ttl?total=40&page_size=2&delay=0.4"
    stations = register_source(store, name="Stations de mesure", url=stations_url, backend="dcat", schedule="@daily")
    validate_source(store, stations.id, "accepted", by="tests")
    untitled = register_source(store, name="Catalogue sans titres", url=untitled_url, backend="dcat")
    slow = register_source(store, name="Catalogue lent", url=slow_url, backend="dcat",
                           description="Announces 40 datasets, two a page, each page after 0.4 s")
    harvester = Harvester(store)
    for source in (stations, untitled):
        harvester.run(source)
    key = ApiKeys(store).create("console-tests")[1]
    settings = {"allow_private_addresses": "1", "batch_size": "2", "autoarchive_grace_days": "0",
                "console_secret": secrets.token_urlsafe(16), "preview_max_items": "50"}
    with HarvestServe(tmp_path / "serve.log", **settings) as served:
        context = browser.context(locale="en-GB")
        page = context.new_page()
        yield Console(served.url, store, key, stations, untitled, slow, page, tmp_path)
        context.close()


def test_the_sources_page_lists_every_source_and_filters_them(console: Console) -> None:
    page = console.open("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Harvest sources")
    rows = page.locator("table.sources tbody tr")
    expect(rows).to_have_count(3)
    stations = rows.filter(has_text="Stations de mesure")
    expect(stations).to_contain_text("@daily")
    expect(stations).to_contain_text("next run")
    expect(stations).to_contain_text("Accepted")
    expect(stations).to_contain_text("done")
    expect(rows.filter(has_text="Catalogue lent")).to_contain_text("Never run")
    console.shot("sources")
    console.shot("sources", phone=True)

    page.get_by_label("Search (name or URL)").fill("sans titres")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Catalogue sans titres")

    page.get_by_label("Search (name or URL)").fill("")
    page.get_by_label("Validation").select_option("accepted")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Stations de mesure")

    page.get_by_label("Validation").select_option("")
    page.get_by_label("Last job").select_option("never")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Catalogue lent")

    console.open("/?backend=ckan")
    expect(rows).to_have_count(0)
    expect(page.get_by_text("No source matches.")).to_be_visible()


def test_a_source_opens_its_jobs_and_a_job_shows_20_identical_problems_once(console: Console) -> None:
    page = console.open("/")
    page.get_by_role("link", name="Catalogue sans titres").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue sans titres")
    expect(page.locator("figure.chart svg rect")).not_to_have_count(0)
    jobs = page.locator("table.jobs tbody tr")
    expect(jobs).to_have_count(1)
    console.shot("source")
    jobs.first.get_by_role("link").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Job ")
    problems = page.locator("table.problems tbody tr")
    missing = problems.filter(has_text=MISSING_TITLE)
    expect(missing).to_have_count(1)
    expect(missing.locator("td.count")).to_have_text(str(UNTITLED))
    expect(page.get_by_text(MISSING_TITLE).filter(visible=True)).to_have_count(1)  # once, however many items have it
    console.shot("job")
    console.shot("job", phone=True)

    page.get_by_label("Status of the items").select_option("skipped")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("li.item")).to_have_count(UNTITLED)
    expect(page.get_by_text(f"{UNTITLED} item(s)")).to_be_visible()
    first = page.locator("li.item").first
    first.locator("summary").click()
    expect(first.locator("ul.logs")).to_contain_text(MISSING_TITLE)

    page.get_by_label("Status of the items").select_option("done")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("li.item")).to_have_count(2)
    page.locator("li.item summary").first.click()
    page.locator("li.item").first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=2, name=re.compile("Resources"))).to_be_visible()
    expect(page.get_by_role("cell", name="Mesures (CSV)")).to_be_visible()
    console.shot("dataset")

    job_id = console.api(f"/source/{console.untitled.id}/jobs/").json()["data"][0]["id"]
    exported = page.request.get(f"{console.url}/api/1/harvest/job/{job_id}/errors/?format=csv")
    rows = list(csv.DictReader(io.StringIO(exported.text())))
    assert sum(row["message"] == MISSING_TITLE for row in rows) == UNTITLED


def test_the_datasets_and_data_services_of_the_local_catalog(console: Console) -> None:
    page = console.open("/datasets/")
    expect(page.locator("tbody tr")).to_have_count(STATIONS + 2)
    page.get_by_label("Source").select_option(label="Stations de mesure")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(STATIONS)
    console.shot("datasets")
    page = console.open("/dataservices/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data services")
    expect(page.get_by_text("1 in the local catalog")).to_be_visible()
    page.get_by_role("link", name="API des stations").click()
    expect(page.get_by_role("heading", level=2, name="Datasets served (1)")).to_be_visible()
    console.shot("dataservice")
    page.get_by_role("link", name="Jeu de données n°0").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jeu de données n°0")


def test_without_login_the_run_button_is_refused_and_a_key_allows_a_run(console: Console) -> None:
    page = console.open(f"/sources/{console.stations.id}")
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("alert")).to_have_text("Log in with an API key to do this.")
    console.shot("run-refused")
    assert console.api(f"/source/{console.stations.id}/jobs/").json()["total"] == 1  # nothing launched

    page.get_by_label("API key").fill("hvk_not-a-key")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("This API key is unknown or revoked.")
    page.get_by_label("API key").fill(console.key)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Logged in as console-tests")).to_be_visible()
    assert console.key not in page.content()
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status").filter(has_text="Job launched.")).to_be_visible()
    expect(page.locator("#job-status")).to_contain_text("done", timeout=30_000)
    jobs = console.api(f"/source/{console.stations.id}/jobs/").json()
    assert jobs["total"] == 2 and jobs["data"][0]["status"] == "done"
    assert console.key not in page.content()


def test_the_live_progress_advances_during_a_run_without_a_reload(console: Console) -> None:
    console.log_in()
    page = console.open(f"/sources/{console.slow.id}")
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Job ")
    page.evaluate("window.stillTheSamePage = true")
    done = page.locator("#progress-done")
    expect(done).to_have_text(re.compile(r"^\d+/40$"), timeout=20_000)
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(set(seen)) < 3:
        text = done.inner_text()
        if re.fullmatch(r"\d+/40", text):
            seen.append(int(text.split("/")[0]))
        time.sleep(0.3)
    assert len(set(seen)) >= 3 and seen == sorted(seen), seen  # it advanced, several times, never back
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place
    expect(page.locator("#progress-stage")).not_to_have_text("waiting to start")
    expect(page.locator("#progress-rate")).to_contain_text("items/s")
    console.shot("job-running")
    expect(page.locator("#job-status")).to_contain_text("done", timeout=60_000)
    expect(page.locator("#job-counts")).to_contain_text("40")


def test_the_cancel_button_cancels_a_running_job(console: Console) -> None:
    console.log_in()
    page = console.open(f"/sources/{console.slow.id}")
    page.get_by_role("button", name="Run now").click()
    expect(page.locator("#progress-done")).to_have_text(re.compile(r"^[1-9]\d*/40$"), timeout=20_000)
    page.get_by_role("button", name="Cancel the job").click()
    expect(page.get_by_role("status").filter(has_text="Job cancelled.")).to_be_visible()
    expect(page.locator("#job-status")).to_contain_text("failed")
    expect(page.locator("#job-state")).to_contain_text("Cancelled from the console by 'console-tests'")
    expect(page.get_by_role("button", name="Cancel the job")).to_have_count(0)
    console.shot("job-cancelled")
    job = console.api(f"/source/{console.slow.id}/jobs/").json()["data"][0]
    assert job["status"] == "failed" and job["errors"][0]["message"].startswith("Cancelled from the console")


def test_the_form_refuses_an_unknown_config_key_beside_its_field_then_registers(console: Console) -> None:
    console.log_in()
    page = console.open("/sources/new")
    page.get_by_label("Backend").select_option("ckan")
    expect(page.get_by_label("Backend")).to_have_value("ckan")
    page.wait_for_url(re.compile(r"backend=ckan"))
    expect(page.get_by_role("group", name="Filters")).to_contain_text("organization")
    page.get_by_label("Name").fill("Portail CKAN")
    page.get_by_label("URL").fill("http://127.0.0.1:9/ckan")
    page.get_by_label("Filter 1: key").fill("colour")
    page.get_by_label("Filter 1: value").fill("blue")
    page.get_by_label("Schedule").fill("every tuesday")
    page.get_by_role("button", name="Save").click()

    key_field = page.get_by_label("Filter 1: key")
    error = page.locator("#filter-0-error")
    expect(error).to_contain_text("Unknown filter 'colour' for backend 'ckan'")
    assert key_field.get_attribute("aria-describedby") == "filter-0-error"
    assert key_field.get_attribute("aria-invalid") == "true"
    expect(page.locator("#schedule-error")).to_contain_text("Invalid schedule 'every tuesday'")
    expect(page.get_by_label("Name")).to_have_value("Portail CKAN")  # what was typed is kept
    console.shot("form-refused")
    assert console.api("/sources/").json()["total"] == 3

    key_field.fill("organization")
    page.get_by_label("Schedule").fill("@weekly")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Portail CKAN")
    expect(page.get_by_role("status").filter(has_text="Source registered.")).to_be_visible()
    created = [s for s in console.api("/sources/").json()["data"] if s["name"] == "Portail CKAN"]
    assert created[0]["config"]["filters"] == [{"key": "organization", "value": "blue", "type": "include"}]
    assert created[0]["schedule"] == "@weekly"


def test_a_preview_tells_what_would_be_created_updated_with_the_diff_and_archived(
        console: Console, catalog_server: CatalogServer) -> None:
    changed = untitled_catalog(catalog_server.url).replace("Jeu de données n°1", "Jeu renommé")
    changed = changed.replace('dct:identifier "nt-00000"', 'dct:identifier "nt-new"')
    catalog_server.serve("/untitled/catalog.ttl", changed, "text/turtle")
    console.log_in()
    page = console.open(f"/sources/{console.untitled.id}")
    page.get_by_role("link", name="Preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview of Catalogue sans titres")
    created = page.locator("section", has=page.get_by_role("heading", name=re.compile("Would be created")))
    expect(created).to_contain_text("nt-new")
    updated = page.locator("section", has=page.get_by_role("heading", name=re.compile("Would be updated")))
    expect(updated).to_contain_text("nt-00001")
    expect(updated).to_contain_text("title: 'Jeu de données n°1' → 'Jeu renommé'")
    archived = page.locator("section", has=page.get_by_role("heading", name=re.compile("Would be archived")))
    expect(archived).to_contain_text("nt-00000")
    grouped = page.locator("table.problems tbody tr").filter(has_text=MISSING_TITLE)
    expect(grouped.locator("td.count")).to_have_text(str(UNTITLED))
    console.shot("preview")
    assert console.api(f"/source/{console.untitled.id}/jobs/").json()["total"] == 1  # nothing kept of it


def test_french_from_the_browser_and_english_from_the_switch(console: Console, browser: Browser) -> None:
    context = browser.context(locale="fr-FR")
    page = context.new_page()
    page.goto(console.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sources de moissonnage")
    expect(page.locator("table.sources")).to_contain_text("Jamais moissonnée")
    screenshot(page, console.shots, "sources-fr")
    page.get_by_role("link", name="Catalogue sans titres").click()
    expect(page.get_by_role("button", name="Lancer maintenant")).to_be_visible()
    page.locator("table.jobs a").first.click()
    expect(page.get_by_role("heading", name="Problèmes, regroupés par message")).to_be_visible()
    screenshot(page, console.shots, "job-fr")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Problems, grouped by message")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(console.url + "/")  # the choice holds, whatever the browser prefers
    expect(page.get_by_role("heading", level=1)).to_have_text("Harvest sources")
    page.get_by_role("link", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sources de moissonnage")
    context.close()


def test_the_api_docs_load_with_no_request_off_this_machine(console: Console, browser: Browser) -> None:
    asked: list[str] = []
    console.page.on("request", lambda request: asked.append(request.url))
    page = console.open("/api/1/harvest/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui")).to_contain_text("/api/1/harvest/sources/")
    screenshot(page, console.shots, "docs", full=False)
    page = console.open("/api/1/harvest/redoc")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("udata harvesters"), timeout=30_000)
    expect(page.get_by_role("menuitem", name="harvest")).to_be_visible()
    logo = page.get_by_role("img", name="redocly logo")
    expect(logo).to_have_attribute("src", re.compile(r"^/api/1/harvest/redoc/logo-mini\.svg$"))
    assert logo.evaluate("image => image.complete && image.naturalWidth > 0")  # served here
    screenshot(page, console.shots, "redoc", full=False)
    assert asked and all(url.startswith(console.url) or url.startswith(("data:", "blob:")) for url in asked), asked
    assert browser.refused == []
