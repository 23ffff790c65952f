"""Read-ahead: a request's Redis reads in one round trip instead of one per reader.

A cached `GET /api/projects` reads Redis three times in a row: the user record of the token's
subject, the user's rate-limit bucket, the cached page. Each read was a round trip (a send, a
wake-up of the event loop, a receive): on this machine about 50 µs of CPU each, most of a cached
request. The second and third reads depend on the user id that the first returns, but that id
is stable (a subject keeps its user until the user is deleted), so after the first request of
a subject the process knows it in advance. With the id *guessed*, all three reads go out in one
pipeline before the normal code runs; their answers wait in a per-request buffer; then the
normal code runs unchanged, and `RedisCache.get_many` and `RedisBuckets.take` take their
answers from the buffer instead of from Redis.

Nothing is trusted because it was guessed: the user record read ahead is still checked against
its generation like any cached value, and the page and the bucket are only used if the record
names the guessed user (otherwise their keys are not asked for, and the normal reads go to
Redis). Answers are taken once, and any write through the cache in the same request empties the
buffer, so a read after a write goes to Redis again. A failed read-ahead changes nothing: the
normal reads follow and meet the failure themselves (circuit breaker, bypass, local limits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spacekontext.cache.redis import RedisCache
from spacekontext.cache.resp import RespError
from spacekontext.observability.request_context import read_ahead_answers
from spacekontext.ratelimit.buckets import READ_AHEAD_MARK, Limit, RedisBuckets


class ReadAhead:
    def __init__(self, cache: RedisCache, buckets: RedisBuckets | None) -> None:
        """`buckets` is None when rate limits are kept in process: the bucket is then not read
        ahead."""
        self._cache = cache
        self._buckets = buckets

    async def fetch(self, keys: Sequence[str], bucket: tuple[str, Limit] | None) -> None:
        """Read `keys` from the cache and take a token from `bucket` (key, limit) in one round
        trip; leave the answers in the request's buffer for the readers that follow."""
        answers = read_ahead_answers()
        if answers is None or self._cache.breaker.is_open:
            return
        commands: list[tuple[Any, ...]] = [("MGET", *(self._cache.full_key(k) for k in keys))]
        if bucket is not None and self._buckets is not None:
            commands.append(self._buckets.command(*bucket))
        try:
            replies = await self._cache.client.pipeline(commands)
        except OSError:
            return  # the normal reads meet the outage themselves
        values = replies[0]
        if isinstance(values, RespError):
            return
        answers.update(zip(keys, values, strict=True))
        # A NOSCRIPT error is left to the normal take, which loads the script.
        taken = replies[1] if len(replies) > 1 else None
        if bucket is not None and self._buckets is not None and isinstance(taken, list):
            answers[READ_AHEAD_MARK + bucket[0]] = self._buckets.decision(taken)
