"""After an estate change, the files phones asked for are prepared again in the background
(`provisioner.web.prepare`): the next fetch gets the new file without a query or a render,
and nothing is prepared for devices that never asked."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import event

from provisioner.domain.settings import Layer
from provisioner.storage.database import Database
from provisioner.storage.layers import change_layer
from provisioner.web.phones import PhoneOptions
from tests.web.support import YEALINK, Phones, phone_client

pytestmark = pytest.mark.anyio

YEALINK_FILE = f"/{YEALINK}.cfg"


async def settle(phones: Phones) -> None:
    await phones.phones.changes.refresh()
    with anyio.fail_after(10):
        while phones.phones.preparer.busy:
            await anyio.sleep(0.01)


async def test_a_file_asked_for_is_ready_with_the_change_before_the_next_fetch(
    demo_database: Database,
) -> None:
    async with phone_client(demo_database) as phones:
        before = await phones.fetch_own(YEALINK, YEALINK_FILE)
        change_layer(demo_database, Layer.DEVICE, YEALINK, {"transport": "tls"})
        await settle(phones)
        assert phones.phones.preparer.prepared == 1
        demo_database.engine.dispose()
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(demo_database.engine, "before_cursor_execute", count)
        try:
            after = await phones.fetch_own(YEALINK, YEALINK_FILE)
        finally:
            event.remove(demo_database.engine, "before_cursor_execute", count)
    assert statements == []  # no device query, no snapshot: it was all ready
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.content != before.content


async def test_it_keeps_preparing_across_changes_and_only_what_was_asked_for(
    demo_database: Database,
) -> None:
    async with phone_client(demo_database) as phones:
        await phones.fetch_own(YEALINK, YEALINK_FILE)
        for transport in ("tcp", "tls", "udp"):
            change_layer(demo_database, Layer.DEVICE, YEALINK, {"transport": transport})
            await settle(phones)
        # one file, prepared after each of the three changes; no other device's
        assert phones.phones.preparer.prepared == 3
        response = await phones.fetch_own(YEALINK, YEALINK_FILE)
        assert response.status_code == 200


async def test_preparing_can_be_turned_off(demo_database: Database) -> None:
    options = PhoneOptions(change_poll_interval=3600, prepare_after_change=0)
    async with phone_client(demo_database, options) as phones:
        await phones.fetch_own(YEALINK, YEALINK_FILE)
        change_layer(demo_database, Layer.DEVICE, YEALINK, {"transport": "tls"})
        await settle(phones)
        assert phones.phones.preparer.prepared == 0
        response = await phones.fetch_own(YEALINK, YEALINK_FILE)
        assert response.status_code == 200
