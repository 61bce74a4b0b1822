"""Values a job's view of the portal reads once (its licenses, its datasets, its contact points), shared by the
threads that write concurrently."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Each key's value, computed once however many threads ask at the same time (the others wait for it). A
    computation that raises is forgotten, so that the next caller tries again."""

    def __init__(self) -> None:
        self._futures: dict[K, Future[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            future = self._futures.get(key)
            if future is not None:
                mine = False
            else:
                mine, future = True, Future()
                self._futures[key] = future
        if not mine:
            return future.result()
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._futures[key]
            future.set_exception(error)
            raise
        future.set_result(value)
        return value
