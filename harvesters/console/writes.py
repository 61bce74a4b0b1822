"""The console's forms that change something: each needs a login and the session's CSRF token, and does what
the matching API endpoint does, through the same function (`launch`, `cancel_job`, `validate_source`,
`register_source`, `change_source`, `delete_source`), then redirects to the page that shows the result."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from backends.base import ConfigError
from harvesters.api import RuntimeDep, SourceChange, SourceCreate, StoreDep
from harvesters.cancel import cancel_job
from harvesters.console.forms import SourceForm, refusal_field
from harvesters.console.i18n import COOKIE, LANGUAGES, language, translator
from harvesters.console.reads import form_page, show_source
from harvesters.console.rendering import local_path, render, router
from harvesters.console.session import Operator, PostedForm, log_in, log_out
from harvesters.errors import DuplicateSource
from harvesters.models import UserRef
from harvesters.queue import launch
from harvesters.sources import change_source, delete_source, register_source, validate_source

LANGUAGE_COOKIE_DAYS = 365



def see(url: str, request: Request | None = None, flash: str | None = None) -> RedirectResponse:
    """Go to `url` (303: the browser GETs it), leaving a message for that page."""
    if request is not None and flash:
        request.session["flash"] = flash
    return RedirectResponse(url, status_code=303)


@router.post("/login")
def login(request: Request, form: PostedForm) -> Response:
    key = log_in(request, str(form.get("key") or ""))
    if key is None:
        return render(request, "login.html", 403, problem=translator(language(request))("login.refused"),
                      next=local_path(str(form.get("next") or "/")))
    return see(local_path(str(form.get("next") or "/")))


@router.post("/logout")
def logout(request: Request, form: PostedForm) -> Response:
    log_out(request)
    return see("/")


@router.get("/language/{code}")
def choose_language(code: str, next: str = "/") -> Response:
    response = see(local_path(next))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=LANGUAGE_COOKIE_DAYS * 86400, samesite="lax", httponly=True)
    return response


@router.post("/sources/{ident}/run")
def run(request: Request, store: StoreDep, form: PostedForm, key: Operator, ident: str) -> Response:
    """Launch a job now, as POST /source/{ident}/run/ does; its page follows it."""
    job_id = launch(store, store.get_source(ident).id)
    return see(f"/jobs/{job_id}", request, "flash.launched")


@router.post("/jobs/{ident}/cancel")
def cancel(request: Request, runtime: RuntimeDep, form: PostedForm, key: Operator, ident: str) -> Response:
    job_id = runtime.store.job_id(ident)
    cancel_job(runtime, job_id, f"from the console by '{key.name}'")
    return see(f"/jobs/{job_id}", request, "flash.cancelled")


@router.post("/sources/{ident}/validate")
def validate(request: Request, store: StoreDep, form: PostedForm, key: Operator, ident: str) -> Response:
    state, comment = str(form.get("state") or ""), str(form.get("comment") or "")
    source = store.get_source(ident)
    by = UserRef(id=key.id, first_name=key.name)
    try:
        validate_source(store, source.id, state, comment, by)  # type: ignore[arg-type]  # checked there
    except ConfigError as error:
        return show_source(request, store, source.id, status=400, validation_error=str(error), comment=comment)
    return see(f"/sources/{source.id}", request, "flash.validated")


@router.post("/sources/{ident}/delete")
def delete(request: Request, store: StoreDep, form: PostedForm, key: Operator, ident: str) -> Response:
    delete_source(store, store.get_source(ident).id)
    return see("/", request, "flash.deleted")


@router.post("/sources/new")
def create(request: Request, store: StoreDep, form: PostedForm, key: Operator) -> Response:
    source_form = SourceForm.posted(form)
    config = request.app.state.runtime.config
    if problems := source_form.problems(editing=False, allow_private=config.allow_private_addresses):
        return form_page(request, source_form, None, problems)
    try:
        source = register_source(store, **SourceCreate.model_validate(source_form.body(editing=False)).values())
    except (ConfigError, DuplicateSource) as error:
        return form_page(request, source_form, None, {refusal_field(error): str(error)})
    return see(f"/sources/{source.id}", request, "flash.created")


@router.post("/sources/{ident}/edit")
def edit(request: Request, store: StoreDep, form: PostedForm, key: Operator, ident: str) -> Response:
    current = store.get_source(ident)
    source_form = SourceForm.posted(form)
    config = request.app.state.runtime.config
    if problems := source_form.problems(editing=True, allow_private=config.allow_private_addresses):
        return form_page(request, source_form, current, problems)
    body = SourceChange.model_validate(source_form.body(editing=True))
    try:
        change_source(store, current.id, clear=body.cleared(), **body.values())
    except (ConfigError, DuplicateSource) as error:
        return form_page(request, source_form, current, {refusal_field(error): str(error)})
    return see(f"/sources/{current.id}", request, "flash.saved")
