"""A scanner's view: 10,000 random MACs from real vendor prefixes, and the demo MACs among
them, asked for without credentials and with wrong ones. No config body ever, and every
refusal byte for byte the same (status, headers but Date, body) whether the MAC exists:
with the nonce held still (the one thing a challenge must change with time), the answers
to known MACs are the answers to unknown ones.

Requests go straight to the ASGI app (no HTTP client) to keep 30,000 of them quick."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from provisioner.storage.database import Database
from provisioner.web.app import create_app, default_profiles
from provisioner.web.digest import authorization_header
from provisioner.web.phones import PhoneFiles, PhoneOptions
from tests.web.support import DEMO_DEVICES, REALM
from tests.web.test_throttle_targeted import Clock, clock

pytestmark = pytest.mark.anyio

__all__ = ["clock"]  # the fixture, shared

PREFIXES = {
    "yealink": ("001565", "805ec0"),
    "poly": ("0004f2", "64167f"),
    "cisco": ("00562b", "0002fd"),
    "grandstream": ("000b82", "c074ad"),
    "snom": ("000413",),
    "fanvil": ("0c383e",),
}
MODELS = {vendor: model for vendor, model, _account in DEMO_DEVICES.values()}
SCANNED = 10_000
SECRET = b"scan-test-nonce-secret-0123456789"

Answer = tuple[int, tuple[tuple[bytes, bytes], ...], bytes]


def paths() -> dict[str, str]:
    """MAC → the path of its vendor's file with the secret: 10,000 random MACs and the demo
    devices, in a random order."""
    profiles = {profile.name: profile for profile in default_profiles()}
    chosen = random.Random(7)
    found: dict[str, str] = {}
    vendors = [(vendor, prefix) for vendor, prefixes in PREFIXES.items() for prefix in prefixes]
    while len(found) < SCANNED:
        vendor, prefix = chosen.choice(vendors)
        mac = prefix + f"{chosen.getrandbits(24):06x}"
        if mac not in DEMO_DEVICES:
            found[mac] = "/" + profiles[vendor].device_files(mac, MODELS[vendor])[0]
    for mac, (vendor, model, _account) in DEMO_DEVICES.items():
        found[mac] = "/" + profiles[vendor].device_files(mac, model)[0]
    order = list(found.items())
    chosen.shuffle(order)
    return dict(order)


@asynccontextmanager
async def scanned_app(database: Database, nonce: str | None = None) -> AsyncIterator[Any]:
    """The app, its challenges all carrying one nonce (issued now, so it stays valid)."""
    app = create_app(database, PhoneOptions(change_poll_interval=3600, nonce_secret=SECRET))
    phones: PhoneFiles = app.state.phones
    held = nonce or phones.nonces.issue()
    phones.nonces.issue = lambda now=None: held  # type: ignore[method-assign]
    await phones.start()
    try:
        yield app
    finally:
        await phones.stop()


async def ask(app: Any, path: str, authorization: str | None, client: str) -> Answer:
    headers = [(b"host", b"prov.test")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": (client, 50000),
        "server": ("192.0.2.1", 80),
    }
    status = 0
    sent_headers: tuple[tuple[bytes, bytes], ...] = ()
    body = b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, sent_headers, body
        if message["type"] == "http.response.start":
            status = message["status"]
            sent_headers = tuple(
                (name.lower(), value)
                for name, value in message.get("headers", [])
                if name.lower() != b"date"
            )
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return status, sent_headers, body


def address(index: int) -> str:
    return f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"


def assert_no_config(answers: list[Answer]) -> None:
    assert {status for status, _headers, _body in answers} <= {401, 429}
    assert not any(b"password" in body or b"sip" in body for _s, _h, body in answers)


async def test_a_scan_without_credentials_gets_one_answer(demo_database: Database) -> None:
    async with scanned_app(demo_database) as app:
        answers = {mac: await ask(app, path, None, "198.51.100.1") for mac, path in paths().items()}
    assert_no_config(list(answers.values()))
    assert len(set(answers.values())) == 1
    assert next(iter(answers.values()))[0] == 401


async def test_a_scan_with_wrong_credentials_gets_one_answer(demo_database: Database) -> None:
    """Every MAC from an address of its own (so each is looked up and checked): a wrong
    password, or a demo device's own user with another device's password."""
    scanned = paths()
    demo = list(DEMO_DEVICES)
    async with scanned_app(demo_database) as app:
        nonce = app.state.phones.nonces.issue()
        answers = {}
        for index, (mac, path) in enumerate(scanned.items()):
            other = demo[(demo.index(mac) + 1) % len(demo)] if mac in DEMO_DEVICES else mac
            header = authorization_header(mac, f"demo-{other}", REALM, nonce, path)
            answers[mac] = await ask(app, path, header, address(index))
    assert_no_config(list(answers.values()))
    assert len(set(answers.values())) == 1
    assert next(iter(answers.values()))[0] == 401


async def test_a_scan_from_one_address_answers_known_macs_as_unknown_ones(
    demo_database: Database, clock: Clock
) -> None:
    """The same scan from one address, twice: once with the demo MACs among the random
    ones, once with unknown MACs of the same vendors in their places. The throttle moves
    from 401 to 429 as the failures add up; answer for answer, the two scans match (the
    throttle's clock held still, so that its Retry-After depends on the failures alone)."""
    scanned = paths()
    profiles = {profile.name: profile for profile in default_profiles()}
    chosen = random.Random(11)
    stand_ins = {}
    for mac, (vendor, model, _account) in DEMO_DEVICES.items():
        stand_in = mac[:6] + f"{chosen.getrandbits(24):06x}"
        assert stand_in not in scanned
        stand_ins[mac] = (stand_in, "/" + profiles[vendor].device_files(stand_in, model)[0])
    runs: list[list[Answer]] = []
    nonce = None
    for with_demo in (True, False):
        clock.now = 1000.0
        async with scanned_app(demo_database, nonce) as app:
            nonce = app.state.phones.nonces.issue()
            answers = []
            for mac, path in scanned.items():
                if not with_demo and mac in stand_ins:
                    mac, path = stand_ins[mac]
                header = authorization_header(mac, "guess", REALM, nonce, path)
                answers.append(await ask(app, path, header, "198.51.100.2"))
            runs.append(answers)
    known_run, unknown_run = runs
    assert_no_config(known_run + unknown_run)
    assert {status for status, _h, _b in known_run} == {401, 429}
    assert known_run == unknown_run
