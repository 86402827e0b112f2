"""Conformance of the embedded server as kdig (Knot's dig) sees it."""

from __future__ import annotations

import subprocess

import pytest

from provisioner.storage.database import Database
from tests.conftest import require_tool
from tests.dns.conftest import RunningDns, start_dns, stop_dns
from tests.dns.knot import kdig
from tests.dns.test_server import big_estate

pytestmark = pytest.mark.integration


@pytest.fixture
def kdig_path() -> str:
    return require_tool("kdig")


def test_answer_with_additional_section(demo_dns: RunningDns, kdig_path: str) -> None:
    header, records = kdig(
        kdig_path, demo_dns.port, "_sips._tcp.us-west.p.example.net", "SRV", "+additional"
    )
    assert header == "NOERROR aa"
    assert records == sorted(
        [
            "_sips._tcp.us-west.p.example.net. 300 IN SRV 10 50 5061 ms3.p.example.net.",
            "_sips._tcp.us-west.p.example.net. 300 IN SRV 20 50 5061 ms2.p.example.net.",
            "_sips._tcp.us-west.p.example.net. 300 IN SRV 30 50 5061 ms1.p.example.net.",
            "ms1.p.example.net. 300 IN A 127.0.0.11",
            "ms2.p.example.net. 300 IN A 127.0.0.12",
            "ms3.p.example.net. 300 IN A 127.0.0.13",
        ]
    )


SOA_LINE = "p.example.net. 60 IN SOA ns1.p.example.net. hostmaster.p.example.net."


def test_nodata(demo_dns: RunningDns, kdig_path: str) -> None:
    header, records = kdig(kdig_path, demo_dns.port, "us-east.p.example.net", "AAAA")
    assert header == "NOERROR aa"
    assert len(records) == 1 and records[0].startswith(SOA_LINE)


def test_empty_non_terminal(demo_dns: RunningDns, kdig_path: str) -> None:
    header, records = kdig(kdig_path, demo_dns.port, "_udp.us-east.p.example.net", "A")
    assert header == "NOERROR aa"
    assert len(records) == 1 and records[0].startswith(SOA_LINE)


def test_nxdomain(demo_dns: RunningDns, kdig_path: str) -> None:
    header, records = kdig(kdig_path, demo_dns.port, "ms9.p.example.net", "A")
    assert header == "NXDOMAIN aa"
    assert len(records) == 1 and records[0].startswith(SOA_LINE)


def test_refused_outside_our_zones(demo_dns: RunningDns, kdig_path: str) -> None:
    assert kdig(kdig_path, demo_dns.port, "www.example.com", "A") == ("REFUSED", [])


def test_any_gets_one_record_set(demo_dns: RunningDns, kdig_path: str) -> None:
    header, records = kdig(kdig_path, demo_dns.port, "us-east.p.example.net", "ANY")
    assert header == "NOERROR aa"
    assert {line.split()[3] for line in records} == {"NAPTR"}


def test_truncated_over_udp_then_whole_over_tcp(database: Database, kdig_path: str) -> None:
    from provisioner.estate_files.load import load_estate_file, read_estate_file

    load_estate_file(database, read_estate_file(big_estate(40), "big"))
    running = start_dns(database)
    try:
        name = "_sip._udp.everywhere.big.example"
        header, _ = kdig(kdig_path, running.port, name, "SRV", "+ignore", "+noedns")
        flags = kdig_flags(kdig_path, running.port, name, "+ignore", "+noedns")
        assert header == "NOERROR aa" and " tc" in flags
        _, records = kdig(kdig_path, running.port, name, "SRV")  # kdig retries over TCP
        assert len(records) == 40
        _, records = kdig(kdig_path, running.port, name, "SRV", "+tcp")
        assert len(records) == 40
    finally:
        stop_dns(running)


def kdig_flags(kdig_path: str, port: int, name: str, *extra: str) -> str:
    output = subprocess.run(
        [kdig_path, "@127.0.0.1", "-p", str(port), name, "SRV", "+noall", "+header", *extra],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return next(line for line in output.splitlines() if line.startswith(";; Flags:"))


def test_naptr_order_is_the_zones_transports_order(demo_dns: RunningDns, kdig_path: str) -> None:
    # us-east lists no transports: the default [udp, tcp, tls]; eu-central lists [udp, tcp]
    header, records = kdig(kdig_path, demo_dns.port, "us-east.p.example.net", "NAPTR")
    assert header == "NOERROR aa"
    assert records == [
        'us-east.p.example.net. 300 IN NAPTR 10 50 "s" "SIP+D2U" "" _sip._udp.us-east.p.example.net.',
        'us-east.p.example.net. 300 IN NAPTR 20 50 "s" "SIP+D2T" "" _sip._tcp.us-east.p.example.net.',
        'us-east.p.example.net. 300 IN NAPTR 30 50 "s" "SIPS+D2T" "" _sips._tcp.us-east.p.example.net.',
    ]
    _, records = kdig(kdig_path, demo_dns.port, "eu-central.voice.globex.example", "NAPTR")
    assert [line.split()[7] for line in records] == ['"SIP+D2U"', '"SIP+D2T"']


def test_the_proxy_name_has_the_first_media_servers_address(
    demo_dns: RunningDns, kdig_path: str
) -> None:
    # for phones given an explicit port, which look up A only: ms3 leads us-west
    header, records = kdig(kdig_path, demo_dns.port, "us-west.p.example.net", "A")
    assert header == "NOERROR aa"
    assert records == ["us-west.p.example.net. 300 IN A 127.0.0.13"]
