"""The phones' routes over HTTP: digest authentication, identical refusals, ETags and
caching across estate changes, log uploads and last-seen."""

from __future__ import annotations

import secrets

import anyio
import pytest
from sqlalchemy import event, select

from provisioner.domain.settings import Layer
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.fetches import device_logs, read_device_log
from provisioner.storage.layers import change_layer
from provisioner.web.digest import authorization_header
from provisioner.web.phones import PhoneOptions
from provisioner.web.throttle import Allowance
from tests.web.support import (
    DEMO_DEVICES,
    REALM,
    YEALINK,
    YEALINK_AGENT,
    nonce_of,
    phone_client,
    served_devices,
)

pytestmark = pytest.mark.anyio

YEALINK_FILE = f"/{YEALINK}.cfg"


def refusal_shape(response) -> tuple:  # type: ignore[no-untyped-def]
    """Everything of a refusal but the nonce value (fresh in every challenge)."""
    headers = tuple(
        (name, value.replace(nonce_of(value), "N") if name == "www-authenticate" else value)
        for name, value in response.headers.multi_items()
    )
    return response.status_code, headers, response.content


async def test_no_credentials_get_a_digest_challenge_offering_both_algorithms(
    demo_database: Database,
) -> None:
    async with phone_client(demo_database) as phones:
        response = await phones.client.get(YEALINK_FILE)
    assert response.status_code == 401
    offered = response.headers.get_list("www-authenticate")
    assert [c.split("algorithm=")[1].split(",")[0] for c in offered] == ["SHA-256", "MD5"]
    for challenge in offered:
        assert challenge.startswith("Digest ")
        assert f'realm="{REALM}"' in challenge
        assert 'qop="auth"' in challenge
    assert b"secret" not in response.content


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
async def test_the_device_own_credentials_get_its_file(
    demo_database: Database, algorithm: str
) -> None:
    async with phone_client(demo_database) as phones:
        response = await phones.fetch_own(YEALINK, YEALINK_FILE, algorithm=algorithm)
    assert response.status_code == 200
    assert b"account.1.password = dental-1001-secret" in response.content
    assert response.headers["etag"].startswith('"')
    assert response.headers["cache-control"] == "no-store"


