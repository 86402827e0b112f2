"""Response rate limiting over UDP, against reflection attacks (the scheme of Knot's and
BIND's RRL, simplified). A NAPTR answer is over ten times its query, so a spoofed source
could aim our answers at a victim.

Each response falls into a bucket by the client's network (a /24 for IPv4, a /56 for
IPv6) and what it says: an answer or NODATA by its question (name, in any letter case,
and type), every NXDOMAIN from that network in one bucket, every error of one rcode in
one bucket. A bucket holds `rate` tokens and refills at `rate` a second. Beyond that,
every `slip`-th response goes out truncated (TC set, no records), so a real client behind
that network retries over TCP, which cannot be spoofed; the others are dropped. A resolver
asking for many names is never limited; only the same answer, many times a second, to
one network is — which a caching resolver does not ask for.

Networks in `exempt` are never limited; the default exempts loopback, which no packet
from outside can carry as its source.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from enum import Enum

MAX_BUCKETS = 100_000  # bounded memory: full buckets are forgotten beyond this many
MAX_ADDRESSES = 100_000  # the address → network cache, cleared when full

_NXDOMAIN = b"\x00nxdomain"


class Verdict(Enum):
    SEND = "send"
    SLIP = "slip"  # send truncated
    DROP = "drop"


def plain_address(address: str) -> str:
    """`address` without an IPv6 zone, and IPv4-mapped IPv6 as the IPv4 it is."""
    address = address.split("%")[0]
    if address[:7].lower() == "::ffff:" and "." in address:
        return address[7:]
    return address


def client_network(address: str) -> str:
    address = plain_address(address)
    if ":" not in address:
        return address.rpartition(".")[0] or address
    try:
        return str(ipaddress.ip_network(f"{address}/56", strict=False))
    except ValueError:
        return address


def response_class(response: bytes) -> bytes:
    """What a response says, as far as rate limiting cares (see the module's text)."""
    rcode = response[3] & 0x0F if len(response) > 3 else 2
    if rcode == 0:
        # the question's name ends at its root label: an answered name is one of ours, a
        # host name without zero bytes in its labels (and were one there, it would only
        # share a bucket with a shorter name)
        end = response.find(b"\x00", 12)
        return response[12 : end + 3].lower() if end > 0 else b"\x00"  # name and type
    if rcode == 3:
        return _NXDOMAIN
    return bytes((0, rcode))


class ResponseRateLimit:
    def __init__(
        self,
        rate: int,
        slip: int = 2,
        exempt: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1 response a second")
        if slip < 0:
            raise ValueError("slip must be 0 (drop all) or more")
        self.rate = float(rate)
        self.slip = slip
        self.exempt = tuple(ipaddress.ip_network(n, strict=False) for n in exempt)
        self.clock = clock
        # (network, response class) → [tokens, last time, responses limited]
        self._buckets: dict[tuple[str, bytes], list[float]] = {}
        self._networks: dict[str, str | None] = {}  # address → network, None if exempt
        self.limited = 0

    def network(self, address: str) -> str | None:
        """The client network `address` counts in, or None if it is exempt."""
        try:
            return self._networks[address]
        except KeyError:
            pass
        plain = plain_address(address)
        network: str | None = client_network(plain)
        if self.exempt:
            try:
                ip = ipaddress.ip_address(plain)
            except ValueError:
                pass
            else:
                if any(ip in each for each in self.exempt):
                    network = None
        if len(self._networks) >= MAX_ADDRESSES:
            self._networks.clear()
        self._networks[address] = network
        return network

    def check(self, address: str, response: bytes) -> Verdict:
        """Whether to send `response` to `address`, truncated, or not at all."""
        network = self._networks.get(address, "")
        if network == "":  # not seen yet
            network = self.network(address)
        if network is None:
            return Verdict.SEND
        key = (network, response_class(response))
        now = self.clock()
        bucket = self._buckets.get(key)
        rate = self.rate
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget(now)
            self._buckets[key] = [rate - 1.0, now, 0.0]
            return Verdict.SEND
        tokens = bucket[0] + (now - bucket[1]) * rate
        if tokens > rate:
            tokens = rate
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return Verdict.SEND
        bucket[0] = tokens
        bucket[2] += 1
        self.limited += 1
        if self.slip and bucket[2] % self.slip == 0:
            return Verdict.SLIP
        return Verdict.DROP

    def _forget(self, now: float) -> None:
        """Drop the buckets idle for a second or more: they are full again, so forgetting
        them changes no verdict. If that frees less than half the table (a flood from very
        many networks within one second), keep the half touched most recently: the
        networks being limited right now are among them."""
        buckets = self._buckets
        for key in [k for k, b in buckets.items() if now - b[1] >= 1.0]:
            del buckets[key]
        if len(buckets) >= MAX_BUCKETS // 2:
            recent = sorted(buckets.items(), key=lambda item: item[1][1])
            self._buckets = dict(recent[len(recent) - MAX_BUCKETS // 2 :])


def truncated(response: bytes) -> bytes:
    """The response with TC set and only its question: "ask again over TCP"."""
    end = 12
    while end < len(response) and 0 < response[end] < 64:
        end += response[end] + 1
    end += 5  # the root label, type and class
    flags = bytes((response[2] | 0x02, response[3]))
    return response[:2] + flags + b"\x00\x01" + b"\x00" * 6 + response[12:end]
