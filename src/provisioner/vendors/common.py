"""What every vendor derives the same way from effective settings: the SIP servers, the
failover policy and the lines.

No vendor key lives here: a vendor module maps these neutral values onto its own keys.
With transport ``dns-naptr`` the settings rules already forced the ports to 0 and removed
the secondary proxy; `servers` repeats that guard so no template can print a backup.

How a phone looks a name up follows from the port, not from the transport (RFC 3263
§4.2): no port means NAPTR/SRV (dns-naptr) or the SRV records of the transport given
(``_sip._udp``, ``_sip._tcp``, ``_sips._tcp``); an explicit port means A/AAAA only.
`Servers.srv` says which, for the vendors whose SRV switch must be set to match.
"""

from __future__ import annotations

import ipaddress
from operator import attrgetter
from typing import NamedTuple

import dns.rdatatype

from provisioner.dns.records import ProxyRecords
from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Failback, Transport
from provisioner.vendors.base import (
    Model,
    ModelTable,
    RenderContext,
    RenderError,
    SettingReach,
    Unavailable,
)

# Keys the server enforces when it answers (web/phones.py), the same for every vendor:
# nothing of them is written into a file.
SERVER_ENFORCED: dict[str, SettingReach] = {
    "provisioning.auth": Unavailable("enforced by the server, not written to phones"),
    "provisioning.https_only": Unavailable("enforced by the server, not written to phones"),
}


class Servers(NamedTuple):
    """Registrar, outbound proxy and (only without dns-naptr) a secondary proxy.

    A named tuple: built for every device file in a fifth of a frozen dataclass's time,
    its fields read nearly as fast.
    """

    transport: Transport
    registrar_host: str | None
    registrar_port: int  # 0: none given (always 0 with dns-naptr)
    proxy_host: str | None
    proxy_port: int
    secondary_host: str | None  # always None with dns-naptr
    secondary_port: int
    expiry: int  # seconds
    naptr: bool  # transport is dns-naptr (set by `servers`, which builds every one)
    srv: bool  # the name requests go to has no port: the phone must look up SRV (or NAPTR)


_DNS_NAPTR = Transport.DNS_NAPTR


def servers(config: DeviceConfig) -> Servers:
    settings = config.settings
    transport = settings.transport
    if transport is _DNS_NAPTR:
        return Servers(
            transport,
            settings["registrar.host"],
            0,
            settings["outbound_proxy.host"],
            0,
            None,
            0,
            settings["registration.expiry"],
            True,
            True,
        )
    secondary = settings["secondary_proxy.host"]
    registrar_port = settings["registrar.port"] or 0
    proxy_host = settings["outbound_proxy.host"]
    proxy_port = settings["outbound_proxy.port"] or 0
    return Servers(  # by position: keywords cost a third of this function
        transport,
        settings["registrar.host"],
        registrar_port,
        proxy_host,
        proxy_port,
        secondary,
        (settings["secondary_proxy.port"] or 0) if secondary else 0,
        settings["registration.expiry"],
        False,
        not (proxy_port if proxy_host else registrar_port),
    )


class Failover(NamedTuple):
    """The ``failover.*`` policy of one device, as every vendor module reads it."""

    tries: int  # per media server, before the next
    try_timeout: int  # seconds
    register_on_failover: bool
    signal_only_registered: bool
    failback: Failback
    failback_interval: int  # seconds, for failback duration
    subscriptions_follow: bool
    static_dns_cache: bool
    expiry: int  # registration expiry, seconds
    ttl: int | None  # the zone's record TTL, seconds (None: not known here)

    def failback_seconds(self) -> int | None:
        """The failback as a duration, for vendors that only have a timer: the interval,
        the registration expiry, or the records' TTL; None for new-requests (go back on
        every new request: the vendors' factory behaviour)."""
        if self.failback is Failback.DURATION:
            return self.failback_interval
        if self.failback is Failback.REGISTRATION:
            return self.expiry
        if self.failback is Failback.DNS_TTL:
            return self.ttl if self.ttl is not None else self.failback_interval
        return None

    def failback_timer(self) -> int:
        """`failback_seconds` for vendors with a timer only, which cannot go back on
        every new request: new-requests is written as the interval."""
        seconds = self.failback_seconds()
        return self.failback_interval if seconds is None else seconds


def failover(config: DeviceConfig) -> Failover:
    settings = config.settings
    records = config.proxy_records
    return Failover(
        settings["failover.tries_per_server"],
        settings["failover.try_timeout"],
        settings["failover.register_on_failover"],
        settings["failover.signal_only_registered"],
        Failback(settings["failover.failback"]),
        settings["failover.failback_interval"],
        settings["failover.subscriptions_follow"],
        settings["failover.static_dns_cache"],
        settings["registration.expiry"],
        records.ttl if records is not None else None,
    )


def host_port(host: str | None, port: int) -> str | None:
    """``host`` or ``host:port`` (no port when it is 0); IPv6 addresses get brackets."""
    if not host:
        return None
    if not port:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def require(config: DeviceConfig | None, kind: str) -> DeviceConfig:
    """The config a secret file needs; a clear error instead of a file without lines."""
    if config is None:
        raise RenderError(f"the {kind!r} file carries a device's lines: it needs its config")
    return config


def base_url(config: DeviceConfig | None, context: RenderContext) -> str:
    """Where the phone should fetch from: the ``provisioning.url`` setting, else its own URL."""
    if config is not None and config.settings["provisioning.url"]:
        return str(config.settings["provisioning.url"]).rstrip("/")
    return context.base_url.rstrip("/")


