"""Runs INSIDE the pycsw virtualenv (see pycsw_server.py); stdlib + pycsw only.

Usage:
    python pycsw_app.py load DATABASE_URL RECORDS_DIR   -> prints JSON {"loaded": n, "seconds": s}
    python pycsw_app.py serve CONFIG HOST PORT_FILE     -> binds HOST:0, writes the port to PORT_FILE
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Request handler without per-request access logging."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def load(database: str, records_dir: str) -> None:
    """Create the SQLite repository and load every *.xml of records_dir into it."""
    from pycsw.core import admin, config
    from sqlalchemy import create_engine, text

    started = time.monotonic()
    admin.setup_db(database, "records", os.path.dirname(database.split("sqlite:///", 1)[-1]))
    admin.load_records(config.StaticContext(), database, "records", records_dir)
    with create_engine(database).connect() as conn:
        count = conn.execute(text("SELECT COUNT(*) FROM records")).scalar()
    print(json.dumps({"loaded": count, "seconds": round(time.monotonic() - started, 3)}))


def serve(config_path: str, host: str, port_file: str) -> None:
    """Serve pycsw's own WSGI app (pycsw/wsgi.py) on a free port of host."""
    os.environ["PYCSW_CONFIG"] = config_path
    parent = os.getppid()

    def exit_with_parent() -> None:  # no orphan server if the test process is killed
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    from pycsw.wsgi import application

    httpd = make_server(host, 0, application, handler_class=_QuietHandler)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(str(httpd.server_port))
    os.replace(tmp, port_file)
    httpd.serve_forever()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"load": load, "serve": serve}[command](*args)
