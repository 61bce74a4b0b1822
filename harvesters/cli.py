"""The `harvest` command. Names and options are a contract: other tools call them.

`--json` prints the documented shape and nothing else on stdout; progress and messages go to stderr. Tables
fit the terminal (80 columns included): ids are shown by their shortest unique start, which any command taking
an id accepts, as it accepts any unique start of one.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Table as SqlTable
from typer.core import TyperGroup

from backends import registry
from backends.base import ConfigError
from harvesters import __version__
from harvesters.apikeys import ApiKeys, api_keys
from harvesters.clock import utcnow
from harvesters.collector import spare_the_collector
from harvesters.errors import DuplicateSource, InvalidSetting, NotFound, Refused, StoreFull, StoreLocked
from harvesters.identity import catalog_identity
from harvesters.infrastructure import explain
from harvesters.job_views import last_job_summary, summaries
from harvesters.logs import configure_logging
from harvesters.models import HarvestJob, HarvestSource, Notifications
from harvesters.preview import forgotten_preview
from harvesters.problems import NOTHING_HARVESTED, csv_export, group_problems, json_export
from harvesters.progress import describe_progress, job_progress
from harvesters.runtime import Runtime
from harvesters.settings import settings, unknown_variables
from harvesters.sources import (
    archive_datasets,
    change_source,
    changes_config,
    check_launchable,
    delete_source,
    dropped_secrets,
    mask_secrets,
    register_source,
    rotate_secrets,
    validate_source,
)
from harvesters.store import Store
from harvesters.store.database import mask_password
from harvesters.store.schema import jobs, sources
from harvesters.targets import LocalCatalog, TargetError
from harvesters.targets.local.tables import dataservices, datasets
from harvesters.terminal import Column, fitted_table
from harvesters.vault import Vault

if TYPE_CHECKING:
    from fastapi import FastAPI

    from harvesters.targets.udata import UdataPortal


class HarvestGroup(TyperGroup):
    """The command group: an infrastructure mistake (a bad setting, the store or Redis unreachable) raised by any
    command is one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # a Context of the click typer vendors (typer._click, private)
        try:
            return super().invoke(ctx)
        except Exception as error:
            if (message := explain(error)) is None:
                raise
            fail(message)


def commands(help: str) -> typer.Typer:
    """A group of commands; help in plain text (no `<bool>` type column)."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


app = typer.Typer(help="Harvest open-data catalogs into udata portals.", no_args_is_help=True, rich_markup_mode=None,
                  cls=HarvestGroup)
source_app = commands("Register and manage harvest sources.")
job_app = commands("Inspect, export and cancel harvest jobs.")
datasets_app = commands("Browse the embedded local catalog.")
app.add_typer(source_app, name="source")
app.add_typer(job_app, name="job")
app.add_typer(datasets_app, name="datasets")
dataservices_app = commands("Browse the data services of the embedded local catalog.")
app.add_typer(dataservices_app, name="dataservices")
apikey_app = commands("Manage the keys of the HTTP API (`harvest serve`).")
app.add_typer(apikey_app, name="apikey")
portal_app = commands("The udata portal datasets are written to (HARVEST_UDATA_URL).")
app.add_typer(portal_app, name="portal")
secrets_app = commands("The key sealing sources' secret config values (HARVEST_SECRET_KEY).")
app.add_typer(secrets_app, name="secrets")

out = Console()
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line, whatever the terminal's width

JsonOption = Annotated[bool, typer.Option("--json", help="Print the documented JSON shape only.")]
SourceArgument = Annotated[str, typer.Argument(help="The source's id (or a unique start of it), slug or name.")]
RunSourceArgument = Annotated[str, typer.Argument(help="A source's id (or a unique start of it), slug or name; or a "
                                                       "catalog URL (or file) with --backend.")]
JobArgument = Annotated[str, typer.Argument(help="The job's id, or a unique start of it.")]
BackendOption = Annotated[str | None, typer.Option("--backend", "-b", help="The backend of a catalog URL (see "
                                                                         "`harvest backends`).")]
ConfigOption = Annotated[str | None, typer.Option(help="The source's config, JSON: {filters, features, "
                                                       "extra_configs}.")]
MaxItemsOption = Annotated[int | None, typer.Option("--max-items", min=1, help="Stop after this many records "
                                                                              "(nothing is archived then).")]
ScheduleOption = Annotated[str | None, typer.Option(help="Cron expression (UTC) or @hourly/@daily/@weekly/"
                                                         "@monthly.")]
OrganizationOption = Annotated[str | None, typer.Option(help="The portal organization id datasets are published "
                                                             "under.")]
OwnerOption = Annotated[str | None, typer.Option(help="The portal user id datasets belong to (without an "
                                                      "organization).")]
DescriptionOption = Annotated[str | None, typer.Option(help="What the source is, for people.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Register it even when another source harvests the "
                                                           "same catalog.")]
NotifyEmailOption = Annotated[list[str] | None, typer.Option(
    "--notify-email", help="Email a job's report to this address (repeat for several; SMTP: HARVEST_SMTP_*).")]
NotifyWebhookOption = Annotated[str | None, typer.Option(
    "--notify-webhook", help="POST a job's report (JSON) to this http(s) URL.")]
NotifyOnOption = Annotated[Literal["error", "always"] | None, typer.Option(
    "--notify-on", help="When to notify: error (a job failed or ended with errors, the default) or always.")]
SourceFilterOption = Annotated[str | None, typer.Option("--source", "-s", help="Only those of this source.")]
LimitOption = Annotated[int, typer.Option("--limit", min=0, help="Rows per page (0: all).")]
PageOption = Annotated[int, typer.Option("--page", min=1, help="The page to show.")]
SUMMARY_KEYS = ("created", "updated", "unchanged", "skipped", "failed", "archived")
PROBLEMS_SHOWN = 20  # groups of item problems in a report; `harvest job errors` lists them all
PREVIEW_SHOWN = 20  # updated or archived items a preview's report details
PROGRESS_POLL = 0.5  # seconds between two looks at a running job's progress in the store
F = TypeVar("F", bound=Callable[..., Any])


def main() -> None:
    app(prog_name="harvest")


def print_version(asked: bool) -> None:
    if asked:
        sys.stdout.write(f"harvest (udata-harvesters) {__version__}\n")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True,
                                          callback=print_version)] = False,
) -> None:
    """Harvest open-data catalogs into udata portals. Settings come from HARVEST_* variables (and ./.env)."""
    for name in unknown_variables():
        err.print(f"[yellow]Warning:[/yellow] {escape(name)} is not a setting: ignored", highlight=False)
    try:
        configure_logging(settings())
    except InvalidSetting:
        pass  # the command that needs the settings says what is wrong with them


def open_runtime() -> Runtime:
    """What a command works with, built once from the environment (the composition root); a store created by
    this opening is announced, so that a mistyped HARVEST_DATABASE_URL does not go unnoticed."""
    runtime = Runtime.from_environment()
    if runtime.store.new:
        err.print(f"Created a new, empty store: {mask_password(runtime.store.url)} (HARVEST_DATABASE_URL)",
                  highlight=False)
    return runtime


def open_store() -> Store:
    return open_runtime().store


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]Error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"[yellow]Warning:[/yellow] {escape(message)}", highlight=False)


def reports_errors(command: F) -> F:
    """Turn the framework's refusals into a clear message and exit code 2; a store that cannot take writes (full,
    locked) into one line and exit code 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (NotFound, ConfigError, Refused) as error:
            fail(str(error))
        except (StoreFull, StoreLocked) as error:  # the job (if any) ended failed, saying so
            fail(str(error), code=1)

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def write_chunks(chunks: Iterator[str]) -> None:
    for chunk in chunks:
        sys.stdout.write(chunk)
    sys.stdout.write("\n")


