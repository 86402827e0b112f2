"""Spraying MACs from one address stays slow, and the phones at home there are not
refused for it; a refusal is the same for a known MAC (right password or wrong) as for an
unknown one."""

from __future__ import annotations

import secrets

import pytest

from provisioner.storage.database import Database
from tests.web.support import served_devices
from tests.web.test_throttle_targeted import Clock, clock, from_addresses, shape

pytestmark = pytest.mark.anyio

__all__ = ["clock"]  # the fixture, shared

NAT = "192.0.2.10"
SPRAYER = "203.0.113.9"


def sprayed(count: int) -> list[str]:
    return ["001565" + secrets.token_hex(3) for _ in range(count)]


async def test_spraying_from_one_address_is_slowed_whatever_the_macs_and_passwords(
    demo_database: Database, clock: Clock
) -> None:
    devices = served_devices()
    async with from_addresses(demo_database, SPRAYER) as (sprayer,):
        statuses = []
        for mac in sprayed(60):
            response = await sprayer.fetch(f"/{mac}.cfg", mac, f"demo-{mac}")
            statuses.append(response.status_code)
        assert statuses == [401] * 50 + [429] * 10
        unknown = sprayed(1)[0]
        refusal = shape(await sprayer.fetch(f"/{unknown}.cfg", unknown, "guess"))
        for mac, path in devices.items():  # their right passwords, from the sprayer
            assert shape(await sprayer.fetch_own(mac, path)) == refusal, mac
            assert shape(await sprayer.fetch(path, mac, "guess")) == refusal, mac


async def test_an_address_in_backoff_still_serves_its_own_phones(
    demo_database: Database, clock: Clock
) -> None:
    """Phones that fetched from the NAT address before are served while someone there
    sprays MACs; the sprayer there gets 429 for known MACs and unknown alike."""
    devices = served_devices()
    async with from_addresses(demo_database, NAT) as (nat,):
        for mac, path in devices.items():
            assert (await nat.fetch_own(mac, path)).status_code == 200
        statuses = [
            (await nat.fetch(f"/{mac}.cfg", mac, "guess")).status_code for mac in sprayed(100)
        ]
        # 50 different MACs, and half a MAC more for each of the six phones at home there
        assert statuses == [401] * 53 + [429] * 47
        for mac, path in devices.items():
            assert (await nat.fetch_own(mac, path)).status_code == 200, mac
        unknown = sprayed(1)[0]
        refusal = shape(await nat.fetch(f"/{unknown}.cfg", unknown, "guess"))
        assert refusal[0] == 429
        for mac, path in devices.items():  # a wrong password for a phone at home there
            assert shape(await nat.fetch(path, mac, "guess")) == refusal, mac
