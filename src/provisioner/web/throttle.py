"""Slowing down password guessing without locking out real phones.

Only *failures* count (a wrong digest, another device's credentials, an unknown MAC);
successes never do, so thousands of phones behind one NAT address booting at once are
never refused. Each key — the MAC a request names, and the client address — has a free
allowance of failures; past it, the key is in backoff for a time that doubles with each
further failure (capped), and requests for it get 429 with Retry-After *before* any
password is checked, whether or not the MAC exists. A quiet key is forgotten after a
while, and the tables are bounded so a scan of random MACs cannot grow memory.

`LoadShedder` is the other half: when too many uncached fetches wait for the database,
answer 503 with a jittered Retry-After instead of queueing without end.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    last: float
    blocked_until: float


@dataclass(frozen=True)
class Allowance:
    free: int  # failures before backoff starts
    base: float  # first backoff, seconds
    cap: float  # longest backoff, seconds
    forget_after: float  # a key quiet this long starts afresh


PER_DEVICE = Allowance(free=5, base=1.0, cap=300.0, forget_after=900.0)
PER_ADDRESS = Allowance(free=50, base=1.0, cap=60.0, forget_after=900.0)


class FailureLimiter:
    """Failures per key with exponential backoff; at most `max_keys` keys remembered."""

    def __init__(self, allowance: Allowance, max_keys: int = 100_000) -> None:
        self.allowance = allowance
        self.max_keys = max_keys
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds `key` must still wait; 0 when it may try."""
        entry = self._keys.get(key)
        if entry is None:
            return 0.0
        now = time.monotonic() if now is None else now
        if now - entry.last > self.allowance.forget_after:
            del self._keys[key]
            return 0.0
        return max(0.0, entry.blocked_until - now)

    def failed(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        entry = self._keys.get(key)
        if entry is None or now - entry.last > self.allowance.forget_after:
            entry = _Failures(0, now, 0.0)
        entry.count += 1
        entry.last = now
        excess = entry.count - self.allowance.free
        if excess >= 0:
            entry.blocked_until = now + min(
                self.allowance.cap, self.allowance.base * 2 ** min(excess, 30)
            )
        self._keys[key] = entry
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)


class LoadShedder:
    """Counts uncached fetches in flight; past `limit`, callers should answer 503."""

    def __init__(self, limit: int = 512, retry_after: tuple[int, int] = (5, 30)) -> None:
        self.limit = limit
        self.retry_range = retry_after
        self.in_flight = 0

    def try_enter(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    def retry_after(self) -> int:
        """Jittered, so a refused boot storm comes back spread out."""
        return random.randint(*self.retry_range)
