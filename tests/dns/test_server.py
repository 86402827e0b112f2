"""The embedded server over real sockets: what it answers, and that it follows changes."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from sqlalchemy import update

from provisioner.dns.server import TcpLimits
from provisioner.storage import models
from provisioner.storage.database import Database
from tests.dns.conftest import RunningDns, start_dns, stop_dns
from tests.dns.helpers import move_media_server

SOA = dns.rdatatype.SOA


def test_answers_with_authority_and_the_asked_records(demo_dns: RunningDns) -> None:
    response = demo_dns.query("_sip._udp.us-east.p.example.net", "SRV")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    [answer] = response.answer
    assert sorted((r.priority, r.target.to_text()) for r in answer) == [
        (10, "ms1.p.example.net."),
        (20, "ms2.p.example.net."),
        (30, "ms3.p.example.net."),
    ]
    additional = {(rrset.name.to_text(), rrset.rdtype) for rrset in response.additional}
    assert additional == {(f"ms{i}.p.example.net.", dns.rdatatype.A) for i in (1, 2, 3)}


def test_naptr_additional_section_carries_srv_and_addresses(demo_dns: RunningDns) -> None:
    response = demo_dns.query("us-west.p.acme.example", "NAPTR", use_edns=0)
    types = {rrset.rdtype for rrset in response.additional}
    assert types == {dns.rdatatype.SRV, dns.rdatatype.A}


def test_nodata_and_empty_non_terminal_are_noerror_with_the_soa(demo_dns: RunningDns) -> None:
    for name, rdtype in (
        ("us-east.p.example.net", "TXT"),
        ("_udp.us-east.p.example.net", "SRV"),
        ("_sip._udp.us-east.p.example.net", "TXT"),
    ):
        response = demo_dns.query(name, rdtype)
        assert response.rcode() == dns.rcode.NOERROR, name
        assert response.flags & dns.flags.AA
        assert not response.answer
        [soa] = response.authority
        assert soa.rdtype == SOA and soa.name.to_text() == "p.example.net."
        assert soa.ttl == 60  # min(SOA TTL, SOA minimum): RFC 2308


def test_nxdomain_with_the_soa_and_refused_outside(demo_dns: RunningDns) -> None:
    response = demo_dns.query("nowhere.us-east.p.example.net", "A")
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.flags & dns.flags.AA
    assert response.authority[0].rdtype == SOA
    assert response.authority[0].name.to_text() == "p.example.net."
    outside = demo_dns.query("www.example.org", "A")
    assert outside.rcode() == dns.rcode.REFUSED
    assert not outside.flags & dns.flags.AA
    assert demo_dns.query("example.net", "SOA").rcode() == dns.rcode.REFUSED


def test_letter_case_of_the_question_comes_back(demo_dns: RunningDns) -> None:
    response = demo_dns.query("Us-EaSt.P.Example.NET", "NAPTR")
    assert response.question[0].name.to_text() == "Us-EaSt.P.Example.NET."
    assert len(response.answer[0]) == 3


def test_edns_is_answered_with_edns_and_bad_versions_with_badvers(demo_dns: RunningDns) -> None:
    response = demo_dns.query("ms1.p.example.net", "A", use_edns=0, payload=4096)
    assert response.edns == 0 and response.payload == 1232
    response = demo_dns.query("ms1.p.example.net", "A", use_edns=1)
    assert response.rcode() == dns.rcode.BADVERS


def test_any_is_answered_minimally(demo_dns: RunningDns) -> None:
    for tcp in (False, True):
        response = demo_dns.query("p.example.net", "ANY", tcp=tcp)
        assert len(response.answer) == 1


def test_garbage_gets_formerr_and_the_server_keeps_answering(demo_dns: RunningDns) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(b"\x12\x34" + b"\x01\x00" + b"\xff" * 30, (demo_dns.host, demo_dns.port))
        reply = sock.recv(2048)
    assert reply[:2] == b"\x12\x34"
    assert reply[3] & 0x0F == dns.rcode.FORMERR
    assert demo_dns.query("ms1.p.example.net", "A").answer


def big_estate(count: int) -> str:
    servers = "\n".join(
        f"      - {{name: media{i:03d}, addresses: [10.0.{i // 250}.{i % 250 + 1}, "
        f"'2001:db8::{i:x}']}}"
        for i in range(count)
    )
    order = ", ".join(f"media{i:03d}" for i in range(count))
    return f"""
