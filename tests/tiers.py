"""The test tiers: a test is marked by what it starts, and one that starts something unmarked fails.

- `servers`: the test starts a server (it binds a socket: Redis, PostgreSQL, pycsw, udata, the replay and hostile
  catalogs, the HTTP API, SMTP) or a process (`harvest` subprocesses, the servers' own).
- `udata`: it builds or runs udata's virtualenv (minutes to build on a fresh machine).
- `browser`: it drives Chromium through Playwright.
- `slow`: it starts nothing but takes seconds (the whole real-world corpus, generated catalogs).

The fast tier (`make test-fast`) is every test with none of these marks.

A fixture that starts something says so with `@starts(...)` under its `@pytest.fixture`: every test that uses it,
directly or through other fixtures, gets those marks when collected. A test that starts something itself carries
the mark (`pytestmark` or `@pytest.mark.servers`). Nothing relies on remembering: Python's audit hooks see every
socket bind and process spawn, and one made during a test that lacks the mark fails that test with a message
naming the mark, in every run, so the fast tier cannot start a server.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import pytest

from tests.servers.venvs import VENVS

TIERS = ("servers", "udata", "browser", "slow")  # registered, with their meaning, in pyproject.toml

Fixture = TypeVar("Fixture", bound=Callable[..., Any])


def starts(*marks: str) -> Callable[[Fixture], Fixture]:
    """Declare what a fixture starts: the tests using it get `marks`. Apply it under `@pytest.fixture`."""
    unknown = set(marks) - set(TIERS)
    assert not unknown, f"unknown tier marks {unknown}"

    def declare(fixture: Fixture) -> Fixture:
        fixture.tier_marks = marks  # type: ignore[attr-defined]
        return fixture
    return declare


_current: list[pytest.Item] = []  # the test being run (set up, called, torn down), for the audit hook


def pytest_configure(config: pytest.Config) -> None:
    sys.addaudithook(_refuse_unmarked)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        if definitions is None:
            continue
        marks = {mark for name in item.fixturenames for definition in definitions.name2fixturedefs.get(name, ())
                 for mark in getattr(definition.func, "tier_marks", ())}
        for mark in sorted(marks):
            item.add_marker(mark)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _current.append(item)
    try:
        return (yield)
    finally:
        _current.remove(item)


def _required_marks(event: str, args: tuple[Any, ...]) -> tuple[str, ...]:
    """The marks a test needs to do what the audit event says it does."""
    if event in ("socket.bind", "os.fork", "os.system", "os.posix_spawn"):
        return ("servers",)
    if event == "subprocess.Popen":
        command = " ".join(str(part) for part in (args[1] or [args[0]]))
        if str(VENVS / "udata") in command:
            return ("servers", "udata")
        return ("servers", "browser") if "playwright" in command else ("servers",)
    return ()


def _refuse_unmarked(event: str, args: tuple[Any, ...]) -> None:
    if not _current:
        return
    item = _current[-1]
    missing = [mark for mark in _required_marks(event, args) if item.get_closest_marker(mark) is None]
    if missing:
        what = "binds a socket" if event == "socket.bind" else "starts a process"
        raise RuntimeError(f"{item.nodeid} {what} without the {', '.join(missing)} mark: mark the test, or the "
                           f"fixture that does it with @starts(...) (tests/tiers.py)")