def parse_config(config: str | None) -> dict[str, Any] | None:
    if config is None:
        return None
    try:
        value = json.loads(config)
    except json.JSONDecodeError as error:
        fail(f"--config is not valid JSON: {error}")
    if not isinstance(value, dict):
        fail("--config must be a JSON object")
    return value


def show_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    out.print(fitted_table(columns, rows, out.width, title))


def short_ids(store: Store, table: SqlTable, ids: Sequence[str]) -> dict[str, str]:
    return store.short_ids(table, set(ids))


def when(moment: datetime | None, shape: str = "%Y-%m-%d %H:%M") -> str:
    return f"{moment:{shape}}" if moment else "-"


def paged(limit: int, page: int) -> tuple[int, int | None]:
    """The offset and limit of a page (`--limit 0`: everything)."""
    return ((page - 1) * limit, limit) if limit else (0, None)


def page_footer(shown: int, total: int, limit: int, page: int, noun: str) -> None:
    if limit and total > limit:
        pages = -(-total // limit)
        more = f"; --page {page + 1} for more" if page < pages else ""
        err.print(f"Page {page} of {pages} ({shown} of {total} {noun}){more}", highlight=False)


def notifications_of(emails: list[str] | None, webhook: str | None, on: str | None,
                     current: Notifications | None = None) -> Notifications | None:
    """The notifications the options ask for, on top of the current ones; None when none is asked."""
    if emails is None and webhook is None and on is None:
        return None
    base = current or Notifications()
    return Notifications(emails=base.emails if emails is None else emails,
                         webhook=base.webhook if webhook is None else webhook or None,
                         on=on or base.on)


# --- sources ------------------------------------------------------------------------------------------


@source_app.command("add")
@reports_errors
def source_add(
    name: Annotated[str, typer.Argument(help="A name for people (its slug is made from it).")],
    url: Annotated[str, typer.Argument(help="The catalog's URL (or a catalog file).")],
    backend: Annotated[str, typer.Option("--backend", "-b", help="How to read it (see `harvest backends`).")],
    config: ConfigOption = None,
    schedule: ScheduleOption = None,
    organization: OrganizationOption = None,
    owner: OwnerOption = None,
    description: DescriptionOption = None,
    no_autoarchive: Annotated[bool, typer.Option("--no-autoarchive", help="Never archive datasets that vanish "
                                                                           "from the catalog.")] = False,
    inactive: Annotated[bool, typer.Option("--inactive", help="Registered, but not run until activated.")] = False,
    notify_email: NotifyEmailOption = None,
    notify_webhook: NotifyWebhookOption = None,
    notify_on: NotifyOnOption = None,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Register a harvest source. A second source on a catalog (same URL once normalised, same backend) is refused
    unless --force."""
    store = open_store()
    source = register_source(
        store, force=force, name=name, url=url, backend=backend, config=parse_config(config),
        schedule=schedule, organization=organization, owner=owner, description=description,
        autoarchive=not no_autoarchive, active=not inactive,
        notifications=notifications_of(notify_email, notify_webhook, notify_on),
    )
    show_source(store, source, as_json)


@source_app.command("list")
def source_list(
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted sources.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List harvest sources."""
    store = open_store()
    found = [mask_secrets(source) for source in store.list_sources(deleted=deleted)]
    if as_json:
        return print_json([source.to_json() for source in found])
    short = short_ids(store, sources, [source.id for source in found])
    columns = [Column("id"), Column("name", fold=True), Column("backend", 1), Column("url", 3, fold=True),
               Column("schedule", 4), Column("active", 5), Column("validation", 2)]
    show_table(columns, [[short[source.id], source.name, source.backend, source.url, source.schedule or "-",
                          "yes" if source.active else "no", source.validation.state] for source in found])


@source_app.command("show")
@reports_errors
def source_show(source: SourceArgument, as_json: JsonOption = False) -> None:
    """Show a source (by id, slug or name) with its last job."""
    store = open_store()
    show_source(store, store.get_source(source), as_json)


@source_app.command("update")
@reports_errors
def source_update(
    source: SourceArgument,
    name: Annotated[str | None, typer.Option(help="A new name (the slug stays).")] = None,
    url: Annotated[str | None, typer.Option(help="A new catalog URL.")] = None,
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="A new backend.")] = None,
    config: ConfigOption = None,
    schedule: Annotated[str | None, typer.Option(help="Cron expression or @hourly/@daily/...; '' removes the "
                                                      "schedule.")] = None,
    organization: OrganizationOption = None,
    owner: OwnerOption = None,
    description: DescriptionOption = None,
    autoarchive: Annotated[bool | None, typer.Option("--autoarchive/--no-autoarchive",
                                                     help="Archive datasets that vanish from the catalog, or "
                                                          "never.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Run it, or not.")] = None,
    notify_email: NotifyEmailOption = None,
    notify_webhook: Annotated[str | None, typer.Option(
        "--notify-webhook", help="POST a job's report (JSON) to this http(s) URL ('' removes it).")] = None,
    notify_on: NotifyOnOption = None,
    no_notifications: Annotated[bool, typer.Option("--no-notifications", help="Notify nobody any more.")] = False,
    force: ForceOption = False,
    as_json: JsonOption = False,
) -> None:
    """Change a source's fields (those given)."""
    store = open_store()
    current = store.get_source(source)
    values: dict[str, Any] = dict(
        name=name, url=url, backend=backend, config=parse_config(config), organization=organization,
        owner=owner, description=description, autoarchive=autoarchive, active=active, force=force,
        notifications=notifications_of(notify_email, notify_webhook, notify_on, current.notifications),
    )
    clear = ["notifications"] if no_notifications else []
    if schedule is not None:
        if schedule:
            values["schedule"] = schedule
        else:  # '' clears it
            clear.append("schedule")
    changed = change_source(store, current.id, clear=clear, **values)
    if dropped := dropped_secrets(current, changed):
        warn(f"Secret config values dropped (the URL or backend changed): {', '.join(dropped)}; give them again "
             "with --config")
    show_source(store, changed, as_json)


