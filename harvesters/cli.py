"""The `harvest` command. Names and options are a contract: other tools call them.

`--json` prints the documented shape and nothing else on stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from backends import registry
from backends.base import ConfigError
from harvesters.apikeys import ApiKeys
from harvesters.clock import utcnow
from harvesters.errors import NotFound, Refused
from harvesters.models import HarvestItem, HarvestJob, HarvestSource
from harvesters.runtime import Runtime
from harvesters.settings import settings
from harvesters.sources import (
    archive_datasets,
    change_source,
    check_launchable,
    delete_source,
    mask_secrets,
    register_source,
    validate_source,
)
from harvesters.store import Store
from harvesters.targets import LocalCatalog, TargetError, UdataPortal
from harvesters.targets.udata import attach as attach_datasets

app = typer.Typer(help="Harvest open-data catalogs into udata portals.", no_args_is_help=True)
source_app = typer.Typer(help="Register and manage harvest sources.", no_args_is_help=True)
job_app = typer.Typer(help="Inspect harvest jobs.", no_args_is_help=True)
datasets_app = typer.Typer(help="Browse the embedded local catalog.", no_args_is_help=True)
app.add_typer(source_app, name="source")
app.add_typer(job_app, name="job")
app.add_typer(datasets_app, name="datasets")
dataservices_app = typer.Typer(help="Browse the data services of the embedded local catalog.", no_args_is_help=True)
app.add_typer(dataservices_app, name="dataservices")
apikey_app = typer.Typer(help="Manage the keys of the HTTP API (`harvest serve`).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
portal_app = typer.Typer(help="The udata portal datasets are written to (HARVEST_UDATA_URL).", no_args_is_help=True)
app.add_typer(portal_app, name="portal")

out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the documented JSON shape only.")]
SUMMARY_KEYS = ("created", "updated", "unchanged", "skipped", "failed", "archived")
F = TypeVar("F", bound=Callable[..., Any])


def main() -> None:
    app()


def open_runtime() -> Runtime:
    """What a command works with, built once from the environment (the composition root)."""
    return Runtime.from_environment()


def open_store() -> Store:
    return open_runtime().store


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]Error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def reports_errors(command: F) -> F:
    """Turn the framework's refusals into a clear message and exit code 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (NotFound, ConfigError, Refused) as error:
            fail(str(error))

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


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


# --- sources ------------------------------------------------------------------------------------------


@source_app.command("add")
@reports_errors
def source_add(
    name: str,
    url: str,
    backend: Annotated[str, typer.Option("--backend", "-b")],
    config: Annotated[str | None, typer.Option(help="JSON: {filters, features, extra_configs}")] = None,
    schedule: Annotated[str | None, typer.Option(help="Cron expression or @hourly/@daily/...")] = None,
    organization: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    no_autoarchive: Annotated[bool, typer.Option("--no-autoarchive")] = False,
    inactive: Annotated[bool, typer.Option("--inactive")] = False,
    as_json: JsonOption = False,
) -> None:
    """Register a harvest source."""
    source = register_source(
        open_store(), name=name, url=url, backend=backend, config=parse_config(config), schedule=schedule,
        organization=organization, owner=owner, description=description,
        autoarchive=not no_autoarchive, active=not inactive,
    )
    show_source(source, as_json)


