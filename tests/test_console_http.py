"""The web console over plain HTTP (httpx against the app served by uvicorn): CSRF refusals, the session cookie,
the language, errors as pages, and every page rendered in both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harvesters.apikeys import ApiKeys
from harvesters.console.i18n import LANGUAGES, negotiated
from harvesters.console.messages import MESSAGES
from harvesters.models import HarvestSource
from harvesters.pipeline import Harvester
from harvesters.settings import settings
from harvesters.sources import register_source
from harvesters.store import Store
from harvesters.vault import Vault
from tests.helpers import datasets_page
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer

TEMPLATES = Path(__file__).parent.parent / "harvesters" / "console" / "templates"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def source(store: Store, catalog_server: CatalogServer) -> HarvestSource:
    """A source harvested once: two datasets, one failing."""
    url = catalog_server.serve("/catalog.json", datasets_page({"id": "a", "title": "A", "files": [
        f"{catalog_server.url}/a.csv"]}, {"id": "b", "error": "Broken record"}), "application/json")
    source = register_source(store, name="Liste", url=url, backend="jsonlist", config={
        "extra_configs": [{"key": "token", "value": "s3cret-token"}]})
    Harvester(store).run(source)
    return source


@pytest.fixture
def browser_like(api: ApiClient) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.server_url, timeout=30, follow_redirects=False) as client:
        yield client


def csrf_of(client: httpx.Client, path: str = "/login") -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: httpx.Client, key: str) -> httpx.Response:
    return client.post("/login", data={"csrf": csrf_of(client, "/login"), "key": key, "next": "/"})


def test_a_form_without_the_session_csrf_token_is_refused(browser_like: httpx.Client, api: ApiClient,
                                                          source: HarvestSource, store: Store) -> None:
    assert log_in(browser_like, api.key).status_code == 303
    for data in ({}, {"csrf": "forged"}):
        refused = browser_like.post(f"/sources/{source.id}/run", data=data)
        assert refused.status_code == 403
        assert "did not come from this console" in refused.text
    assert store.count_jobs(source.id) == 1
    with httpx.Client(base_url=api.server_url) as other:  # another session's token is no good either
        stolen = csrf_of(other)
    assert browser_like.post(f"/sources/{source.id}/run", data={"csrf": stolen}).status_code == 403
    assert browser_like.post("/login", data={"key": api.key}).status_code == 403  # the login form too
    launched = browser_like.post(f"/sources/{source.id}/run", data={"csrf": csrf_of(browser_like)})
    assert launched.status_code == 303 and launched.headers["location"].startswith("/jobs/")
    assert store.count_jobs(source.id) == 2


def test_the_session_is_a_signed_http_only_lax_cookie_that_never_holds_the_key(
        browser_like: httpx.Client, api: ApiClient, source: HarvestSource, store: Store) -> None:
    logged = log_in(browser_like, api.key)
    cookie = logged.headers["set-cookie"]
    assert cookie.startswith("harvest_console=") and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert api.key not in cookie and "secure" not in cookie.lower()  # plain http on 127.0.0.1 must keep working
    for path in ("/", f"/sources/{source.id}", f"/sources/{source.id}/edit", "/login"):
        page = browser_like.get(path)
        assert page.status_code == 200 and "Logged in as tests" in page.text
        assert api.key not in page.text and "s3cret-token" not in page.text  # nor the source's secret

    forged = httpx.Client(base_url=api.server_url, cookies={"harvest_console": "eyJvcGVyYXRvciI6ICJ4In0=.x.y"})
    assert "Logged in as" not in forged.get("/").text  # an unsigned session is no session
    forged.close()

    ApiKeys(store).revoke("tests")  # a revoked key ends its sessions
    token = csrf_of(browser_like)
    refused = browser_like.post(f"/sources/{source.id}/run", data={"csrf": token})
    assert refused.status_code == 401
    assert "Logged in as" not in browser_like.get("/").text
    assert store.count_jobs(source.id) == 1


@pytest.fixture
def over_https(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console served behind an HTTPS proxy (set before the `api` fixture builds the app)."""
    monkeypatch.setenv("HARVEST_CONSOLE_SECURE_COOKIE", "true")


