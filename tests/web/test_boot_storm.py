"""A boot storm behind one NAT address: two thousand phones ask at once, each with its own
credentials, none of them in the cache. No ban, no 5xx, every phone its own file."""

from __future__ import annotations

import anyio
import pytest
import yaml
from bench.synthetic_estate import accounts, cluster

from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage.database import Database
from provisioner.web.digest import authorization_header
from tests.web.support import REALM, phone_client

pytestmark = pytest.mark.anyio

PHONES = 2000


async def test_two_thousand_phones_behind_one_address_all_get_their_files(
    database: Database,
) -> None:
    estate_accounts = accounts(PHONES)
    for account in estate_accounts:
        for device in account["devices"]:
            device["vendor"], device["model"] = "yealink", "T46U"
    text = yaml.safe_dump({"clusters": [cluster()], "accounts": estate_accounts})
    load_estate_file(database, read_estate_file(text, "storm"))
    macs = [f"{0x02AA00000000 + index:012x}" for index in range(PHONES)]
    statuses: dict[str, int] = {}
    async with phone_client(database) as phones:
        nonce = await phones.challenge(f"/{macs[0]}.cfg")

        async def boot(mac: str) -> None:
            path = f"/{mac}.cfg"
            header = authorization_header(mac, f"pw-{mac}", REALM, nonce, path)
            response = await phones.client.get(path, headers={"authorization": header})
            statuses[mac] = response.status_code
            assert f"account.1.password = sip-{mac}".encode() in response.content

        async with anyio.create_task_group() as group:
            for mac in macs:
                group.start_soon(boot, mac)
    assert set(statuses.values()) == {200}
    assert len(statuses) == PHONES
