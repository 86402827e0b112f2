"""The static DNS cache (``failover.static_dns_cache``) in Yealink and Poly files: the
entries parse, are what the DNS server answers for the zone, keep to twelve, and change
(with the file's ETag) when a media server's address changes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from xml.etree import ElementTree

import dns.message
import dns.query
import pytest

from provisioner.domain.settings import Layer
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage.database import Database
from provisioner.storage.layers import change_layer
from tests.dns.conftest import RunningDns, start_dns, stop_dns
from tests.vendors.helpers import parse_key_values
from tests.web.support import phone_client

pytestmark = pytest.mark.integration

YEALINK, POLY = "001565a00001", "0004f2a00002"
YEALINK_AGENT = "Yealink SIP-T46U 108.86.0.20 00:15:65:a0:00:01"
POLY_AGENT = "FileTransport PolycomVVX-VVX_450-UA/6.4.3.5018 Type/Application"
PROXY = "us-east.p.example.net"

Entries = dict[str, set[tuple[object, ...]]]


@pytest.fixture
def cached(demo_database: Database) -> Database:
    for mac in (YEALINK, POLY):
        change_layer(demo_database, Layer.DEVICE, mac, {"failover.static_dns_cache": True})
    return demo_database


@pytest.fixture
def running_dns(cached: Database) -> Iterator[RunningDns]:
    running = start_dns(cached)
    yield running
    stop_dns(running)


async def fetch(database: Database, mac: str, path: str, agent: str) -> tuple[str, str]:
    async with phone_client(database) as phones:
        response = await phones.fetch_own(mac, path, headers={"user-agent": agent})
    assert response.status_code == 200, response.text
    return response.text, response.headers["etag"]


YEALINK_FIELDS = {"replace": "replacement", "ip": "address"}  # Yealink's names → Poly's


def yealink_entries(text: str) -> Entries:
    rows: dict[tuple[str, int], dict[str, str]] = {}
    values = parse_key_values(text)
    for key, value in values.items():
        found = re.fullmatch(r"dns_cache_(naptr|srv|a)\.(\d+)\.(\w+)", key)
        if found and values[f"dns_cache_{found[1]}.{found[2]}.name"] != "%NULL%":  # cleared
            field = YEALINK_FIELDS.get(found[3], found[3])
            rows.setdefault((found[1], int(found[2])), {})[field] = value
    return _entries(rows)


def poly_entries(text: str) -> Entries:
    element = ElementTree.fromstring(text).find("dns")
    assert element is not None
    rows: dict[tuple[str, int], dict[str, str]] = {}
    for key, value in element.attrib.items():
        found = re.fullmatch(r"dns\.cache\.(NAPTR|SRV|A)\.(\d+)\.(\w+)", key)
        assert found, key
        rows.setdefault((found[1].lower(), int(found[2])), {})[found[3]] = value
    return _entries(rows)


def _entries(rows: dict[tuple[str, int], dict[str, str]]) -> Entries:
    entries: Entries = {"naptr": set(), "srv": set(), "a": set()}
    for (kind, _number), row in rows.items():
        if kind == "naptr":
            entries["naptr"].add(
                (row["name"], int(row["order"]), int(row["preference"]), row["flags"],
                 row["service"], row["replacement"])
            )  # fmt: skip
        elif kind == "srv":
            entries["srv"].add(
                (row["name"], int(row["priority"]), int(row["weight"]), int(row["port"]),
                 row["target"])
            )  # fmt: skip
        else:
            entries["a"].add((row["name"], row["address"]))
    return entries


def answered(running: RunningDns, entries: Entries) -> Entries:
    """What the DNS server answers for the names the cache holds."""

    def ask(name: str, rdtype: str) -> list[object]:
        query = dns.message.make_query(name, rdtype)
        response = dns.query.udp(query, "127.0.0.1", port=running.port, timeout=5)
        return [rdata for rrset in response.answer for rdata in rrset]

    result: Entries = {"naptr": set(), "srv": set(), "a": set()}
    for rdata in ask(PROXY, "NAPTR"):
        result["naptr"].add(
            (PROXY, rdata.order, rdata.preference, rdata.flags.decode(), rdata.service.decode(),
             rdata.replacement.to_text(omit_final_dot=True))
        )  # fmt: skip
    for name in {entry[0] for entry in entries["srv"]}:
        for rdata in ask(str(name), "SRV"):
            result["srv"].add(
                (name, rdata.priority, rdata.weight, rdata.port,
                 rdata.target.to_text(omit_final_dot=True))
            )  # fmt: skip
    for name in {entry[0] for entry in entries["a"]}:
        result["a"] |= {(name, rdata.address) for rdata in ask(str(name), "A")}
    return result


@pytest.mark.parametrize(
    ("mac", "path", "agent", "read"),
    [
        (YEALINK, f"/{YEALINK}.cfg", YEALINK_AGENT, yealink_entries),
        (POLY, f"/{POLY}-sip.cfg", POLY_AGENT, poly_entries),
    ],
)
def test_the_cache_is_what_the_dns_server_answers(
    cached: Database, running_dns: RunningDns, mac: str, path: str, agent: str, read: object
) -> None:
    text, etag = asyncio.run(fetch(cached, mac, path, agent))
    entries = read(text)  # type: ignore[operator]
    assert sum(map(len, entries.values())) <= 12
    server = answered(running_dns, entries)
    # UDP and TCP in full (the zone's first two transports); TLS, third, did not fit
    assert entries["naptr"] == {e for e in server["naptr"] if e[4] != "SIPS+D2T"}
    assert entries["srv"] == server["srv"] and len(entries["srv"]) == 6
    assert (
        entries["a"]
        == server["a"]
        == {(f"ms{i}.p.example.net", f"127.0.0.1{i}") for i in (1, 2, 3)}
    )
    assert "Left out of the static cache: SIPS+D2T (_sips._tcp.us-east.p.example.net)" in text

    # a media server's address changes: the file's entry and its ETag change with it
    change = """
