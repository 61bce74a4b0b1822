"""Infrastructure mistakes in one line: what entry points print (exit 2) or answer (503) instead of a traceback.

A setting that does not fit, a store that cannot be opened, a database or Redis that stops answering: each
is the operator's to fix, and a traceback would hide the one line that says what to fix.
"""

from __future__ import annotations

import sys

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from harvesters.errors import Unavailable


def explain(error: BaseException) -> str | None:
    """The one-line explanation of an infrastructure failure, or None for any other error."""
    if isinstance(error, Unavailable):
        return str(error)
    if _is_redis_error(error):
        return f"Redis is unreachable (HARVEST_REDIS_URL): {_first_line(error)}"
    if isinstance(error, OperationalError | InterfaceError) or (
            isinstance(error, DBAPIError) and error.connection_invalidated):
        return f"The store stopped answering (HARVEST_DATABASE_URL): {_first_line(error.orig or error)}"
    return None


def _is_redis_error(error: BaseException) -> bool:
    """Whether it is a Redis error, without importing Redis (40 ms of a start-up) in a process that has not: none
    can have been raised there."""
    exceptions = sys.modules.get("redis.exceptions")
    return exceptions is not None and isinstance(error, exceptions.RedisError)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
