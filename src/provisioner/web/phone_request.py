"""A phone's request as the flow reads it (`phones.PhoneFiles.decide`): the same value
whether it came through ASGI (`from_scope`) or straight off the socket
(`front_door.PhoneProtocol`), so both go down one code path."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from typing import Any, NamedTuple

import httptools

from provisioner.web.digest import DigestCredentials, parse_authorization

RawHeaders = Sequence[tuple[bytes, bytes]]

WANTED = frozenset((b"user-agent", b"authorization", b"if-none-match", b"host", b"content-length"))

# RFC 3986 `host [ ":" port ]`: an IP literal, or a reg-name (which covers IPv4 addresses)
_HOST_VALUE = re.compile(
    rb"(?:\[[0-9A-Fa-f:.]+\]|\[v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+\]"
    rb"|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?"
)


def wanted_headers(raw: RawHeaders) -> dict[bytes, str]:
    """The headers the flow reads (names lower-case), the first of each."""
    found: dict[bytes, str] = {}
    for name, value in raw:
        if name in WANTED and name not in found:
            found[name] = value.decode("latin-1")
    return found


def bad_host(raw: RawHeaders, http10: bool) -> bool:
    """The request must be refused with 400 for its ``Host`` (RFC 9112 §3.2): none in an
    HTTP/1.1 request, more than one, or one that is not ``host[:port]``."""
    found = None
    for name, value in raw:
        if name == b"host":
            if found is not None:
                return True
            found = value
    if found is None:
        return not http10
    return _HOST_VALUE.fullmatch(found.strip(b" \t")) is None


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
    # the MAC the connection's verified TLS client certificate names (`tls.certificate_mac`);
    # None: plain HTTP, no certificate, or one naming no single MAC
    certificate_mac: str | None = None

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


class PublicUrls:
    """The URLs files may point a phone at when no ``provisioning.url`` applies.

    A ``Host`` header is only echoed into a file when it names one of the configured public
    URLs (``serve --public-url``, PROVISIONER_PUBLIC_URL), and then that URL is used as
    configured (its scheme, port and path). Any other Host gets the first configured URL;
    with none configured, the address the connection was accepted on (the server's own,
    never the client's say). So ``Host: evil.example`` never reaches a file.
    """

    def __init__(self, urls: Sequence[str] = ()) -> None:
        self.urls = tuple(normalise_public_url(url) for url in urls)
        self._by_host: dict[str, str] = {}
        for url in self.urls:
            parts = urllib.parse.urlsplit(url)
            netloc = parts.netloc.lower()
            default = ":443" if parts.scheme == "https" else ":80"
            for name in (netloc, netloc.removesuffix(default), netloc + default):
                self._by_host.setdefault(name, url)
        self._by_server: dict[tuple[str, tuple[str, int] | None], str] = {}

    def __bool__(self) -> bool:
        return bool(self.urls)

    def of(self, request: PhoneRequest) -> str:
        """scheme://host[:port][/path] for files answered to `request` (no trailing slash)."""
        host = request.headers.get(b"host")
        if host is not None and self._by_host:
            found = self._by_host.get(host.strip().lower())
            if found is not None:
                return found
        if self.urls:
            return self.urls[0]
        key = (request.scheme, request.server)
        found = self._by_server.get(key)
        if found is None:
            found = f"{request.scheme}://{_authority(request.scheme, request.server)}"
            if len(self._by_server) >= 256:  # the server's own addresses: a handful
                self._by_server.clear()
            self._by_server[key] = found
        return found


def normalise_public_url(text: str) -> str:
    """``http(s)://host[:port][/path]`` without a trailing slash, or ValueError."""
    url = text.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or _HOST_VALUE.fullmatch(parts.netloc.encode("ascii", "replace")) is None
    ):
        raise ValueError(f"{text!r} is not an http:// or https:// URL (host, port, path only)")
    return url


def _authority(scheme: str, server: tuple[str, int] | None) -> str:
    """host[:port] of the server's own address (no port when it is the scheme's own)."""
    if server is None:
        return "localhost"
    host, port = server
    if ":" in host:
        host = f"[{host}]"
    if not port or port == (443 if scheme == "https" else 80):
        return host
    return f"{host}:{port}"