clusters:
  - name: hosted
    media_servers:
      - {name: ms2, addresses: [127.0.0.42], latitude: 41.85, longitude: -87.65}
"""
    load_estate_file(cached, read_estate_file(change, "change.yaml"))
    text_after, etag_after = asyncio.run(fetch(cached, mac, path, agent))
    assert etag_after != etag
    assert ("ms2.p.example.net", "127.0.0.42") in read(text_after)["a"]  # type: ignore[operator]
    assert ("ms2.p.example.net", "127.0.0.12") not in read(text_after)["a"]  # type: ignore[operator]


def test_the_cache_is_opt_in(demo_database: Database) -> None:
    text, _ = asyncio.run(fetch(demo_database, YEALINK, f"/{YEALINK}.cfg", YEALINK_AGENT))
    values = parse_key_values(text)
    entries = {k: v for k, v in values.items() if k.startswith("dns_cache_")}
    assert entries and set(entries.values()) == {"%NULL%"}  # none written, any old one cleared
    assert values["account.1.static_cache_pri"] == "0"  # live DNS first


def test_targets_past_the_limit_are_named_and_never_half_written(demo_database: Database) -> None:
    servers = "\n".join(
        f"      - {{name: m{i}, addresses: [127.0.1.{i}], latitude: 40, longitude: -74}}"
        for i in range(1, 8)
    )
    estate = f"""
clusters:
  - name: hosted
    media_servers:
{servers}
    zones:
      - {{name: us-east, latitude: 40.71, longitude: -74.0,
         media_servers: [m1, m2, m3, m4, m5, m6, m7], transports: [tcp]}}
"""
    load_estate_file(demo_database, read_estate_file(estate, "seven.yaml"))
    change_layer(demo_database, Layer.DEVICE, POLY, {"failover.static_dns_cache": True})
    text, _ = asyncio.run(fetch(demo_database, POLY, f"/{POLY}-sip.cfg", POLY_AGENT))
    entries = poly_entries(text)
    # 1 NAPTR + 5 × (SRV + A) = 11; the sixth target would need 2 more
    assert len(entries["naptr"]) == 1 and len(entries["srv"]) == 5 and len(entries["a"]) == 5
    assert {e[4] for e in entries["srv"]} == {f"m{i}.p.example.net" for i in range(1, 6)}
    assert {e[0] for e in entries["a"]} == {f"m{i}.p.example.net" for i in range(1, 6)}
    assert (
        "Left out of the static cache: _sip._tcp.us-east.p.example.net targets "
        "m6.p.example.net, m7.p.example.net: past the limit of 12"
    ) in text
