"""Property-based test of the HTTP API against its own OpenAPI document (schemathesis), over HTTP.

For each operation of the document, requests generated from it, valid and invalid, are sent with the admin key
to the API served by uvicorn: the answers are never a 5xx, and their status code, content type and body are
the ones the document declares. Path idents are random strings or a real source and job, so the handlers past
the 404 run too. (The schemathesis pytest plugin's lazy loader does not work with pytest 9, so the operations
are parametrized here and each one's strategy is driven with hypothesis directly.)

Two of schemathesis' checks are left out, on purpose: `use_after_free`, because a deleted source stays readable
with its `deleted` date (as in udata); `positive_data_acceptance`, because a schema-valid body can still be
refused with a documented 400 for what a schema cannot say (an unknown backend, a config that does not fit it,
a URL that is not http(s), an invalid cron expression, a refusal without a comment).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance, use_after_free

from harvesters.api import PREFIX, router
from harvesters.pipeline import Harvester
from harvesters.store import Store
from tests.servers.api_server import ApiClient
from tests.servers.catalog import CatalogServer

MAX_EXAMPLES = 30
OPERATIONS = sorted(
    (method, PREFIX + route.path) for route in router.routes if isinstance(route, APIRoute) for method in route.methods
)


@pytest.fixture
def known_idents(
    api: ApiClient, store: Store, catalog_server: CatalogServer, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """A source (id and slug) and one of its jobs; short HTTP timeouts, as generated URLs may point anywhere."""
    for name, value in {"CONNECT_TIMEOUT": "2", "READ_TIMEOUT": "5", "RETRIES": "0"}.items():
        monkeypatch.setenv(f"HARVEST_HTTP_{name}", value)
    url = catalog_server.serve_fixture("/catalog.xml", "dcat/catalog.xml", "application/rdf+xml")
    source = api.send("POST", "/sources/", json={"name": "Known", "url": url, "backend": "dcat"}).json()
    job = Harvester(store).run(store.get_source(source["id"]))
    return [source["id"], source["slug"], job.id]


def cases(operation: Any, idents: list[str]) -> st.SearchStrategy[Any]:
    fixed = [{"ident": ident} for ident in idents] if "{ident}" in operation.path else []
    return st.one_of(*(operation.as_strategy(mode, path_parameters=path) for mode in GenerationMode
                       for path in (None, *fixed)))


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_conforms_to_the_openapi_document(
    api: ApiClient, known_idents: list[str], method: str, path: str
) -> None:
    operation = schemathesis.openapi.from_url(api.url + "/openapi.json")[path][method]

    @given(case=cases(operation, known_idents))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case: Any) -> None:
        case.call_and_validate(base_url=api.server_url, headers={"X-API-KEY": api.key},
                               excluded_checks=[use_after_free, positive_data_acceptance])

    check()
