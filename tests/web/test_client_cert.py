"""Phones' TLS client certificates (``serve --client-ca``): a certificate opens a device's
own file only when it names that device's MAC and the device's ``provisioning.auth``
takes certificates; another phone's certificate gets the very refusal a missing or wrong
password gets; an expired one, or one from a CA not listed, fails the handshake; and
``provisioning.https_only`` keeps a device's file off plain HTTP."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import httpx
import pytest
import trustme

from provisioner.domain.settings import Layer
from provisioner.storage.database import Database
from provisioner.storage.layers import change_layer
from provisioner.web.tls import certificate_mac, macs_in
from tests.web.support import YEALINK, YEALINK_AGENT, served_devices
from tests.web.test_https import client_context, tls_server

pytestmark = pytest.mark.anyio

POLY = "0004f2a00002"
CISCO = "00562ba00003"
UNKNOWN = "001565fffff0"
YEALINK_FILE = f"/{YEALINK}.cfg"
SECRET = b"dental-1001-secret"


def shape(response: httpx.Response) -> tuple:  # type: ignore[type-arg]
    """A refusal as compared: status, headers (nonce and date aside) and body."""
    headers = tuple(
        (name, re.sub(r'nonce="[^"]+"', 'nonce="N"', value))
        for name, value in response.headers.multi_items()
        if name != "date"
    )
    return response.status_code, headers, response.content


def phone(ca: trustme.CA, common_name: str, **kwargs: object) -> trustme.LeafCert:
    """A device certificate as a vendor's factory CA issues it: the MAC in the CN."""
    return ca.issue_cert("phone.invalid", common_name=common_name, **kwargs)  # type: ignore[arg-type]


def client(server_ca: trustme.CA, cert: trustme.LeafCert | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=client_context(server_ca, cert), headers={"user-agent": YEALINK_AGENT}
    )


async def test_the_right_phones_certificate_gets_its_file_without_a_password(
    demo_database: Database, tmp_path: Path
) -> None:
    factory = trustme.CA()
    async with tls_server(demo_database, tmp_path, [factory]) as (url, server_ca, _):
        yealink = client(server_ca, phone(factory, "00:15:65:A0:00:01"))
        async with yealink:
            response = await yealink.get(url + YEALINK_FILE)
    assert response.status_code == 200
    assert SECRET in response.content


async def test_each_vendors_spelling_of_the_mac_is_read(
    demo_database: Database, tmp_path: Path
) -> None:
    factory = trustme.CA()
    files = served_devices()
    names = {
        YEALINK: "001565A00001",
        POLY: "0004f2a00002",
        CISCO: "CP-8841-3PCC-SEP00562BA00003",
    }
    async with tls_server(demo_database, tmp_path, [factory]) as (url, server_ca, _):
        for mac, name in names.items():
            async with client(server_ca, phone(factory, name)) as device:
                response = await device.get(url + files[mac], headers={"user-agent": ""})
            assert response.status_code == 200, (mac, name)


async def test_another_phones_certificate_gets_the_refusal_of_a_missing_password(
    demo_database: Database, tmp_path: Path
) -> None:
    factory = trustme.CA()
    async with tls_server(demo_database, tmp_path, [factory]) as (url, server_ca, _):
        async with client(server_ca) as nobody:
            without = await nobody.get(url + YEALINK_FILE)
            unknown = await nobody.get(url + f"/{UNKNOWN}.cfg")
        async with client(server_ca, phone(factory, POLY)) as poly:
            other = await poly.get(url + YEALINK_FILE)
            other_unknown = await poly.get(url + f"/{UNKNOWN}.cfg")
        async with client(server_ca, phone(factory, UNKNOWN)) as stranger:
            # a valid certificate of a phone not in the estate: refused like the rest
            named_unknown = await stranger.get(url + f"/{UNKNOWN}.cfg")
        async with client(server_ca, phone(factory, "no MAC here")) as anonymous:
            no_mac = await anonymous.get(url + YEALINK_FILE)
    assert other.status_code == 401
    assert SECRET not in other.content
    assert (
        shape(other)
        == shape(without)
        == shape(unknown)
        == shape(other_unknown)
        == shape(named_unknown)
        == shape(no_mac)
    )


@pytest.mark.parametrize("kind", ["expired", "not yet valid", "another CA"])
async def test_a_bad_certificate_fails_the_handshake(
    demo_database: Database, tmp_path: Path, kind: str
) -> None:
    factory = trustme.CA()
    now = datetime.datetime.now(datetime.UTC)
    if kind == "expired":
        cert = phone(
            factory,
            YEALINK,
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )
    elif kind == "not yet valid":
        cert = phone(factory, YEALINK, not_before=now + datetime.timedelta(days=1))
    else:
        cert = phone(trustme.CA(), YEALINK)
    async with tls_server(demo_database, tmp_path, [factory]) as (url, server_ca, _):
        async with client(server_ca, cert) as holder:
            with pytest.raises(httpx.TransportError):
                await holder.get(url + YEALINK_FILE)
        async with client(server_ca) as fine:  # the server is still fine
            assert (await fine.get(url + YEALINK_FILE)).status_code == 401


