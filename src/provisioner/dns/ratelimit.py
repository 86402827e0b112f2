"""Response rate limiting over UDP, against reflection attacks (the idea of Knot's and
BIND's RRL, simplified): each client network — a /24 for IPv4, a /56 for IPv6 — gets at
most `rate` responses a second, in bursts of up to `rate`. Beyond that, every `slip`-th
response goes out truncated (TC set, no records), so a real client behind that network
retries over TCP, which cannot be spoofed; the others are dropped. Off unless asked for
(``--rate-limit``): a resolver serving many phones asks often.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from enum import Enum

MAX_NETWORKS = 100_000  # beyond this many tracked networks, start afresh (bounded memory)


class Verdict(Enum):
    SEND = "send"
    SLIP = "slip"  # send truncated
    DROP = "drop"


def client_network(address: str) -> str:
    if ":" not in address:
        return address.rpartition(".")[0]
    try:
        return str(ipaddress.ip_network(f"{address.split('%')[0]}/56", strict=False))
    except ValueError:
        return address


class ResponseRateLimit:
    def __init__(
        self, rate: int, slip: int = 2, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 1:
            raise ValueError("rate must be at least 1 response a second")
        self.rate = float(rate)
        self.slip = slip
        self.clock = clock
        self._buckets: dict[str, list[float]] = {}  # network → [tokens, last time]
        self.limited = 0

    def check(self, address: str) -> Verdict:
        network = client_network(address)
        now = self.clock()
        bucket = self._buckets.get(network)
        if bucket is None:
            if len(self._buckets) >= MAX_NETWORKS:
                self._buckets.clear()
            self._buckets[network] = [self.rate - 1.0, now]
            return Verdict.SEND
        tokens = min(self.rate, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return Verdict.SEND
        bucket[0] = tokens
        self.limited += 1
        if self.slip and self.limited % self.slip == 0:
            return Verdict.SLIP
        return Verdict.DROP


def truncated(response: bytes) -> bytes:
    """The response with TC set and only its question: "ask again over TCP"."""
    end = 12
    while end < len(response) and 0 < response[end] < 64:
        end += response[end] + 1
    end += 5  # the root label, type and class
    flags = bytes((response[2] | 0x02, response[3]))
    return response[:2] + flags + b"\x00\x01" + b"\x00" * 6 + response[12:end]