@source_app.command("delete")
@reports_errors
def source_delete(
    source: SourceArgument,
    archive: Annotated[bool, typer.Option("--archive-datasets",
                                          help="Also archive its datasets on the portal.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Mark a source deleted. Its jobs and harvested datasets are kept (never deleted from the portal)."""
    runtime = open_runtime()
    store = runtime.store
    deleted = delete_source(store, source)
    problems: list[str] = []
    if archive:
        archived, problems = archive_datasets(store, runtime.target, deleted.id)
        err.print(f"{len(archived)} dataset(s) archived, {len(problems)} not", highlight=False)
        for problem in problems:
            err.print(f"[red]Not archived:[/red] {escape(problem)}", highlight=False)
    show_source(store, deleted, as_json)
    if problems:
        raise typer.Exit(1)


CommentOption = Annotated[str | None, typer.Option("--comment", "-m", help="Why (required to reject).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Id of the user deciding.")]


@source_app.command("validate")
@reports_errors
def source_validate(source: SourceArgument, comment: CommentOption = None, by: ByOption = None,
                    as_json: JsonOption = False) -> None:
    """Accept a source: from now on it runs on its schedule."""
    store = open_store()
    show_source(store, validate_source(store, source, "accepted", comment, by), as_json)


@source_app.command("reject")
@reports_errors
def source_reject(source: SourceArgument, comment: CommentOption = None, by: ByOption = None,
                  as_json: JsonOption = False) -> None:
    """Refuse a source (with a comment): it never runs on schedule."""
    store = open_store()
    show_source(store, validate_source(store, source, "refused", comment, by), as_json)


def show_source(store: Store, source: HarvestSource, as_json: bool) -> None:
    """A source (secrets masked) with its last job's item counts."""
    last_job = last_job_summary(store, source.id)
    source = mask_secrets(source).model_copy(update={"last_job": last_job})
    if as_json:
        return print_json(source.to_json())
    table = Table(show_header=False, box=None)
    for key in ("id", "slug", "name", "backend", "url", "schedule", "active", "autoarchive"):
        table.add_row(f"[bold]{key}[/bold]", escape(str(getattr(source, key))))
    table.add_row("[bold]validation[/bold]", source.validation.state)
    table.add_row("[bold]config[/bold]", escape(json.dumps(source.config)))
    if source.notifications:
        notified = [*source.notifications.emails, *filter(None, [source.notifications.webhook])]
        table.add_row("[bold]notifications[/bold]", escape(f"{', '.join(notified) or 'nobody'} "
                                                           f"(on {source.notifications.on})"))
    if source.deleted:
        table.add_row("[bold]deleted[/bold]", source.deleted.isoformat())
    if last_job:
        short = short_ids(store, jobs, [last_job.id])[last_job.id]
        table.add_row("[bold]last job[/bold]", f"{short} ({last_job.status}, {last_job.items.total} items)")
    out.print(table)


# --- running --------------------------------------------------------------------------------------------


@contextmanager
def source_to_run(store: Store, source: str, backend: str | None, config: dict[str, Any] | None,
                  preview: bool) -> Iterator[HarvestSource]:
    """The source a run or preview works on: a registered one; or, for a catalog URL, its implicit source (made
    once, whatever runs at the same moment; `config` given is set on it). A preview of a URL leaves no source
    behind: it previews the URL's source when there is one (and no other config is asked), else one of its own,
    forgotten afterwards."""
    url = _as_url(source)
    if url is None:
        if config is not None:
            fail("--config goes with a catalog URL; change a registered source's with `harvest source update`")
        yield store.get_source(source)
        return
    if not backend:
        fail("harvesting a URL needs --backend")
    existing = store.source_with_identity(catalog_identity(url, backend))
    if not preview:
        yield implicit_source(store, url, backend, config, existing)
    elif existing is not None and config is None:
        yield existing
    else:
        transient = register_source(store, force=True, name=f"Preview of {url}", url=url, backend=backend,
                                    config=config)
        try:
            yield transient
        finally:
            store.forget_source(transient.id)


def implicit_source(store: Store, url: str, backend: str, config: dict[str, Any] | None,
                    existing: HarvestSource | None) -> HarvestSource:
    """The source of a URL run with `harvest run URL`: registered by the first run (another process registering
    it at the same moment makes no second one), its config changed when another is given."""
    if existing is None:
        try:
            return register_source(store, name=url, url=url, backend=backend, config=config)
        except DuplicateSource as duplicate:
            existing = store.get_source(duplicate.existing_id)
    if config is not None and changes_config(existing, config):
        existing = change_source(store, existing.id, config=config)
        err.print(f"Config of source '{existing.name}' ({existing.slug}) changed", highlight=False)
    return existing


def _as_url(value: str) -> str | None:
    if "://" in value:
        return value
    path = Path(value)
    return path.resolve().as_uri() if path.is_file() else None


@contextmanager
def progress_display(store: Store, job_id: str, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A live bar on stderr: the items processed as they are, and the job's stage, total (what the catalog
    announced, else what was gathered), rate and time left as the store tells them (the API's numbers)."""
    if not enabled:
        yield lambda outcome: None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task("gather", total=None)
        looked = 0.0

        def advance(outcome: str) -> None:
            nonlocal looked
            progress.advance(task)
            if time.monotonic() - looked >= PROGRESS_POLL:
                looked = time.monotonic()
                row = store.job_row(job_id)
                told = job_progress(row, store.item_counts([job_id])[job_id], utcnow())
                if told is not None:
                    progress.update(task, total=told.total, completed=told.processed,
                                    description=describe_progress(told))

        yield advance


def harvest(source: str, backend: str | None, config: dict[str, Any] | None, max_items: int | None, as_json: bool,
            preview: bool) -> HarvestJob:
    runtime = open_runtime()
    spare_the_collector()
    store = runtime.store
    with source_to_run(store, source, backend, config, preview) as found:
        if not preview:
            check_launchable(found)
        created = (forgotten_preview(store, found.id, max_items) if preview
                   else nullcontext(store.create_job(found.id, max_items=max_items, exclusive=True)))
        with created as job_id:
            with progress_display(store, job_id, not as_json) as tick:
                runtime.harvester(progress=tick).run_job(job_id)
            job = store.get_job(job_id, with_items=False)
            if as_json:
                write_chunks(store.job_json(job_id))
            else:
                report(store, job, found, preview)
    return job


@app.command("run")
@reports_errors
def run(
    source: RunSourceArgument,
    backend: BackendOption = None,
    config: ConfigOption = None,
    max_items: MaxItemsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a harvest job now and print its report. Exit code 1 when the job failed, or harvested nothing (every
    item skipped or failed) from a catalog that has items."""
    job = harvest(source, backend, parse_config(config), max_items, as_json, preview=False)
    nothing = any(error.message.startswith(NOTHING_HARVESTED) for error in job.errors)
    raise typer.Exit(1 if job.status == "failed" or nothing else 0)


@app.command("preview")
@reports_errors
def preview(
    source: RunSourceArgument,
    backend: BackendOption = None,
    config: ConfigOption = None,
    max_items: MaxItemsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Report what a run would do, writing nothing: what it would create, update (and what changes), skip, fail
    and archive. A URL previewed leaves no source behind."""
    harvest(source, backend, parse_config(config), max_items, as_json, preview=True)


def report(store: Store, job: HarvestJob, source: HarvestSource, preview: bool) -> None:
    """A job's report: its status and counts, its errors, its item problems grouped by message; for a preview,
    the changes it would make and what it would archive; for a running job, its progress."""
    colour = {"done": "green", "done-errors": "yellow", "failed": "red"}.get(job.status, "white")
    short = short_ids(store, jobs, [job.id])[job.id]
    title = "Preview" if preview else f"Job [bold]{short}[/bold]"
    out.print(f"{title} on source [bold]{escape(source.name)}[/bold] ({source.backend}): "
              f"[{colour}]{job.status}[/{colour}]", highlight=False)
    summary = store.summary(job.id)
    counts = Table(*SUMMARY_KEYS)
    counts.add_row(*(str(summary.get(key, 0)) for key in SUMMARY_KEYS))
    out.print(counts)
    for error in job.errors:
        out.print(f"[red]Job {error.level}:[/red] {escape(error.message)}", highlight=False)
    report_progress(store, job.id)
    groups = group_problems(store.item_problems(job.id))
    if groups:
        show_table([Column("items", justify="right"), Column("status"), Column("level", 3),
                    Column("message", fold=True)],
                   [[str(group.count), group.status, group.level, group.message] for group in groups[:PROBLEMS_SHOWN]],
                   title="Item problems, by message")
        if not preview:
            more = f"{len(groups) - PROBLEMS_SHOWN} more messages; " if len(groups) > PROBLEMS_SHOWN else ""
            out.print(f"{more}every problem: harvest job errors {short} --csv", highlight=False)
    if preview:
        report_preview(store, job.id)


def report_progress(store: Store, job_id: str) -> None:
    """A running job's progress; a pending one says when it waits for a worker that nobody runs."""
    row = store.job_row(job_id)
    told = job_progress(row, store.item_counts([job_id])[job_id], utcnow())
    if told is None:
        return
    out.print(f"Progress: {describe_progress(told)}", highlight=False)
    config = settings()
    if row.status == "pending" and config.redis_url:
        from harvesters.queue import workers_listening

        if not workers_listening():
            out.print(f"[yellow]Waiting for a worker:[/yellow] none listens on queue '{config.queue}' "
                      "(start one with `harvest worker`)", highlight=False)


def report_preview(store: Store, job_id: str) -> None:
    """The updates a preview found with what they change, and what it would archive."""
    changed: list[list[str]] = []
    archived: list[str] = []
    for item in store.list_items(job_id):
        changes = [log.message.removeprefix("Would change ") for log in item.logs
                   if log.message.startswith("Would change ")]
        if changes and len(changed) < PREVIEW_SHOWN:
            changed.append([item.remote_id, "\n".join(changes)])
        if item.status == "archived":
            archived.append(item.remote_id)
    if changed:
        show_table([Column("remote_id", fold=True), Column("what changes", fold=True)], changed,
                   title="Updates (against what was last written)")
    if archived:
        shown = ", ".join(archived[:PREVIEW_SHOWN]) + (f" and {len(archived) - PREVIEW_SHOWN} more"
                                                       if len(archived) > PREVIEW_SHOWN else "")
        out.print(f"Would archive {len(archived)}: {escape(shown)}", highlight=False)


# --- distributed runs: workers, launch, sweeper, scheduler -----------------------------------------------


@app.command("launch")
@reports_errors
def launch_command(source: SourceArgument, as_json: JsonOption = False) -> None:
    """Enqueue a job for the workers and print its id at once. Exit code 2 when the source already runs."""
    from harvesters.queue import launch, workers_listening  # imported here: other commands do not need the queue

    runtime = open_runtime()
    config = runtime.config
    if not config.redis_url:
        fail("`harvest launch` enqueues for the workers: set HARVEST_REDIS_URL (or harvest now with `harvest run`)")
    store = runtime.store
    job_id = launch(store, store.get_source(source).id)
    if not workers_listening():
        warn(f"no worker listens on queue '{config.queue}': the job waits until one starts (`harvest worker`)")
    if as_json:
        return print_json(summaries(store, [store.job_row(job_id)])[0].to_json())
    err.print("Job enqueued; follow it with `harvest job show`:", highlight=False)
    sys.stdout.write(job_id + "\n")


@app.command("worker")
@reports_errors
def worker(
    queues: Annotated[list[str] | None, typer.Option(
        "--queues", "-q", help="Queue(s) to work on, repeated or comma-separated (default: HARVEST_QUEUE).")] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Stop once the queues are empty.")] = False,
) -> None:
    """Run a worker processing harvest jobs from Redis (HARVEST_REDIS_URL); run any number, anywhere."""
    from harvesters.queue import run_worker

    configure_logging(settings(), default_level="INFO")
    run_worker([name for value in queues or [] for name in value.split(",") if name], burst=burst)


@app.command("sweep")
@reports_errors
def sweep_command(as_json: JsonOption = False) -> None:
    """Fail timed-out jobs and resume those whose worker was lost (without Redis they are resumed here)."""
    from harvesters.sweeper import sweep

    swept = sweep(open_store(), wait=True)
    if as_json:
        return print_json(asdict(swept))
    for label, found in (("resumed", swept.resumed), ("timed out", swept.timed_out),
                         ("waiting for a worker", swept.waiting)):
        out.print(f"{len(found)} job(s) {label}" + (f": {', '.join(found)}" if found else ""), highlight=False)


@app.command("scheduler")
def scheduler_command() -> None:
    """Launch due sources and sweep, every HARVEST_SCHEDULER_INTERVAL s, until stopped; any number may run."""
    from harvesters.scheduler import Scheduler

    configure_logging(settings(), default_level="INFO")
    if not settings().redis_url:
        warn("no HARVEST_REDIS_URL: jobs run inside this scheduler process")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    Scheduler(open_store()).run(stop)


@app.command("purge-jobs")
def purge_jobs(
    older_than: Annotated[float, typer.Option("--older-than", min=0, help="Age in days.")] = 365,
    as_json: JsonOption = False,
) -> None:
    """Delete the records of finished jobs older than that, with their items (datasets are kept)."""
    deleted = open_store().purge_jobs(utcnow() - timedelta(days=older_than))
    if as_json:
        return print_json({"deleted": deleted})
    out.print(f"{deleted} job(s) deleted", highlight=False)


# --- jobs -----------------------------------------------------------------------------------------------


@job_app.command("list")
@reports_errors
def job_list(
    source: SourceFilterOption = None,
    limit: LimitOption = 20,
    page: PageOption = 1,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest first, with their item counts."""
    store = open_store()
    source_id = store.get_source(source).id if source else None
    offset, count = paged(limit, page)
    rows = store.list_job_rows(source_id, limit=count, offset=offset)
    if as_json:
        return print_json([job.to_json() for job in summaries(store, rows)])
    names = {found.id: found.name for found in store.list_sources(deleted=True)}
    short = short_ids(store, jobs, [row.id for row in rows])
    columns = [Column("id"), Column("source", 2, fold=True), Column("status"), Column("created", 1),
               Column("items", justify="right"), Column("created", 3, justify="right"),
               Column("updated", 3, justify="right"), Column("unchanged", 5, justify="right"),
               Column("skipped", 4, justify="right"), Column("failed", justify="right"),
               Column("archived", 6, justify="right")]
    rendered = []
    for row in rows:
        counts = store.summary(row.id)
        rendered.append([short[row.id], names.get(row.source_id, row.source_id), row.status, when(row.created),
                         str(sum(counts.values())), *(str(counts[key]) for key in SUMMARY_KEYS)])
    show_table(columns, rendered)
    page_footer(len(rows), store.count_jobs(source_id), limit, page, "jobs")


@job_app.command("show")
@reports_errors
def job_show(job: JobArgument, as_json: JsonOption = False) -> None:
    """Show a job: its counts, errors and item problems grouped by message (--json: the job with every item)."""
    store = open_store()
    job_id = store.job_id(job)
    if as_json:
        return write_chunks(store.job_json(job_id))
    found = store.get_job(job_id, with_items=False)
    report(store, found, store.get_source(found.source), preview=False)


@job_app.command("errors")
@reports_errors
def job_errors(
    job: JobArgument,
    as_csv: Annotated[bool, typer.Option("--csv", help="As CSV: remote_id, status, level, message.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="As a JSON array of {remote_id, status, level, "
                                                         "message}.")] = False,
) -> None:
    """Every problem of a job's items (each error and warning), for a spreadsheet or a script."""
    store = open_store()
    problems = store.item_problems(store.job_id(job))
    if as_csv:
        for chunk in csv_export(problems):
            sys.stdout.write(chunk)
        return
    if as_json:
        return write_chunks(json_export(problems))
    show_table([Column("remote_id", fold=True), Column("status"), Column("level", 2), Column("message", fold=True)],
               [[problem.remote_id, problem.status, problem.level, problem.message] for problem in problems])


@job_app.command("cancel")
@reports_errors
def job_cancel(job: JobArgument) -> None:
    """Cancel a pending or running job: it ends failed ("Cancelled"), its workers stop at their next item, and its
    source may run again at once."""
    from harvesters.cancel import cancel_job  # imported here: it brings the queue (RQ, Redis)

    runtime = open_runtime()
    job_id = runtime.store.job_id(job)
    cancel_job(runtime, job_id, "from the command line")
    out.print(f"Job {job_id} cancelled", highlight=False)


# --- local catalog ---------------------------------------------------------------------------------------


@datasets_app.command("list")
@reports_errors
def datasets_list(
    source: SourceFilterOption = None,
    limit: LimitOption = 50,
    page: PageOption = 1,
    as_json: JsonOption = False,
) -> None:
    """List the datasets of the local catalog, a page at a time."""
    store = open_store()
    catalog = LocalCatalog(store)
    source_id = store.get_source(source).id if source else None
    offset, count = paged(limit, page)
    found = catalog.list_datasets(source_id, offset=offset, limit=count)
    if as_json:
        return print_json(found)
    short = short_ids(store, datasets, [dataset["id"] for dataset in found])
    columns = [Column("id"), Column("title", fold=True), Column("resources", 3, justify="right"),
               Column("remote_id", 2, fold=True), Column("archived", 4)]
    show_table(columns, [[short[dataset["id"]], dataset["title"], str(len(dataset["resources"])),
                          dataset["harvest"]["remote_id"], (dataset["archived"] or "-")[:10]] for dataset in found])
    page_footer(len(found), catalog.count(source_id), limit, page, "datasets")


@datasets_app.command("show")
@reports_errors
def datasets_show(
    dataset: Annotated[str, typer.Argument(help="The dataset's id (or a unique start of it) or slug.")],
    as_json: JsonOption = False,
) -> None:
    """Show one dataset of the local catalog."""
    show_document("dataset", dataset, as_json)


@dataservices_app.command("list")
@reports_errors
def dataservices_list(
    source: SourceFilterOption = None,
    limit: LimitOption = 50,
    page: PageOption = 1,
    as_json: JsonOption = False,
) -> None:
    """List the data services of the local catalog, a page at a time."""
    store = open_store()
    catalog = LocalCatalog(store)
    source_id = store.get_source(source).id if source else None
    offset, count = paged(limit, page)
    found = catalog.list_dataservices(source_id, offset=offset, limit=count)
    if as_json:
        return print_json(found)
    short = short_ids(store, dataservices, [service["id"] for service in found])
    columns = [Column("id"), Column("title", fold=True), Column("endpoint", 3, fold=True),
               Column("datasets", 4, justify="right"), Column("remote_id", 2, fold=True), Column("archived", 5)]
    show_table(columns, [[short[service["id"]], service["title"], service["base_api_url"] or "-",
                          str(len(service["datasets"])), service["harvest"]["remote_id"],
                          (service["archived_at"] or "-")[:10]] for service in found])
    page_footer(len(found), catalog.count(source_id, "dataservice"), limit, page, "data services")


@dataservices_app.command("show")
@reports_errors
def dataservices_show(
    dataservice: Annotated[str, typer.Argument(help="The data service's id, or a unique start of it.")],
    as_json: JsonOption = False,
) -> None:
    """Show one data service of the local catalog."""
    show_document("dataservice", dataservice, as_json)


def show_document(kind: Literal["dataset", "dataservice"], ident: str, as_json: bool) -> None:
    """A document of the local catalog by its id, a unique start of it, or (a dataset) its slug; as JSON (only) or
    pretty-printed; exit 2 when there is none."""
    store = open_store()
    catalog = LocalCatalog(store)
    table, get, noun = ((datasets, catalog.get_dataset, "dataset") if kind == "dataset"
                        else (dataservices, catalog.get_dataservice, "data service"))
    found = get(store.complete_id(table, ident, noun) or ident)
    if found is None:
        fail(f"No {noun} '{ident}' in the local catalog")
    if as_json:
        return print_json(found)
    out.print_json(data=found)


@app.command("backends")
def backends(as_json: JsonOption = False) -> None:
    """List installed backends with what their sources may configure, each option with its description."""
    described = [backend.to_json() for backend in registry().values()]
    if as_json:
        return print_json(described)
    kinds = {"filters": "filter", "features": "feature", "extra_configs": "extra config"}
    rows = [[backend["id"], kinds[kind], option["key"], option["type"],
             "" if option["default"] is None else json.dumps(option["default"]),
             option["description"] or option["label"]]
            for backend in described for kind in kinds for option in backend[kind]]
    show_table([Column("backend"), Column("kind", 2), Column("key"), Column("type", 3), Column("default", 4),
                Column("description", fold=True)], rows,
               title=", ".join(f"{backend['id']}: {backend['label']}" for backend in described))


# --- HTTP API ---------------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 7000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (one per CPU serves the most)")] = 1,
) -> None:
    """Serve the operator HTTP API: udata's harvest endpoints under /api/1/harvest/ (docs at .../docs), with
    /healthz and /metrics (Prometheus), and the web console at /."""
    import uvicorn  # imported here: the other commands do not need the web stack

    from harvesters.api import create_app
    from harvesters.serving import FAST, serve_processes

    if workers == 1:
        configure_logging(settings(), default_level="INFO")
        uvicorn.run(create_app(open_store()), host=host, port=port, log_config=None, **FAST)
    else:  # each process builds its app from the environment; one console secret for all (a login works on each)

        if not settings().console_secret:
            os.environ["HARVEST_CONSOLE_SECRET"] = secrets.token_urlsafe(32)
        try:
            code = serve_processes(host, port, workers)
        except OSError as error:
            fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
        raise typer.Exit(code)


def served_app() -> FastAPI:
    """The app of one process of `harvest serve --workers N`, logging as a single server does."""
    from harvesters.api import create_app

    configure_logging(settings(), default_level="INFO")
    return create_app()


@apikey_app.command("create")
def apikey_create(name: Annotated[str, typer.Argument(help="Who or what uses the key (unique among active "
                                                           "keys).")],
                  as_json: JsonOption = False) -> None:
    """Create a key and print it: it is shown once, only its hash is stored."""
    try:
        key, plain = ApiKeys(open_store()).create(name)
    except ValueError as error:
        fail(str(error))
    if as_json:
        return print_json(key.to_json() | {"key": plain})
    err.print(f"API key '{key.name}' created ({key.id}); copy it now, it will not be shown again:", highlight=False)
    sys.stdout.write(plain + "\n")


@apikey_app.command("revoke")
@reports_errors
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="The key's id (or a unique start of it) or name.")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a key: requests made with it are refused from now on."""
    revoked = ApiKeys(open_store()).revoke(key)
    if as_json:
        return print_json(revoked.to_json())
    err.print(f"API key '{revoked.name}' ({revoked.id}) revoked", highlight=False)


@apikey_app.command("list")
def apikey_list(as_json: JsonOption = False) -> None:
    """List the keys (never the keys themselves: they are not stored)."""
    store = open_store()
    found = ApiKeys(store).list_keys()
    if as_json:
        return print_json([key.to_json() for key in found])
    short = short_ids(store, api_keys, [key.id for key in found])
    show_table([Column("id"), Column("name", fold=True), Column("created"), Column("revoked")],
               [[short[key.id], key.name, when(key.created_at), when(key.revoked_at)] for key in found])


# --- secrets ------------------------------------------------------------------------------------------


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a new key: set it as HARVEST_SECRET_KEY (to rotate, put it first: NEW,OLD, then `secrets rotate`)."""
    sys.stdout.write(Vault.new_key() + "\n")


@secrets_app.command("rotate")
@reports_errors
def secrets_rotate(as_json: JsonOption = False) -> None:
    """Seal every stored secret again with the first key of HARVEST_SECRET_KEY (and any left in plain text)."""
    runtime = open_runtime()
    resealed, problems = rotate_secrets(runtime.store, Vault.from_settings(runtime.config))
    if as_json:
        print_json({"resealed": resealed, "problems": problems})
    else:
        err.print(f"{len(resealed)} source(s) with secrets sealed again with the first key", highlight=False)
        for problem in problems:
            err.print(f"[red]Not sealed again:[/red] {escape(problem)}", highlight=False)
    if problems:
        raise typer.Exit(1)


# --- udata portal ---------------------------------------------------------------------------------------


def open_udata(runtime: Runtime) -> UdataPortal:
    from harvesters.targets.udata import UdataPortal  # imported here: only the portal commands write to one

    if not runtime.config.udata_url:
        fail("No udata portal configured: set HARVEST_UDATA_URL and HARVEST_UDATA_API_KEY")
    return UdataPortal.open(runtime.config)


@portal_app.command("check")
def portal_check(as_json: JsonOption = False) -> None:
    """Check the portal's URL and API key (GET /api/1/me/) and say who datasets are written as."""
    runtime = open_runtime()
    store = runtime.store
    portal = open_udata(runtime)
    try:
        me, licenses = portal.me(), portal.licenses()
    except TargetError as error:
        fail(str(error))
    organizations = {org["id"]: org.get("name") for org in me.get("organizations") or []}
    outside = sorted({source.organization.id for source in store.list_sources()
                      if source.organization and source.organization.id not in organizations})
    found = {
        "url": portal.client.url,
        "user": {key: me.get(key) for key in ("id", "slug", "first_name", "last_name")},
        "organizations": [{"id": org_id, "name": name} for org_id, name in organizations.items()],
        "licenses": len(licenses.ids),
        "unwritable_organizations": outside,
    }
    if as_json:
        return print_json(found)
    out.print(f"Writing to {found['url']} as {me.get('first_name')} {me.get('last_name')} ({me.get('id')}), "
              f"member of: {', '.join(f'{name} ({org_id})' for org_id, name in organizations.items()) or 'none'}; "
              f"{found['licenses']} licenses", highlight=False)
    for org_id in outside:
        warn(f"sources publish under organization {org_id}, which this API key is not a member of")


@app.command("attach")
@reports_errors
def attach(source: SourceArgument, as_json: JsonOption = False) -> None:
    """Rebuild a source's links to its portal datasets (from their harvest:* extras), so that a lost
    database, or datasets harvested by another tool, are adopted instead of duplicated."""
    from harvesters.targets.udata import attach as attach_datasets  # the portal's, as in open_udata

    runtime = open_runtime()
    found = runtime.store.get_source(source)
    try:
        portal = open_udata(runtime)
        result = attach_datasets(portal.datasets(found.organization.id if found.organization else None),
                                 runtime.store, found)
    except TargetError as error:
        fail(str(error))
    if as_json:
        return print_json(asdict(result))
    out.print(f"{len(result.adopted)} dataset(s) adopted, {len(result.already_linked)} already linked, "
              f"{len(result.duplicates)} duplicate(s) left aside", highlight=False)
    if result.adopted:
        show_table([Column("remote_id", fold=True), Column("dataset"), Column("title", 1, fold=True),
                    Column("archived", 2)],
                   [[entry.remote_id, entry.dataset_id, entry.title or "", entry.archived or "-"]
                    for entry in result.adopted], title="Adopted")
    for entry in result.duplicates:
        warn(f"duplicate left aside: dataset {entry.dataset_id} (remote id {entry.remote_id})")
