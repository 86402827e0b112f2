"""The embedded authoritative DNS server: UDP and TCP on one address, on asyncio.

It answers from prepared data through a `Responder` and never touches the database.

TCP clients are bounded (`TcpLimits`): each connection must send a whole query within
`query_seconds` of its length, the next query within `idle_seconds`, and must read our
answers within `write_seconds`. At most `connections` are open at once, at most
`per_address` from one address and `per_network` from one network (a /24, or an IPv6
/56). A new connection is never simply refused: when a bound is reached, the connection
that has waited longest on its client — idle ones first — is closed to make room, taken
from the same address (or network) when that is the bound reached, otherwise from the
network holding the most. So one client holding all it may hold only churns its own
connections, and a full server still takes a newcomer (RFC 7766, 6.2.3: a server under
pressure may close idle connections).

UDP responses go through the response rate limit when there is one
(`provisioner.dns.ratelimit`). Zone transfers (AXFR, IXFR) over TCP go to the
`transfers` handler when there is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from provisioner.dns.ratelimit import (
    ResponseRateLimit,
    Verdict,
    client_network,
    plain_address,
    truncated,
)
from provisioner.dns.responder import Responder
from provisioner.domain.errors import ProvisionerError

log = logging.getLogger(__name__)

UDP_RECEIVE_BUFFER = 4 * 1024 * 1024
UDP_BATCH = 256  # datagrams answered per wake-up before other work gets a turn
UDP_MAX_QUERY = 4096  # larger datagrams are cut, then answered FORMERR or dropped


class Transfers(Protocol):
    def wants(self, packet: bytes) -> bool:
        """Whether `packet` is a zone transfer request (AXFR, IXFR)."""

    def messages(self, packet: bytes, peer: str) -> AsyncIterator[bytes]:
        """The response messages to a transfer request from `peer`."""


@dataclass(frozen=True)
class TcpLimits:
    connections: int = 256  # open at once, in all
    per_address: int = 16  # from one client address
    per_network: int = 64  # from one /24 (IPv6: /56)
    idle_seconds: float = 10.0  # for the next query to begin
    query_seconds: float = 5.0  # for the rest of a query, once its length has come
    write_seconds: float = 10.0  # for the client to read each answer


class _Connection:
    """One TCP client: who it is and what it has been waiting for since when."""

    __slots__ = ("address", "idle", "network", "since", "transport")

    def __init__(self, address: str, transport: asyncio.WriteTransport) -> None:
        self.address = address
        self.network = client_network(address)
        self.transport = transport
        self.idle = True  # waiting for a query to begin (not for one's rest, nor a read)
        self.since = time.monotonic()

    def waiting(self, idle: bool) -> None:
        self.idle = idle
        self.since = time.monotonic()


class _UdpReader:
    """Answers UDP straight off the socket: on each readiness event it drains up to
    `UDP_BATCH` datagrams with non-blocking recvfrom/sendto, then yields to the loop.
    A quarter of the cost per query of an asyncio datagram transport, which matters here:
    answering is a dictionary lookup, the rest is I/O."""

    def __init__(
        self, sock: socket.socket, responder: Responder, limit: ResponseRateLimit | None
    ) -> None:
        self.sock = sock
        self.responder = responder
        self.limit = limit

    def drain(self) -> None:
        receive, send, respond = self.sock.recvfrom, self.sock.sendto, self.responder.udp
        limit = self.limit
        for _ in range(UDP_BATCH):
            try:
                data, peer = receive(UDP_MAX_QUERY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. ICMP unreachable reported for an earlier send
                log.debug("UDP: %s", error)
                continue
            try:
                response = respond(data)
            except Exception:  # never let one packet stop the server
                log.exception("UDP query from %s could not be answered", peer[0])
                continue
            if response is not None:
                if limit is not None:
                    verdict = limit.check(peer[0], response)
                    if verdict is Verdict.DROP:
                        continue
                    if verdict is Verdict.SLIP:
                        response = truncated(response)
                try:
                    send(response, peer)
                except OSError as error:  # a full send buffer: the client will ask again
                    log.debug("UDP to %s: %s", peer[0], error)


def _socket(host: str, port: int, kind: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    if kind == socket.SOCK_STREAM:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    else:  # room for bursts (the kernel caps it at net.core.rmem_max)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind_dns(host: str, port: int, option: str = "--dns") -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same address and port (port 0: a free one)."""
    for _attempt in range(20):
        try:
            udp = _socket(host, port, socket.SOCK_DGRAM)
        except OSError as error:
            raise ProvisionerError(f"{option} {host}:{port}: {error.strerror}") from None
        bound = udp.getsockname()[1]
        try:
            tcp = _socket(host, bound, socket.SOCK_STREAM)
        except OSError as error:
            udp.close()
            if port == 0:
                continue  # the free UDP port is taken on TCP: try another
            raise ProvisionerError(f"{option} {host}:{port} (TCP): {error.strerror}") from None
        tcp.listen(1024)
        return udp, tcp
    raise ProvisionerError(f"{option} {host}:{port}: no port free on both UDP and TCP")


