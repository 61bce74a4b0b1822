"""The `harvest` command. Names and options are a contract: other tools call them.

`--json` prints the documented shape and nothing else on stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from backends import registry
from backends.base import ConfigError
from harvesters.models import HarvestJob, HarvestSource
from harvesters.pipeline import Harvester
from harvesters.settings import settings
from harvesters.sources import change_source, delete_source, public, register_source
from harvesters.store import NotFound, Store
from harvesters.targets import LocalCatalog

app = typer.Typer(help="Harvest open-data catalogs into udata portals.", no_args_is_help=True)
source_app = typer.Typer(help="Register and manage harvest sources.", no_args_is_help=True)
job_app = typer.Typer(help="Inspect harvest jobs.", no_args_is_help=True)
datasets_app = typer.Typer(help="Browse the embedded local catalog.", no_args_is_help=True)
app.add_typer(source_app, name="source")
app.add_typer(job_app, name="job")
app.add_typer(datasets_app, name="datasets")

out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the documented JSON shape only.")]
SUMMARY_KEYS = ("created", "updated", "unchanged", "skipped", "failed", "archived")
F = TypeVar("F", bound=Callable[..., Any])


def main() -> None:
    app()


def open_store() -> Store:
    return Store(settings().database_url)


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]Error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def reports_errors(command: F) -> F:
    """Turn the framework's refusals into a clear message and exit code 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (NotFound, ConfigError) as error:
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
    found = [public(source) for source in open_store().list_sources(deleted=deleted)]
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
def source_delete(source: str, as_json: JsonOption = False) -> None:
    """Mark a source deleted. Its jobs and harvested datasets are kept."""
    show_source(delete_source(open_store(), source), as_json)


def show_source(source: HarvestSource, as_json: bool) -> None:
    source = public(source)
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
    store = open_store()
    found = resolve_source(store, source, backend)
    with progress_bar(not as_json) as tick:
        job = Harvester(store, progress=tick).run(found, preview=preview, max_items=max_items)
    summary = store.summary(job.id)
    if preview:
        store.delete_job(job.id)
    if as_json:
        print_json(job.to_json())
    else:
        report(job, found, summary, preview)
    return job


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


def report(job: HarvestJob, source: HarvestSource, summary: dict[str, int], preview: bool) -> None:
    colour = {"done": "green", "done-errors": "yellow", "failed": "red"}.get(job.status, "white")
    title = "Preview of" if preview else "Job"
    out.print(f"{title} [bold]{job.id}[/bold] on source [bold]{source.name}[/bold] ({source.backend}): "
              f"[{colour}]{job.status}[/{colour}]", highlight=False)
    counts = Table(*SUMMARY_KEYS)
    counts.add_row(*(str(summary.get(key, 0)) for key in SUMMARY_KEYS))
    out.print(counts)
    for error in job.errors:
        out.print(f"[red]Job {error.level}:[/red] {error.message}", highlight=False)
    problems = [item for item in job.items if item.status in ("failed", "skipped")]
    if problems:
        table = Table("status", "remote_id", "reason", title="Items not harvested")
        for item in problems:
            reason = "; ".join(e.message for e in item.errors) or "; ".join(log.message for log in item.logs)
            table.add_row(item.status, item.remote_id, reason)
        out.print(table)


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
    report(job, store.get_source(job.source), store.summary(job.id), preview=False)


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
    found = LocalCatalog(store).list(source_id)
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
    found = LocalCatalog(open_store()).get(dataset)
    if found is None:
        fail(f"No dataset '{dataset}' in the local catalog")
    if as_json:
        return print_json(found)
    out.print_json(data=found)


@app.command("backends")
def backends(as_json: JsonOption = False) -> None:
    """List installed backends with what their sources may configure."""
    described = [backend.describe() for backend in registry().values()]
    if as_json:
        return print_json(described)
    table = Table("id", "label", "filters", "features", "extra configs")
    for backend in described:
        table.add_row(backend["id"], backend["label"],
                      *(", ".join(option["key"] for option in backend[kind]) or "-"
                        for kind in ("filters", "features", "extra_configs")))
    out.print(table)
