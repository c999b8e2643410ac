import asyncio

import pytest

from ingestion.lookups import LookupCache


async def test_concurrent_misses_share_one_lookup():
    calls = []

    async def load(key: str) -> str:
        calls.append(key)
        await asyncio.sleep(0.01)
        return key.upper()

    cache: LookupCache[str, str] = LookupCache(load, what="look up letters", ttl_s=60, size=10)
    assert await asyncio.gather(*(cache.get("a") for _ in range(20))) == ["A"] * 20
    assert await cache.get("a") == "A"
    assert calls == ["a"]


async def test_a_failed_lookup_is_retried():
    attempts = 0

    async def load(key: str) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise OSError("database down")
        return key

    cache: LookupCache[str, str] = LookupCache(load, what="look up letters", ttl_s=60, size=10)
    with pytest.raises(OSError, match="database down"):
        await cache.get("a")
    assert await cache.get("a") == "a"