def test_behind_https_the_session_cookie_is_secure(over_https: None, api: ApiClient) -> None:
    with httpx.Client(base_url=api.server_url, timeout=30) as client:
        cookie = log_in(client, api.key).headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie


def test_logging_out_ends_the_session_and_a_wrong_key_logs_nobody_in(browser_like: httpx.Client, api: ApiClient,
                                                                      source: HarvestSource) -> None:
    refused = log_in(browser_like, "hvk_wrong")
    assert refused.status_code == 403 and "unknown or revoked" in refused.text
    assert log_in(browser_like, api.key).status_code == 303
    assert browser_like.post("/logout", data={"csrf": csrf_of(browser_like)}).status_code == 303
    run = browser_like.post(f"/sources/{source.id}/run", data={"csrf": csrf_of(browser_like)})
    assert run.status_code == 401 and "Log in with an API key" in run.text


def test_writes_and_previews_need_a_login(browser_like: httpx.Client, source: HarvestSource, store: Store) -> None:
    token = csrf_of(browser_like)
    for path, data in ((f"/sources/{source.id}/run", {}), (f"/sources/{source.id}/delete", {}),
                       (f"/sources/{source.id}/validate", {"state": "accepted"}), ("/sources/new", {"name": "x"})):
        assert browser_like.post(path, data={"csrf": token, **data}).status_code == 401, path
    assert browser_like.get(f"/sources/{source.id}/preview").status_code == 401
    assert store.get_source(source.id).deleted is None and store.count_jobs(source.id) == 1


def test_errors_are_pages_on_the_console_and_json_on_the_api(browser_like: httpx.Client) -> None:
    page = browser_like.get("/sources/nope")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "No harvest source &#39;nope&#39;" in page.text
    api = browser_like.get("/api/1/harvest/source/nope/")
    assert api.status_code == 404 and api.json()["status"] == 404
    assert browser_like.get("/jobs/nope").status_code == 404
    assert browser_like.get("/jobs/x?status=bogus").status_code == 400


def test_the_language_comes_from_the_browser_and_the_switch_overrides_it(browser_like: httpx.Client) -> None:
    assert negotiated("fr-FR,fr;q=0.9,en;q=0.8") == "fr"
    assert negotiated("de-DE,en;q=0.5,fr;q=0.7") == "fr"
    assert negotiated("en-GB,fr;q=0.9") == "en"
    assert negotiated("de") == negotiated(None) == negotiated("fr;q=bogus") == "en"
    french = browser_like.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in french.text and "Sources de moissonnage" in french.text
    switched = browser_like.get("/language/en", params={"next": "/datasets/?page=1"})
    assert switched.status_code == 303 and switched.headers["location"] == "/datasets/?page=1"
    english = browser_like.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="en">' in english.text and "Harvest sources" in english.text
    elsewhere = browser_like.get("/language/fr", params={"next": "https://elsewhere.example/"})
    assert elsewhere.headers["location"] == "/"  # never sent to another site
    assert browser_like.get("/language/fr", params={"next": "//elsewhere.example/x"}).headers["location"] == "/"


def test_every_message_is_in_both_languages_and_every_key_used_exists() -> None:
    placeholders = re.compile(r"{(\w+)}")
    for key, texts in MESSAGES.items():
        assert len(texts) == len(LANGUAGES) and all(text.strip() for text in texts), key
        assert len({frozenset(placeholders.findall(text)) for text in texts}) == 1, key
    used = {match for template in TEMPLATES.glob("*.html")
            for match in re.findall(r"""\bt\(["']([\w.-]+)["']""", template.read_text())}
    assert used and {key for key in used if not key.endswith(".")} - set(MESSAGES) == set()


def test_every_page_renders_in_both_languages_with_its_security_headers(
        browser_like: httpx.Client, api: ApiClient, source: HarvestSource, store: Store) -> None:
    assert log_in(browser_like, api.key).status_code == 303
    job = store.list_jobs(source.id)[0]
    dataset = store.list_items(job.id, "done")[0].dataset
    assert dataset is not None
    pages = ["/", "/?status=done-errors&validation=pending&backend=jsonlist&q=Liste", f"/sources/{source.id}",
             f"/sources/{source.id}/edit", f"/sources/{source.id}/delete", f"/sources/{source.id}/preview",
             "/sources/new", "/sources/new?backend=ckan", f"/jobs/{job.id}", f"/jobs/{job.id}?status=failed",
             "/datasets/", f"/datasets/{dataset.id}", "/dataservices/", "/login"]
    for language in LANGUAGES:
        browser_like.get(f"/language/{language}")
        for path in pages:
            page = browser_like.get(path)
            assert page.status_code == 200, (language, path, page.text[:500])
            assert f'<html lang="{language}">' in page.text
            assert page.headers["content-security-policy"].startswith("default-src 'self'")
            assert page.headers["x-content-type-options"] == "nosniff"
    shown = browser_like.get(f"/jobs/{job.id}").text
    assert "Broken record" in shown and ">1</td>" in shown


