"""The front door (`provisioner.web.front_door`) on a real socket: keep-alive, pipelining,
HEAD, 304, identical refusals, oversized and slow request heads, and the hand-over of
everything else to uvicorn on the same connection."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import uvicorn

from provisioner.storage.database import Database
from provisioner.web.app import create_app
from provisioner.web.digest import authorization_header
from provisioner.web.front_door import Limits, front_door
from provisioner.web.phones import PhoneOptions
from tests.web.support import REALM, YEALINK, YEALINK_AGENT, nonce_of

pytestmark = pytest.mark.anyio

PATH = f"/{YEALINK}.cfg"
LIMITS = Limits(max_head=4096, head_timeout=0.5, write_timeout=2.0, max_buffer=8192)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def shape(self) -> tuple:
        """Everything but the nonce and the date, which differ from one answer to the next."""
        headers = [
            (name, value.replace(nonce_of(value), "N") if name == "www-authenticate" else value)
            for name, value in self.headers
            if name != "date"
        ]
        return self.status, headers, self.body


@asynccontextmanager
async def serving(database: Database, keep_alive: float = 5.0) -> AsyncIterator[int]:
    """`provisioner serve`'s HTTP side in this loop: uvicorn with the front door."""
    app = create_app(database, PhoneOptions(change_poll_interval=3600))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    config = uvicorn.Config(
        app,
        http=front_door(app.phones, LIMITS),  # type: ignore[arg-type]
        proxy_headers=False,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=int(keep_alive) if keep_alive >= 1 else 1,
    )
    config.timeout_keep_alive = keep_alive  # type: ignore[assignment]
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), task.result()
            await asyncio.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def read_reply(reader: asyncio.StreamReader, head_only: bool = False) -> Reply:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    ]
    length = int(dict(headers).get("content-length", "0"))
    if head_only or status == 304:
        length = 0
    body = await asyncio.wait_for(reader.readexactly(length), 5)
    return Reply(status, headers, body)


def get(path: str, *headers: str, method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: prov.test", f"User-Agent: {YEALINK_AGENT}"]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


def digest(nonce: str, user: str = YEALINK, password: str = f"demo-{YEALINK}", method: str = "GET"):  # type: ignore[no-untyped-def]
    header = authorization_header(user, password, REALM, nonce, PATH, method=method)
    return f"Authorization: {header}"


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(1), 5) == b""


async def test_keep_alive_challenge_then_file_then_304_on_one_connection(
    demo_database: Database,
) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(get(PATH))
        challenge = await read_reply(reader)
        assert challenge.status == 401
        nonce = nonce_of(challenge.header("www-authenticate") or "")
        writer.write(get(PATH, digest(nonce)))
        first = await read_reply(reader)  # uncached: answered after the device lookup
        assert first.status == 200
        assert b"dental-1001-secret" in first.body
        assert first.header("cache-control") == "no-store"
        assert first.header("date")
        etag = first.header("etag")
        writer.write(get(PATH, digest(nonce)))
        again = await read_reply(reader)  # cached
        assert (again.status, again.body, again.header("etag")) == (200, first.body, etag)
        writer.write(get(PATH, digest(nonce), f"If-None-Match: {etag}"))
        unchanged = await read_reply(reader)
        assert unchanged.status == 304
        assert unchanged.header("etag") == etag
        assert unchanged.body == b""
        writer.close()


async def test_pipelined_requests_are_answered_in_order(demo_database: Database) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(get(PATH))
        nonce = nonce_of((await read_reply(reader)).header("www-authenticate") or "")
        # an uncached fetch first (it waits for the database), then cached ones, a HEAD,
        # a refusal, a public file and a path that goes to uvicorn, all in one write
        writer.write(
            get(PATH, digest(nonce))
            + get(PATH, digest(nonce))
            + get(PATH, digest(nonce, method="HEAD"), method="HEAD")
            + get(PATH, digest(nonce, password="wrong"))
            + get("/y000000000000.boot")
            + get("/healthz")
        )
        replies = [
            await read_reply(reader),
            await read_reply(reader),
            await read_reply(reader, head_only=True),
            await read_reply(reader),
            await read_reply(reader),
            await read_reply(reader),
        ]
        assert [reply.status for reply in replies] == [200, 200, 200, 401, 200, 200]
        assert replies[0].body == replies[1].body
        assert replies[4].body != replies[0].body
        assert b'"status":"ok"' in replies[5].body
        writer.close()


async def test_head_has_the_headers_of_get_and_no_body(demo_database: Database) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(get(PATH))
        nonce = nonce_of((await read_reply(reader)).header("www-authenticate") or "")
        writer.write(get(PATH, digest(nonce)))
        full = await read_reply(reader)
        writer.write(get(PATH, digest(nonce, method="HEAD"), method="HEAD"))
        head = await read_reply(reader, head_only=True)
        assert head.shape()[:2] == full.shape()[:2]
        assert head.header("content-length") == str(len(full.body))
        # nothing follows the head: the next answer starts right after it
        writer.write(get(PATH, digest(nonce)))
        assert (await read_reply(reader)).body == full.body
        writer.close()


async def test_unknown_mac_and_wrong_password_get_the_same_401(demo_database: Database) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(get(PATH))
        nonce = nonce_of((await read_reply(reader)).header("www-authenticate") or "")
        unknown = "/02ffffffffff.cfg"
        header = authorization_header("02ffffffffff", "x", REALM, nonce, unknown)
        replies = []
        for request in (
            get(PATH, digest(nonce, password="wrong")),  # device cached or not: the same
            get(unknown, f"Authorization: {header}"),
            get(PATH, digest(nonce, password="wrong")),
            get(unknown, f"Authorization: {header}"),
        ):
            writer.write(request)
            replies.append(await read_reply(reader))
        assert {reply.status for reply in replies} == {401}
        assert len({repr(reply.shape()) for reply in replies}) == 1
        assert len({len(reply.body) for reply in replies}) == 1
        writer.close()


async def test_an_oversized_head_gets_431_and_the_connection_closes(
    demo_database: Database,
) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(get(PATH, "X-Padding: " + "a" * LIMITS.max_head))
        reply = await read_reply(reader)
        assert reply.status == 431
        assert reply.header("connection") == "close"
        assert await closed(reader)
        # a head that never ends is cut off as soon as it is too long
        reader, writer = await connect(port)
        writer.write(b"GET " + b"/a" * LIMITS.max_head)
        assert (await read_reply(reader)).status == 431
        assert await closed(reader)


async def test_a_slow_head_gets_408_and_an_idle_connection_closes(
    demo_database: Database,
) -> None:
    async with serving(demo_database, keep_alive=0.3) as port:
        reader, writer = await connect(port)
        writer.write(b"GET /y000000000000.boot HTTP/1.1\r\nHost: prov")  # and nothing more
        reply = await read_reply(reader)
        assert reply.status == 408
        assert await closed(reader)
        reader, writer = await connect(port)
        writer.write(get("/y000000000000.boot"))
        assert (await read_reply(reader)).status == 200
        assert await closed(reader)  # idle past the keep-alive timeout


async def test_malformed_requests_get_400(demo_database: Database) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(b"GET /y000000000000.boot HTTP/1.1\r\nBad Header\r\n\r\n")
        assert (await read_reply(reader)).status == 400
        assert await closed(reader)


async def test_other_methods_bodies_and_paths_go_to_uvicorn_on_the_same_connection(
    demo_database: Database,
) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(get("/y000000000000.boot"))
        assert (await read_reply(reader)).status == 200
        writer.write(get(PATH, method="DELETE"))
        refused = await read_reply(reader)
        assert refused.status == 405
        writer.write(get("/healthz"))
        assert (await read_reply(reader)).status == 200
        writer.close()
        # a GET with a body is uvicorn's too, and the connection goes on
        reader, writer = await connect(port)
        writer.write(get("/y000000000000.boot", "Content-Length: 3")[:-2] + b"\r\nabc")
        assert (await read_reply(reader)).status == 200
        writer.write(get("/healthz"))
        assert (await read_reply(reader)).status == 200
        writer.close()


async def test_the_connection_closes_when_the_client_asks(demo_database: Database) -> None:
    async with serving(demo_database) as port:
        reader, writer = await connect(port)
        writer.write(get("/y000000000000.boot", "Connection: close"))
        reply = await read_reply(reader)
        assert (reply.status, reply.header("connection")) == (200, "close")
        assert await closed(reader)
        # HTTP/1.0 keeps the connection only when it says so
        reader, writer = await connect(port)
        writer.write(b"GET /y000000000000.boot HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        reply = await read_reply(reader)
        assert (reply.status, reply.header("connection")) == (200, "keep-alive")
        writer.write(b"GET /y000000000000.boot HTTP/1.0\r\n\r\n")
        assert (await read_reply(reader)).header("connection") == "close"
        assert await closed(reader)


async def test_a_client_that_does_not_read_is_cut_off(demo_database: Database) -> None:
    async with serving(demo_database) as port:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        request = get("/y000000000000.boot") * 64
        with contextlib.suppress(TimeoutError):
            for _ in range(20_000):  # pipelined, answers never read: the server stops reading
                await asyncio.wait_for(loop.sock_sendall(sock, request), 0.5)
        # ... and after write_timeout drops the connection
        deadline = loop.time() + LIMITS.write_timeout + 10
        with pytest.raises((ConnectionError, OSError)):
            while loop.time() < deadline:
                with contextlib.suppress(BlockingIOError):
                    sock.send(b"x")
                await asyncio.sleep(0.1)
        sock.close()
