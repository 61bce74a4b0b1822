"""docs/backends.md runs as written: its backend, its fixture and its tests, and its entry point declaration.

Every fenced block titled with a file (```python title="my_harvester/opendatahub.py"```) is written to that file
in a temporary directory (blocks of one file in order), the TOML block's entry point becomes an installed
distribution's, and the tests the document shows run in their own pytest, with this suite's fixtures, against
the real replay server on 127.0.0.1; the backend is found the way an installed package's is: through its entry
point.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from backends import ENTRY_POINT_GROUP, registry
from tests.shared import ROOT

DOCUMENT = ROOT / "docs" / "backends.md"
TITLE = re.compile(r'title="([^"]+)"')


def titled_blocks() -> dict[str, str]:
    """The document's files: each title with the code of its blocks, joined in order."""
    files: dict[str, str] = {}
    for token in MarkdownIt().parse(DOCUMENT.read_text(encoding="utf-8")):
        if token.type == "fence" and (title := TITLE.search(token.info)):
            files[title[1]] = files.get(title[1], "") + token.content
    return files


@pytest.fixture
def documented_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The document's files written under tmp_path, importable, with its entry point installed."""
    files = titled_blocks()
    for name, code in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
    (tmp_path / "my_harvester" / "__init__.py").touch()
    declared = tomllib.loads(files["pyproject.toml"])["project"]["entry-points"][ENTRY_POINT_GROUP]
    dist_info = tmp_path / "my_harvester-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-harvester\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n" + "".join(f"{name} = {target}\n" for name, target in declared.items()))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.cache_clear()  # found again, with the documented package installed
    yield tmp_path
    for module in [name for name in sys.modules if name == "my_harvester" or name.startswith("my_harvester.")]:
        del sys.modules[module]
    registry.cache_clear()


def test_the_document_shows_the_backend_its_fixture_its_tests_and_its_entry_point() -> None:
    assert set(titled_blocks()) == {"my_harvester/opendatahub.py", "fixtures/opendatahub/datasets.json",
                                    "tests/test_opendatahub.py", "pyproject.toml"}


def test_the_entry_point_makes_the_backend_known(documented_package: Path) -> None:
    backend = registry()["opendatahub"]
    assert backend.__module__ == "my_harvester.opendatahub"
    assert backend.to_json()["extra_configs"][1] == {
        "key": "token", "label": "API token", "type": "str", "default": None, "secret": True,
        "description": "Sent as a bearer token: private datasets are listed too"}


@pytest.mark.servers  # runs the documented tests in a pytest of their own, against the replay server
def test_the_documented_tests_pass(documented_package: Path) -> None:
    """The document's tests, in a pytest of their own with this suite's fixtures (`store`, `catalog_server`)."""
    tests = documented_package / "tests" / "test_opendatahub.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(documented_package), str(ROOT)])}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", str(tests)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b5 passed\b", result.stdout), result.stdout