async def test_every_demo_device_gets_its_own_file(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        for mac, path in served_devices().items():
            response = await phones.fetch_own(mac, path)
            assert response.status_code == 200, (mac, path)
            assert response.headers["etag"]


async def test_another_devices_credentials_get_the_same_refusal_as_an_unknown_mac(
    demo_database: Database,
) -> None:
    other = "0004f2a00002"  # a real device, of the same account
    async with phone_client(demo_database) as phones:
        swapped = await phones.fetch(YEALINK_FILE, other, f"demo-{other}")
        wrong = await phones.fetch(YEALINK_FILE, YEALINK, "not-the-password")
        unknown = await phones.fetch("/001565ffffff.cfg", "001565ffffff", "demo-001565ffffff")
    assert swapped.status_code == 401
    assert refusal_shape(swapped) == refusal_shape(unknown) == refusal_shape(wrong)


async def test_credentials_for_one_file_do_not_open_another(demo_database: Database) -> None:
    async with phones_and_nonce(demo_database) as (phones, nonce):
        header = authorization_header(
            YEALINK, f"demo-{YEALINK}", REALM, nonce, "/y000000000000.boot"
        )
        response = await phones.client.get(YEALINK_FILE, headers={"authorization": header})
    assert response.status_code == 401


async def test_an_expired_nonce_gets_a_stale_challenge(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        old = phones.phones.nonces.issue(now=1_000_000.0)
        header = authorization_header(YEALINK, f"demo-{YEALINK}", REALM, old, YEALINK_FILE)
        response = await phones.client.get(YEALINK_FILE, headers={"authorization": header})
    assert response.status_code == 401
    assert all("stale=true" in c for c in response.headers.get_list("www-authenticate"))


async def test_if_none_match_gets_304(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        first = await phones.fetch_own(YEALINK, YEALINK_FILE)
        again = await phones.fetch_own(
            YEALINK, YEALINK_FILE, headers={"if-none-match": first.headers["etag"]}
        )
        other = await phones.fetch_own(YEALINK, YEALINK_FILE, headers={"if-none-match": '"x"'})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert other.status_code == 200


async def test_a_304_needs_credentials_too(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        first = await phones.fetch_own(YEALINK, YEALINK_FILE)
        response = await phones.client.get(
            YEALINK_FILE, headers={"if-none-match": first.headers["etag"]}
        )
    assert response.status_code == 401


async def test_a_global_transport_change_reaches_every_device(demo_database: Database) -> None:
    devices = served_devices()
    # The demo's Snom sets its own transport, which a global change rightly does not reach.
    change_layer(
        demo_database,
        Layer.DEVICE,
        "000413a00005",
        unset_keys=["transport", "outbound_proxy.port"],
    )
    async with phone_client(demo_database) as phones:
        before = {mac: await phones.fetch_own(mac, path) for mac, path in devices.items()}
        change_layer(demo_database, Layer.GLOBAL, None, {"transport": "tcp"})
        await phones.phones.changes.refresh()
        after = {mac: await phones.fetch_own(mac, path) for mac, path in devices.items()}
    for mac in devices:
        assert after[mac].status_code == 200
        assert after[mac].headers["etag"] != before[mac].headers["etag"], mac
        assert after[mac].content != before[mac].content, mac


async def test_an_account_change_reaches_only_that_accounts_devices(
    demo_database: Database,
) -> None:
    devices = served_devices()
    async with phone_client(demo_database) as phones:
        before = {mac: await phones.fetch_own(mac, path) for mac, path in devices.items()}
        change_layer(demo_database, Layer.ACCOUNT, "example-dental", {"transport": "udp"})
        await phones.phones.changes.refresh()
        after = {mac: await phones.fetch_own(mac, path) for mac, path in devices.items()}
    for mac in devices:
        changed = after[mac].headers["etag"] != before[mac].headers["etag"]
        assert changed == (DEMO_DEVICES[mac][2] == "example-dental"), mac


async def test_a_change_by_another_process_is_noticed_by_polling(
    demo_database: Database,
) -> None:
    options = PhoneOptions(change_poll_interval=0.02)
    async with phone_client(demo_database, options) as phones:
        before = await phones.fetch_own(YEALINK, YEALINK_FILE)
        other_process = Database(demo_database.url)
        change_layer(other_process, Layer.DEVICE, YEALINK, {"transport": "tls"})
        other_process.dispose()
        for _ in range(500):
            after = await phones.fetch_own(YEALINK, YEALINK_FILE)
            if after.headers["etag"] != before.headers["etag"]:
                break
            await anyio.sleep(0.01)
    assert after.headers["etag"] != before.headers["etag"]


async def test_a_warm_fetch_reads_no_database(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        await phones.fetch_own(YEALINK, YEALINK_FILE)
        demo_database.engine.dispose()
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(demo_database.engine, "before_cursor_execute", count)
        try:
            response = await phones.fetch_own(YEALINK, YEALINK_FILE)
        finally:
            event.remove(demo_database.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert statements == []


async def test_public_files_need_no_credentials_and_read_no_database(
    demo_database: Database,
) -> None:
    async with phone_client(demo_database) as phones:
        response = await phones.client.get("/y000000000000.boot")
        unknown = await phones.client.get("/001565ffffff.boot")
        known = await phones.client.get(f"/{YEALINK}.boot")
    assert response.status_code == 200
    assert known.status_code == unknown.status_code
    assert len(known.content) == len(unknown.content)


async def test_an_unknown_path_is_404(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        response = await phones.client.get("/../../etc/passwd")
        assert response.status_code == 404
        response = await phones.client.delete(YEALINK_FILE)
        assert response.status_code == 405


async def test_last_seen_is_recorded(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        response = await phones.fetch_own(
            YEALINK, YEALINK_FILE, headers={"user-agent": YEALINK_AGENT}
        )
        assert response.status_code == 200
        assert phones.phones.seen.pending == 1
    # stopping flushes what was not written yet
    with demo_database.read() as session:
        device = session.scalar(select(models.Device).where(models.Device.mac == YEALINK))
        assert device is not None
        assert device.last_seen_at is not None
        assert device.last_address == "192.0.2.10"
        assert device.last_user_agent == YEALINK_AGENT
        assert device.last_firmware == "108.86.0.20"
        zone = session.get(models.Zone, device.located_zone_id)
        assert zone is not None
        assert zone.name == "us-east"


async def test_refusals_are_never_recorded_as_seen(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        await phones.fetch(YEALINK_FILE, YEALINK, "wrong-password")
        assert phones.phones.seen.pending == 0


# --- brute force and enumeration ---


async def test_mac_enumeration_gets_identical_answers(demo_database: Database) -> None:
    """Random MACs and a known MAC with bad credentials: the same answers, no body."""
    # One test client is one address: let it fail often enough to scan 1000 MACs.
    scanner = Allowance(free=10_000, base=1.0, cap=1.0, forget_after=900.0)
    options = PhoneOptions(change_poll_interval=3600, per_address=scanner)
    async with phone_client(demo_database, options) as phones:
        shapes = set()
        bare = set()
        for _ in range(1000):
            mac = "0015" + secrets.token_hex(4)
            response = await phones.fetch(f"/{mac}.cfg", mac, f"demo-{mac}")
            shapes.add(refusal_shape(response))
            bare.add(refusal_shape(await phones.client.get(f"/{mac}.cfg")))
        known = await phones.fetch(YEALINK_FILE, YEALINK, "guess")
        known_bare = await phones.client.get(YEALINK_FILE)
    assert shapes == {refusal_shape(known)}
    assert bare == {refusal_shape(known_bare)}
    assert known.status_code == 401


async def test_repeated_failures_back_off_for_that_mac_only(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        unknown = "001565ffffff"
        for _ in range(5):
            assert (await phones.fetch(YEALINK_FILE, YEALINK, "guess")).status_code == 401
            assert (await phones.fetch(f"/{unknown}.cfg", unknown, "guess")).status_code == 401
        blocked = await phones.fetch(YEALINK_FILE, YEALINK, "guess")
        blocked_unknown = await phones.fetch(f"/{unknown}.cfg", unknown, "guess")
        # even the right password waits: the backoff is decided before any check
        right = await phones.fetch_own(YEALINK, YEALINK_FILE)
        other = await phones.fetch_own("0004f2a00002", served_devices()["0004f2a00002"])
    assert blocked.status_code == blocked_unknown.status_code == right.status_code == 429
    assert blocked.headers["retry-after"] == blocked_unknown.headers["retry-after"]
    assert other.status_code == 200


async def test_a_boot_storm_behind_one_address_is_never_refused(demo_database: Database) -> None:
    devices = served_devices()
    async with phone_client(demo_database) as phones:
        for _ in range(30):
            for mac, path in devices.items():
                assert (await phones.fetch_own(mac, path)).status_code == 200


# --- log uploads ---

POLY = "0004f2a00002"


async def test_log_uploads_are_kept_newest_first_and_bounded(demo_database: Database) -> None:
    options = PhoneOptions(change_poll_interval=3600, logs_kept=3, max_log_bytes=1000)
    async with phone_client(demo_database, options) as phones:
        for n in range(5):
            response = await phones.fetch_own(
                POLY, f"/{POLY}-app.log", method="PUT", content=f"log {n}".encode()
            )
            assert response.status_code == 201
        too_big = await phones.fetch_own(
            POLY, f"/{POLY}-boot.log", method="PUT", content=b"x" * 1001
        )
        unauthenticated = await phones.client.put(f"/{POLY}-app.log", content=b"spam")
    assert too_big.status_code == 413
    assert unauthenticated.status_code == 401
    kept = device_logs(demo_database, POLY)
    assert [log.name for log in kept] == [f"{POLY}-app.log"] * 3
    assert read_device_log(demo_database, POLY, 0) == b"log 4"
    assert read_device_log(demo_database, POLY, 2) == b"log 2"


# --- helpers ---


class phones_and_nonce:
    def __init__(self, database: Database) -> None:
        self.context = phone_client(database)

    async def __aenter__(self):  # type: ignore[no-untyped-def]
        phones = await self.context.__aenter__()
        return phones, await phones.challenge(YEALINK_FILE)

    async def __aexit__(self, *exc: object) -> None:
        await self.context.__aexit__(*exc)  # type: ignore[arg-type]


async def test_overload_gets_503_with_retry_after_not_a_ban(demo_database: Database) -> None:
    options = PhoneOptions(change_poll_interval=3600, max_uncached_in_flight=0)
    async with phone_client(demo_database, options) as phones:
        response = await phones.fetch_own(YEALINK, YEALINK_FILE)
        public = await phones.client.get("/y000000000000.boot")
    assert response.status_code == 503
    assert 5 <= int(response.headers["retry-after"]) <= 30
    assert public.status_code == 200  # files that need no lookup are still served


async def test_head_answers_the_headers_of_get(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        got = await phones.fetch_own(YEALINK, YEALINK_FILE)
        head = await phones.fetch_own(YEALINK, YEALINK_FILE, method="HEAD")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == got.headers["content-length"]


async def test_an_absolute_digest_uri_is_the_same_target(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        nonce = await phones.challenge(YEALINK_FILE)
        header = authorization_header(
            YEALINK, f"demo-{YEALINK}", REALM, nonce, f"http://prov.test{YEALINK_FILE}"
        )
        response = await phones.client.get(YEALINK_FILE, headers={"authorization": header})
    assert response.status_code == 200


async def test_a_chunked_upload_past_the_cap_is_refused(demo_database: Database) -> None:
    options = PhoneOptions(change_poll_interval=3600, max_log_bytes=1000)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"x" * 400

    async with phone_client(demo_database, options) as phones:
        response = await phones.fetch_own(POLY, f"/{POLY}-app.log", method="PUT", content=chunks())
    assert response.status_code == 413
    assert device_logs(demo_database, POLY) == []
