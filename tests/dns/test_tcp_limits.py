"""TCP clients are bounded per address and per network, and one client holding all it may
hold leaves room for everyone else."""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator

import dns.exception
import dns.message
import dns.query
import pytest

from provisioner.dns.server import TcpLimits
from provisioner.dns.service import DnsSettings
from provisioner.storage.database import Database
from tests.dns.conftest import RunningDns, start_dns, stop_dns
from tests.dns.knot import wait_for

NAME = "ms1.p.example.net"


def hold(
    running: RunningDns, source: str, count: int, first_byte: bool = False
) -> list[socket.socket]:
    """`count` connections from `source`, each sending nothing (or half a length prefix)."""
    held = []
    for _ in range(count):
        sock = socket.create_connection(
            (running.host, running.port), timeout=5, source_address=(source, 0)
        )
        if first_byte:
            sock.sendall(b"\x00")
        held.append(sock)
    return held


def tcp_answer(running: RunningDns, source: str) -> dns.message.Message:
    return dns.query.tcp(
        dns.message.make_query(NAME, "A"), running.host, port=running.port, timeout=5, source=source
    )


def answers_over_tcp(running: RunningDns, source: str) -> bool:
    try:
        return bool(tcp_answer(running, source).answer)
    except (OSError, EOFError, dns.exception.DNSException):
        return False


def still_open(sock: socket.socket) -> bool:
    """Whether the server keeps `sock` open (asks it a query and reads the answer)."""
    wire = dns.message.make_query(NAME, "A").to_wire()
    try:
        sock.sendall(struct.pack("!H", len(wire)) + wire)
        return len(sock.recv(2)) == 2
    except OSError:
        return False


@pytest.fixture
def running(demo_database: Database) -> Iterator[RunningDns]:
    server = start_dns(demo_database, DnsSettings(port=0, poll_seconds=0.05))
    yield server
    stop_dns(server)


def test_one_address_holding_many_connections_leaves_room_for_others(
    running: RunningDns,
) -> None:
    held = hold(running, "127.0.0.1", 300)  # more than the server's whole pool
    try:
        assert tcp_answer(running, "127.0.1.1").answer  # another network
        assert tcp_answer(running, "127.0.0.2").answer  # another address, same /24
        # and a client from the busy address itself still gets in (its own idle
        # connections make room), while the address holds no more than its share
        assert tcp_answer(running, "127.0.0.1").answer
        assert sum(still_open(sock) for sock in held) <= TcpLimits().per_address
    finally:
        for sock in held:
            sock.close()


def test_a_network_is_bounded_as_a_whole(demo_database: Database) -> None:
    limits = TcpLimits(connections=64, per_address=4, per_network=8)
    running = start_dns(demo_database, DnsSettings(port=0, poll_seconds=0.05, tcp=limits))
    held: list[socket.socket] = []
    try:
        for host in range(1, 6):  # five addresses of one /24, four connections each
            held += hold(running, f"127.0.5.{host}", 4)
        assert tcp_answer(running, "127.0.6.1").answer
        assert wait_for(lambda: sum(still_open(sock) for sock in held) <= 8)
    finally:
        for sock in held:
            sock.close()
        stop_dns(running)


def test_a_full_server_still_takes_a_new_client(demo_database: Database) -> None:
    """Every slot taken, by many networks within their shares: a newcomer replaces the
    connection that has waited longest on its client, from the network holding the most."""
    limits = TcpLimits(connections=12, per_address=2, per_network=4)
    running = start_dns(demo_database, DnsSettings(port=0, poll_seconds=0.05, tcp=limits))
    held: list[socket.socket] = []
    try:
        for network in range(1, 4):  # three networks, two addresses each, two connections each
            for host in (1, 2):
                held += hold(running, f"127.0.{network}.{host}", 2, first_byte=True)
        for network in range(1, 5):
            assert answers_over_tcp(running, f"127.0.{10 + network}.1")
    finally:
        for sock in held:
            sock.close()
        stop_dns(running)


def test_idle_connections_are_closed(demo_database: Database) -> None:
    limits = TcpLimits(idle_seconds=0.2, query_seconds=0.2)
    running = start_dns(demo_database, DnsSettings(port=0, poll_seconds=0.05, tcp=limits))
    held: list[socket.socket] = []
    try:
        held = hold(running, "127.0.0.1", 2) + hold(running, "127.0.0.1", 2, first_byte=True)
        for sock in held:
            sock.settimeout(5)
            with contextlib.suppress(ConnectionResetError):  # closed, one way or the other
                assert sock.recv(10) == b""
    finally:
        for sock in held:
            sock.close()
        stop_dns(running)
