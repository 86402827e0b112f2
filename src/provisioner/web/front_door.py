"""The HTTP front door of `provisioner serve`: a small HTTP/1.1 server (an asyncio protocol
on httptools) that answers the phones' GET and HEAD requests itself and hands every
other connection to uvicorn.

Phones are most of the traffic, and uvicorn spends more on a request (scope, ASGI
messages, tasks) than the phones' whole warm answer costs. Here a phone's request goes
straight to `PhoneFiles.decide` — the same flow the ASGI route runs, nothing decided
twice — and a warm answer is written from bytes prepared once per file. A request that
needs the database (an uncached device, the estate snapshot) waits in a task for
`PhoneFiles.answer`, still on this connection.

The same protocol serves the HTTPS port (`service`, `tls`): a connection's TLS client
certificate, verified in the handshake, is read once, and the MAC it names goes with each
of its requests (`PhoneRequest.certificate_mac`) for `PhoneFiles` to judge.

Anything else — another method, a body, an upgrade, a path no vendor serves (API, UI,
/healthz) — hands the connection over: uvicorn's own protocol (`HandedOver`, uvicorn's
with the same limits) gets the transport and the bytes not yet answered, and keeps the
connection to its end.

Limits, the same on both sides of the hand-over (`Limits`): a request head is at most
`max_head` bytes (431, then close) and must arrive within `head_timeout` seconds of its
first byte (408, then close); a body must be at most `max_body` bytes (413) and arrive
within `body_timeout` seconds of the end of its head (408); an idle keep-alive connection
closes after uvicorn's `timeout_keep_alive`; a client that stops reading answers is cut
off after `write_timeout`. At most `max_connections` connections are open at once, and
at most `max_connections_per_address` from one client address (0: no such limit; phones
behind one NAT address boot together): past either, a new connection is answered 503
with Retry-After and closed. An HTTP/1.1 request without a Host header (or with two, or
a malformed one) gets 400 (RFC 9112 §3.2). Pipelined requests are answered in order;
reading pauses while `max_buffer` bytes of them wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
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
from provisioner.web.phone_request import PhoneRequest, bad_host, split_target, wanted_headers
from provisioner.web.phones import Needs, PhoneFiles, Upload
from provisioner.web.tls import certificate_mac

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_head: int = 16 * 1024  # bytes of request line and headers (h11's default)
    head_timeout: float = 10.0  # seconds from a head's first byte to its end
    write_timeout: float = 30.0  # seconds a client may leave answers unread
    max_buffer: int = 64 * 1024  # pipelined bytes kept before reading pauses
    max_body: int = 16 << 20  # bytes of a request body (uploads, API requests)
    body_timeout: float = 60.0  # seconds from the end of a head to the end of its body
    max_connections: int = 4096  # open at once, in all (`service` keeps it below the fd limit)
    max_connections_per_address: int = 0  # open at once from one client address; 0: no limit


class Admission:
    """Counts the open connections, in all and per client address (`Limits`)."""

    def __init__(self, limits: Limits) -> None:
        self.max_total = limits.max_connections
        self.max_per_address = limits.max_connections_per_address
        self.total = 0
        self.per_address: dict[str, int] = {}  # only addresses with a connection open

    def admit(self, address: str | None) -> bool:
        """Count a new connection in, or say it is one too many (nothing counted)."""
        if self.max_total and self.total >= self.max_total:
            return False
        if self.max_per_address and address is not None:
            count = self.per_address.get(address, 0)
            if count >= self.max_per_address:
                return False
            self.per_address[address] = count + 1
        self.total += 1
        return True

    def release(self, address: str | None) -> None:
        self.total -= 1
        if self.max_per_address and address is not None:
            count = self.per_address.get(address, 0) - 1
            if count > 0:
                self.per_address[address] = count
            else:
                self.per_address.pop(address, None)


def front_door(phones: PhoneFiles, limits: Limits | None = None) -> Callable[..., PhoneProtocol]:
    """What uvicorn's ``Config(http=...)`` takes: a protocol per connection."""
    chosen = limits or Limits()
    admission = Admission(chosen)

    def create(
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> PhoneProtocol:
        return PhoneProtocol(phones, chosen, config, server_state, app_state, admission)

    create.admission = admission  # type: ignore[attr-defined]  # read by tests and metrics
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
        admission: Admission | None = None,
    ) -> None:
        self.phones = phones
        self.limits = limits
        self.admission = admission or Admission(limits)
        self.admitted = False  # counted by `admission`, until the connection ends
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.loop = asyncio.get_running_loop()
        self.keep_alive_timeout = float(config.timeout_keep_alive)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.scheme = "http"
        self.certificate_mac: str | None = None  # what the client certificate names
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
            # verified in the handshake (`tls.server_context`); read once per connection
            self.certificate_mac = certificate_mac(transport.get_extra_info("peercert"))
        if not self.admission.admit(self.client[0] if self.client else None):
            self._refuse(answers.TOO_MANY_CONNECTIONS)
            return
        self.admitted = True
        self.last_activity = self.head_started = self.loop.time()
        self._arm(self._deadline())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)  # type: ignore[arg-type]
        if self.admitted:
            self.admitted = False
            self.admission.release(self.client[0] if self.client else None)
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
            if bad_host(head.headers, head.http10):
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
                self.certificate_mac,
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
        release = None
        if self.admitted:  # the successor counts the connection out when it ends
            self.admitted = False
            address = self.client[0] if self.client else None
            release = functools.partial(self.admission.release, address)
        successor = HandedOver(self.config, self.server_state, self.app_state, self.limits, release)
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


