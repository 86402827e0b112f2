"""No packet stops the server: random, truncated and mutated packets, compression loops and
bad EDNS get FORMERR (or are dropped), and everything else a well-formed response."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.dns.answers import prepare_answers
from provisioner.dns.records import build_records
from provisioner.dns.responder import Responder
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import migrate
from provisioner.storage.database import Database
from tests.conftest import DEMO
from tests.dns.conftest import start_dns, stop_dns
from tests.dns.helpers import estate_of

NAMES = [
    "us-east.p.example.net.",
    "_sip._udp.us-east.p.example.net.",
    "_udp.us-east.p.example.net.",
    "ms1.p.acme.example.",
    "p.acme.example.",
    "nowhere.voice.globex.example.",
    "example.org.",
    ".",
]
TYPES = ["A", "AAAA", "SRV", "NAPTR", "SOA", "NS", "ANY", "TXT", "AXFR", "IXFR", "TYPE65"]


@pytest.fixture(scope="module")
def demo_file_database(tmp_path_factory: pytest.TempPathFactory) -> Database:
    path: Path = tmp_path_factory.mktemp("dns") / "demo.db"
    database = Database(f"sqlite:///{path}")
    migrate.ensure_schema(database)
    load_estate_file(database, read_estate_file(DEMO.read_text(), "demo.yaml"))
    return database


@pytest.fixture(scope="module")
def responder(demo_file_database: Database) -> Responder:
    return Responder(prepare_answers(build_records(estate_of(demo_file_database))))


def check(packet: bytes, response: bytes | None) -> dns.message.Message | None:
    """A response, when there is one, is a parseable DNS response to this packet's ID."""
    if response is None:
        return None
    assert len(response) >= 12
    assert response[:2] == packet[:2]
    assert response[2] & 0x80  # QR
    return dns.message.from_wire(response, ignore_trailing=False)


def ask_both(responder: Responder, packet: bytes) -> None:
    check(packet, responder.udp(packet))
    check(packet, responder.tcp(packet))


settings_ = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@settings_
@given(st.binary(max_size=600))
def test_random_bytes(responder: Responder, packet: bytes) -> None:
    ask_both(responder, packet)


@st.composite
def queries(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(NAMES))
    rdtype = draw(st.sampled_from(TYPES))
    edns = draw(st.sampled_from([-1, 0]))
    query = dns.message.make_query(name, rdtype, use_edns=edns, payload=draw(st.integers(0, 65535)))
    query.id = draw(st.integers(0, 65535))
    query.flags = draw(st.integers(0, 0xFFFF)) & 0x7FFF  # never a response
    return query.to_wire()


@settings_
@given(queries())
def test_well_formed_queries_get_well_formed_answers(responder: Responder, packet: bytes) -> None:
    for response in (responder.udp(packet), responder.tcp(packet)):
        parsed = check(packet, response)
        if parsed is not None and packet[2] & 0x78 == 0:  # opcode QUERY
            assert parsed.question or parsed.rcode() != dns.rcode.NOERROR


@settings_
@given(queries(), st.data())
def test_truncated_and_mutated_queries(
    responder: Responder, packet: bytes, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(packet)))
    ask_both(responder, packet[:cut])
    mutated = bytearray(packet)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    ask_both(responder, bytes(mutated))
    ask_both(responder, packet + data.draw(st.binary(min_size=1, max_size=20)))


def header(qdcount: int = 1, arcount: int = 0) -> bytes:
    return struct.pack("!HHHHHH", 0xBEEF, 0x0100, qdcount, 0, 0, arcount)


def rcode_of(response: bytes | None) -> int:
    assert response is not None
    return response[3] & 0x0F


def test_compression_loops_get_formerr(responder: Responder) -> None:
    loops = [
        header() + b"\xc0\x0c" + b"\x00\x01\x00\x01",  # points at itself
        header() + b"\x03abc\xc0\x0c" + b"\x00\x01\x00\x01",  # points back at its start
        header() + b"\xc0\x0e\xc0\x0c" + b"\x00\x01\x00\x01",  # two pointers in a ring
        header() + b"\xc0\xff" + b"\x00\x01\x00\x01",  # points past the end
    ]
    for packet in loops:
        assert rcode_of(responder.udp(packet)) == dns.rcode.FORMERR
        assert rcode_of(responder.tcp(packet)) == dns.rcode.FORMERR


QUESTION = b"\x02ms\x01p\x07example\x03net\x00\x00\x01\x00\x01"  # ms.p.example.net A


@pytest.mark.parametrize(
    ("opt", "rcode"),
    [
        (b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x05", dns.rcode.FORMERR),  # rdlen past end
        (b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x08", dns.rcode.FORMERR),
        (b"\x00\x00\x29\x04\xd0\x00\x05\x00\x00\x00\x00", dns.rcode.BADVERS),  # version 5
        (b"\x00\x00\x29\x00\x00\x00\x00\x00\x00\x00\x00", dns.rcode.NXDOMAIN),  # payload 0
        (b"\x01a\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", dns.rcode.FORMERR),  # not root
        (
            b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00" * 2,  # two OPT records
            dns.rcode.FORMERR,
        ),
    ],
)
def test_bad_edns(responder: Responder, opt: bytes, rcode: int) -> None:
    arcount = 2 if opt.count(b"\x00\x29") == 2 else 1
    packet = header(arcount=arcount) + QUESTION + opt
    for response in (responder.udp(packet), responder.tcp(packet)):
        parsed = check(packet, response)
        assert parsed is not None
        assert parsed.rcode() == rcode


def test_responses_are_never_answered(responder: Responder) -> None:
    query = dns.message.make_query("ms1.p.example.net", "A")
    response = dns.message.make_response(query).to_wire()
    assert responder.udp(response) is None


def test_the_server_keeps_answering_after_a_storm(demo_file_database: Database) -> None:
    import random

    running = start_dns(demo_file_database)
    rng = random.Random(1)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(2000):
                size = rng.randrange(0, 700)
                sock.sendto(rng.randbytes(size), (running.host, running.port))
            for _ in range(20):  # garbage over TCP too, each on its own connection
                with socket.create_connection((running.host, running.port), timeout=5) as tcp:
                    blob = rng.randbytes(rng.randrange(0, 300))
                    tcp.sendall(struct.pack("!H", len(blob)) + blob)
        # a flood may overflow the socket's buffer (that is loss, not a crash): ask again
        response = None
        for _ in range(10):
            try:
                response = dns.query.udp(
                    dns.message.make_query("_sip._udp.us-east.p.example.net", "SRV"),
                    running.host,
                    port=running.port,
                    timeout=1,
                )
                break
            except dns.exception.Timeout:
                continue
        assert response is not None and len(response.answer[0]) == 3
        assert running.query("ms1.p.example.net", "A", tcp=True).answer
    finally:
        stop_dns(running)


def test_every_type_of_a_real_name(responder: Responder) -> None:
    for rdtype in range(1, 256):
        query = dns.message.make_query("us-east.p.example.net", rdtype)
        parsed = check(query.to_wire(), responder.udp(query.to_wire()))
        assert parsed is not None
        if rdtype == dns.rdatatype.NAPTR or rdtype == dns.rdatatype.ANY:
            assert parsed.answer
