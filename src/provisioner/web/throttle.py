"""Slowing down password guessing without refusing real phones.

Only *failures* count (a wrong digest, another device's credentials, an unknown MAC);
a request that is refused before its digest is checked counts for nothing. A failure is
remembered under three keys, each with a free allowance and past it a backoff that
doubles with each further count (capped); a quiet key is forgotten after a while, and
every table is bounded, so a scan of random MACs cannot grow memory:

* the **pair** (MAC, place): every failure. Past its allowance the pair gets 429 *before*
  any check: this is all that slows guessing one device's password from one place, and
  the only backoff that can refuse a device where it last succeeded (its own failures
  there, or someone's sharing its address).
* the **place** (the client address; an IPv6 /64): the number of *different* MACs that
  failed from it (a misconfigured phone retrying counts once). Slows spraying MACs. Its
  allowance grows with the devices that call the place home (`Allowance.per_home`): a NAT
  address with thousands of good phones and a few misconfigured ones stays below it.
* the **device** (MAC, from anywhere): the number of *different* places it failed from.
  Slows guessing one device from many addresses.

A device's **home** is the place it last authenticated from (`Homes`). The place's and
the device's backoff never refuse a device at its home: failures elsewhere (an attacker
who knows the MAC) or of its neighbours (misconfigured phones behind the same NAT) do not
lock it out; only its pair's backoff does.

While the place's or the device's backoff holds, a request is still looked up and its
digest checked (the same work as ever, the same for unknown and known MACs), and then
answered 429 with the backoff's Retry-After unless it is right *and* from the device's
home: a right password elsewhere gets the very refusal a wrong one gets, so a refusal
says nothing about the password or the MAC.

`LoadShedder` is the other half: when too many uncached fetches wait for the database,
answer 503 with a jittered Retry-After instead of queueing without end.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    last: float
    blocked_until: float


@dataclass(frozen=True)
class Allowance:
    free: int  # failures (or different MACs, or places) before backoff starts
    base: float  # first backoff, seconds
    cap: float  # longest backoff, seconds
    forget_after: float  # a key quiet this long starts afresh
    per_home: float = 0.0  # more free, per device whose home the key is (places only)


# one device from one place: every failure
PER_DEVICE = Allowance(free=5, base=1.0, cap=300.0, forget_after=900.0)
# one place: different MACs that failed from it, plus half a MAC per device at home there
PER_ADDRESS = Allowance(free=50, base=1.0, cap=60.0, forget_after=900.0, per_home=0.5)
# one device: different places it failed from
ACROSS_ADDRESSES = Allowance(free=5, base=1.0, cap=300.0, forget_after=900.0)


class FailureLimiter:
    """Failures per key with exponential backoff; at most `max_keys` keys remembered."""

    def __init__(self, allowance: Allowance, max_keys: int = 100_000) -> None:
        self.allowance = allowance
        self.max_keys = max_keys
        self._keys: OrderedDict[Hashable, _Failures] = OrderedDict()

    def retry_after(self, key: Hashable, now: float | None = None) -> float:
        """Seconds `key` must still wait; 0 when it may try."""
        entry = self._keys.get(key)
        if entry is None:
            return 0.0
        now = time.monotonic() if now is None else now
        if now - entry.last > self.allowance.forget_after:
            del self._keys[key]
            return 0.0
        return max(0.0, entry.blocked_until - now)

    def failed(self, key: Hashable, now: float | None = None, more_free: int = 0) -> bool:
        """Count a failure of `key` (`more_free`: failures allowed beyond the allowance's);
        True when it is the key's first since it was last forgotten."""
        now = time.monotonic() if now is None else now
        entry = self._keys.get(key)
        first = entry is None or now - entry.last > self.allowance.forget_after
        if entry is None or first:
            entry = _Failures(0, now, 0.0)
        entry.count += 1
        entry.last = now
        excess = entry.count - self.allowance.free - more_free
        if excess >= 0:
            entry.blocked_until = now + min(
                self.allowance.cap, self.allowance.base * 2 ** min(excess, 30)
            )
        self._keys[key] = entry
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return first


_PLACES_KEPT = 4096
_IPV6_PLACES: dict[str, str] = {}


def place_of(address: str | None) -> str:
    """The place a client address stands for: itself, or its /64 for IPv6 (one customer's
    network; a host there has as many addresses as it wants)."""
    if address is None:
        return "-"
    if ":" not in address:
        return address
    found = _IPV6_PLACES.get(address)
    if found is None:
        try:
            found = str(ipaddress.IPv6Network(f"{address}/64", strict=False))
        except ValueError:
            found = address
        if len(_IPV6_PLACES) >= _PLACES_KEPT:
            _IPV6_PLACES.clear()
        _IPV6_PLACES[address] = found
    return found


class Homes:
    """Where each device last authenticated (its home), and how many devices call each
    place home; at most `max_devices` devices remembered (the least recently seen go)."""

    def __init__(self, max_devices: int = 250_000) -> None:
        self.max_devices = max_devices
        self._home: OrderedDict[str, str] = OrderedDict()
        self._at: dict[str, int] = {}  # place → devices at home there

    def of(self, mac: str) -> str | None:
        return self._home.get(mac)

    def count(self, place: str) -> int:
        return self._at.get(place, 0)

    def succeeded(self, mac: str, place: str) -> None:
        home = self._home.get(mac)
        if home == place:
            self._home.move_to_end(mac)
            return
        if home is not None:
            self._leave(home)
        self._home[mac] = place
        self._home.move_to_end(mac)
        self._at[place] = self._at.get(place, 0) + 1
        while len(self._home) > self.max_devices:
            _, gone = self._home.popitem(last=False)
            self._leave(gone)

    def _leave(self, place: str) -> None:
        left = self._at[place] - 1
        if left:
            self._at[place] = left
        else:
            del self._at[place]


class Throttle:
    """The three backoffs and the homes, as the phones' flow asks them: `own_wait` before
    anything is looked up, `verdict` once the digest is checked."""

    def __init__(
        self,
        per_device: Allowance = PER_DEVICE,
        per_address: Allowance = PER_ADDRESS,
        across_addresses: Allowance = ACROSS_ADDRESSES,
        max_keys: int = 100_000,
    ) -> None:
        self.pairs = FailureLimiter(per_device, max_keys)
        self.places = FailureLimiter(per_address, max_keys)
        self.devices = FailureLimiter(across_addresses, max_keys)
        self.homes = Homes()

    def own_wait(self, mac: str, place: str, now: float | None = None) -> float:
        """Seconds this device must wait at this place for failures of its own there (0:
        none); decided before any lookup or check."""
        return self.pairs.retry_after((mac, place), now)

    def verdict(self, mac: str, place: str, right: bool, now: float | None = None) -> float:
        """After the digest was checked (`right`: the device's own credentials, for this
        request): 0 to go on (serve a right one, challenge a wrong one again), or the
        seconds of the 429 to answer with. A failure is counted here; a success makes the
        place the device's home."""
        now = time.monotonic() if now is None else now
        shared = max(self.places.retry_after(place, now), self.devices.retry_after(mac, now))
        at_home = self.homes.of(mac) == place
        if right:
            if shared > 0 and not at_home:
                return shared  # the same refusal as a wrong password's, counted as nothing
            self.homes.succeeded(mac, place)
            return 0.0
        if self.pairs.failed((mac, place), now):
            more_free = int(self.places.allowance.per_home * self.homes.count(place))
            self.places.failed(place, now, more_free)
            self.devices.failed(mac, now)
        return shared


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