def test_validation_refuses_without_a_comment_beside_the_field_then_records_who(
        browser_like: httpx.Client, api: ApiClient, source: HarvestSource, store: Store) -> None:
    log_in(browser_like, api.key)
    path = f"/sources/{source.id}/validate"
    refused = browser_like.post(path, data={"csrf": csrf_of(browser_like), "state": "refused", "comment": " "})
    assert refused.status_code == 400
    assert re.search(r'id="comment-error"[^>]*>Refusing a source needs a comment saying why<', refused.text)
    assert store.get_source(source.id).validation.state == "pending"
    done = browser_like.post(path, data={"csrf": csrf_of(browser_like), "state": "refused", "comment": "Pas ouvert"})
    assert done.status_code == 303
    validation = store.get_source(source.id).validation
    assert (validation.state, validation.comment, validation.by.first_name) == ("refused", "Pas ouvert", "tests")
    assert "Validation saved." in browser_like.get(done.headers["location"]).text


def test_editing_keeps_the_masked_secret_and_deleting_asks_first(browser_like: httpx.Client, api: ApiClient,
                                                                  source: HarvestSource, store: Store) -> None:
    log_in(browser_like, api.key)
    form = browser_like.get(f"/sources/{source.id}/edit").text
    assert 'name="extra:token" type="password" value="********"' in form
    edited = browser_like.post(f"/sources/{source.id}/edit", data={
        "csrf": csrf_of(browser_like), "backend": "jsonlist", "name": "Liste renommée", "url": source.url,
        "active": "1", "autoarchive": "1", "extra:token": "********", "extra:page_size": "25",
        "filter_key": ["tag", ""], "filter_type": ["exclude", "include"], "filter_value": ["env", ""]})
    assert edited.status_code == 303, edited.text
    changed = store.get_source(source.id)
    assert changed.name == "Liste renommée"
    assert changed.config["filters"] == [{"key": "tag", "value": "env", "type": "exclude"}]
    token = next(extra["value"] for extra in changed.config["extra_configs"] if extra["key"] == "token")
    assert Vault.from_settings(settings()).open(token, changed.name, "token") == "s3cret-token"  # the secret kept
    assert {"key": "page_size", "value": 25} in changed.config["extra_configs"]

    confirm = browser_like.get(f"/sources/{source.id}/delete")
    assert confirm.status_code == 200 and "Delete Liste renommée?" in confirm.text
    assert store.get_source(source.id).deleted is None  # asking deletes nothing
    deleted = browser_like.post(f"/sources/{source.id}/delete", data={"csrf": csrf_of(browser_like)})
    assert deleted.status_code == 303 and store.get_source(source.id).deleted is not None
    assert "Source deleted." in browser_like.get("/").text


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_stylesheet_s_text_colours_contrast_at_least_4_5_to_1() -> None:
    css = (TEMPLATES.parent / "static" / "console.css").read_text()
    palette = dict(re.findall(r"--([\w-]+): (#[0-9a-f]{6})", css))
    text = ("ink", "muted", "accent", "danger", "ok", "warn")
    pairs = [(name, background) for name in text for background in ("paper", "wash")]
    pairs += [("accent-ink", "accent"), ("paper", "danger"), ("ink", "thead"), ("paper", "header")]
    palette |= {"thead": re.search(r"thead th \{ background: (#[0-9a-f]{6})", css).group(1),  # type: ignore[union-attr]
                "header": re.search(r"header\.top \{[^}]*background: (#[0-9a-f]{6})", css).group(1)}  # type: ignore[union-attr]
    ratios = {pair: contrast(palette[pair[0]], palette[pair[1]]) for pair in pairs}
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios
