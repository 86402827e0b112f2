"""Where public files (Yealink boot, Snom index, Cisco bootstrap) point a phone: at the
estate's shared provisioning.url when set, else at a configured public URL or the
server's own address, never at whatever the request's Host header says; and never
differently for a known MAC than for an unknown one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage.database import Database
from provisioner.web.phones import PhoneOptions
from tests.conftest import DEMO
from tests.web.support import YEALINK, YEALINK_AGENT, phone_client

pytestmark = pytest.mark.anyio

OPTIONS = {"change_poll_interval": 3600}
EVIL = {"host": "evil.example"}
# (path, User-Agent): a public file of each vendor whose boot or index file names a URL
PUBLIC = {
    "yealink-boot": (f"/{YEALINK}.boot", YEALINK_AGENT),
    "yealink-common-boot": ("/y000000000000.boot", YEALINK_AGENT),
    "snom-index": ("/snomD785-000413A00005.htm", "snomD785-SIP 10.1.54.13"),
    "cisco-bootstrap": ("/CP-8841-3PCC.xml", "Cisco-CP-8841-3PCC/11.3.7"),
}


def load(database: Database, change: Callable[[dict[str, Any]], None] | None = None) -> None:
    estate = yaml.safe_load(DEMO.read_text())
    if change is not None:
        change(estate)
    load_estate_file(database, read_estate_file(yaml.safe_dump(estate), "test"))


async def fetch_all(
    database: Database, headers: dict[str, str], **options: Any
) -> dict[str, bytes]:
    async with phone_client(database, PhoneOptions(**OPTIONS, **options)) as phones:
        found = {}
        for name, (path, agent) in PUBLIC.items():
            response = await phones.client.get(path, headers={"user-agent": agent, **headers})
            assert response.status_code == 200, (name, response.text)
            found[name] = response.content
        return found


@pytest.mark.parametrize("name", sorted(PUBLIC))
async def test_a_forged_host_never_reaches_a_public_file(database: Database, name: str) -> None:
    load(database)
    body = (await fetch_all(database, EVIL))[name]
    assert b"evil.example" not in body
    assert b"http://prov.test/" in body  # the address the server was reached on


@pytest.mark.parametrize("name", sorted(PUBLIC))
async def test_a_configured_public_url_is_used_and_a_host_naming_it_picks_it(
    database: Database, name: str
) -> None:
    load(database)
    urls = ("https://prov.example.com/phones", "http://10.0.0.5:8080")
    forged = (await fetch_all(database, EVIL, public_urls=urls))[name]
    assert b"evil.example" not in forged
    assert b"https://prov.example.com/phones/" in forged  # the first, for a Host not listed
    named = (await fetch_all(database, {"host": "10.0.0.5:8080"}, public_urls=urls))[name]
    assert b"http://10.0.0.5:8080/" in named
    assert b"prov.example.com" not in named


@pytest.mark.parametrize("name", sorted(PUBLIC))
async def test_the_global_provisioning_url_is_what_public_files_point_at(
    database: Database, name: str
) -> None:
    def set_url(estate: dict[str, Any]) -> None:
        estate["settings"]["provisioning.url"] = "https://prov.example.net/base/"

    load(database, set_url)
    body = (await fetch_all(database, EVIL, public_urls=("http://other.example",)))[name]
    assert b"https://prov.example.net/base/" in body
    assert b"evil.example" not in body and b"other.example" not in body


async def test_a_lower_layer_url_does_not_tell_which_macs_exist(database: Database) -> None:
    """A provisioning.url on an account or device reaches that device's own file, not its
    boot file: a known MAC's boot file is the unknown MAC's with the MAC changed."""

    def set_urls(estate: dict[str, Any]) -> None:
        estate["settings"]["provisioning.url"] = "https://global.example"
        account = estate["accounts"][0]
        account["settings"] = {"provisioning.url": "https://account.example"}
        account["devices"][0].setdefault("settings", {})["provisioning.url"] = (
            "https://device.example"
        )

    load(database, set_urls)
    unknown = "001565ffffff"
    async with phone_client(database, PhoneOptions(**OPTIONS)) as phones:
        known_boot = (await phones.client.get(f"/{YEALINK}.boot")).content
        unknown_boot = (await phones.client.get(f"/{unknown}.boot")).content
        assert b"https://global.example/" in known_boot
        assert known_boot.replace(YEALINK.encode(), unknown.encode()) == unknown_boot
        # the device's own file, once authenticated, carries its own URL (as before)
        device = await phones.fetch_own(YEALINK, f"/{YEALINK}.cfg")
        assert device.status_code == 200
        assert b"https://device.example" in device.content


async def test_the_only_clusters_url_applies_to_every_public_file(database: Database) -> None:
    def one_cluster(estate: dict[str, Any]) -> None:
        estate["settings"]["provisioning.url"] = "https://global.example"
        estate["clusters"] = [c for c in estate["clusters"] if c["name"] == "hosted"]
        estate["clusters"][0].setdefault("settings", {})["provisioning.url"] = (
            "https://hosted.example"
        )
        estate["accounts"] = [a for a in estate["accounts"] if a.get("cluster") != "globex"]

    load(database, one_cluster)
    async with phone_client(database, PhoneOptions(**OPTIONS)) as phones:
        for path in (f"/{YEALINK}.boot", "/001565ffffff.boot", "/y000000000000.boot"):
            headers = {**EVIL, "user-agent": YEALINK_AGENT}
            body = (await phones.client.get(path, headers=headers)).content
            assert b'include:config "https://hosted.example/' in body, body


async def test_healthz_tells_the_version_only_to_an_operator(database: Database) -> None:
    import httpx

    from provisioner import __version__
    from provisioner.web.app import create_app

    load(database)
    for token in (None, "s3cret-token"):
        app = create_app(database, PhoneOptions(**OPTIONS), health_token=token)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as client:
            anyone = (await client.get("/healthz")).json()
            assert anyone["status"] == "ok" and "version" not in anyone
            wrong = (await client.get("/healthz", headers={"authorization": "Bearer nope"})).json()
            assert "version" not in wrong
            operator = (
                await client.get("/healthz", headers={"authorization": "Bearer s3cret-token"})
            ).json()
            assert operator.get("version") == (__version__ if token else None)
