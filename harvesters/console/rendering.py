"""Pages rendered from the Jinja2 templates, in the reader's language, and the console's errors as pages.

Every page gets `t` (the words of its language), `lang`, the operator logged in (or None) and the session's CSRF
token. Errors raised by the framework (no such source, a config refused, a job already running, the store
unreachable...) are answered with the same status and message as the API gives (`harvesters.api`), as a page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from harvesters.api import STATUS_OF
from harvesters.console.i18n import language, translator
from harvesters.console.session import CsrfRefused, LoginRequired, csrf_token, operator
from harvesters.infrastructure import explain

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Only this server's own scripts, styles and images; no frame around the console.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    lang = language(request)
    values = {"t": translator(lang), "lang": lang, "operator": operator(request), "csrf": csrf_token(request),
              "path": request.url.path, "query": request.url.query}
    return TEMPLATES.TemplateResponse(request, template, values | context, status_code=status,
                                      headers=SECURITY_HEADERS)


def local_path(target: str | None, origin: str | None = None) -> str:
    """A path of this site to go back to: `target`'s, when it is a path or a URL of `origin` (never another
    site's)."""
    parts = urlsplit(target or "/")
    if (parts.scheme or parts.netloc) and f"{parts.scheme}://{parts.netloc}" != origin:
        return "/"
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def error_page(request: Request, error: Exception) -> Response:
    """The page of a refusal: its status, and the framework's message (a console's own refusal in words)."""
    t = translator(language(request))
    if isinstance(error, LoginRequired):
        back = request.headers.get("referer") if request.method == "POST" else str(request.url)  # a page to GET
        origin = str(request.base_url).rstrip("/")
        return render(request, "login.html", 401, problem=t("login.required"), next=local_path(back, origin))
    if isinstance(error, CsrfRefused):
        return render(request, "error.html", 403, message=t("error.csrf"))
    if isinstance(error, RequestValidationError):
        return render(request, "error.html", 400, message="; ".join(str(e["msg"]) for e in error.errors()))
    if isinstance(error, StarletteHTTPException):
        return render(request, "error.html", error.status_code, message=str(error.detail))
    status = next(STATUS_OF[kind] for kind in type(error).__mro__ if kind in STATUS_OF)
    return render(request, "error.html", status, message=explain(error) or str(error))


HANDLED: tuple[type[Exception], ...] = (LoginRequired, CsrfRefused, RequestValidationError, StarletteHTTPException,
                                        *STATUS_OF)


class ConsoleRoute(APIRoute):
    """A console route: what it raises is shown as a page instead of the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except HANDLED as error:
                return error_page(request, error)

        return handle_as_page


# The console's one router: its GET and POST routes of a path must be in one router to answer 405 for another
# method.
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