def lines(config: DeviceConfig) -> tuple[LineConfig, ...]:
    """The device's lines by index (the database gives them in that order already)."""
    found = config.lines
    if type(found) is tuple and (len(found) < 2 or _in_order(found)):
        return found  # what the stable sort would give: the same lines, in the same order
    return tuple(sorted(found, key=_INDEX))


_INDEX = attrgetter("index")


def _in_order(found: tuple[LineConfig, ...]) -> bool:
    previous = found[0].index
    for line in found:
        if line.index < previous:
            return False
        previous = line.index
    return True


class LineSlots(NamedTuple):
    """The lines a device file writes for its model.

    A phone keeps a line the file does not mention, so every line the model has is
    written: the estate's lines enabled, the others (`disabled`) written disabled. Lines
    of the estate past the model's count are not written (`left_out`, named in the file).
    For a model the vendor module does not know, `model` is its table's `unknown` entry.
    """

    lines: tuple[LineConfig, ...]
    disabled: tuple[int, ...]
    left_out: tuple[int, ...]
    model: Model
    known: bool


def line_slots(config: DeviceConfig, models: ModelTable) -> LineSlots:
    model, known = models.of(config.model)
    count = model.lines
    found = lines(config)
    written = tuple(line for line in found if line.index <= count)
    left_out = tuple(line.index for line in found if line.index > count)
    used = {line.index for line in written}
    disabled = tuple(index for index in range(1, count + 1) if index not in used)
    return LineSlots(written, disabled, left_out, model, known)


def codec_priority(name: str, codecs: tuple[str, ...]) -> int:
    """A codec's place in the ``codecs`` setting (1 first), 0 when the setting leaves it out."""
    return codecs.index(name) + 1 if name in codecs else 0


def on_off(flag: bool, on: str = "1", off: str = "0") -> str:
    return on if flag else off


class CacheNaptr(NamedTuple):
    name: str
    order: int
    preference: int
    flags: str
    service: str
    replacement: str
    ttl: int


class CacheSrv(NamedTuple):
    name: str
    priority: int
    weight: int
    port: int
    target: str
    ttl: int


class CacheAddress(NamedTuple):
    name: str
    address: str
    ttl: int


class StaticDnsCache(NamedTuple):
    """The entries of a phone's static DNS cache, and what did not fit or cannot be held."""

    naptr: tuple[CacheNaptr, ...]
    srv: tuple[CacheSrv, ...]
    addresses: tuple[CacheAddress, ...]
    left_out: tuple[str, ...]


def _text(name: object) -> str:
    return str(name).removesuffix(".")


def static_dns_cache(records: ProxyRecords, limit: int, min_ttl: int = 0) -> StaticDnsCache:
    """`records` as static cache entries, at most `limit` in all, IPv4 addresses only.

    Transports are taken in the zone's NAPTR order; each gets its NAPTR entry and then its
    SRV targets in priority order, each with the addresses it needs (an address already
    in is not written twice), while they fit. A transport whose NAPTR and first target do
    not fit is left out, and so are the targets that do not fit: each named in
    `left_out`. An SRV entry is never written without its target's addresses.
    """
    naptrs: list[CacheNaptr] = []
    srvs: list[CacheSrv] = []
    addresses: list[CacheAddress] = []
    have: set[tuple[str, str]] = set()
    left_out: list[str] = []
    by_name = {(rrset.name, rrset.rdtype): rrset for rrset in records.rrsets}
    (naptr_set,) = records.of_type(dns.rdatatype.NAPTR)
    if records.of_type(dns.rdatatype.AAAA):
        left_out.append("AAAA records (the cache holds IPv4 addresses only)")

    def used() -> int:
        return len(naptrs) + len(srvs) + len(addresses)

    for naptr in sorted(naptr_set, key=lambda r: (r.order, r.preference)):
        srv_set = by_name[(naptr.replacement, dns.rdatatype.SRV)]
        srv_name = _text(srv_set.name)
        ttl = max(min_ttl, srv_set.ttl)
        missing: list[str] = []
        written = False
        for rdata in sorted(srv_set, key=lambda r: (r.priority, -r.weight, str(r.target))):
            target = _text(rdata.target)
            a_set = by_name.get((rdata.target, dns.rdatatype.A))
            if a_set is None:
                missing.append(target)
                continue
            new = [
                CacheAddress(target, a.address, max(min_ttl, a_set.ttl))
                for a in sorted(a_set, key=lambda a: ipaddress.ip_address(a.address))
                if (target, a.address) not in have
            ]
            needed = (0 if written else 1) + 1 + len(new)
            if used() + needed > limit:
                missing.append(target)
                continue
            if not written:
                naptrs.append(
                    CacheNaptr(
                        records.name,
                        naptr.order,
                        naptr.preference,
                        naptr.flags.decode(),
                        naptr.service.decode(),
                        srv_name,
                        max(min_ttl, naptr_set.ttl),
                    )
                )
                written = True
            srvs.append(CacheSrv(srv_name, rdata.priority, rdata.weight, rdata.port, target, ttl))
            addresses.extend(new)
            have.update((a.name, a.address) for a in new)
        if not written:
            left_out.append(f"{naptr.service.decode()} ({srv_name}): past the limit of {limit}")
        elif missing:
            left_out.append(f"{srv_name} targets {', '.join(missing)}: past the limit of {limit}")
    return StaticDnsCache(tuple(naptrs), tuple(srvs), tuple(addresses), tuple(left_out))
