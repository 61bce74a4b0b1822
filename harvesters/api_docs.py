"""The API's documentation pages, Swagger UI at /api/1/harvest/docs and ReDoc at /api/1/harvest/redoc, with their
bundles served from this server (the fastapi-standalone-docs package ships them, ReDoc's logo made local): the
pages work on a machine with no internet, and the browser asks nothing of another host."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

BUNDLES = Path(str(files("fastapi_standalone_docs") / "static"))


def install_docs(app: FastAPI, docs_url: str, redoc_url: str) -> None:
    """Serve both pages and their assets (each under its page's path: ReDoc loads its logo from there)."""
    openapi_url = app.openapi_url or ""
    favicon = f"{docs_url}/fastapi/favicon.png"

    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - Swagger UI",
                                   swagger_js_url=f"{docs_url}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{docs_url}/swagger-ui.css", swagger_favicon_url=favicon,
                                   swagger_ui_parameters={"validatorUrl": None})

    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{redoc_url}/redoc.standalone.js", redoc_favicon_url=favicon,
                              with_google_fonts=False)

    app.add_api_route(docs_url, swagger_ui, include_in_schema=False)
    app.add_api_route(redoc_url, redoc, include_in_schema=False)
    app.mount(f"{docs_url}/fastapi", StaticFiles(directory=BUNDLES / "fastapi"))
    app.mount(docs_url, StaticFiles(directory=BUNDLES / "swagger"))
    app.mount(redoc_url, StaticFiles(directory=BUNDLES / "redoc"))
