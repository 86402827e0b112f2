"""The front door's limits hold after a connection is handed to uvicorn too: slow and
oversized heads and bodies, connection counts in all and per address, clients that stop
reading, and the Host header RFC 9112 requires."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from provisioner.service import within_descriptor_limit
from provisioner.storage.database import Database
from provisioner.web.app import create_app
from provisioner.web.front_door import Limits, front_door
from provisioner.web.phones import PhoneOptions
from tests.web.test_front_door import closed, connect, get, read_reply

pytestmark = pytest.mark.anyio

LIMITS = Limits(
    max_head=4096,
    head_timeout=0.5,
    write_timeout=1.0,
    max_buffer=8192,
    max_body=10_000,
    body_timeout=0.5,
    max_connections=6,
)


class Served:
    def __init__(self, port: int, door: Any, seen: list[str]) -> None:
        self.port = port
        self.door = door
        self.seen = seen  # what the /echo route saw: "body" or "disconnect"


@asynccontextmanager
async def serving(database: Database, limits: Limits = LIMITS) -> AsyncIterator[Served]:
    """uvicorn with the front door, and a route that reads its body (as the API's do)."""
    app = create_app(database, PhoneOptions(change_poll_interval=3600))
    seen: list[str] = []

    async def echo(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
        seen.append("body")
        return Response(body)

    async def big(_request: Request) -> Response:
        return Response(b"x" * (8 << 20))

    async def disconnected(request: Request) -> Response:
        message = await request.receive()
        seen.append("disconnect" if message["type"] == "http.disconnect" else "body")
        return Response(b"")

    app.router.routes += [
        Route("/echo", echo, methods=["POST"]),
        Route("/big", big),
        Route("/wait-body", disconnected, methods=["POST"]),
    ]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    door = front_door(app.phones, limits)
    config = uvicorn.Config(
        app,
        http=door,  # type: ignore[arg-type]
        proxy_headers=False,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), task.result()
            await asyncio.sleep(0.01)
        yield Served(sock.getsockname()[1], door, seen)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


def post(path: str, length: int, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: prov.test", f"Content-Length: {length}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def gone(reader: asyncio.StreamReader) -> bool:
    """The server closed the connection (a reset counts: the client wrote after it)."""
    try:
        return await closed(reader)
    except ConnectionError:
        return True


async def trickle(writer: asyncio.StreamWriter, piece: bytes, until: asyncio.Task[Any]) -> None:
    """Send `piece` every 50 ms until `until` is done (or the server is gone)."""
    with contextlib.suppress(ConnectionError):
        for _ in range(200):
            if until.done():
                return
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)


async def handed_over(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that uvicorn holds: it has been answered one request already."""
    reader, writer = await connect(port)
    writer.write(get("/healthz"))
    assert (await read_reply(reader)).status == 200
    return reader, writer


async def test_a_slow_head_after_the_hand_over_gets_408(demo_database: Database) -> None:
    async with serving(demo_database) as served:
        reader, writer = await handed_over(served.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: pro")  # and nothing more
        reply = await read_reply(reader)
        assert reply.status == 408
        assert reply.header("connection") == "close"
        assert await closed(reader)
        # blank lines only, sent now and then, do not keep a connection either
        reader, writer = await handed_over(served.port)
        reply = asyncio.create_task(read_reply(reader))
        await trickle(writer, b"\r\n", reply)
        assert (await reply).status == 408
        assert await gone(reader)


async def test_an_oversized_head_after_the_hand_over_gets_431(demo_database: Database) -> None:
    async with serving(demo_database) as served:
        reader, writer = await handed_over(served.port)
        writer.write(get("/healthz", "X-Padding: " + "a" * LIMITS.max_head))
        assert (await read_reply(reader)).status == 431
        assert await closed(reader)
        # one header that never ends, sent in pieces
        reader, writer = await handed_over(served.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nX-Padding: ")
        reply = asyncio.create_task(read_reply(reader))
        await trickle(writer, b"a" * 512, reply)
        assert (await reply).status == 431
        assert await gone(reader)


async def test_a_slow_body_gets_408_and_the_application_sees_the_client_go(
    demo_database: Database,
) -> None:
    async with serving(demo_database) as served:
        reader, writer = await connect(served.port)
        writer.write(post("/wait-body", 100))  # the body never comes
        reply = await read_reply(reader)
        assert reply.status == 408
        assert b"body" in reply.body
        assert await closed(reader)
        for _ in range(50):
            if served.seen:
                break
            await asyncio.sleep(0.02)
        assert served.seen == ["disconnect"]
        # a body trickled in, a byte at a time, is cut off too (a total, not an idle, time)
        reader, writer = await handed_over(served.port)
        writer.write(post("/echo", 1000))
        reply = asyncio.create_task(read_reply(reader))
        await trickle(writer, b"x", reply)
        assert (await reply).status == 408
        assert await gone(reader)


async def test_a_body_too_large_gets_413(demo_database: Database) -> None:
    async with serving(demo_database) as served:
        reader, writer = await handed_over(served.port)
        writer.write(post("/echo", LIMITS.max_body + 1))
        assert (await read_reply(reader)).status == 413
        assert await closed(reader)
        # a chunked one, cut off as soon as it is too long
        reader, writer = await connect(served.port)
        head = b"POST /echo HTTP/1.1\r\nHost: prov.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        writer.write(head + b"1000\r\n" + b"y" * 0x1000 + b"\r\n")
        writer.write(b"1000\r\n" + b"y" * 0x1000 + b"\r\n")
        writer.write(b"1000\r\n" + b"y" * 0x1000 + b"\r\n")
        assert (await read_reply(reader)).status == 413
        assert await closed(reader)
        # within the limits, a body is read as before
        reader, writer = await handed_over(served.port)
        writer.write(post("/echo", 5) + b"hello")
        reply = await read_reply(reader)
        assert (reply.status, reply.body) == (200, b"hello")


async def test_connections_past_the_limit_get_503_and_closed_ones_are_counted_out(
    demo_database: Database,
) -> None:
    async with serving(demo_database) as served:
        admission = served.door.admission
        held = [await handed_over(served.port) for _ in range(3)]  # uvicorn's now
        held += [await connect(served.port) for _ in range(3)]  # the front door's
        for _ in range(50):
            if admission.total == 6:
                break
            await asyncio.sleep(0.01)
        assert admission.total == LIMITS.max_connections
        reader, writer = await connect(served.port)
        reply = await read_reply(reader)
        assert reply.status == 503
        assert reply.header("retry-after") == "5"
        assert await closed(reader)
        for _reader, held_writer in held:
            held_writer.close()
        for _ in range(100):
            if admission.total == 0:
                break
            await asyncio.sleep(0.01)
        assert admission.total == 0
        reader, writer = await handed_over(served.port)  # served again
        writer.close()


async def test_connections_per_address_are_limited_when_asked(demo_database: Database) -> None:
    limits = Limits(head_timeout=5, max_connections=100, max_connections_per_address=2)
    async with serving(demo_database, limits) as served:
        held = [await handed_over(served.port), await connect(served.port)]
        reader, _writer = await connect(served.port)
        assert (await read_reply(reader)).status == 503
        assert served.door.admission.per_address == {"127.0.0.1": 2}
        for _reader, writer in held:
            writer.close()


async def test_a_client_that_does_not_read_an_apps_answer_is_cut_off(
    demo_database: Database,
) -> None:
    async with serving(demo_database) as served:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", served.port))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(sock, get("/big"))  # 8 MB it never reads
        deadline = loop.time() + LIMITS.write_timeout + 10
        with pytest.raises((ConnectionError, OSError)):
            while loop.time() < deadline:
                with contextlib.suppress(BlockingIOError):
                    sock.send(b"x")
                await asyncio.sleep(0.1)
        sock.close()
        for _ in range(100):
            if served.door.admission.total == 0:
                break
            await asyncio.sleep(0.02)
        assert served.door.admission.total == 0


@pytest.mark.parametrize("path", ["/y000000000000.boot", "/healthz"])
async def test_http11_without_host_or_with_two_gets_400(demo_database: Database, path: str) -> None:
    async with serving(demo_database) as served:
        for request in (
            f"GET {path} HTTP/1.1\r\n\r\n",
            f"GET {path} HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
            f"GET {path} HTTP/1.1\r\nHost: a b\r\n\r\n",
        ):
            reader, writer = await connect(served.port)
            writer.write(request.encode())
            assert (await read_reply(reader)).status == 400, request
            assert await closed(reader)
            # and after the hand-over
            reader, writer = await handed_over(served.port)
            writer.write(request.encode())
            assert (await read_reply(reader)).status == 400, request
            assert await closed(reader)
        # HTTP/1.0 may leave Host out; an empty Host is allowed (RFC 9112 §3.2)
        reader, writer = await connect(served.port)
        writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        assert (await read_reply(reader)).status == 200
        reader, writer = await connect(served.port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost:\r\n\r\n".encode())
        assert (await read_reply(reader)).status == 200


def test_the_connection_limit_stays_below_the_descriptor_limit() -> None:
    resource = pytest.importorskip("resource")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard descriptor limit")
    chosen = within_descriptor_limit(Limits(max_connections=hard * 4))
    assert chosen.max_connections < resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert within_descriptor_limit(Limits(max_connections=10)).max_connections == 10
