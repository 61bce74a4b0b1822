"""The operator web console, served by `harvest serve` at /: sources, a source with its jobs, a job with its live
progress and grouped problems, a preview, the source form, the local catalog's datasets and data services.

Server-rendered (Jinja2 templates in `templates/`, words in English and French in `messages`), with one small
script (`static/console.js`) that follows a running job through the API. It shows what the API knows through
the same functions; reads are public, writes need a login with an API key (`session`). Everything it serves
ships in this package: it works on a machine with no internet.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from harvesters.console import reads, writes  # noqa: F401  (their routes join the router)
from harvesters.console.rendering import router
from harvesters.settings import Settings

STATIC_URL = "/console-static"
SESSION_COOKIE = "harvest_console"
log = logging.getLogger(__name__)


def install_console(app: FastAPI, config: Settings) -> None:
    """Mount the console on the app: its pages, its assets and its signed session cookie."""
    secret = config.console_secret.get_secret_value() if config.console_secret else None
    if not secret:
        log.info("HARVEST_CONSOLE_SECRET is not set: console logins last until this server stops")
        secret = secrets.token_urlsafe(32)
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=SESSION_COOKIE,
                       max_age=int(config.console_session_hours * 3600), same_site="lax",
                       https_only=config.console_secure_cookie)
    app.include_router(router)
    app.mount(STATIC_URL, StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")
