"""Infrastructure mistakes, as an operator makes them: one line on stderr and exit code 2, never a traceback.

Each case runs the installed `harvest` command in its own process, with only the variables it is given.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harvesters.store import Store
from tests.servers.redis_server import free_port

pytestmark = pytest.mark.servers  # each case runs `harvest` in its own process

HARVEST = str(Path(sys.executable).with_name("harvest"))


def harvest(*args: str, env: dict[str, str], cwd: Path,
            command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(command or [HARVEST]), *args], env={"PATH": str(Path(sys.executable).parent), **env},
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused command printed (and nothing that looks like a traceback)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_version_from_the_command_and_the_module(tmp_path: Path) -> None:
    for command in ([HARVEST], [sys.executable, "-m", "harvesters"]):
        result = harvest("--version", env={}, cwd=tmp_path, command=command)
        assert result.returncode == 0 and result.stdout.startswith("harvest (udata-harvesters) "), result
    listed = harvest("source", "list", "--json", env={"HARVEST_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"},
                     cwd=tmp_path, command=[sys.executable, "-m", "harvesters"])
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"


def test_an_invalid_setting_is_named(tmp_path: Path) -> None:
    line = one_line_error(harvest("source", "list", env={"HARVEST_BATCH_SIZE": "ten"}, cwd=tmp_path))
    assert "Invalid HARVEST_BATCH_SIZE='ten'" in line and "integer" in line
    line = one_line_error(harvest("source", "list", env={"HARVEST_LOG_FORMAT": "xml"}, cwd=tmp_path))
    assert "HARVEST_LOG_FORMAT='xml'" in line


def test_an_unknown_variable_is_warned_about_with_the_setting_it_resembles(tmp_path: Path) -> None:
    env = {"HARVEST_DATABASE_URL": f"sqlite:///{tmp_path}/h.db", "HARVEST_BATCHSIZE": "5"}
    result = harvest("source", "list", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "[]"
    assert "HARVEST_BATCHSIZE (did you mean HARVEST_BATCH_SIZE?) is not a setting: ignored" in result.stderr


def test_a_dotenv_file_is_read_and_a_new_store_is_announced(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"HARVEST_DATABASE_URL=sqlite:///{tmp_path}/from-dotenv.db\nHARVEST_TYPO=1\n")
    first = harvest("source", "list", env={}, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"Created a new, empty store: sqlite:///{tmp_path}/from-dotenv.db" in first.stderr
    assert "HARVEST_TYPO is not a setting" in first.stderr
    assert (tmp_path / "from-dotenv.db").exists() and not (tmp_path / "harvest.db").exists()
    second = harvest("source", "list", env={}, cwd=tmp_path)
    assert second.returncode == 0 and "Created a new" not in second.stderr


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://harvest:s3cret@127.0.0.1:{free_port()}/harvest"
    line = one_line_error(harvest("source", "list", env={"HARVEST_DATABASE_URL": url}, cwd=tmp_path))
    assert "Cannot open the store postgresql+psycopg://harvest:***@127.0.0.1" in line and "refused" in line
    assert "s3cret" not in line
    line = one_line_error(harvest("job", "list", env={"HARVEST_DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir.db"},
                                  cwd=tmp_path))
    assert "unable to open database file" in line
    line = one_line_error(harvest("job", "list", env={"HARVEST_DATABASE_URL": "harvest.db"}, cwd=tmp_path))
    assert "Invalid HARVEST_DATABASE_URL 'harvest.db'" in line


def test_a_missing_database_driver_says_what_to_install(tmp_path: Path) -> None:
    """The PostgreSQL driver made unimportable in the process, as on a machine installed without the extra."""
    without_psycopg = [sys.executable, "-c", "import sys; sys.modules['psycopg'] = None; sys.argv[0] = 'harvest'; "
                                             "from harvesters.cli import main; main()"]
    env = {"HARVEST_DATABASE_URL": "postgresql+psycopg://harvest@127.0.0.1/harvest"}
    line = one_line_error(harvest("source", "list", env=env, cwd=tmp_path, command=without_psycopg))
    assert "needs the database driver psycopg" in line and "pip install '.[postgres]'" in line


@pytest.mark.parametrize("args", [["worker", "--burst"], ["launch", "demo"]])
def test_redis_down_is_one_line(tmp_path: Path, args: list[str]) -> None:
    database = f"sqlite:///{tmp_path}/h.db"
    store = Store(database)
    store.create_source(name="demo", url="https://example.org/catalog.ttl", backend="dcat")
    env = {"HARVEST_DATABASE_URL": database, "HARVEST_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    line = one_line_error(harvest(*args, env=env, cwd=tmp_path))
    assert "Redis is unreachable (HARVEST_REDIS_URL)" in line and "refused" in line.lower()
    assert store.running_job(store.get_source("demo").id) is None  # a job that could not be enqueued does not block
