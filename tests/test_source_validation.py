"""The source validation workflow and schedules, through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.helpers import Cli


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


def add_source(cli: Cli, schedule: str = "@daily") -> dict:
    return cli.json("source", "add", "Regional catalog", "https://example.org/catalog.ttl", "--backend", "dcat",
                    "--schedule", schedule)


def test_a_source_is_accepted_then_refused_with_who_when_and_why(cli: Cli) -> None:
    source = add_source(cli)
    assert source["validation"] == {"by": None, "comment": None, "on": None, "state": "pending"}
    accepted = cli.json("source", "validate", source["slug"], "--comment", "Looks good", "--by", "admin-1")
    assert accepted["validation"]["state"] == "accepted"
    assert accepted["validation"]["comment"] == "Looks good"
    assert accepted["validation"]["by"]["id"] == "admin-1" and accepted["validation"]["on"]
    refused = cli.json("source", "reject", source["id"], "--comment", "Duplicate of another source")
    assert (refused["validation"]["state"], refused["validation"]["comment"], refused["validation"]["by"]) == (
        "refused", "Duplicate of another source", None)
    assert cli.json("source", "show", source["id"])["validation"]["state"] == "refused"


def test_refusing_needs_a_comment(cli: Cli) -> None:
    source = add_source(cli)
    result = cli("source", "reject", source["id"], expect=2)
    assert "needs a comment" in " ".join(result.stderr.split())
    assert cli.json("source", "show", source["id"])["validation"]["state"] == "pending"
    assert "No harvest source 'nope'" in cli("source", "validate", "nope", expect=2).stderr


@pytest.mark.parametrize("schedule", ["@hourly", "@daily", "@weekly", "@monthly", "*/15 * * * *", "0 3 * * 1-5"])
def test_cron_expressions_and_aliases_are_kept_as_given(cli: Cli, schedule: str) -> None:
    assert add_source(cli, schedule)["schedule"] == schedule


def test_an_invalid_schedule_is_refused_on_update_and_changes_nothing(cli: Cli) -> None:
    source = add_source(cli, "@weekly")
    result = cli("source", "update", source["id"], "--schedule", "61 * * * *", expect=2)
    assert "Invalid schedule '61 * * * *'" in " ".join(result.stderr.split())
    assert cli.json("source", "show", source["id"])["schedule"] == "@weekly"
