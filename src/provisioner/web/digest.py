"""HTTP Digest authentication (RFC 7616) for the phones' files: challenges, parsing,
checking. Pure functions and one small class; no request objects, no database.

* Algorithms SHA-256 and MD5 (phones differ), ``qop=auth`` only; both are offered in
  every challenge, SHA-256 first.
* Nonces are stateless: ``<issued-at>.<HMAC(secret, issued-at)>``, so any worker (or any
  node that shares the secret) can check them without a table. A nonce older than its
  lifetime gets a fresh challenge with ``stale=true`` (the phone retries at once without
  asking its user). Within the lifetime a captured Authorization header can be replayed,
  but only for the same method and URI it was computed for (both are inside the hash),
  so it returns the very file the eavesdropper already saw; outside it, nothing.
* Every comparison of secret-derived values is constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from enum import Enum
from typing import NamedTuple

ALGORITHMS: Mapping[str, str] = {"SHA-256": "sha256", "MD5": "md5"}
DEFAULT_NONCE_LIFETIME = 300.0  # seconds

_PARAMETERS = re.compile(
    r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s,"]*))\s*(?:,|$)'
)
_UNESCAPE = re.compile(r"\\(.)")
_MAX_HEADER = 4096
_VERIFIED_KEPT = 100_000


# the constructors themselves: `hashlib.new(name)` looks the name up on every call
_CONSTRUCTORS = {algorithm: getattr(hashlib, name) for algorithm, name in ALGORITHMS.items()}


def _hash(algorithm: str, text: str) -> str:
    return _CONSTRUCTORS[algorithm](text.encode("utf-8")).hexdigest()


def ha1(algorithm: str, user: str, realm: str, password: str) -> str:
    """H(user:realm:password): what a credential cache keeps instead of the password."""
    return _hash(algorithm, f"{user}:{realm}:{password}")


def ha1_all(user: str, realm: str, password: str) -> dict[str, str]:
    """HA1 for every supported algorithm (the text encoded once: a device's first fetch
    computes these)."""
    text = f"{user}:{realm}:{password}".encode()
    return {algorithm: new(text).hexdigest() for algorithm, new in _CONSTRUCTORS.items()}


class DigestCredentials(NamedTuple):  # immutable; built per request faster than a dataclass
    """The fields of an ``Authorization: Digest ...`` header that we use."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str  # "MD5" or "SHA-256"
    qop: str
    nc: str
    cnonce: str


def parse_authorization(header: str | None) -> DigestCredentials | None:
    """The credentials in an Authorization header, or None when it is absent, not Digest,
    malformed, or asks for what we do not support (no qop=auth, unknown algorithm)."""
    if not header or len(header) > _MAX_HEADER:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    fields: dict[str, str] = {}
    for name, quoted, bare in _PARAMETERS.findall(rest):
        if "\\" in quoted:
            quoted = _UNESCAPE.sub(r"\1", quoted)
        fields[name.lower()] = quoted or bare
    if not fields:
        return None
    algorithm = fields.get("algorithm", "MD5").upper()
    if algorithm not in ALGORITHMS or fields.get("qop", "").lower() != "auth":
        return None
    try:
        return DigestCredentials(
            username=fields["username"],
            realm=fields["realm"],
            nonce=fields["nonce"],
            uri=fields["uri"],
            response=fields["response"].lower(),
            algorithm=algorithm,
            qop="auth",
            nc=fields["nc"],
            cnonce=fields["cnonce"],
        )
    except KeyError:
        return None


def response_for(credentials: DigestCredentials, ha1_value: str, method: str) -> str:
    """The response a client that knows the password computes for these credentials."""
    algorithm = credentials.algorithm
    ha2 = _hash(algorithm, f"{method}:{credentials.uri}")
    return _hash(
        algorithm,
        f"{ha1_value}:{credentials.nonce}:{credentials.nc}:{credentials.cnonce}:auth:{ha2}",
    )


def check_response(
    credentials: DigestCredentials, user: str, ha1_by_algorithm: Mapping[str, str], method: str
) -> bool:
    """True when user and response match; the same work whether or not the user matches."""
    expected = response_for(credentials, ha1_by_algorithm[credentials.algorithm], method)
    # compare_digest takes str when both are ASCII; the user may not be, so bytes there
    user_ok = hmac.compare_digest(credentials.username.encode(), user.encode())
    response = credentials.response
    response_ok = response.isascii() and hmac.compare_digest(response, expected)
    return user_ok & response_ok


class NonceState(Enum):
    VALID = "valid"
    STALE = "stale"  # ours, but expired: challenge again with stale=true
    INVALID = "invalid"  # not ours


class Nonces:
    """Issues and checks stateless HMAC nonces."""

    def __init__(
        self, secret: bytes | None = None, lifetime: float = DEFAULT_NONCE_LIFETIME
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.lifetime = lifetime
        self._verified: dict[str, float] = {}  # nonces whose HMAC was checked → issued at

    def _mac(self, issued: str) -> str:
        digest = hmac.new(self._secret, issued.encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()

    def issue(self, now: float | None = None) -> str:
        issued = f"{(now if now is not None else time.time()):.3f}"
        return f"{issued}.{self._mac(issued)}"

    def check(self, nonce: str, now: float | None = None) -> NonceState:
        issued_at = self._verified.get(nonce)
        if issued_at is None:
            issued, _, mac = nonce.rpartition(".")
            if not issued or len(nonce) > 64:
                return NonceState.INVALID
            if not hmac.compare_digest(mac.encode(), self._mac(issued).encode()):
                return NonceState.INVALID
            try:
                issued_at = float(issued)
            except ValueError:
                return NonceState.INVALID
            if len(self._verified) >= _VERIFIED_KEPT:
                self._verified.clear()
            self._verified[nonce] = issued_at
        age = (now if now is not None else time.time()) - issued_at
        if age < -5 or age > self.lifetime:
            return NonceState.STALE
        return NonceState.VALID


def challenges(realm: str, nonce: str, stale: bool = False) -> list[str]:
    """``WWW-Authenticate`` values, SHA-256 first, then MD5 for older phones."""
    opaque = "p"
    suffix = ", stale=true" if stale else ""
    return [
        f'Digest realm="{realm}", qop="auth", algorithm={algorithm}, '
        f'nonce="{nonce}", opaque="{opaque}"{suffix}'
        for algorithm in ALGORITHMS
    ]


def authorization_header(
    user: str,
    password: str,
    realm: str,
    nonce: str,
    uri: str,
    method: str = "GET",
    algorithm: str = "SHA-256",
    nc: int = 1,
    cnonce: str = "0a4f113b",
) -> str:
    """What a phone sends back (used by tests and the benchmark, as a client would)."""
    credentials = DigestCredentials(
        user, realm, nonce, uri, "", algorithm, "auth", f"{nc:08x}", cnonce
    )
    response = response_for(credentials, ha1(algorithm, user, realm, password), method)
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f"algorithm={algorithm}, response={response}, qop=auth, nc={nc:08x}, "
        f'cnonce="{cnonce}", opaque="p"'
    )