async def test_several_client_cas_are_each_accepted(
    demo_database: Database, tmp_path: Path
) -> None:
    yealink_ca, poly_ca = trustme.CA(), trustme.CA()
    files = served_devices()
    async with tls_server(demo_database, tmp_path, [yealink_ca, poly_ca]) as (url, ca, _):
        async with client(ca, phone(yealink_ca, YEALINK)) as yealink:
            assert (await yealink.get(url + YEALINK_FILE)).status_code == 200
        async with client(ca, phone(poly_ca, POLY)) as poly:
            response = await poly.get(url + files[POLY], headers={"user-agent": ""})
            assert response.status_code == 200


async def test_either_falls_back_to_digest_without_a_certificate(
    demo_database: Database, tmp_path: Path
) -> None:
    factory = trustme.CA()
    auth = httpx.DigestAuth(YEALINK, f"demo-{YEALINK}")
    async with tls_server(demo_database, tmp_path, [factory]) as (url, server_ca, _):
        yealink = client(server_ca)
        async with yealink:
            response = await yealink.get(url + YEALINK_FILE, auth=auth)
    assert response.status_code == 200
    assert SECRET in response.content


async def test_certificate_mode_refuses_the_right_password_alone(
    demo_database: Database, tmp_path: Path
) -> None:
    change_layer(demo_database, Layer.DEVICE, YEALINK, {"provisioning.auth": "certificate"})
    factory = trustme.CA()
    async with tls_server(demo_database, tmp_path, [factory]) as (url, server_ca, _):
        async with client(server_ca) as no_cert:
            right = await no_cert.get(
                url + YEALINK_FILE, auth=httpx.DigestAuth(YEALINK, f"demo-{YEALINK}")
            )
            wrong = await no_cert.get(url + YEALINK_FILE, auth=httpx.DigestAuth(YEALINK, "bad"))
        async with client(server_ca, phone(factory, YEALINK)) as yealink:
            with_cert = await yealink.get(url + YEALINK_FILE)
    assert right.status_code == 401
    assert shape(right) == shape(wrong)
    assert with_cert.status_code == 200


async def test_digest_mode_sets_the_certificate_aside_without_counting_failures(
    demo_database: Database, tmp_path: Path
) -> None:
    change_layer(demo_database, Layer.ACCOUNT, "example-dental", {"provisioning.auth": "digest"})
    factory = trustme.CA()
    async with tls_server(demo_database, tmp_path, [factory]) as (url, server_ca, _):
        yealink = client(server_ca, phone(factory, YEALINK))
        async with yealink:
            # a phone shows its certificate on every first request: never a failed attempt
            for _ in range(20):
                alone = await yealink.get(url + YEALINK_FILE)
                assert alone.status_code == 401
            auth = httpx.DigestAuth(YEALINK, f"demo-{YEALINK}")
            response = await yealink.get(url + YEALINK_FILE, auth=auth)
    assert response.status_code == 200


async def test_https_only_refuses_plain_http_once_authenticated(
    demo_database: Database, tmp_path: Path
) -> None:
    change_layer(demo_database, Layer.GLOBAL, None, {"provisioning.https_only": "yes"})
    auth = httpx.DigestAuth(YEALINK, f"demo-{YEALINK}")
    async with tls_server(demo_database, tmp_path, plain=True) as (url, server_ca, plain):
        assert plain is not None
        async with httpx.AsyncClient(headers={"user-agent": YEALINK_AGENT}) as http:
            right = await http.get(plain + YEALINK_FILE, auth=auth)
            wrong = await http.get(plain + YEALINK_FILE, auth=httpx.DigestAuth(YEALINK, "bad"))
            unknown = await http.get(plain + f"/{UNKNOWN}.cfg")
            public = await http.get(plain + "/y000000000000.boot")
        async with client(server_ca) as https:
            secure = await https.get(url + YEALINK_FILE, auth=auth)
    assert right.status_code == 403
    assert SECRET not in right.content
    # whoever lacks the device's credentials sees what an unknown MAC gets
    assert shape(wrong) == shape(unknown)
    assert public.status_code == 200  # files without a secret stay on HTTP
    assert secure.status_code == 200
    assert SECRET in secure.content


def test_the_mac_is_read_in_every_spelling_and_never_guessed() -> None:
    for text in (
        "001565a00001",
        "001565A00001",
        "00:15:65:a0:00:01",
        "00-15-65-A0-00-01",
        "0015.65a0.0001",
        "SEP001565A00001",
        "CP-8841-3PCC-SEP001565a00001",
    ):
        assert macs_in(text) == {"001565a00001"}, text
    for text in ("001565a0000", "001565a000011", "00:15:65:a0:00:01:02", "0015.65a0.0001.02"):
        assert macs_in(text) == set(), text


def test_a_certificate_naming_two_macs_names_none() -> None:
    one = {"subject": ((("commonName", "001565a00001"),),)}
    two = {
        "subject": ((("commonName", "001565a00001"),),),
        "subjectAltName": (("DNS", "0004f2a00002.phones.invalid"),),
    }
    same = {
        "subject": ((("commonName", "00:15:65:A0:00:01"),),),
        "subjectAltName": (("DNS", "001565a00001.phones.invalid"),),
    }
    assert certificate_mac(one) == "001565a00001"
    assert certificate_mac(two) is None
    assert certificate_mac(same) == "001565a00001"
    assert certificate_mac({}) is None
    assert certificate_mac(None) is None