clusters:
  - name: big
    kind: private-cloud
    domain: big.example
    media_servers:
{servers}
    zones:
      - name: everywhere
        latitude: 0
        longitude: 0
        media_servers: [{order}]
"""


def test_truncated_over_udp_then_complete_over_tcp(database: Database) -> None:
    from provisioner.estate_files.load import load_estate_file, read_estate_file

    load_estate_file(database, read_estate_file(big_estate(40), "big"))
    running = start_dns(database)
    try:
        name = "_sip._udp.everywhere.big.example"
        udp = running.query(name, "SRV")
        assert udp.flags & dns.flags.TC
        tcp = running.query(name, "SRV", tcp=True)
        assert not tcp.flags & dns.flags.TC
        assert len(tcp.answer[0]) == 40
        assert {rrset.rdtype for rrset in tcp.additional} == {dns.rdatatype.A, dns.rdatatype.AAAA}
        # an answer that fits but whose additional section does not: no TC, fewer extras
        fits = running.query("everywhere.big.example", "NAPTR")
        assert not fits.flags & dns.flags.TC and len(fits.answer[0]) == 3
    finally:
        stop_dns(running)


def wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def addresses(running: RunningDns, name: str) -> list[str]:
    response = running.query(name, "A")
    return [r.address for r in response.answer[0]] if response.answer else []


def soa_serial(running: RunningDns, domain: str) -> int:
    return running.query(domain, "SOA").answer[0][0].serial


def test_a_change_made_by_another_process_is_answered_without_restart(
    demo_dns: RunningDns, demo_database: Database, tmp_path
) -> None:
    before = soa_serial(demo_dns, "p.example.net")
    estate = tmp_path / "move.yaml"
    estate.write_text(
        "clusters:\n  - name: hosted\n    kind: hosted\n    domain: p.example.net\n"
        "    media_servers:\n      - name: ms2\n        addresses: [192.0.2.2]\n"
    )
    subprocess.run(
        [sys.executable, "-m", "provisioner", "--db", demo_database.url, "load", "-q", str(estate)],
        check=True,
    )
    assert wait_for(lambda: addresses(demo_dns, "ms2.p.example.net") == ["192.0.2.2"])
    assert addresses(demo_dns, "ms2.p.acme.example") == ["192.0.2.2"]
    assert soa_serial(demo_dns, "p.example.net") > before


def test_serial_survives_a_restart_and_keeps_rising(demo_database: Database) -> None:
    first = start_dns(demo_database)
    try:
        serial = soa_serial(first, "p.example.net")
    finally:
        stop_dns(first)
    second = start_dns(demo_database)
    try:
        assert soa_serial(second, "p.example.net") == serial
        move_media_server(demo_database, "192.0.2.77")
        assert wait_for(lambda: addresses(second, "ms1.p.example.net") == ["192.0.2.77"])
        assert soa_serial(second, "p.example.net") > serial
    finally:
        stop_dns(second)


def disconnected(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(10) == b""
    except ConnectionResetError:
        return True


def test_slow_tcp_clients_cannot_hold_the_server(demo_database: Database) -> None:
    from provisioner.dns.service import DnsSettings

    running = start_dns(demo_database, DnsSettings(host="127.0.0.1", port=0, poll_seconds=0.05))
    running.service.server.limits = TcpLimits(  # type: ignore[union-attr]
        connections=4, idle_seconds=0.5, query_seconds=0.5
    )
    idle = []
    try:
        for _ in range(8):  # more than the limit, each sending half a length prefix
            sock = socket.create_connection((running.host, running.port), timeout=5)
            sock.sendall(b"\x00")
            idle.append(sock)
        assert running.query("ms1.p.example.net", "A").answer  # UDP unaffected

        def tcp_answers() -> bool:
            try:
                return bool(running.query("ms1.p.example.net", "A", tcp=True).answer)
            except (OSError, EOFError, dns.exception.DNSException):
                return False

        assert wait_for(tcp_answers)  # slots free again once the slow ones time out
        for sock in idle:  # and the slow clients were disconnected
            assert disconnected(sock)
    finally:
        for sock in idle:
            sock.close()
        stop_dns(running)


def test_tcp_answers_several_queries_on_one_connection(demo_dns: RunningDns) -> None:
    with socket.create_connection((demo_dns.host, demo_dns.port), timeout=5) as sock:
        for name in ("ms1.p.example.net", "ms2.p.example.net"):
            wire = dns.message.make_query(name, "A").to_wire()
            sock.sendall(struct.pack("!H", len(wire)) + wire)
            (length,) = struct.unpack("!H", sock.recv(2))
            data = b""
            while len(data) < length:
                data += sock.recv(length - len(data))
            assert dns.message.from_wire(data).answer


@pytest.mark.parametrize("rdtype", ["AXFR", "IXFR"])
def test_transfers_are_refused_over_udp(demo_dns: RunningDns, rdtype: str) -> None:
    assert demo_dns.query("p.example.net", rdtype).rcode() in (
        dns.rcode.REFUSED,
        dns.rcode.NOTIMP,
    )


def break_tls_ports(database: Database, port: int) -> None:
    from sqlalchemy import update

    from provisioner.storage import models

    with database.write("test: TLS ports") as session:
        session.execute(update(models.MediaServer).values(tls_port=port))


def test_an_estate_that_cannot_be_published(demo_database: Database) -> None:
    from provisioner.dns.service import DnsSettings
    from provisioner.domain.errors import EstateErrors

    break_tls_ports(demo_database, 0)
    with pytest.raises(EstateErrors, match="tls port: 0 is out of range"):
        start_dns(demo_database, DnsSettings(port=0, strict=True))
    # not strict (`provisioner serve`): starts with no zones, says why, recovers on a fix
    running = start_dns(demo_database, DnsSettings(port=0, strict=False, poll_seconds=0.05))
    try:
        assert "NO ZONES SERVED" in running.service.describe()
        assert running.query("ms1.p.example.net", "A").rcode() == dns.rcode.REFUSED
        break_tls_ports(demo_database, 5061)
        assert wait_for(lambda: bool(addresses(running, "ms1.p.example.net")))
        assert "NO ZONES SERVED" not in running.service.describe()
    finally:
        stop_dns(running)


def test_a_bad_change_keeps_the_last_good_answers(demo_dns: RunningDns, demo_database) -> None:
    before = soa_serial(demo_dns, "p.example.net")
    break_tls_ports(demo_database, 0)
    # A later change, still broken. (Written past the estate loader, which now refuses to
    # commit an estate DNS cannot publish: the server must still survive one that got in.)
    with demo_database.write("test: move ms1") as session:
        session.execute(
            update(models.MediaServer)
            .where(models.MediaServer.name == "ms1")
            .values(addresses=["192.0.2.201"])
        )
    time.sleep(0.5)  # give the poller time to try (and refuse) both
    assert addresses(demo_dns, "ms1.p.example.net") == ["127.0.0.11"]
    assert soa_serial(demo_dns, "p.example.net") == before
    break_tls_ports(demo_database, 5061)
    assert wait_for(lambda: addresses(demo_dns, "ms1.p.example.net") == ["192.0.2.201"])


def test_the_do_bit_is_copied(demo_dns: RunningDns) -> None:
    for tcp in (False, True):
        for name in ("ms1.p.example.net", "nowhere.p.example.net", "example.org"):
            response = demo_dns.query(name, "A", tcp=tcp, want_dnssec=True)
            assert response.ednsflags & dns.flags.DO, (name, tcp)
            plain = demo_dns.query(name, "A", tcp=tcp, use_edns=0)
            assert not plain.ednsflags & dns.flags.DO


def test_a_slow_listener_does_not_hold_up_later_changes(
    demo_dns: RunningDns, demo_database: Database
) -> None:
    import asyncio

    async def add_stuck_listener() -> None:
        gate = asyncio.Event()  # never set: a secondary that never answers a NOTIFY

        async def stuck(new: object, old: object) -> None:
            await gate.wait()

        assert demo_dns.service.live is not None
        demo_dns.service.live.listeners.append(stuck)

    demo_dns.call(add_stuck_listener())
    move_media_server(demo_database, "192.0.2.31")
    assert wait_for(lambda: addresses(demo_dns, "ms1.p.example.net") == ["192.0.2.31"])
    move_media_server(demo_database, "192.0.2.32")
    assert wait_for(lambda: addresses(demo_dns, "ms1.p.example.net") == ["192.0.2.32"])
