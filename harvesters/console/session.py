"""Who is logged in to the console, and the CSRF token of every form.

An operator logs in with an API key (the same keys, checked by the same ApiKeys, as the API's X-API-KEY): the
session, a cookie signed by Starlette's SessionMiddleware (HttpOnly, SameSite=Lax), keeps the key's id, never
the key, and every request reads the key again, so a revoked key logs its sessions out. Each session has a random
CSRF token that every form posts back; a post without it is refused before anything is done.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from harvesters.apikeys import ApiKey, ApiKeys
from harvesters.errors import NotFound

OPERATOR = "operator"  # the session's key: the id of the API key logged in
CSRF = "csrf"  # the session's key and the forms' field


class LoginRequired(Exception):
    """A write asked for without a login."""


class CsrfRefused(Exception):
    """A form posted without the session's CSRF token."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get(CSRF)
    if not token:
        token = request.session[CSRF] = secrets.token_urlsafe(32)
    return str(token)


def api_keys(request: Request) -> ApiKeys:
    return request.app.state.keys


def operator(request: Request) -> ApiKey | None:
    """The key logged in, if it is still valid; a revoked or deleted one ends the session."""
    key_id = request.session.get(OPERATOR)
    if not key_id:
        return None
    try:
        key = api_keys(request).get(key_id)
    except NotFound:
        key = None
    if key is None or key.revoked_at is not None:
        request.session.clear()
        return None
    return key


def log_in(request: Request, plain: str) -> ApiKey | None:
    """Log in with this key: a new session (a new CSRF token) naming it; None for an unknown or revoked key."""
    key = api_keys(request).check(plain.strip()) if plain.strip() else None
    if key is None or key.revoked_at is not None:
        return None
    request.session.clear()
    request.session[OPERATOR] = key.id
    csrf_token(request)
    return key


def log_out(request: Request) -> None:
    request.session.clear()


async def posted_form(request: Request) -> FormData:
    """The form posted, once its CSRF token is the session's."""
    form = await request.form()
    sent, expected = str(form.get(CSRF) or ""), request.session.get(CSRF)
    if not expected or not secrets.compare_digest(sent.encode(), str(expected).encode()):
        raise CsrfRefused()
    return form


def logged_in(request: Request) -> ApiKey:
    key = operator(request)
    if key is None:
        raise LoginRequired()
    return key


PostedForm = Annotated[FormData, Depends(posted_form)]
Operator = Annotated[ApiKey, Depends(logged_in)]
