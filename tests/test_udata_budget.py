"""The portal's write budget (harvesters/targets/udata/budget.py): a token bucket per process, or in the real Redis
(tests/servers/redis_server.py) for every worker of a deployment. Each test asserts a lower bound on time: n tokens
at r per second cannot all be granted in less than (n - 1) / r seconds, however loaded the machine."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from redis import Redis

from harvesters.settings import Settings
from harvesters.targets import TargetUnavailable
from harvesters.targets.udata.budget import KEY_PREFIX, LocalBucket, RedisBucket, WriteBudget, write_budget
from tests.servers.redis_server import RedisServer, free_port

RATE = 20.0


def take_all(buckets: Sequence[WriteBudget], takes_each: int) -> tuple[float, int]:
    """Every bucket taken from `takes_each` times by its own thread, all at once: (seconds, tokens taken)."""
    taken: list[int] = []
    start = threading.Barrier(len(buckets) + 1)

    def work(bucket: WriteBudget) -> None:
        start.wait()
        for _ in range(takes_each):
            bucket.take()
            taken.append(1)

    threads = [threading.Thread(target=work, args=(bucket,)) for bucket in buckets]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(60)
    return time.monotonic() - began, len(taken)


def test_threads_of_a_process_share_its_bucket() -> None:
    bucket = LocalBucket(RATE)
    elapsed, taken = take_all([bucket] * 4, 5)
    assert taken == 20 and elapsed >= (taken - 1) / RATE * 0.98


def test_workers_on_several_machines_share_one_budget_through_redis(redis_server: RedisServer) -> None:
    """Four workers (each its own connection to Redis, as on four machines) draw from one bucket: together
    they get the budget, not four times it. Another portal's budget is its own."""
    Redis.from_url(redis_server.url).flushall()
    workers = [RedisBucket(Redis.from_url(redis_server.url), KEY_PREFIX + "https://portal.example.org", RATE)
               for _ in range(4)]
    elapsed, taken = take_all(workers, 6)
    assert taken == 24 and elapsed >= (taken - 1) / RATE * 0.98

    other = RedisBucket(Redis.from_url(redis_server.url), KEY_PREFIX + "https://other.example.org", RATE)
    began = time.monotonic()
    other.take()
    assert time.monotonic() - began < 1  # its first token was there: nobody had drawn from it


def test_the_budget_is_in_redis_when_the_deployment_has_one(redis_server: RedisServer) -> None:
    with_redis = Settings(redis_url=redis_server.url, udata_writes_per_second=RATE)
    assert isinstance(write_budget(with_redis, "https://portal.example.org"), RedisBucket)
    alone = Settings(redis_url=None, udata_writes_per_second=RATE)
    process_wide = write_budget(alone, "https://portal.example.org")
    assert isinstance(process_wide, LocalBucket)
    assert write_budget(alone, "https://portal.example.org") is process_wide  # every job of the process shares it
    assert write_budget(alone, "https://other.example.org") is not process_wide


@pytest.mark.servers  # free_port binds a socket to find a port nothing listens on
def test_redis_down_pauses_the_writes_with_one_line() -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    bucket = write_budget(Settings(redis_url=unreachable), "https://portal.example.org")
    with pytest.raises(TargetUnavailable) as raised:
        bucket.take()
    message = str(raised.value)
    assert "HARVEST_REDIS_URL" in message and "\n" not in message