class _Refused(Exception):
    """Raised in a parser callback to stop reading a request that is refused."""


class HandedOver(HttpToolsProtocol):
    """uvicorn's protocol for the connections the front door hands over, held to the same
    `Limits`: uvicorn itself bounds neither a request head's size nor the time its head and
    body take, so a client trickling bytes would keep a connection (and a file
    descriptor) for ever.

    One deadline at a time: the head's (from its first byte, blank lines before it
    included), then the body's (from the end of the head); a client that leaves answers
    unread is cut off after `write_timeout`; an idle keep-alive connection is uvicorn's
    (`timeout_keep_alive`). A refused request is answered when no answer is under way
    (else the connection just closes), and the application, if it is waiting for the
    body, sees the client disconnect.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        limits: Limits,
        release: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state)
        self.limits = limits
        self._release = release  # counts the connection out of `Admission`, once
        self._in_head = False
        self._began = False  # a head began in the bytes being parsed
        self._head_received = 0  # bytes received while the head under way was not complete
        self._head_size = 0  # bytes of its request line and headers, as parsed
        self._body_size = 0
        self._refusal: Answer | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._write_deadline: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol ---

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        self._released()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._deadline is None and not self._in_head and self._between_requests():
            # a head starts (or blank lines before one): its clock runs from this byte
            self._start_clock(self.limits.head_timeout, answers.TIMEOUT)
        self._began = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            refusal, self._refusal = self._refusal, None
            self._refuse(refusal or answers.BAD_REQUEST)
            return
        if self._in_head and not self._began:  # all of `data` belongs to the head
            # (a header still incomplete is held by the parser, unseen by the callbacks)
            self._head_received += len(data)
            if self._head_received > self.limits.max_head:
                self._refuse(answers.HEAD_TOO_LARGE)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(
                self.limits.write_timeout, self._not_reading
            )

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_deadline is not None:
            self._write_deadline.cancel()
            self._write_deadline = None

    def handle_websocket_upgrade(self) -> None:
        self._stop_clock()
        self._released()  # the WebSocket protocol is no longer counted here
        super().handle_websocket_upgrade()

    # --- parser callbacks ---

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = self._began = True
        self._head_received = self._head_size = self._body_size = 0
        if self._deadline is None:
            self._start_clock(self.limits.head_timeout, answers.TIMEOUT)

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        if self._head_size > self.limits.max_head:
            self._stop_parsing(answers.HEAD_TOO_LARGE)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.limits.max_head:
            self._stop_parsing(answers.HEAD_TOO_LARGE)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_clock()
        limit = self.limits.max_body
        if bad_host(self.headers, self.parser.get_http_version() == "1.0"):
            self._stop_parsing(answers.BAD_REQUEST)
        for name, value in self.headers:
            declared = value.strip()
            if name == b"content-length" and declared.isdigit() and int(declared) > limit:
                self._stop_parsing(answers.BODY_TOO_LARGE)
        super().on_headers_complete()
        self._start_clock(self.limits.body_timeout, answers.BODY_TIMEOUT)

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self.limits.max_body:
            self._stop_parsing(answers.BODY_TOO_LARGE)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._stop_clock()
        super().on_message_complete()

    # --- refusals ---

    def _between_requests(self) -> bool:
        cycle = self.cycle
        return cycle is None or cycle.response_complete

    def _stop_parsing(self, answer: Answer) -> None:
        self._refusal = answer
        raise _Refused

    def _refuse(self, answer: Answer) -> None:
        """Answer `answer` (unless another answer is under way) and close the connection;
        an application reading this request's body sees the client disconnect."""
        self._stop_clock()
        if self.transport.is_closing():
            return
        cycle = self.cycle  # the refused request's, or (its head unfinished) the one before
        if (
            cycle is None
            or cycle.response_complete
            or (cycle.scope is self.scope and not cycle.response_started)
        ):
            closing = b"connection: close\r\n\r\n"
            self.transport.write(b"".join((answer.head, date_line(), closing, answer.body)))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # what the application sends from now on is dropped
            cycle.message_event.set()
        self.transport.close()

    def _not_reading(self) -> None:
        self._write_deadline = None
        if not self.transport.is_closing():
            if self.cycle is not None and not self.cycle.response_complete:
                self.cycle.disconnected = True
                self.cycle.message_event.set()
            self.transport.abort()  # it does not read: drop what it did not take

    # --- the clock ---

    def _start_clock(self, seconds: float, answer: Answer) -> None:
        self._stop_clock()
        self._deadline = self.loop.call_later(seconds, self._late, answer)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _late(self, answer: Answer) -> None:
        self._deadline = None
        self._refuse(answer)

    def _released(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


def _address(value: object) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return None
