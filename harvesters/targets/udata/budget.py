"""The portal's write budget: HARVEST_UDATA_WRITES_PER_SECOND for the whole deployment, as a token bucket.

Each write (POST, PUT, PATCH, DELETE, retries included) takes a token first. A token is reserved, never
refused: the caller learns when its token comes and sleeps until then, so concurrent writers queue up in
the order they asked. With Redis (HARVEST_REDIS_URL) the bucket lives there, updated by one atomic Lua
script on Redis's own clock, and every worker on every machine draws from it: the budget is the portal's,
not multiplied by the number of workers. Without Redis, the bucket is the process's (shared by its threads
and jobs). The bucket holds one token at most: writes are spaced evenly, never in bursts.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

from harvesters.settings import Settings
from harvesters.targets.base import TargetUnavailable

CAPACITY = 1.0  # tokens the bucket holds: no burst after an idle spell
KEY_PREFIX = "harvest:udata:budget:"

# KEYS[1]: the bucket; ARGV: tokens per second, capacity. Returns the seconds to wait for the token taken (a
# string: Redis would round a number to an integer).
TAKE = """
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(((capacity - tokens) / rate + 60) * 1000))
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class WriteBudget(Protocol):
    def take(self) -> None:
        """Wait for the next write's token."""


class LocalBucket:
    """The token bucket of one process, shared by its threads."""

    def __init__(self, per_second: float, capacity: float = CAPACITY) -> None:
        self.rate = per_second
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate) - 1
            self.stamp = now
            wait = -self.tokens / self.rate
        if wait > 0:
            time.sleep(wait)


class RedisBucket:
    """The token bucket of a whole deployment, in Redis: every process taking from the same key shares it."""

    def __init__(self, redis: Redis, key: str, per_second: float, capacity: float = CAPACITY) -> None:
        self.script = redis.register_script(TAKE)
        self.key = key
        self.rate = per_second
        self.capacity = capacity

    def take(self) -> None:
        try:
            wait = float(self.script(keys=[self.key], args=[self.rate, self.capacity]))
        except RedisError as error:
            raise TargetUnavailable(f"The portal's write budget cannot be read from Redis (HARVEST_REDIS_URL): "
                                    f"{error}") from None
        if wait > 0:
            time.sleep(wait)


def write_budget(config: Settings, portal_url: str) -> WriteBudget:
    """The budget of writes to this portal: in Redis when the deployment has one, else this process's."""
    if config.redis_url:
        redis = Redis.from_url(config.redis_url, socket_timeout=10, socket_connect_timeout=10)
        return RedisBucket(redis, KEY_PREFIX + portal_url, config.udata_writes_per_second)
    return _process_bucket(portal_url, config.udata_writes_per_second)


@cache
def _process_bucket(portal_url: str, per_second: float) -> LocalBucket:
    """One bucket per portal (and budget) in this process, whichever job or thread writes."""
    return LocalBucket(per_second)
