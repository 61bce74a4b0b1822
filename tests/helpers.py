"""What the tests share besides fixtures: the CLI runner, the JSON-list test backend, and small readers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from typer.testing import CliRunner

from backends.base import Backend, Option, Record, SkipRecord
from harvesters.cli import app
from harvesters.models import Dataset, Mapped, Resource


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int | None = 0) -> Any:
        result = self.runner.invoke(app, [str(arg) for arg in args])
        if expect is not None:
            assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
        return result

    def json(self, *args: str, expect: int | None = 0) -> Any:
        return json.loads(self(*args, "--json", expect=expect).stdout)


class ListBackend(Backend):
    """A minimal backend for pipeline tests: a JSON page {"datasets": [...], "next": url|null}.

    A dataset with an "error" key fails its mapping with that message; one without a title is skipped.
    """

    name = "jsonlist"
    display_name = "JSON list (tests)"
    filters = (Option("tag", "Tag"),)
    features = (Option("strict", "Strict", bool, default=False),)
    extra_configs = (Option("page_size", "Page size", int, default=10), Option("token", "Token", secret=True))

    def gather(self) -> Iterator[Record]:
        url: str | None = self.url
        while url:
            page = self.http.get_json(url)
            for entry in page["datasets"]:
                yield Record(remote_id=entry["id"], remote_url=entry.get("url"), data=entry)
            url = page.get("next")

    def map(self, record: Record) -> Mapped:
        entry = record.data
        if "error" in entry:
            raise ValueError(entry["error"])
        if not entry.get("title"):
            raise SkipRecord("missing title")
        resources = [Resource(title=url.rsplit("/", 1)[-1], url=url) for url in entry.get("files", [])]
        return Mapped(dataset=Dataset(title=entry["title"], description=entry.get("description", ""),
                                      tags=entry.get("tags", []), resources=resources))


def job_errors(job: dict[str, Any]) -> list[str]:
    """The messages of a job's errors (its JSON shape)."""
    return [error["message"] for error in job["errors"]]


def datasets_page(*entries: dict[str, Any], next_url: str | None = None) -> str:
    return json.dumps({"datasets": list(entries), "next": next_url})
