"""Response rate limiting against reflection: per client network and response, slip or
drop beyond; on by default."""

from __future__ import annotations

import socket

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from provisioner.cli.dns import dns_settings
from provisioner.cli.dns import serve as dns_serve
from provisioner.cli.serve import serve
from provisioner.dns import ratelimit
from provisioner.dns.ratelimit import (
    ResponseRateLimit,
    Verdict,
    client_network,
    response_class,
    truncated,
)
from provisioner.dns.service import DnsSettings
from provisioner.domain.errors import InvalidValue
from provisioner.storage.database import Database
from tests.dns.conftest import RunningDns, start_dns, stop_dns

NAPTR = "us-east.p.example.net"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def response(name: str, rdtype: str = "A", rcode: int = dns.rcode.NOERROR) -> bytes:
    reply = dns.message.make_response(dns.message.make_query(name, rdtype))
    reply.set_rcode(rcode)
    return reply.to_wire()


A = response("ms1.p.example.net")


def test_a_burst_then_slip_and_drop_then_refill() -> None:
    clock = Clock()
    limit = ResponseRateLimit(rate=3, slip=2, clock=clock)
    verdicts = [limit.check("192.0.2.7", A) for _ in range(7)]
    assert verdicts[:3] == [Verdict.SEND] * 3
    assert verdicts[3:] == [Verdict.DROP, Verdict.SLIP, Verdict.DROP, Verdict.SLIP]
    assert limit.check("192.0.2.200", A) is Verdict.DROP  # the same /24
    assert limit.check("198.51.100.1", A) is Verdict.SEND  # another network
    clock.now += 1.0
    assert [limit.check("192.0.2.7", A) for _ in range(3)] == [Verdict.SEND] * 3


def test_buckets_are_per_response() -> None:
    limit = ResponseRateLimit(rate=2, clock=Clock())
    for _ in range(5):
        limit.check("192.0.2.7", A)
    assert limit.check("192.0.2.7", A) is not Verdict.SEND
    # another name, or another type, from the same network: its own bucket (a resolver
    # asking for many names is not limited; one answer repeated is)
    assert limit.check("192.0.2.7", response("ms2.p.example.net")) is Verdict.SEND
    assert limit.check("192.0.2.7", response("ms1.p.example.net", "AAAA")) is Verdict.SEND
    # letter case does not make another bucket
    assert limit.check("192.0.2.7", response("MS1.p.Example.NET")) is not Verdict.SEND


def test_nxdomains_and_errors_share_one_bucket_per_network() -> None:
    nx = {response(f"x{i}.p.example.net", rcode=dns.rcode.NXDOMAIN) for i in range(10)}
    assert len({response_class(r) for r in nx}) == 1
    refused = {response(f"x{i}.example.org", rcode=dns.rcode.REFUSED) for i in range(10)}
    assert len({response_class(r) for r in refused}) == 1
    limit = ResponseRateLimit(rate=3, clock=Clock())
    verdicts = [limit.check("192.0.2.7", r) for r in nx]
    assert verdicts.count(Verdict.SEND) == 3


def test_exempt_networks_and_mapped_addresses() -> None:
    limit = ResponseRateLimit(rate=1, exempt=("127.0.0.0/8", "::1/128"), clock=Clock())
    assert all(limit.check("127.0.0.1", A) is Verdict.SEND for _ in range(50))
    assert all(limit.check("::1", A) is Verdict.SEND for _ in range(50))
    assert all(limit.check("::ffff:127.0.0.9", A) is Verdict.SEND for _ in range(50))
    limit.check("::ffff:192.0.2.7", A)
    assert limit.check("192.0.2.8", A) is not Verdict.SEND  # mapped: the same /24


def test_the_table_of_buckets_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 100)
    clock = Clock()
    limit = ResponseRateLimit(rate=1, clock=clock)
    for i in range(1000):
        limit.check(f"10.{i // 256}.{i % 256}.1", A)
        clock.now += 0.01
        assert len(limit._buckets) <= 100
    # a network being limited right now is remembered while old ones are forgotten
    for i in range(300):
        limit.check("192.0.2.7", A)
        limit.check(f"10.9.{i % 256}.{i // 256}", A)
        clock.now += 0.001
        assert len(limit._buckets) <= 100
    assert limit.check("192.0.2.7", A) is not Verdict.SEND


