"""A phone's request as the flow reads it (`phones.PhoneFiles.decide`): the same value
whether it came through ASGI (`from_scope`) or straight off the socket
(`front_door.PhoneProtocol`), so both go down one code path."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any, NamedTuple

import httptools

from provisioner.web.digest import DigestCredentials, parse_authorization

RawHeaders = Sequence[tuple[bytes, bytes]]

WANTED = frozenset((b"user-agent", b"authorization", b"if-none-match", b"host", b"content-length"))


def wanted_headers(raw: RawHeaders) -> dict[bytes, str]:
    """The headers the flow reads (names lower-case), the first of each."""
    found: dict[bytes, str] = {}
    for name, value in raw:
        if name in WANTED and name not in found:
            found[name] = value.decode("latin-1")
    return found


class PhoneRequest(NamedTuple):  # immutable, and built per request faster than a dataclass
    method: str
    path: str  # percent-decoded
    target: bytes  # path and query exactly as sent: what a digest `uri` must equal
    headers: dict[bytes, str]  # `wanted_headers`
    raw_headers: RawHeaders  # names lower-case; read for trusted proxies' headers
    client: tuple[str, int] | None
    server: tuple[str, int] | None
    scheme: str
    # the Authorization header's Digest credentials, read once (None: absent or unusable);
    # a fetch that waits for its device is decided twice and reads them once
    credentials: DigestCredentials | None

    @property
    def user_agent(self) -> str | None:
        return self.headers.get(b"user-agent")

    @classmethod
    def from_scope(cls, scope: Any) -> PhoneRequest:
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        client = scope.get("client")
        server = scope.get("server")
        headers = wanted_headers(scope["headers"])
        return cls(
            method=scope["method"],
            path=scope["path"],
            target=target,
            headers=headers,
            raw_headers=scope["headers"],
            client=(str(client[0]), int(client[1])) if client else None,
            server=(str(server[0]), int(server[1] or 0)) if server else None,
            scheme=scope.get("scheme", "http"),
            credentials=parse_authorization(headers.get(b"authorization")),
        )


def split_target(url: bytes) -> tuple[bytes, str]:
    """(path and query as sent, decoded path) of a request target, read the way
    uvicorn reads it (so both servers see the same path); the absolute form
    (``http://host/path``) counts by its path."""
    if url.startswith(b"/") and b"?" not in url and b"#" not in url:
        raw_path, target = url, url
    else:
        parsed = httptools.parse_url(url)
        raw_path = parsed.path or b"/"
        target = raw_path + (b"?" + parsed.query if parsed.query else b"")
    path = raw_path.decode("ascii", "replace")
    if "%" in path:
        path = urllib.parse.unquote(path)
    return target, path
