"""The HTTP front door of `provisioner serve`: a small HTTP/1.1 server (an asyncio protocol
on httptools) that answers the phones' GET and HEAD requests itself and hands every
other connection to uvicorn.

Phones are most of the traffic, and uvicorn spends more on a request (scope, ASGI
messages, tasks) than the phones' whole warm answer costs. Here a phone's request goes
straight to `PhoneFiles.decide` — the same flow the ASGI route runs, nothing decided
twice — and a warm answer is written from bytes prepared once per file. A request that
needs the database (an uncached device, the estate snapshot) waits in a task for
`PhoneFiles.answer`, still on this connection.

Anything else — another method, a body, an upgrade, a path no vendor serves (API, UI,
/healthz) — hands the connection over: uvicorn's own protocol gets the transport and the
bytes not yet answered, and keeps the connection to its end.

Limits: a request head is at most `max_head` bytes (431, then close) and must arrive
within `head_timeout` seconds of its first byte (408, then close); an idle keep-alive
connection closes after uvicorn's `timeout_keep_alive`; a client that stops reading
answers is cut off after `write_timeout`. Pipelined requests are answered in order;
reading pauses while `max_buffer` bytes of them wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from provisioner.web import answers
from provisioner.web.answers import Answer
from provisioner.web.digest import parse_authorization
from provisioner.web.identify import Identified
from provisioner.web.phone_request import PhoneRequest, split_target, wanted_headers
from provisioner.web.phones import Needs, PhoneFiles, Upload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_head: int = 16 * 1024  # bytes of request line and headers (h11's default)
    head_timeout: float = 10.0  # seconds from a head's first byte to its end
    write_timeout: float = 30.0  # seconds a client may leave answers unread
    max_buffer: int = 64 * 1024  # pipelined bytes kept before reading pauses


def front_door(phones: PhoneFiles, limits: Limits | None = None) -> Callable[..., PhoneProtocol]:
    """What uvicorn's ``Config(http=...)`` takes: a protocol per connection."""
    chosen = limits or Limits()

    def create(
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> PhoneProtocol:
        return PhoneProtocol(phones, chosen, config, server_state, app_state)

    return create


_date_second = 0
_date_line = b""


def date_line() -> bytes:
    """``date: ...\\r\\n``, formatted once a second."""
    global _date_second, _date_line
    now = int(time.time())
    if now != _date_second:
        _date_second = now
        _date_line = b"date: %s\r\n" % email.utils.formatdate(now, usegmt=True).encode()
    return _date_line


class _Head:
    """httptools' callbacks: what one request head said."""

    __slots__ = ("complete", "headers", "http10", "keep_alive", "method", "parser", "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False
        self.keep_alive = True
        self.http10 = False
        self.method = b""
        self.parser = httptools.HttpRequestParser(self)

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        # read here: once the message is complete the parser is ready for the next one
        self.method = self.parser.get_method()
        self.keep_alive = self.parser.should_keep_alive()
        self.http10 = self.parser.get_http_version() == "1.0"

    def on_message_complete(self) -> None:
        self.complete = True


class PhoneProtocol(asyncio.Protocol):
    def __init__(
        self,
        phones: PhoneFiles,
        limits: Limits,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
    ) -> None:
        self.phones = phones
        self.limits = limits
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.loop = asyncio.get_running_loop()
        self.keep_alive_timeout = float(config.timeout_keep_alive)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.scheme = "http"
        self.head = _Head()  # one parser per connection: it reads request after request
        self.buffer = bytearray()
        self.scanned = 0  # bytes of `buffer` already searched for the end of a head
        self.busy = False  # an answer is being prepared in a task
        self.closing = False
        self.write_paused = False
        self.read_paused = False
        self.paused_at = 0.0
        self.head_started = 0.0
        self.last_activity = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.server_state.connections.add(self)  # type: ignore[arg-type]
        self.client = _address(transport.get_extra_info("peername"))
        self.server = _address(transport.get_extra_info("sockname"))
        if transport.get_extra_info("sslcontext") is not None:
            self.scheme = "https"
        self.last_activity = self.head_started = self.loop.time()
        self._arm(self._deadline())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)  # type: ignore[arg-type]
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def data_received(self, data: bytes) -> None:
        if not self.buffer:
            self.head_started = self.loop.time()
            deadline = self.head_started + self.limits.head_timeout
            if deadline < self.timer_at:
                self._arm(deadline)
        self.buffer += data
        if self.busy or self.write_paused:
            if len(self.buffer) > self.limits.max_buffer and not self.read_paused:
                self.read_paused = True
                self.transport.pause_reading()
            return
        self._serve()

    def eof_received(self) -> bool | None:
        return None  # the transport closes; an answer being prepared is not sent

    def pause_writing(self) -> None:
        self.write_paused = True
        self.paused_at = self.loop.time()
        if self.paused_at + self.limits.write_timeout < self.timer_at:
            self._arm(self.paused_at + self.limits.write_timeout)

    def resume_writing(self) -> None:
        self.write_paused = False
        if not self.busy and not self.closing:
            self._serve()

    def shutdown(self) -> None:
        """The server stops (uvicorn calls this): finish the answer in hand, then close."""
        self.closing = True
        if not self.busy:
            self.transport.close()

    # --- requests ---

    def _serve(self) -> None:
        """Answer the complete heads in the buffer, in order, until one must wait."""
        limits = self.limits
        while not (self.busy or self.closing or self.write_paused):
            buffer = self.buffer
            if buffer[:2] == b"\r\n":  # blank lines between requests are allowed
                del buffer[:2]
                self.scanned = 0
                continue
            end = buffer.find(b"\r\n\r\n", max(0, self.scanned - 3))
            if end < 0 or end + 4 > limits.max_head:
                if len(buffer) > limits.max_head or end >= 0:
                    self._refuse(answers.HEAD_TOO_LARGE)
                    return
                self.scanned = len(buffer)
                break
            size = end + 4
            head = self.head
            try:
                head.parser.feed_data(buffer if size == len(buffer) else buffer[:size])
            except httptools.HttpParserUpgrade:
                self._hand_over()
                return
            except httptools.HttpParserError:
                self._refuse(answers.BAD_REQUEST)
                return
            method = head.method
            if not head.complete or method not in (b"GET", b"HEAD"):
                self._hand_over()  # a body, or not a phone's fetch: uvicorn's
                return
            target, path = split_target(head.url)
            headers = wanted_headers(head.headers)
            identified = self.phones.identify(path, "GET", headers.get(b"user-agent"))
            if identified is None:
                self._hand_over()
                return
            del buffer[:size]
            self.scanned = 0
            if buffer:
                self.head_started = self.loop.time()
            keep_alive, http10 = head.keep_alive, head.http10
            request = PhoneRequest(
                method.decode(),
                path,
                target,
                headers,
                head.headers,
                self.client,
                self.server,
                self.scheme,
                parse_authorization(headers.get(b"authorization")),
            )
            decided: Answer | Needs | Upload | None = None
            if self.phones.started:
                try:
                    decided = self.phones.decide(request, identified)
                except Exception:
                    log.exception("cannot answer %s", path)
                    decided, keep_alive = answers.INTERNAL_ERROR, False
            if isinstance(decided, Answer):
                self._write(decided, method == b"HEAD", keep_alive, http10)
            else:
                self.busy = True
                task = self.loop.create_task(
                    self._answer_later(
                        request,
                        identified,
                        decided if isinstance(decided, Needs) else None,
                        keep_alive,
                        http10,
                    )
                )
                self.server_state.tasks.add(task)
                task.add_done_callback(self.server_state.tasks.discard)
        if self.read_paused and len(self.buffer) <= limits.max_buffer and not self.closing:
            self.read_paused = False
            self.transport.resume_reading()

    async def _answer_later(
        self,
        request: PhoneRequest,
        identified: Identified,
        decided: Needs | None,
        keep_alive: bool,
        http10: bool,
    ) -> None:
        try:
            answer = await self.phones.answer(request, identified, decided=decided)
        except Exception:
            log.exception("cannot answer %s", request.path)
            answer, keep_alive = answers.INTERNAL_ERROR, False
        self.busy = False
        if self.transport.is_closing():
            return
        self._write(answer, request.method == "HEAD", keep_alive and not self.closing, http10)
        if not self.closing:
            self._serve()

    def _write(self, answer: Answer, head_only: bool, keep_alive: bool, http10: bool) -> None:
        if not keep_alive:
            connection = b"connection: close\r\n"
        elif http10:
            connection = b"connection: keep-alive\r\n"
        else:
            connection = b""
        body = b"" if head_only else answer.body
        self.transport.write(b"".join((answer.head, date_line(), connection, b"\r\n", body)))
        self.last_activity = self.loop.time()
        if not keep_alive:
            self.closing = True
            self.transport.close()

    def _refuse(self, answer: Answer) -> None:
        """A request we will not read: answer it and close the connection."""
        self._write(answer, False, False, False)

    def _hand_over(self) -> None:
        """uvicorn's protocol takes the connection from the request at the buffer's start."""
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.server_state.connections.discard(self)  # type: ignore[arg-type]
        if self.read_paused:
            self.transport.resume_reading()
        successor = HttpToolsProtocol(
            config=self.config, server_state=self.server_state, app_state=self.app_state
        )
        successor.connection_made(self.transport)
        self.transport.set_protocol(successor)
        if self.write_paused:
            successor.pause_writing()
        pending, self.buffer = bytes(self.buffer), bytearray()
        successor.data_received(pending)

    # --- timeouts ---

    def _deadline(self) -> float:
        if self.busy:
            return self.loop.time() + self.keep_alive_timeout
        if self.write_paused:
            return self.paused_at + self.limits.write_timeout
        if self.buffer:
            return self.head_started + self.limits.head_timeout
        return self.last_activity + self.keep_alive_timeout

    def _arm(self, when: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer_at = when
        self.timer = self.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self.timer = None
        if self.closing:
            return
        deadline = self._deadline()
        if deadline > self.loop.time():
            self._arm(deadline)
        elif self.write_paused:
            self.transport.abort()  # it does not read: drop what it did not take
        elif self.buffer:
            self._refuse(answers.TIMEOUT)
        else:
            self.closing = True
            self.transport.close()


def _address(value: object) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return None
