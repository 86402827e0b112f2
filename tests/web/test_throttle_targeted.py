"""Someone who knows a phone's MAC, guessing its password from elsewhere: the real phone is
never refused for it, and the guesser stays slow (one place, or many)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest

from provisioner.storage.database import Database
from provisioner.web import throttle
from provisioner.web.app import create_app
from provisioner.web.phones import PhoneOptions
from tests.web.support import YEALINK, Phones, served_devices

pytestmark = pytest.mark.anyio

YEALINK_FILE = served_devices()[YEALINK]
PHONE = "192.0.2.10"  # the real phone's address
ATTACKER = "203.0.113.5"


class Clock:
    """The throttle's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle, "time", fake)
    return fake


@asynccontextmanager
async def from_addresses(database: Database, *addresses: str) -> AsyncIterator[list[Phones]]:
    """One app; a client on it per address."""
    app = create_app(database, PhoneOptions(change_poll_interval=3600))
    phones = app.state.phones
    await phones.start()
    try:
        async with AsyncExitStack() as stack:
            clients = []
            for address in addresses:
                transport = httpx.ASGITransport(app=app, client=(address, 40000))
                client = httpx.AsyncClient(transport=transport, base_url="http://prov.test")
                clients.append(Phones(await stack.enter_async_context(client), phones))
            yield clients
    finally:
        await phones.stop()


def shape(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "date"]
    return response.status_code, headers, response.content


async def test_guesses_from_another_address_never_refuse_the_real_phone(
    demo_database: Database, clock: Clock
) -> None:
    """The attack that kept a phone at 429: five wrong guesses, then one each time the
    backoff expires. The phone asks for the first time while it goes on."""
    async with from_addresses(demo_database, PHONE, ATTACKER) as (phone, attacker):
        for _ in range(5):
            assert (await attacker.fetch(YEALINK_FILE, YEALINK, "guess")).status_code == 401
        for _round in range(12):
            blocked = await attacker.fetch(YEALINK_FILE, YEALINK, "guess")
            assert blocked.status_code == 429
            mine = await phone.fetch_own(YEALINK, YEALINK_FILE)
            assert mine.status_code == 200, _round
            assert b"account.1.password" in mine.content
            clock.now += int(blocked.headers["retry-after"])
            assert (await attacker.fetch(YEALINK_FILE, YEALINK, "guess")).status_code == 401
            assert (await phone.fetch_own(YEALINK, YEALINK_FILE)).status_code == 200


async def test_one_place_guessing_one_device_gets_a_few_hundred_tries_a_day(
    demo_database: Database, clock: Clock
) -> None:
    async with from_addresses(demo_database, ATTACKER) as (attacker,):
        checked = 0
        start = clock.now
        while clock.now - start < 86_400:
            response = await attacker.fetch(YEALINK_FILE, YEALINK, "guess")
            if response.status_code == 401:
                checked += 1
            else:
                assert response.status_code == 429
                clock.now += int(response.headers["retry-after"])
    # 5 free, then a backoff doubling to 5 minutes: about 300 in a day
    assert checked <= 5 + 9 + 86_400 // 300 + 1


async def test_many_places_guessing_one_device_are_slowed_and_the_phone_at_home_is_not(
    demo_database: Database, clock: Clock
) -> None:
    """Guesses from 20 addresses put the device in backoff everywhere but at its home; a
    refusal there is the same for a right password, a wrong one, and an unknown MAC."""
    unknown = "001565a0000f"
    guessers = [f"198.51.100.{n}" for n in range(1, 21)]
    async with from_addresses(demo_database, PHONE, *guessers, "198.51.100.200") as clients:
        phone, *attackers, fresh = clients
        assert (await phone.fetch_own(YEALINK, YEALINK_FILE)).status_code == 200  # its home
        for attacker in attackers:
            for mac in (YEALINK, unknown):
                for _ in range(2):
                    await attacker.fetch(f"/{mac}.cfg", mac, "guess")
        assert (await phone.fetch_own(YEALINK, YEALINK_FILE)).status_code == 200
        right_elsewhere = await fresh.fetch_own(YEALINK, YEALINK_FILE)
        wrong_elsewhere = await fresh.fetch(YEALINK_FILE, YEALINK, "guess")
        unknown_elsewhere = await fresh.fetch(f"/{unknown}.cfg", unknown, f"demo-{unknown}")
        assert right_elsewhere.status_code == 429
        assert shape(right_elsewhere) == shape(wrong_elsewhere) == shape(unknown_elsewhere)
        assert (await phone.fetch_own(YEALINK, YEALINK_FILE)).status_code == 200
