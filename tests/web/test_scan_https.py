"""The MAC scan over HTTPS, through a real TLS listener: 10,000 random MACs from real vendor
prefixes and the demo devices, without and then with wrong credentials. No config body,
and one answer for all (status, headers but Date, body): the MACs that exist cannot be
told from those that do not."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from provisioner.storage.database import Database
from provisioner.web.digest import authorization_header
from tests.web.support import DEMO_DEVICES, REALM, nonce_of
from tests.web.test_https import client_context, tls_server
from tests.web.test_scan_macs import paths

pytestmark = pytest.mark.anyio

ADDRESSES = 250  # wrong credentials from many addresses (40 MACs each), as a botnet would scan


NONCE = re.compile(r'nonce="[^"]*"')


def answer(response: httpx.Response) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
    """Status, headers and body; Date left out, and the nonce, which is the issue time and
    its HMAC (the same form, the same length, for every MAC)."""
    headers = tuple(
        (k, NONCE.sub(lambda m: f'nonce="{"x" * (len(m.group()) - 8)}"', v))
        for k, v in response.headers.items()
        if k.lower() != "date"
    )
    return response.status_code, headers, response.content


def no_config(answers: list[tuple[int, tuple[tuple[str, str], ...], bytes]]) -> None:
    assert {status for status, _headers, _body in answers} <= {401}
    assert not any(b"password" in body or b"sip" in body for _s, _h, body in answers)


async def test_a_scan_over_https_gets_one_answer_with_or_without_credentials(
    demo_database: Database, tmp_path: Path
) -> None:
    scanned = paths()
    assert len(scanned) == 10_000 + len(DEMO_DEVICES)
    async with tls_server(demo_database, tmp_path) as (url, ca, _http):
        context = client_context(ca)
        async with httpx.AsyncClient(base_url=url, verify=context) as client:
            bare = [answer(await client.get(path)) for path in scanned.values()]
            nonce = nonce_of((await client.get("/001565a00001.cfg")).headers["www-authenticate"])
        no_config(bare)
        assert len(set(bare)) == 1

        clients = [
            httpx.AsyncClient(
                base_url=url,
                verify=context,
                transport=httpx.AsyncHTTPTransport(
                    verify=context, local_address=f"127.0.{1 + n // 250}.{1 + n % 250}"
                ),
            )
            for n in range(ADDRESSES)
        ]
        try:
            wrong = []
            for index, (mac, path) in enumerate(scanned.items()):
                header = authorization_header(mac, f"demo-{mac}-not", REALM, nonce, path)
                response = await clients[index % ADDRESSES].get(
                    path, headers={"authorization": header}
                )
                wrong.append(answer(response))
        finally:
            for client in clients:
                await client.aclose()
    no_config(wrong)
    assert len(set(wrong)) == 1
