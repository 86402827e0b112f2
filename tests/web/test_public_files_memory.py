"""Distinct long User-Agents on a public path must not grow the process: every cache the
request goes through (identify, the vendors' matchers, the rendered public files, the
last good files) stays within its bounds, by count and by bytes."""

from __future__ import annotations

import sys

import pytest

from provisioner.storage.database import Database
from provisioner.vendors.base import MATCH_CACHE, MAX_REMEMBERED_USER_AGENT
from provisioner.web.phones import PhoneOptions
from tests.web.support import phone_client

pytestmark = pytest.mark.anyio

OPTIONS = PhoneOptions(change_poll_interval=3600)


def long_agent(n: int, size: int = 4000) -> str:
    """A Yealink User-Agent whose firmware (read into the file's context) is `size` long."""
    firmware = ".".join(["1"] * (size // 2)) + f".{n}"
    return f"Yealink SIP-T46U {firmware} 00:15:65:a0:00:01"


def sizes(phones) -> dict[str, int]:  # type: ignore[no-untyped-def]
    identified = phones._identified
    return {
        "identified": len(identified),
        "identified bytes": sum(len(path) + len(agent or "") for path, _m, agent in identified),
        "public files": phones.cache.public_files,
        "public bytes": phones.cache.public_bytes,
        "last good": len(phones._last_good),
        "identity caches": max(
            p._remembered_identity.cache_info().currsize for p in phones.profiles
        ),
    }


async def test_many_distinct_long_user_agents_leave_every_cache_within_bounds(
    demo_database: Database,
) -> None:
    async with phone_client(demo_database, OPTIONS) as phones:
        files = phones.phones
        before = sizes(files)
        for n in range(1500):
            response = await phones.client.get(
                "/y000000000000.boot", headers={"user-agent": long_agent(n)}
            )
            assert response.status_code == 200
            assert b"001565a00001.cfg" in response.content  # still read from the User-Agent
        after = sizes(files)
    # nothing a long User-Agent brings is kept: the caches are as they were
    assert after == before, (before, after)


async def test_the_public_file_cache_is_bounded_by_bytes_and_count(
    demo_database: Database,
) -> None:
    async with phone_client(demo_database, OPTIONS) as phones:
        files = phones.phones
        files.cache.max_public_bytes = 64 * 1024
        files.cache.max_public_files = 500
        for n in range(2000):  # distinct short User-Agents: each a context worth keeping
            agent = f"Yealink SIP-T46U 108.86.{n}.20 00:15:65:a0:00:01"
            assert len(agent) <= MAX_REMEMBERED_USER_AGENT
            response = await phones.client.get("/y000000000000.boot", headers={"user-agent": agent})
            assert response.status_code == 200
            assert files.cache.public_bytes <= 64 * 1024
            assert files.cache.public_files <= 500
        found = sizes(files)
        assert found["public files"] > 10  # they are kept, within the bound
        assert found["last good"] == 0  # public files keep no second copy
        assert found["identity caches"] <= MATCH_CACHE
        assert found["identified bytes"] <= found["identified"] * (128 + MAX_REMEMBERED_USER_AGENT)


async def test_long_paths_handed_to_the_app_are_not_remembered(demo_database: Database) -> None:
    async with phone_client(demo_database, OPTIONS) as phones:
        files = phones.phones
        before = len(files._identified)
        for n in range(500):
            await phones.client.get(f"/{'a' * 2000}{n}", headers={"user-agent": "x" * 2000})
        assert len(files._identified) == before
        assert sys.getsizeof(files._identified) < 1 << 20
