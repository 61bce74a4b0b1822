"""The circuit breaker in front of a udata portal: after failures in a row, calls are refused without touching
the network until a cooldown has passed (the job pauses meanwhile, see TargetUnavailable)."""

from __future__ import annotations

import threading
import time

from harvesters.metrics import BREAKER_OPEN
from harvesters.targets.base import TargetUnavailable


class Breaker:
    """Opens after `threshold` failures in a row (or at once on `trip`); while open, every call is
    refused without touching the network, until `cooldown` seconds have passed and one trial goes through.
    Shared by the threads writing to one portal."""

    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.opened_at: float | None = None
        self.reason = ""
        self.lock = threading.Lock()

    def check(self) -> None:
        with self.lock:
            if self.opened_at is None:
                return
            if time.monotonic() - self.opened_at < self.cooldown:
                raise TargetUnavailable(f"{self.reason} (circuit breaker open for {self.cooldown:g}s)")
            self.opened_at = None  # half-open: one trial, whose failure re-opens at once
            self.failures = self.threshold - 1

    def success(self) -> None:
        with self.lock:
            self.failures = 0
            self.opened_at = None
            BREAKER_OPEN.set(0)

    def failure(self, reason: str, trip: bool = False) -> bool:
        """Count a failure; True when the breaker is now open."""
        with self.lock:
            self.failures += 1
            if trip or self.failures >= self.threshold:
                self.opened_at, self.reason = time.monotonic(), reason
                BREAKER_OPEN.set(1)
            return self.opened_at is not None
