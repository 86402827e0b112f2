"""The campus incident: a power cut, then 5,000 phones behind one NAT address boot at once,
each with its own credentials and none in the cache, 5% of them misconfigured (a wrong
password, retried). A 503 (overload: come back later) is retried, as phones do. The misconfigured ones are refused; every good phone gets its file,
the first time it asks and again after the next power cut."""

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

PHONES = 5000
WRONG_EVERY = 20  # 5% misconfigured
RETRIES = 3  # each misconfigured phone asks this many times per boot


def storm_estate(database: Database) -> list[str]:
    estate_accounts = accounts(PHONES)
    for account in estate_accounts:
        for device in account["devices"]:
            device["vendor"], device["model"] = "yealink", "T46U"
    text = yaml.safe_dump({"clusters": [cluster()], "accounts": estate_accounts})
    load_estate_file(database, read_estate_file(text, "storm"))
    return [f"{0x02AA00000000 + index:012x}" for index in range(PHONES)]


async def test_every_good_phone_behind_one_address_is_served_beside_misconfigured_ones(
    database: Database,
) -> None:
    macs = storm_estate(database)
    wrong = set(macs[WRONG_EVERY - 1 :: WRONG_EVERY])
    assert len(wrong) == PHONES // WRONG_EVERY
    async with phone_client(database) as phones:
        nonce = await phones.challenge(f"/{macs[0]}.cfg")

        async def boot(mac: str, served: dict[str, int], refused: dict[str, list[int]]) -> None:
            path = f"/{mac}.cfg"
            password = "misconfigured" if mac in wrong else f"pw-{mac}"
            header = authorization_header(mac, password, REALM, nonce, path)
            for _ in range(RETRIES if mac in wrong else 1):
                # 503 (too many uncached fetches waiting: 5,000 at once is past the
                # default bound) is no refusal but "come back": a phone retries
                for _ in range(10):
                    response = await phones.client.get(path, headers={"authorization": header})
                    if response.status_code != 503:
                        break
                    await anyio.sleep(0.05)
                if mac in wrong:
                    refused.setdefault(mac, []).append(response.status_code)
                    assert b"sip-" not in response.content
                else:
                    served[mac] = response.status_code
                    if response.status_code == 200:
                        assert f"account.1.password = sip-{mac}".encode() in response.content

        for _power_cut in range(2):  # first boot, then every phone again from its home
            served: dict[str, int] = {}
            refused: dict[str, list[int]] = {}
            async with anyio.create_task_group() as group:
                for mac in macs:
                    group.start_soon(boot, mac, served, refused)
            assert len(served) == PHONES - len(wrong)
            not_served = {mac: status for mac, status in served.items() if status != 200}
            assert not_served == {}, f"{len(not_served)} good phones refused"
            statuses = {status for answers in refused.values() for status in answers}
            assert statuses <= {401, 429}
            # cached now: the second boot must not be served by luck of the cache alone,
            # so start the cache afresh as a change or a restart would
            cache = phones.phones.cache
            cache.start_generation(cache.generation + 1)
