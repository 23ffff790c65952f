"""Token buckets: in Redis (one atomic Lua script, shared by every API process) and in-process
(when there is no Redis, or while it is unreachable).

A bucket holds up to `burst` tokens and refills at `rate_per_s`; a request takes one. When the
bucket is short, the answer says how long until the missing token has dripped in, which becomes
the 429's `Retry-After`."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from spacekontext.cache.readahead import take_decision
from spacekontext.cache.redis import CircuitBreaker, breaker_of
from spacekontext.cache.resp import RespClient


@dataclass(frozen=True, slots=True)
class Limit:
    rate_per_s: float
    burst: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float  # 0 when allowed
    remaining: int


class Buckets(Protocol):
    async def take(self, key: str, limit: Limit) -> Decision: ...


class MemoryBuckets:
    """Per-process buckets, LRU-bounded (a dropped bucket comes back full, which only errs on
    the side of letting a long-idle user in)."""

    def __init__(
        self, max_keys: int = 100_000, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def take(self, key: str, limit: Limit) -> Decision:
        return self.take_now(key, limit)

    def take_now(self, key: str, limit: Limit) -> Decision:
        now = self._clock()
        tokens, stamp = self._buckets.get(key, (float(limit.burst), now))
        if now > stamp:
            tokens = min(float(limit.burst), tokens + (now - stamp) * limit.rate_per_s)
            stamp = now
        if tokens >= 1.0:
            tokens -= 1.0
            decision = Decision(True, 0.0, int(tokens))
        else:
            decision = Decision(False, (1.0 - tokens) / limit.rate_per_s, 0)
        self._buckets[key] = (tokens, stamp)
        self._buckets.move_to_end(key)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return decision


# Redis' own clock (TIME) is the only clock: API processes on different hosts may disagree.
# Floats cross the Lua boundary as strings (Lua numbers returned to Redis are truncated to
# integers), and the key expires once a full bucket would have refilled anyway.
BUCKET_SCRIPT_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1],
  'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, string.format('%.6f', wait), math.floor(tokens)}
"""


class RedisBuckets:
    def __init__(
        self, client: RespClient, *, prefix: str = "", breaker: CircuitBreaker | None = None
    ) -> None:
        self._prefix = prefix
        self._script = client.register_script(BUCKET_SCRIPT_LUA)
        self._breaker = breaker or breaker_of(client)

    async def take(self, key: str, limit: Limit) -> Decision:
        """Raises `CacheUnavailable` when Redis cannot be reached."""
        # A decision taken already by the request's read-ahead (filled in auth/deps.py by
        # cache/readahead.py, with this class's `command` and `decision`).
        decision: Decision | None = take_decision(key)
        if decision is not None:
            return decision
        full_key, args = self._arguments(key, limit)
        result = await self._breaker.call(lambda: self._script(keys=[full_key], args=args))
        return self.decision(result)

    def command(self, key: str, limit: Limit) -> tuple[str | int, ...]:
        """The take as a command for a pipeline (cache/readahead.py); `decision` reads its
        reply."""
        full_key, args = self._arguments(key, limit)
        return ("EVALSHA", self._script.sha, 1, full_key, *args)

    def _arguments(self, key: str, limit: Limit) -> tuple[str, tuple[str, int]]:
        return self._prefix + key, (repr(limit.rate_per_s), limit.burst)

    @staticmethod
    def decision(reply: list[Any]) -> Decision:
        allowed, wait, remaining = reply
        return Decision(bool(allowed), float(wait), int(remaining))


def retry_after_header(wait_s: float) -> str:
    """`Retry-After` takes whole seconds; round up so that a client that waits that long finds
    a token (never 0, which would invite an immediate retry)."""
    return str(max(1, math.ceil(wait_s - 1e-9)))