@source_app.command("list")
def source_list(
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted sources.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List harvest sources."""
    found = [mask_secrets(source) for source in open_store().list_sources(deleted=deleted)]
    if as_json:
        return print_json([source.to_json() for source in found])
    table = Table("id", "name", "backend", "url", "schedule", "active", "validation")
    for source in found:
        table.add_row(source.id, source.name, source.backend, source.url, source.schedule or "-",
                      "yes" if source.active else "no", source.validation.state)
    out.print(table)


@source_app.command("show")
@reports_errors
def source_show(source: str, as_json: JsonOption = False) -> None:
    """Show a source (by id, slug or name) with its last job."""
    show_source(open_store().get_source(source, with_last_job=True), as_json)


@source_app.command("update")
@reports_errors
def source_update(
    source: str,
    name: Annotated[str | None, typer.Option()] = None,
    url: Annotated[str | None, typer.Option()] = None,
    backend: Annotated[str | None, typer.Option("--backend", "-b")] = None,
    config: Annotated[str | None, typer.Option()] = None,
    schedule: Annotated[str | None, typer.Option(help="Cron expression; '' removes the schedule")] = None,
    organization: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    autoarchive: Annotated[bool | None, typer.Option("--autoarchive/--no-autoarchive")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a source's fields."""
    values: dict[str, Any] = dict(
        name=name, url=url, backend=backend, config=parse_config(config), organization=organization,
        owner=owner, description=description, autoarchive=autoarchive, active=active,
    )
    store = open_store()
    if schedule is not None:
        values["schedule"] = schedule
        if not schedule:  # '' clears it
            store.update_source(source, schedule=None)
            values.pop("schedule")
    show_source(change_source(store, source, **values), as_json)


@source_app.command("delete")
@reports_errors
def source_delete(
    source: str,
    archive: Annotated[bool, typer.Option("--archive-datasets", help="Also archive its datasets on the portal.")] = False,
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
            err.print(f"[red]Not archived:[/red] {problem}", highlight=False)
    show_source(deleted, as_json)
    if problems:
        raise typer.Exit(1)


CommentOption = Annotated[str | None, typer.Option("--comment", "-m", help="Why (required to reject).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Id of the user deciding.")]


@source_app.command("validate")
@reports_errors
def source_validate(source: str, comment: CommentOption = None, by: ByOption = None,
                    as_json: JsonOption = False) -> None:
    """Accept a source: from now on it runs on its schedule."""
    show_source(validate_source(open_store(), source, "accepted", comment, by), as_json)


@source_app.command("reject")
@reports_errors
def source_reject(source: str, comment: CommentOption = None, by: ByOption = None,
                  as_json: JsonOption = False) -> None:
    """Refuse a source (with a comment): it never runs on schedule."""
    show_source(validate_source(open_store(), source, "refused", comment, by), as_json)


def show_source(source: HarvestSource, as_json: bool) -> None:
    source = mask_secrets(source)
    if as_json:
        return print_json(source.to_json())
    table = Table(show_header=False, box=None)
    for key in ("id", "slug", "name", "backend", "url", "schedule", "active", "autoarchive"):
        table.add_row(f"[bold]{key}[/bold]", str(getattr(source, key)))
    table.add_row("[bold]validation[/bold]", source.validation.state)
    table.add_row("[bold]config[/bold]", json.dumps(source.config))
    if source.deleted:
        table.add_row("[bold]deleted[/bold]", source.deleted.isoformat())
    if source.last_job:
        table.add_row("[bold]last job[/bold]", f"{source.last_job.id} ({source.last_job.status})")
    out.print(table)


# --- running --------------------------------------------------------------------------------------------


def resolve_source(store: Store, source: str, backend: str | None) -> HarvestSource:
    """A registered source, or the implicit source of a URL (reused for the same backend and URL)."""
    url = _as_url(source)
    if url is None:
        return store.get_source(source)
    if not backend:
        fail("harvesting a URL needs --backend")
    return store.find_source(backend, url) or register_source(store, name=url, url=url, backend=backend)


def _as_url(value: str) -> str | None:
    if "://" in value:
        return value
    path = Path(value)
    return path.resolve().as_uri() if path.is_file() else None


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A live count of processed items on stderr."""
    if not enabled:
        yield lambda outcome: None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} items"),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task("Harvesting", total=None)
        yield lambda outcome: progress.advance(task)


def harvest(source: str, backend: str | None, max_items: int | None, as_json: bool, preview: bool) -> HarvestJob:
    runtime = open_runtime()
    store = runtime.store
    found = resolve_source(store, source, backend)
    if not preview:
        check_launchable(found)
    with progress_bar(not as_json) as tick:
        job = runtime.harvester(progress=tick).run(found, preview=preview, max_items=max_items,
                                                   exclusive=not preview, with_items=False)
    if as_json:
        print_job_json(store, job)
    else:
        report(job, found, store.summary(job.id), preview, problems(store, job.id))
    if preview:
        store.delete_job(job.id)
    return job


def problems(store: Store, job_id: str) -> list[HarvestItem]:
    return [item for status in ("failed", "skipped") for item in store.list_items(job_id, status)]


def print_job_json(store: Store, job: HarvestJob) -> None:
    """The job in udata's JSON shape, its items written a chunk at a time."""
    for chunk in store.job_json(job.id):
        sys.stdout.write(chunk)
    sys.stdout.write("\n")


@app.command("run")
@reports_errors
def run(
    source: Annotated[str, typer.Argument(help="Source id, slug or name; or a catalog URL with --backend")],
    backend: Annotated[str | None, typer.Option("--backend", "-b")] = None,
    max_items: Annotated[int | None, typer.Option("--max-items", min=1)] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a harvest job now and print its report. Exit code 1 when the job failed."""
    job = harvest(source, backend, max_items, as_json, preview=False)
    raise typer.Exit(1 if job.status == "failed" else 0)


@app.command("preview")
@reports_errors
def preview(
    source: Annotated[str, typer.Argument(help="Source id, slug or name; or a catalog URL with --backend")],
    backend: Annotated[str | None, typer.Option("--backend", "-b")] = None,
    max_items: Annotated[int | None, typer.Option("--max-items", min=1)] = None,
    as_json: JsonOption = False,
) -> None:
    """Map a source and report what a run would do, writing nothing."""
    harvest(source, backend, max_items, as_json, preview=True)


def report(job: HarvestJob, source: HarvestSource, summary: dict[str, int], preview: bool,
           problems: list[HarvestItem]) -> None:
    colour = {"done": "green", "done-errors": "yellow", "failed": "red"}.get(job.status, "white")
    title = "Preview of" if preview else "Job"
    out.print(f"{title} [bold]{job.id}[/bold] on source [bold]{source.name}[/bold] ({source.backend}): "
              f"[{colour}]{job.status}[/{colour}]", highlight=False)
    counts = Table(*SUMMARY_KEYS)
    counts.add_row(*(str(summary.get(key, 0)) for key in SUMMARY_KEYS))
    out.print(counts)
    for error in job.errors:
        out.print(f"[red]Job {error.level}:[/red] {error.message}", highlight=False)
    if problems:
        table = Table("status", "remote_id", "reason", title="Items not harvested")
        for item in problems:
            reason = "; ".join(e.message for e in item.errors) or "; ".join(log.message for log in item.logs)
            table.add_row(item.status, item.remote_id, reason)
        out.print(table)


# --- distributed runs: workers, launch, sweeper, scheduler -----------------------------------------------


@app.command("launch")
@reports_errors
def launch_command(
    source: Annotated[str, typer.Argument(help="Source id, slug or name")],
    as_json: JsonOption = False,
) -> None:
    """Enqueue a job for the workers and print its id at once. Exit code 2 when the source already runs."""
    from harvesters.queue import launch  # imported here, as below: the other commands do not need the queue

    runtime = open_runtime()
    if not runtime.config.redis_url:
        fail("`harvest launch` enqueues for the workers: set HARVEST_REDIS_URL (or harvest now with `harvest run`)")
    store = runtime.store
    job_id = launch(store, store.get_source(source).id)
    if as_json:
        return print_json(store.get_job(job_id, with_items=False).to_json())
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

    run_worker([name for value in queues or [] for name in value.split(",") if name], burst=burst)


@app.command("sweep")
@reports_errors
def sweep_command(as_json: JsonOption = False) -> None:
    """Fail timed-out jobs and resume those whose worker was lost (without Redis they are resumed here)."""
    from harvesters.sweeper import sweep

    report = sweep(open_store(), wait=True)
    if as_json:
        return print_json(asdict(report))
    for label, found in (("resumed", report.resumed), ("timed out", report.timed_out),
                         ("waiting for a worker", report.waiting)):
        out.print(f"{len(found)} job(s) {label}" + (f": {', '.join(found)}" if found else ""), highlight=False)


@app.command("scheduler")
def scheduler_command() -> None:
    """Launch due sources and sweep, every HARVEST_SCHEDULER_INTERVAL s, until stopped; any number may run."""
    from harvesters.scheduler import Scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not settings().redis_url:
        err.print("[yellow]No HARVEST_REDIS_URL: jobs run inside this scheduler process[/yellow]")
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
    source: Annotated[str | None, typer.Option("--source", "-s")] = None,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    store = open_store()
    source_id = store.get_source(source).id if source else None
    found = store.list_jobs(source_id)
    if as_json:
        return print_json([job.to_json() for job in found])
    table = Table("id", "source", "status", "created", "ended", *SUMMARY_KEYS)
    for job in found:
        summary = store.summary(job.id)
        table.add_row(job.id, job.source, job.status, f"{job.created:%Y-%m-%d %H:%M:%S}",
                      f"{job.ended:%H:%M:%S}" if job.ended else "-", *(str(summary[key]) for key in SUMMARY_KEYS))
    out.print(table)


@job_app.command("show")
@reports_errors
def job_show(job_id: str, as_json: JsonOption = False) -> None:
    """Show a job with its items, errors and logs."""
    store = open_store()
    job = store.get_job(job_id)
    if as_json:
        return print_json(job.to_json())
    report(job, store.get_source(job.source), store.summary(job.id), preview=False,
           problems=[item for item in job.items if item.status in ("failed", "skipped")])


# --- local catalog ---------------------------------------------------------------------------------------


@datasets_app.command("list")
@reports_errors
def datasets_list(
    source: Annotated[str | None, typer.Option("--source", "-s")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the datasets of the local catalog."""
    store = open_store()
    source_id = store.get_source(source).id if source else None
    found = LocalCatalog(store).list_datasets(source_id)
    if as_json:
        return print_json(found)
    table = Table("id", "title", "resources", "remote_id", "archived")
    for dataset in found:
        table.add_row(dataset["id"], dataset["title"], str(len(dataset["resources"])),
                      dataset["harvest"]["remote_id"], dataset["archived"] or "-")
    out.print(table)


@datasets_app.command("show")
@reports_errors
def datasets_show(dataset: str, as_json: JsonOption = False) -> None:
    """Show one dataset of the local catalog (by id or slug)."""
    show_document(LocalCatalog(open_store()).get_dataset(dataset), f"No dataset '{dataset}' in the local catalog", as_json)


@dataservices_app.command("list")
@reports_errors
def dataservices_list(
    source: Annotated[str | None, typer.Option("--source", "-s")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the data services of the local catalog."""
    store = open_store()
    found = LocalCatalog(store).list_dataservices(store.get_source(source).id if source else None)
    if as_json:
        return print_json(found)
    table = Table("id", "title", "endpoint", "datasets", "remote_id", "archived")
    for service in found:
        table.add_row(service["id"], service["title"], service["base_api_url"] or "-", str(len(service["datasets"])),
                      service["harvest"]["remote_id"], service["archived_at"] or "-")
    out.print(table)


@dataservices_app.command("show")
@reports_errors
def dataservices_show(dataservice: str, as_json: JsonOption = False) -> None:
    """Show one data service of the local catalog (by id)."""
    found = LocalCatalog(open_store()).get_dataservice(dataservice)
    show_document(found, f"No data service '{dataservice}' in the local catalog", as_json)


def show_document(found: dict[str, Any] | None, missing: str, as_json: bool) -> None:
    """A document of the local catalog, as JSON (only) or pretty-printed; exit 2 when there is none."""
    if found is None:
        fail(missing)
    if as_json:
        return print_json(found)
    out.print_json(data=found)


@app.command("backends")
def backends(as_json: JsonOption = False) -> None:
    """List installed backends with what their sources may configure."""
    described = [backend.to_json() for backend in registry().values()]
    if as_json:
        return print_json(described)
    table = Table("id", "label", "filters", "features", "extra configs")
    for backend in described:
        table.add_row(backend["id"], backend["label"],
                      *(", ".join(option["key"] for option in backend[kind]) or "-"
                        for kind in ("filters", "features", "extra_configs")))
    out.print(table)


# --- HTTP API ---------------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 7000,
) -> None:
    """Serve the operator HTTP API: udata's harvest endpoints under /api/1/harvest/ (docs at .../docs)."""
    import uvicorn  # imported here: the other commands do not need the web stack

    from harvesters.api import create_app

    uvicorn.run(create_app(open_store()), host=host, port=port)


@apikey_app.command("create")
def apikey_create(name: str, as_json: JsonOption = False) -> None:
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
    key: Annotated[str, typer.Argument(help="The key's id or name")], as_json: JsonOption = False
) -> None:
    """Revoke a key: requests made with it are refused from now on."""
    revoked = ApiKeys(open_store()).revoke(key)
    if as_json:
        return print_json(revoked.to_json())
    err.print(f"API key '{revoked.name}' ({revoked.id}) revoked", highlight=False)


@apikey_app.command("list")
def apikey_list(as_json: JsonOption = False) -> None:
    """List the keys (never the keys themselves: they are not stored)."""
    found = ApiKeys(open_store()).list()
    if as_json:
        return print_json([key.to_json() for key in found])
    table = Table("id", "name", "created", "revoked")
    for key in found:
        table.add_row(key.id, key.name, f"{key.created_at:%Y-%m-%d %H:%M}",
                      f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "-")
    out.print(table)


# --- udata portal ---------------------------------------------------------------------------------------


def open_udata(runtime: Runtime) -> UdataPortal:
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
        err.print(f"[yellow]Warning:[/yellow] sources publish under organization {org_id}, "
                  "which this API key is not a member of", highlight=False)


@app.command("attach")
@reports_errors
def attach(source: Annotated[str, typer.Argument(help="Source id, slug or name")], as_json: JsonOption = False) -> None:
    """Rebuild a source's links to its portal datasets (from their harvest:* extras), so that a lost
    database, or datasets harvested by another tool, are adopted instead of duplicated."""
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
    table = Table("remote_id", "dataset", "title", "archived", title="Adopted")
    for entry in result.adopted:
        table.add_row(entry.remote_id, entry.dataset_id, entry.title or "", entry.archived or "-")
    if result.adopted:
        out.print(table)
    for entry in result.duplicates:
        err.print(f"[yellow]Duplicate left aside:[/yellow] dataset {entry.dataset_id} "
                  f"(remote id {entry.remote_id})", highlight=False)
