"""The RQ worker entry: `python worker.py [--queues NAME]... [--burst]`, the same as `harvest worker`.

Start any number, on any machine sharing HARVEST_REDIS_URL and HARVEST_DATABASE_URL (PostgreSQL across
machines). The tasks they run live in harvesters/queue.py.
"""

from __future__ import annotations

import sys

from harvesters.cli import app


def main() -> None:
    app(["worker", *sys.argv[1:]], prog_name="worker.py")


if __name__ == "__main__":
    main()
