"""The test tiers (tests/tiers.py): what a test starts marks it, and starting something unmarked fails it."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.servers.venvs import VENVS, venv_python


def test_an_unmarked_test_cannot_bind_a_socket() -> None:
    with pytest.raises(RuntimeError, match="binds a socket without the servers mark"), socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))


def test_an_unmarked_test_cannot_start_a_process() -> None:
    with pytest.raises(RuntimeError, match="starts a process without the servers mark"):
        subprocess.run([sys.executable, "-c", "pass"], timeout=30)


@pytest.mark.servers
def test_udata_s_virtualenv_needs_the_udata_mark_too() -> None:
    with pytest.raises(RuntimeError, match="without the udata mark"):
        subprocess.run([str(venv_python(VENVS / "udata")), "-c", "pass"], timeout=30)


def test_a_test_is_marked_by_the_fixtures_it_uses_even_through_others(request: pytest.FixtureRequest,
                                                                       redis_url: str) -> None:
    """`redis_url` does not start anything itself: the mark comes from `redis_server`, which it uses."""
    assert request.node.get_closest_marker("servers") is not None
    assert request.node.get_closest_marker("udata") is None
