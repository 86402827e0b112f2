"""The answers the phones' routes give, as raw ASGI messages or as bytes for the socket
(`head`: status line and headers, encoded once per answer). Refusals have fixed bodies,
so every refusal of one kind is the same size whatever caused it."""

from __future__ import annotations

import http
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Scope = MutableMapping[str, Any]

_TEXT = b"text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    media_type: bytes = _TEXT
    # "HTTP/1.1 <status>\r\n" and every header line above, without the blank line
    head: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lines = [b"HTTP/1.1 %d %s\r\n" % (self.status, _phrase(self.status))]
        lines += [b"%s: %s\r\n" % header for header in self.all_headers()]
        object.__setattr__(self, "head", b"".join(lines))

    def all_headers(self) -> list[tuple[bytes, bytes]]:
        headers = list(self.headers)
        if self.status != 304:
            headers += [
                (b"content-type", self.media_type),
                (b"content-length", b"%d" % len(self.body)),
            ]
        return headers

    async def send(self, send: Send, head_only: bool = False) -> None:
        headers = self.all_headers()
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head_only else self.body})


_PHRASES = {status.value: status.phrase.encode() for status in http.HTTPStatus}


def _phrase(status: int) -> bytes:
    return _PHRASES.get(status, b"")


NOT_FOUND = Answer(404, b"no such file\n")
METHOD_NOT_ALLOWED = Answer(405, b"method not allowed\n", ((b"allow", b"GET, HEAD, PUT"),))
TOO_LARGE = Answer(413, b"upload too large\n")
RENDER_FAILED = Answer(500, b"this file cannot be produced now; the operator has been told\n")
STORED = Answer(201, b"stored\n")
INTERNAL_ERROR = Answer(500, b"internal error\n")
BAD_REQUEST = Answer(400, b"bad request\n")
TIMEOUT = Answer(408, b"request head not received in time\n")
HEAD_TOO_LARGE = Answer(431, b"request head too large\n")
BODY_TIMEOUT = Answer(408, b"request body not received in time\n")
BODY_TOO_LARGE = Answer(413, b"request body too large\n")
# more connections than `front_door.Limits` allows (in all, or from one address)
TOO_MANY_CONNECTIONS = Answer(
    503, b"too many connections; retry later\n", ((b"retry-after", b"5"),)
)


def unauthorized(challenges: Iterable[str]) -> Answer:
    """401 with one WWW-Authenticate header per offered algorithm."""
    return Answer(
        401,
        b"authentication required\n",
        tuple((b"www-authenticate", value.encode()) for value in challenges),
    )


def slow_down(seconds: float) -> Answer:
    """429: too many failed attempts for this device or address; try again later."""
    return Answer(
        429, b"too many failed attempts; retry later\n", ((b"retry-after", b"%d" % seconds),)
    )


def busy(seconds: int) -> Answer:
    """503: overloaded (a boot storm); the phone retries after a jittered delay."""
    return Answer(503, b"busy; retry later\n", ((b"retry-after", b"%d" % seconds),))


def not_modified(etag: str) -> Answer:
    return Answer(304, b"", ((b"etag", etag.encode()),))


def file(body: bytes, media_type: str, etag: str, secret: bool) -> Answer:
    cache = b"no-store" if secret else b"no-cache"
    return Answer(
        200, body, ((b"etag", etag.encode()), (b"cache-control", cache)), media_type.encode()
    )
