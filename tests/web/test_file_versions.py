"""Fanvil's <Version> rises when the phone's file changes, and only then: a change elsewhere
in the estate does not make every Fanvil phone apply its whole file again."""

from __future__ import annotations

import re

import pytest

from provisioner.domain.settings import Layer
from provisioner.storage.database import Database
from provisioner.storage.layers import change_layer
from tests.web.support import phone_client

pytestmark = pytest.mark.anyio

FANVIL = "0c383ea00006"  # account acme-bakery
PATH = f"/{FANVIL}.cfg"


def version(body: bytes) -> str:
    found = re.search(rb"<Version>([0-9.]+)</Version>|<version>([0-9.]+)</version>", body)
    assert found, body[:300]
    return (found[1] or found[2]).decode()


async def test_the_version_rises_with_the_content_only(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        first = await phones.fetch_own(FANVIL, PATH)
        assert first.status_code == 200
        change_layer(demo_database, Layer.ACCOUNT, "example-dental", {"transport": "udp"})
        await phones.phones.changes.refresh()
        elsewhere = await phones.fetch_own(FANVIL, PATH)
        assert version(elsewhere.content) == version(first.content)
        assert elsewhere.headers["etag"] == first.headers["etag"]  # 304 on the next fetch
        change_layer(demo_database, Layer.DEVICE, FANVIL, {"ntp.server": "ntp.example.net"})
        await phones.phones.changes.refresh()
        changed = await phones.fetch_own(FANVIL, PATH)
        assert b"ntp.example.net" in changed.content
        assert version(changed.content) > version(first.content)  # ten fixed digits
        change_layer(demo_database, Layer.ACCOUNT, "example-dental", {"transport": "tcp"})
        await phones.phones.changes.refresh()
        again = await phones.fetch_own(FANVIL, PATH)
        assert version(again.content) == version(changed.content)


async def test_a_node_that_starts_later_never_writes_a_lower_version(
    demo_database: Database,
) -> None:
    async with phone_client(demo_database) as phones:
        before = version((await phones.fetch_own(FANVIL, PATH)).content)
    change_layer(demo_database, Layer.ACCOUNT, "example-dental", {"transport": "udp"})
    async with phone_client(demo_database) as phones:  # a restart, or another node
        after = version((await phones.fetch_own(FANVIL, PATH)).content)
    assert after >= before
