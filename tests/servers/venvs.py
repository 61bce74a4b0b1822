"""Virtualenvs for servers whose dependencies clash with ours (pycsw needs SQLAlchemy < 2, udata its own stack).

Each lives in `<repo>/.cache/venvs/<name>`, built once and reused while its marker holds the digest
of the Python version and the pins; a file lock serialises concurrent builders.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

VENVS = Path(__file__).resolve().parents[2] / ".cache" / "venvs"
INSTALL_TIMEOUT = 1800


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def tail(text: str | bytes, lines: int = 40) -> str:
    """The last lines of some process output."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def ensure_venv(name: str, requirements: Sequence[str], constraints: Sequence[str] = (),
                check: str | None = None) -> Path:
    """Create the pinned virtualenv `name` once (then `import check` in it); return its directory."""
    venv = VENVS / name
    marker = venv / ".complete"
    digest = hashlib.sha256("\n".join([sys.version, *requirements, *constraints]).encode()).hexdigest()
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text() == digest and venv_python(venv).exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)], f"creating the {name} venv")
        pip = [str(venv_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input"]
        if constraints:
            (venv / "constraints.txt").write_text("\n".join(constraints) + "\n")
            pip += ["-c", str(venv / "constraints.txt")]
        _run([*pip, *requirements], f"installing {name}")
        if check:
            _run([str(venv_python(venv)), "-c", f"import {check}"], f"checking the {name} venv")
        marker.write_text(digest)
    return venv


def _run(command: list[str], what: str) -> None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"{what} timed out:\n{tail(error.stdout or '')}") from None
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{tail(proc.stdout + proc.stderr)}")
