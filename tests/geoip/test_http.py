"""End to end over HTTP: a phone's file carries the outbound proxy of the zone its
address is nearest to (the partner's white-label name for a partner's device), through
the phones' routes with a city database and a trusted proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from provisioner.geoip import CityDatabase, TrustedProxies, ZoneLocator
from provisioner.storage.database import Database
from provisioner.storage.locations import save_device_location
from provisioner.web.app import create_app
from provisioner.web.phones import PhoneOptions
from tests.geoip.conftest import DENVER, EAST_V4, EAST_V6, WEST_V4, WEST_V6
from tests.web.support import Phones

pytestmark = pytest.mark.anyio

YEALINK, FANVIL = "001565a00001", "0c383ea00006"
PROXY = "10.0.0.5"  # the load balancer in front of us


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def phones_at(app: object, peer: str) -> AsyncIterator[Phones]:
    """A client whose TCP peer address is `peer`."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as client:
        yield Phones(client, app.state.phones)  # type: ignore[attr-defined]


@asynccontextmanager
async def served(database: Database, city_mmdb: Path) -> AsyncIterator[object]:
    locator = ZoneLocator(CityDatabase(city_mmdb), trusted=TrustedProxies.parse([PROXY]))
    app = create_app(database, PhoneOptions(change_poll_interval=3600), locator=locator)
    await app.state.phones.start()
    try:
        yield app
    finally:
        await app.state.phones.stop()


async def proxy_in_file(app: object, peer: str, mac: str, **kwargs: object) -> str:
    async with phones_at(app, peer) as phones:
        response = await phones.fetch_own(mac, f"/{mac}.cfg", **kwargs)
    assert response.status_code == 200, response.text
    return response.text


async def test_the_same_yealink_gets_the_zone_of_where_it_is(
    demo_database: Database, city_mmdb: Path
) -> None:
    async with served(demo_database, city_mmdb) as app:
        west = await proxy_in_file(app, WEST_V4, YEALINK)
        assert "outbound_proxy.1.address = us-west.p.example.net" in west
        east = await proxy_in_file(app, EAST_V4, YEALINK)
        assert "outbound_proxy.1.address = us-east.p.example.net" in east
        assert "outbound_proxy.1.port = 0" in east


async def test_ipv6_and_through_a_trusted_proxy(demo_database: Database, city_mmdb: Path) -> None:
    async with served(demo_database, city_mmdb) as app:
        assert "us-west.p.example.net" in await proxy_in_file(app, WEST_V6, YEALINK)
        assert "us-east.p.example.net" in await proxy_in_file(app, EAST_V6, YEALINK)
        forwarded = await proxy_in_file(
            app, PROXY, YEALINK, headers={"X-Forwarded-For": f"6.6.6.6, {WEST_V4}"}
        )
        assert "outbound_proxy.1.address = us-west.p.example.net" in forwarded


async def test_a_forged_header_from_a_phone_is_ignored(
    demo_database: Database, city_mmdb: Path
) -> None:
    async with served(demo_database, city_mmdb) as app:
        forged = await proxy_in_file(app, EAST_V4, YEALINK, headers={"X-Forwarded-For": WEST_V4})
        assert "outbound_proxy.1.address = us-east.p.example.net" in forged


async def test_the_partners_device_gets_the_white_label_name(
    demo_database: Database, city_mmdb: Path
) -> None:
    async with served(demo_database, city_mmdb) as app:
        west = await proxy_in_file(app, WEST_V4, FANVIL)
        assert "us-west.p.acme.example" in west
        assert "p.example.net" not in west


async def test_the_zone_stored_with_the_device_stays_sticky_after_a_restart(
    demo_database: Database, city_mmdb: Path
) -> None:
    # Denver is a little nearer Chicago than San Jose: a fresh decision says us-central...
    async with served(demo_database, city_mmdb) as app:
        assert "us-central.p.example.net" in await proxy_in_file(app, DENVER, YEALINK)
    # ...but a phone given us-west before this node started keeps it: less than the
    # margin (500 km) separates the two.
    save_device_location(demo_database, YEALINK, WEST_V4, "us-west")
    async with served(demo_database, city_mmdb) as app:
        assert "us-west.p.example.net" in await proxy_in_file(app, DENVER, YEALINK)
