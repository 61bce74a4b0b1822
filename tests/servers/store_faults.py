"""Real faults of a SQLite store for tests and benchmarks: a small tmpfs that fills up, another process holding
its write lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def mount_tmpfs(path: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` (mount's notation: 1m) on `path`; None when done, else why not (not root...)."""
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                 capture_output=True, text=True, timeout=30)
    except OSError as error:  # no mount command
        return str(error)
    return None if mounted.returncode == 0 else mounted.stderr.strip() or f"mount exited {mounted.returncode}"


def grow_tmpfs(path: Path, size: str = "256m") -> None:
    """Free space on a tmpfs mounted by `mount_tmpfs`: make it larger."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, timeout=30)


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False, timeout=30)


class LockHolder:
    """Another process holding a write transaction on a SQLite file until `release`."""

    SCRIPT = ("import sqlite3, sys; connection = sqlite3.connect(sys.argv[1], isolation_level=None); "
              "connection.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline(); "
              "connection.execute('ROLLBACK')")

    def __init__(self, path: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, path], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline() != "locked\n":
            raise RuntimeError(f"Could not lock {path}")

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.close()
            self.process.wait(10)
