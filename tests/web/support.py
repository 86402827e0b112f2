"""Helpers for the phones' routes tests: an httpx client on the app, and digest as a phone
computes it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from provisioner.storage.database import Database
from provisioner.web.app import create_app, default_profiles
from provisioner.web.digest import authorization_header
from provisioner.web.phones import PhoneFiles, PhoneOptions

REALM = "provisioner"
DEMO_DEVICES = {
    "001565a00001": ("yealink", "T46U", "example-dental"),
    "0004f2a00002": ("poly", "VVX450", "example-dental"),
    "00562ba00003": ("cisco", "CP-8841-3PCC", "globex-hq"),
    "000b82a00004": ("grandstream", "GRP2614", "acme-bakery"),
    "000413a00005": ("snom", "D785", "globex-hq"),
    "0c383ea00006": ("fanvil", "X4U", "acme-bakery"),
}
YEALINK = "001565a00001"
YEALINK_AGENT = "Yealink SIP-T46U 108.86.0.20 00:15:65:a0:00:01"


def served_devices() -> dict[str, str]:
    """MAC → the path of its main file, for each demo device whose vendor has a profile."""
    profiles = {profile.name: profile for profile in default_profiles()}
    return {
        mac: "/" + profiles[vendor].device_files(mac, model)[0]
        for mac, (vendor, model, _account) in DEMO_DEVICES.items()
        if vendor in profiles
    }


@dataclass
class Phones:
    client: httpx.AsyncClient
    phones: PhoneFiles

    async def challenge(self, path: str, method: str = "GET") -> str:
        """A fresh nonce, as a phone gets it from its first, unauthenticated request."""
        response = await self.client.request(method, path)
        assert response.status_code == 401
        return nonce_of(response.headers.get_list("www-authenticate")[0])

    async def fetch(
        self,
        path: str,
        user: str,
        password: str,
        algorithm: str = "SHA-256",
        method: str = "GET",
        **kwargs: object,
    ) -> httpx.Response:
        """Fetch as a phone: challenge, then the digest answer."""
        nonce = await self.challenge(path, method)
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        headers["authorization"] = authorization_header(
            user, password, REALM, nonce, path, method=method, algorithm=algorithm
        )
        return await self.client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]

    async def fetch_own(self, mac: str, path: str, **kwargs: object) -> httpx.Response:
        return await self.fetch(path, mac, f"demo-{mac}", **kwargs)  # type: ignore[arg-type]


def nonce_of(challenge: str) -> str:
    found = re.search(r'nonce="([^"]+)"', challenge)
    assert found, challenge
    return found.group(1)


@asynccontextmanager
async def phone_client(
    database: Database, options: PhoneOptions | None = None
) -> AsyncIterator[Phones]:
    app = create_app(database, options or PhoneOptions(change_poll_interval=3600))
    phones: PhoneFiles = app.state.phones
    await phones.start()
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://prov.test") as client:
            yield Phones(client, phones)
    finally:
        await phones.stop()
