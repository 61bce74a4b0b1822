"""The clock and the ids every record gets."""

from __future__ import annotations

import itertools
import os
import secrets
import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


_COUNTER = itertools.count(int.from_bytes(secrets.token_bytes(3), "big"))  # next() on it is atomic
_process = secrets.token_hex(5)


def _renew_process_part() -> None:
    global _process
    _process = secrets.token_hex(5)


os.register_at_fork(after_in_child=_renew_process_part)  # a forked child makes ids of its own


def new_id() -> str:
    """A 24-hex-digit id laid out like udata's ObjectIds: seconds, a per-process random part, a counter. Ids
    made by one process sort in the order they were made (records stamped in the same instant too)."""
    return f"{int(time.time()):08x}{_process}{next(_COUNTER) & 0xFFFFFF:06x}"
