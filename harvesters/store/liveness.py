"""Connections to a database server checked before use, when they may have gone stale.

SQLAlchemy's `pool_pre_ping` pings the server on every checkout: one round trip more for each of a
batch's transactions. A connection back in the pool for less than `PING_AFTER_IDLE` seconds was working
a moment ago and is used as it is; one idle for longer (the server may have restarted, or a proxy
dropped it meanwhile) is pinged first, and replaced when the ping finds it disconnected. A connection
lost while in use fails that statement, as it would with a ping: SQLAlchemy then replaces the pool's
connections.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

#: Seconds a connection may sit in the pool and still be used without a ping.
PING_AFTER_IDLE = 1.0
_RETURNED = "harvest_returned"  # when the connection came back to the pool (monotonic), in its record's info


def ping_after_idle(engine: Engine, idle: float = PING_AFTER_IDLE) -> None:
    """Ping the connections of `engine` at checkout when they were idle for more than `idle` seconds."""

    @event.listens_for(engine.pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get(_RETURNED)  # none: a new connection, just made
        if returned is None or time.monotonic() - returned <= idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError(str(error)) from error  # the pool makes a new connection, and retries
            raise
