"""Response rate limiting against reflection: per client network, slip or drop beyond."""

from __future__ import annotations

import socket

import dns.flags
import dns.message
import dns.query

from provisioner.dns.ratelimit import ResponseRateLimit, Verdict, client_network, truncated
from provisioner.dns.service import DnsSettings
from provisioner.storage.database import Database
from tests.dns.conftest import start_dns, stop_dns


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_slip_and_drop_then_refill() -> None:
    clock = Clock()
    limit = ResponseRateLimit(rate=3, slip=2, clock=clock)
    verdicts = [limit.check("192.0.2.7") for _ in range(7)]
    assert verdicts[:3] == [Verdict.SEND] * 3
    assert verdicts[3:] == [Verdict.DROP, Verdict.SLIP, Verdict.DROP, Verdict.SLIP]
    assert limit.check("192.0.2.200") is Verdict.DROP  # the same /24
    assert limit.check("198.51.100.1") is Verdict.SEND  # another network
    clock.now += 1.0
    assert [limit.check("192.0.2.7") for _ in range(3)] == [Verdict.SEND] * 3


def test_networks() -> None:
    assert client_network("192.0.2.7") == "192.0.2"
    assert client_network("2001:db8:1:2:3::1") == "2001:db8:1::/56"


def test_truncated_keeps_id_and_question_and_sets_tc() -> None:
    query = dns.message.make_query("us-east.p.example.net", "NAPTR")
    full = dns.message.make_response(query)
    full.answer = []
    wire = truncated(full.to_wire())
    parsed = dns.message.from_wire(wire)
    assert parsed.id == query.id and parsed.flags & dns.flags.TC
    assert parsed.question == query.question and not parsed.answer


def test_the_server_limits_one_network_and_slips(demo_database: Database) -> None:
    running = start_dns(demo_database, DnsSettings(port=0, rate_limit=5))
    try:
        wire = dns.message.make_query("ms1.p.example.net", "A").to_wire()
        replies = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1)
            for _ in range(60):
                sock.sendto(wire, (running.host, running.port))
            try:
                while True:
                    replies.append(dns.message.from_wire(sock.recv(2048)))
            except TimeoutError:
                pass
        full = [r for r in replies if not r.flags & dns.flags.TC]
        slipped = [r for r in replies if r.flags & dns.flags.TC]
        assert 5 <= len(full) < 60 and slipped
        # a client told to retry over TCP gets its answer there
        assert dns.query.tcp(
            dns.message.make_query("ms1.p.example.net", "A"), running.host, port=running.port
        ).answer
    finally:
        stop_dns(running)
