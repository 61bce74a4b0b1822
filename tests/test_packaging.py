"""Packaging: the license as an SPDX expression, every runtime dependency used by the program, and a demo that
installs the program without the test extras."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.shared import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def distribution(requirement: str) -> str:
    """A requirement's distribution name, normalised (`python-slugify>=8.0` -> `python-slugify`)."""
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


# Dependencies a library loads itself for a feature the program uses: the feature's module, imported by the program.
LOADED_THROUGH = {
    "jinja2": "fastapi.templating",  # the console's templates
    "itsdangerous": "starlette.middleware.sessions",  # its signed session cookie
    "python-multipart": "starlette.datastructures",  # its forms (request.form() parses with it)
}


def program_imports() -> set[str]:
    """The modules the program (harvesters/, backends/, worker.py) imports (each with its parents), or names as a
    string for a library to load (uvicorn's `{"http": "httptools", "loop": "uvloop"}`, `files("package")`)."""
    paths = [*(ROOT / "harvesters").rglob("*.py"), *(ROOT / "backends").rglob("*.py"), ROOT / "worker.py"]
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                names = [node.value]
            else:
                continue
            for name in names:
                parts = name.split(".")
                found |= {".".join(parts[:end]) for end in range(1, len(parts) + 1)}
    return found


def test_the_license_is_an_spdx_expression() -> None:
    assert PROJECT["license"] == "MIT"


def test_every_runtime_dependency_is_imported_by_the_program() -> None:
    modules_of: dict[str, set[str]] = {}
    for module, names in packages_distributions().items():
        for name in names:
            modules_of.setdefault(name.lower().replace("_", "-"), set()).add(module)
    imported = program_imports()
    unused = [requirement for requirement in PROJECT["dependencies"]
              if not modules_of.get(distribution(requirement), set()) & imported
              and LOADED_THROUGH.get(distribution(requirement)) not in imported]
    assert unused == []


def test_rdflib_and_ckanapi_are_no_runtime_dependencies() -> None:
    runtime = {distribution(requirement) for requirement in PROJECT["dependencies"]}
    assert {"rdflib", "ckanapi"} & runtime == set()
    assert "rdflib" in {distribution(requirement) for requirement in PROJECT["optional-dependencies"]["test"]}


@pytest.mark.servers  # runs make
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_demo_installs_the_program_alone(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    planned = subprocess.run(["make", "-n", "demo", f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=True).stdout
    installs = [line for line in planned.splitlines() if " install " in line and "--upgrade pip" not in line]
    assert installs == [f"{venv}/bin/pip install -q -e ."]
    assert f"{venv}/bin/harvest run fixtures/demo/catalog.ttl --backend dcat" in planned


@pytest.mark.parametrize("package", ["harvesters", "backends"])
def test_the_packages_say_they_are_typed(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "py.typed" in package_data["package-data"][package]