class DnsServer:
    """Serves `responder` on a UDP and a TCP socket until `close()`."""

    def __init__(
        self,
        responder: Responder,
        transfers: Transfers | None = None,
        limits: TcpLimits | None = None,
        rate_limit: ResponseRateLimit | None = None,
    ) -> None:
        self.responder = responder
        self.transfers = transfers
        self.limits = limits or TcpLimits()
        self.rate_limit = rate_limit
        self.host = ""
        self.port = 0
        self._udp_socket: socket.socket | None = None
        self._tcp_server: asyncio.base_events.Server | None = None
        self._connections: dict[asyncio.Task[None], _Connection] = {}
        self._per_address: Counter[str] = Counter()
        self._per_network: Counter[str] = Counter()

    async def start(self, host: str, port: int, option: str = "--dns") -> None:
        udp, tcp = bind_dns(host, port, option)
        self.host, self.port = host, udp.getsockname()[1]
        loop = asyncio.get_running_loop()
        self._udp_socket = udp
        loop.add_reader(udp, _UdpReader(udp, self.responder, self.rate_limit).drain)
        self._tcp_server = await asyncio.start_server(self._serve_tcp, sock=tcp)

    async def close(self) -> None:
        if self._udp_socket is not None:
            asyncio.get_running_loop().remove_reader(self._udp_socket)
            self._udp_socket.close()
            self._udp_socket = None
        if self._tcp_server is not None:
            self._tcp_server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._tcp_server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp_server.wait_closed(), 1)

    @property
    def tcp_clients(self) -> int:
        return len(self._connections)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        connection = _Connection(plain_address(peer[0]) if peer else "?", writer.transport)
        self._make_room(connection)
        self._connections[task] = connection
        self._per_address[connection.address] += 1
        self._per_network[connection.network] += 1
        try:
            await self._queries(reader, writer, connection)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("TCP client %s", connection.address)
        finally:
            self._release(task)
            writer.transport.abort()

    def _make_room(self, new: _Connection) -> None:
        """Close one connection if `new` would pass a bound (see the module's text)."""
        limits = self.limits
        if self._per_address[new.address] >= limits.per_address:
            self._evict(lambda c: c.address == new.address)
        elif self._per_network[new.network] >= limits.per_network:
            self._evict(lambda c: c.network == new.network)
        elif len(self._connections) >= limits.connections:
            self._evict(lambda c: True)

    def _evict(self, among: Callable[[_Connection], bool]) -> None:
        per_network, per_address = self._per_network, self._per_address
        candidates = [(t, c) for t, c in self._connections.items() if among(c)]
        if not candidates:
            return
        task, victim = max(
            candidates,
            key=lambda tc: (
                tc[1].idle,
                per_network[tc[1].network],
                per_address[tc[1].address],
                -tc[1].since,
            ),
        )
        log.debug("TCP: closing a connection of %s to make room", victim.address)
        self._release(task)
        victim.transport.abort()

    def _release(self, task: asyncio.Task[None]) -> None:
        connection = self._connections.pop(task, None)
        if connection is None:  # released already (closed to make room)
            return
        for counter, key in (
            (self._per_address, connection.address),
            (self._per_network, connection.network),
        ):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    async def _queries(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: _Connection
    ) -> None:
        limits = self.limits
        peer = connection.address
        while True:
            connection.waiting(idle=True)
            prefix = await asyncio.wait_for(reader.readexactly(2), limits.idle_seconds)
            (length,) = struct.unpack("!H", prefix)
            if length == 0:
                return
            connection.waiting(idle=False)
            packet = await asyncio.wait_for(reader.readexactly(length), limits.query_seconds)
            if self.transfers is not None and self.transfers.wants(packet):
                async for message in self.transfers.messages(packet, peer):
                    writer.write(struct.pack("!H", len(message)) + message)
                    connection.waiting(idle=False)
                    await asyncio.wait_for(writer.drain(), limits.write_seconds)
                continue
            response = self.responder.tcp(packet)
            if response is None:
                return
            writer.write(struct.pack("!H", len(response)) + response)
            connection.waiting(idle=False)
            await asyncio.wait_for(writer.drain(), limits.write_seconds)
