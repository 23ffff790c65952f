"""The verified-token memory of CompositeVerifier: a token verified once is not re-parsed until
the earlier of its exp and the TTL; failures are never remembered; the memory is bounded."""

from __future__ import annotations

import asyncio

import pytest

from spacekontext.auth.tokens import CompositeVerifier, DevTokens
from spacekontext.errors import Unauthenticated

SECRET = "s" * 40


class CountingDev(DevTokens):
    calls = 0

    async def verify(self, token: str):  # type: ignore[no-untyped-def]
        CountingDev.calls += 1
        return await super().verify(token)


@pytest.fixture(autouse=True)
def _reset() -> None:
    CountingDev.calls = 0


async def test_a_verified_token_is_remembered() -> None:
    dev = CountingDev(SECRET)
    verifier = CompositeVerifier(dev, None)
    token = dev.mint("ann@example.com")
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second and first.subject == "dev|ann@example.com"
    assert CountingDev.calls == 1


async def test_memory_ends_at_the_ttl() -> None:
    dev = CountingDev(SECRET)
    verifier = CompositeVerifier(dev, None, ttl_s=0.05)
    token = dev.mint("ann@example.com")
    await verifier.verify(token)
    await asyncio.sleep(0.06)
    await verifier.verify(token)
    assert CountingDev.calls == 2


async def test_memory_never_outlives_exp() -> None:
    dev = CountingDev(SECRET)
    verifier = CompositeVerifier(dev, None, ttl_s=3600)
    # Within the leeway (5 s): accepted, but already past exp, so not remembered at all.
    token = dev.mint("ann@example.com", ttl_s=-1)
    await verifier.verify(token)
    await verifier.verify(token)
    assert CountingDev.calls == 2


async def test_failures_are_not_remembered() -> None:
    dev = CountingDev(SECRET)
    verifier = CompositeVerifier(dev, None)
    bad = DevTokens("t" * 40).mint("ann@example.com")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await verifier.verify(bad)
    assert CountingDev.calls == 2


async def test_memory_is_bounded() -> None:
    dev = CountingDev(SECRET)
    verifier = CompositeVerifier(dev, None, max_entries=2)
    tokens = [dev.mint(f"u{i}@example.com") for i in range(3)]
    for token in tokens:
        await verifier.verify(token)
    await verifier.verify(tokens[0])  # evicted (least recently used): verified again
    assert CountingDev.calls == 4
    await verifier.verify(tokens[2])  # still remembered
    assert CountingDev.calls == 4