def test_networks() -> None:
    assert client_network("192.0.2.7") == "192.0.2"
    assert client_network("2001:db8:1:2:3::1") == "2001:db8:1::/56"
    assert client_network("::ffff:192.0.2.7") == "192.0.2"


def test_truncated_keeps_id_and_question_and_sets_tc() -> None:
    query = dns.message.make_query(NAPTR, "NAPTR")
    full = dns.message.make_response(query)
    full.answer = []
    wire = truncated(full.to_wire())
    parsed = dns.message.from_wire(wire)
    assert parsed.id == query.id and parsed.flags & dns.flags.TC
    assert parsed.question == query.question and not parsed.answer


def flood(running: RunningDns, source: str, count: int, name: str = NAPTR) -> list:
    """Send `count` queries at once from `source`; the replies that came back."""
    wire = dns.message.make_query(name, "NAPTR").to_wire()
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(1)
        for _ in range(count):
            sock.sendto(wire, (running.host, running.port))
        try:
            while True:
                replies.append(dns.message.from_wire(sock.recv(4096)))
        except TimeoutError:
            pass
    return replies


def full_and_slipped(replies: list) -> tuple[int, int]:
    slipped = sum(1 for r in replies if r.flags & dns.flags.TC)
    return len(replies) - slipped, slipped


def test_rate_limiting_is_on_by_default() -> None:
    settings = DnsSettings()
    assert settings.rate_limit == 20 and settings.rate_limit_slip == 2
    assert "127.0.0.0/8" in settings.rate_limit_exempt  # loopback cannot be spoofed
    for command in (dns_serve, serve):
        params = command.make_context("x", []).params
        flags = {k: params[k] for k in params if k.startswith(("rate_limit", "allow", "tsig"))}
        flags |= {"nameservers": (), "hostmaster": None, "notify": ()}
        assert dns_settings("127.0.0.1:0", **flags) == DnsSettings(port=0, strict=False)
    assert dns_serve.make_context("x", ["--rate-limit", "0"]).params["rate_limit"] == 0
    none = dns_serve.make_context("x", ["--rate-limit-exempt", "none"]).params
    settings = dns_settings("127.0.0.1:0", (), None, (), None, (), 20, none["rate_limit_exempt"])
    assert settings.rate_limit_exempt == ()


def test_a_bad_exempt_network_is_named() -> None:
    with pytest.raises(InvalidValue, match="--rate-limit-exempt: 'nowhere' is not a network"):
        dns_settings("127.0.0.1:0", (), None, (), None, (), 20, ("nowhere",))


def test_a_flood_from_one_address_is_limited_while_another_is_answered(
    demo_database: Database,
) -> None:
    # the default limit, with loopback not exempt (so that it applies to this test)
    running = start_dns(demo_database, DnsSettings(port=0, rate_limit_exempt=()))
    try:
        assert running.service.server.rate_limit is not None  # type: ignore[union-attr]
        replies = flood(running, "127.0.0.1", 400)
        full, slipped = full_and_slipped(replies)
        assert full < 200 and slipped > 0
        assert all(not r.answer for r in replies if r.flags & dns.flags.TC)
        # another network is answered in full
        assert full_and_slipped(flood(running, "127.0.1.1", 10)) == (10, 0)
        # and a real client behind the flooded address retries over TCP and gets its answer
        query = dns.message.make_query(NAPTR, "NAPTR")
        assert dns.query.tcp(query, running.host, port=running.port, source="127.0.0.1").answer
    finally:
        stop_dns(running)


def test_loopback_is_exempt_by_default_and_zero_disables(demo_database: Database) -> None:
    running = start_dns(demo_database, DnsSettings(port=0))
    try:
        assert full_and_slipped(flood(running, "127.0.0.1", 100)) == (100, 0)
    finally:
        stop_dns(running)
    running = start_dns(demo_database, DnsSettings(port=0, rate_limit=0, rate_limit_exempt=()))
    try:
        assert running.service.server.rate_limit is None  # type: ignore[union-attr]
        assert full_and_slipped(flood(running, "127.0.0.1", 100)) == (100, 0)
    finally:
        stop_dns(running)
