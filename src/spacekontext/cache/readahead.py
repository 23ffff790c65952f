"""Read-ahead: a request's Redis reads in one round trip instead of one per reader. The whole
mechanism is in this module: who fills the buffer, who reads it, who empties it.

A cached `GET /api/projects` reads Redis three times in a row: the user record of the token's
subject, the user's rate-limit bucket, the cached page. Each read was a round trip (a send, a
wake-up of the event loop, a receive): on this machine about 50 µs of CPU each, most of a cached
request. The second and third reads depend on the user id that the first returns, but that id
is stable (a subject keeps its user until the user is deleted), so after the first request of
a subject the process knows it in advance. With the id *guessed*, all three reads go out in one
pipeline before the normal code runs; their answers wait in a per-request buffer; then the
normal code runs unchanged and takes its answers from the buffer instead of from Redis.

The buffer: one dict per request, `RequestStats.read_ahead` (observability/request_context.py),
because the edge layer starts a fresh `RequestStats` for every request — so nothing read ahead
for one request can be seen by the next. Only the functions below touch it.

Filled by one caller: `auth/deps.py:authenticate`, through `ReadAhead.fetch`, with the keys
named by the user service (the user record), the read router (the user's last write position,
`ReadRouter.read_ahead_keys`), the route (the cached page) and the rate limiter (the bucket).

Read by three readers, each taking its answer once:
* `RedisCache.get_many` (cache/redis.py) — cached values: the user record, the cached page
  (`take_all`: all or nothing);
* `RedisBuckets.take` (ratelimit/buckets.py) — the rate-limit decision (`take_decision`);
* `RedisPositions.get` (cache/positions.py) — the user's last write position (`take`).

Emptied by every write through the Redis cache in the same request (`RedisCache.set`,
`delete`, `incr` call `forget`), so a read after a write goes to Redis again.

Nothing is trusted because it was guessed: the user record read ahead is still checked against
its generation like any cached value, and the page and the bucket are only used if the record
names the guessed user (otherwise their keys are not asked for, and the normal reads go to
Redis). A failed read-ahead changes nothing: the normal reads follow and meet the failure
themselves (circuit breaker, bypass, local limits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from spacekontext.cache.base import CacheUnavailable
from spacekontext.cache.resp import RespError
from spacekontext.observability.request_context import current_request

if TYPE_CHECKING:
    from spacekontext.cache.redis import RedisCache

# Bucket decisions sit in the buffer under this mark, apart from cache keys.
_BUCKET_MARK = "\x00bucket:"
_MISSING = object()


def _buffer() -> dict[str, Any] | None:
    stats = current_request.get()
    return None if stats is None else stats.read_ahead


def take(key: str) -> tuple[bool, Any]:
    """(True, answer) when `key` was read ahead in this request, else (False, None)."""
    answers = _buffer()
    if answers and key in answers:
        return True, answers.pop(key)
    return False, None


def take_all(keys: Sequence[str]) -> list[Any] | None:
    """The answers of `keys` when every one was read ahead, else None. Either way the ones that
    were are taken: the caller then reads all of them from Redis."""
    answers = _buffer()
    if not answers:
        return None
    found = [answers.pop(key, _MISSING) for key in keys]
    return None if _MISSING in found else found


def take_decision(bucket_key: str) -> Any | None:
    """The rate-limit decision read ahead for `bucket_key`, or None."""
    answers = _buffer()
    if not answers:
        return None
    return answers.pop(_BUCKET_MARK + bucket_key, None)


def forget() -> None:
    """A write in this request: what was read ahead before it may be stale now."""
    answers = _buffer()
    if answers:
        answers.clear()


class PipelinedTake(Protocol):
    """What the read-ahead needs of shared rate-limit buckets (ratelimit/buckets.py): the take
    as a pipeline command, and the decision its reply means."""

    def command(self, key: str, limit: Any) -> tuple[str | int, ...]: ...

    def decision(self, reply: list[Any]) -> object: ...


class ReadAhead:
    def __init__(self, cache: RedisCache, buckets: PipelinedTake | None) -> None:
        """`buckets` is None when rate limits are kept in process: the bucket is then not read
        ahead."""
        self._cache = cache
        self._buckets = buckets

    async def fetch(self, keys: Sequence[str], bucket: tuple[str, Any] | None) -> None:
        """Read `keys` from the cache and take a token from `bucket` (key, limit) in one round
        trip; leave the answers in the request's buffer for the readers that follow."""
        answers = _buffer()
        if answers is None or self._cache.breaker.is_open:
            return
        commands: list[tuple[Any, ...]] = [("MGET", *(self._cache.full_key(k) for k in keys))]
        if bucket is not None and self._buckets is not None:
            commands.append(self._buckets.command(*bucket))
        try:
            # Through the breaker shared with every other Redis call: a timeout here opens it
            # for the reads that follow, and after an outage only one call at a time probes.
            replies = await self._cache.breaker.call(lambda: self._cache.client.pipeline(commands))
        except CacheUnavailable:
            return
        values = replies[0]
        if isinstance(values, RespError):
            return
        answers.update(zip(keys, values, strict=True))
        # A NOSCRIPT error is left to the normal take, which loads the script.
        taken = replies[1] if len(replies) > 1 else None
        if bucket is not None and self._buckets is not None and isinstance(taken, list):
            answers[_BUCKET_MARK + bucket[0]] = self._buckets.decision(taken)
