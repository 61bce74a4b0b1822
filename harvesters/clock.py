"""The clock and the ids every record gets."""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


_PROCESS = secrets.token_bytes(5)
_COUNTER = itertools.count(int.from_bytes(secrets.token_bytes(3), "big"))
_LOCK = threading.Lock()
_PID = os.getpid()


def new_id() -> str:
    """A 24-hex-digit id laid out like udata's ObjectIds: seconds, a per-process random part, a counter. Ids
    made by one process sort in the order they were made (records stamped in the same instant too)."""
    global _PROCESS, _PID
    with _LOCK:
        if os.getpid() != _PID:  # a forked child: its own random part
            _PROCESS, _PID = secrets.token_bytes(5), os.getpid()
        count = next(_COUNTER) & 0xFFFFFF
    return (int(time.time()).to_bytes(4, "big") + _PROCESS + count.to_bytes(3, "big")).hex()
