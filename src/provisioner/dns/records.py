"""Every DNS record Provisioner publishes, built from an `Estate` in one place.

`build_records(estate, serials)` is a pure function: one `DnsZone` per cluster domain and
per hosted partner's white-label domain, each holding

* SOA and NS at the apex;
* for every zone's proxy name (``us-east.p.example.net``) one NAPTR per offered transport
  (flag ``s``, empty regexp; ``SIPS+D2T`` for TLS, ``SIP+D2T`` for TCP, ``SIP+D2U`` for UDP,
  never ``SIPS+D2U``) pointing at the SRV name of that transport, with orders 10, 20, 30 …
  in the order of the zone's ``transports`` list: the operator's order of preference;
* SRV records at ``_sips._tcp``, ``_sip._tcp`` and ``_sip._udp`` under the proxy name (for
  the transports offered), one per media server in the zone's order of preference with
  priorities 10, 20, 30 … and the zone's weight;
* A/AAAA records on the proxy name itself: the addresses of the zone's first media
  server, for phones given an explicit port (which look up A/AAAA only, RFC 3263 §4.2).
  Those phones reach that one server and lose DNS failover; phones given no port never
  read these records (they find NAPTR or SRV first);
* A/AAAA records for every media server of the cluster (the SRV targets).

White-label zones stand alone: a partner's zone names the media servers under the
partner's own domain (``ms1.p.acme.example``, same addresses as ``ms1.p.example.net``), so
everything a partner's phone resolves — proxy name, NAPTR replacement, SRV target — lies
under one domain and one certificate (``*.p.acme.example``) matches all of it when the
phone uses TLS; the zone transfers to a secondary on its own, and the provider's own
names never show.

Everything is validated before anything is published; the problems found are reported
all at once, each naming the DNS zone and the field (`EstateErrors`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

from provisioner.domain import names
from provisioner.domain.errors import EstateErrors, InvalidValue
from provisioner.domain.estate import Cluster, Estate, MediaServer, SipTransport, Zone

IN = dns.rdataclass.IN
SOA = dns.rdatatype.SOA
NS = dns.rdatatype.NS
NAPTR = dns.rdatatype.NAPTR
SRV = dns.rdatatype.SRV
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
CNAME = dns.rdatatype.CNAME

MAX_TTL = 2**31 - 1


@dataclass(frozen=True)
class TransportRecords:
    """How one SIP transport appears in DNS (RFC 3263)."""

    transport: SipTransport
    naptr_service: str
    srv_prefix: str


TRANSPORTS: Mapping[SipTransport, TransportRecords] = MappingProxyType(
    {
        SipTransport.UDP: TransportRecords(SipTransport.UDP, "SIP+D2U", "_sip._udp"),
        SipTransport.TCP: TransportRecords(SipTransport.TCP, "SIP+D2T", "_sip._tcp"),
        SipTransport.TLS: TransportRecords(SipTransport.TLS, "SIPS+D2T", "_sips._tcp"),
    }
)
NAPTR_PREFERENCE = 50
ORDER_STEP = 10  # NAPTR orders 10, 20, 30 … in the zone's transports order
PRIORITY_STEP = 10  # SRV priorities 10, 20, 30 … in the zone's media server order


def srv_name(proxy_name: str, transport: SipTransport) -> str:
    """``_sips._tcp.us-east.p.example.net``: where a transport's SRV records of a proxy live."""
    return f"{TRANSPORTS[transport].srv_prefix}.{proxy_name}"


@dataclass(frozen=True)
class NameServer:
    """A name server published in every zone's NS set; `addresses` become glue records when
    the name lies inside the zone."""

    name: str  # relative names ("ns1") are taken under each zone's domain
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class DnsOptions:
    """What the estate does not say: the zones' name servers and SOA timers."""

    # The default suits one machine (the demo); production names its real servers.
    nameservers: tuple[NameServer, ...] = (NameServer("ns1", ("127.0.0.1",)),)
    hostmaster: str = "hostmaster"  # relative names are taken under each zone's domain
    soa_ttl: int = 300
    refresh: int = 3600
    retry: int = 600
    expire: int = 1209600
    negative_ttl: int = 60  # SOA minimum: how long resolvers cache NXDOMAIN and NODATA


RecordKey = tuple[dns.name.Name, dns.rdatatype.RdataType]


@dataclass(frozen=True)
class DnsZone:
    """One DNS zone as published: its origin, serial and record sets (read-only)."""

    origin: dns.name.Name
    source: str  # what the zone is built from: "cluster hosted", "partner acme"
    serial: int
    records: Mapping[RecordKey, dns.rdataset.ImmutableRdataset]

    @property
    def domain(self) -> str:
        return self.origin.to_text(omit_final_dot=True)

    @property
    def soa(self) -> dns.rdataset.ImmutableRdataset:
        return self.records[(self.origin, SOA)]

    def names(self) -> tuple[dns.name.Name, ...]:
        """Every owner name, in DNSSEC canonical order."""
        return tuple(sorted({name for name, _ in self.records}))

    def rrsets(self) -> Iterator[dns.rrset.RRset]:
        """Every record set, SOA first, then by owner name and type."""
        yield self.rrset(self.origin, SOA)
        for name, rdtype in sorted(self.records, key=lambda key: (key[0], key[1])):
            if (name, rdtype) != (self.origin, SOA):
                yield self.rrset(name, rdtype)

    def rrset(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.rrset.RRset:
        """A fresh RRset of one record set, its records in wire order (SRV by priority,
        NAPTR by order), so zone files and answers read in the order phones try them."""
        rdataset = self.records[(name, rdtype)]
        rrset = dns.rrset.RRset(name, IN, rdtype)
        rrset.update_ttl(rdataset.ttl)
        for rdata in sorted(rdataset, key=lambda r: r.to_digestable(dns.name.root)):
            rrset.add(rdata)
        return rrset

    def to_dnspython(self) -> dns.zone.Zone:
        """A fresh (mutable) dnspython zone with the same records."""
        zone = dns.zone.Zone(self.origin, relativize=False)
        for (name, rdtype), rdataset in self.records.items():
            node = zone.find_node(name, create=True)
            target = node.find_rdataset(IN, rdtype, create=True)
            target.update(rdataset)
        return zone

    def to_text(self) -> str:
        """The zone in BIND master-file format, SOA first, absolute names."""
        lines = [f"; {self.domain}: built by Provisioner from {self.source}"]
        lines.append(f"$ORIGIN {self.origin.to_text()}")
        for rrset in self.rrsets():
            lines.append(rrset.to_text())
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DnsRecords:
    """Every zone built from the estate as of `change_id`."""

    zones: tuple[DnsZone, ...]
    change_id: int = 0
    _by_origin: Mapping[dns.name.Name, DnsZone] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_by_origin", MappingProxyType({zone.origin: zone for zone in self.zones})
        )

    def zone(self, domain: str | dns.name.Name) -> DnsZone:
        origin = domain if isinstance(domain, dns.name.Name) else absolute(domain)
        try:
            return self._by_origin[origin]
        except KeyError:
            raise KeyError(str(domain)) from None

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(zone.domain for zone in self.zones)


@dataclass(frozen=True)
class ProxyRecords:
    """What a phone can resolve from one zone's proxy name, as the DNS server answers it.

    `rrsets` are in the order a phone follows them: the proxy name's NAPTR set, then each
    SRV set in NAPTR order, then the SRV targets' A/AAAA sets in priority order (each
    once). Built from the published zone, so a static DNS cache written into a phone's
    file holds exactly what the server answers.
    """

    name: str  # the proxy name, no final dot
    ttl: int  # the zone's TTL
    rrsets: tuple[dns.rrset.RRset, ...]

    def of_type(self, rdtype: dns.rdatatype.RdataType) -> tuple[dns.rrset.RRset, ...]:
        return tuple(rrset for rrset in self.rrsets if rrset.rdtype == rdtype)


def proxy_records(records: DnsRecords, domain: str, proxy_name: str) -> ProxyRecords:
    """The `ProxyRecords` of `proxy_name`, published in the DNS zone `domain`."""
    zone = records.zone(domain)
    proxy = absolute(proxy_name)
    found: list[dns.rrset.RRset] = []
    if (proxy, NAPTR) not in zone.records:
        raise KeyError(proxy_name)
    naptr = zone.rrset(proxy, NAPTR)
    found.append(naptr)
    targets: list[dns.name.Name] = []
    for rdata in sorted(naptr, key=lambda r: (r.order, r.preference)):
        srv = zone.rrset(rdata.replacement, SRV)
        found.append(srv)
        for target in sorted(srv, key=lambda r: (r.priority, -r.weight)):
            if target.target not in targets:
                targets.append(target.target)
    for target in targets:
        for rdtype in (A, AAAA):
            if (target, rdtype) in zone.records:
                found.append(zone.rrset(target, rdtype))
    return ProxyRecords(proxy_name.lower().removesuffix("."), naptr.ttl, tuple(found))


def absolute(text: str) -> dns.name.Name:
    return dns.name.from_text(text.lower().removesuffix(".") + ".")


@dataclass(frozen=True)
class _ZoneSource:
    domain: str
    source: str
    cluster: Cluster
    host_domain: str  # where the media servers are named in this zone


def zone_sources(estate: Estate) -> list[_ZoneSource]:
    sources = []
    for cluster in estate.clusters:
        sources.append(
            _ZoneSource(cluster.domain, f"cluster {cluster.name}", cluster, cluster.domain)
        )
        for partner in cluster.partners:
            sources.append(
                _ZoneSource(partner.domain, f"partner {partner.name}", cluster, partner.domain)
            )
    return sources


def build_records(
    estate: Estate,
    serials: Mapping[str, int] | None = None,
    options: DnsOptions | None = None,
) -> DnsRecords:
    """Every zone for `estate`; `serials` maps a domain to its SOA serial (default 1).

    Raises `EstateErrors` listing every problem, each naming the DNS zone and field.
    """
    options = options or DnsOptions()
    serials = serials or {}
    problems: list[InvalidValue] = []
    sources = zone_sources(estate)
    problems.extend(_check_domains(sources))
    zones = []
    for source in sources:
        builder = _ZoneBuilder(source, serials.get(source.domain, 1), options, problems)
        zones.append(builder.build())
    if problems:
        raise EstateErrors(problems)
    return DnsRecords(zones=tuple(zones), change_id=estate.change_id)


def _check_domains(sources: Sequence[_ZoneSource]) -> list[InvalidValue]:
    problems = []
    seen: dict[str, str] = {}
    for source in sources:
        where = f"DNS zone {source.domain} ({source.source})"
        try:
            names.host_name(source.domain)
        except ValueError as error:
            problems.append(InvalidValue(f"{where}: domain", str(error)))
            continue
        if source.domain in seen:
            problems.append(
                InvalidValue(f"{where}: domain", f"is also the domain of {seen[source.domain]}")
            )
            continue
        for other, other_source in seen.items():
            if source.domain.endswith("." + other) or other.endswith("." + source.domain):
                problems.append(
                    InvalidValue(
                        f"{where}: domain",
                        f"overlaps {other} ({other_source}); zones must not be nested",
                    )
                )
        seen[source.domain] = source.source
    return problems


class _ZoneBuilder:
    def __init__(
        self,
        source: _ZoneSource,
        serial: int,
        options: DnsOptions,
        problems: list[InvalidValue],
    ) -> None:
        self.source = source
        self.origin = absolute(source.domain)
        self.serial = serial
        self.options = options
        self.problems = problems
        self.where = f"DNS zone {source.domain}"
        self.sets: dict[RecordKey, dns.rdataset.Rdataset] = {}

    def problem(self, field_name: str, message: str) -> None:
        self.problems.append(InvalidValue(f"{self.where}: {field_name}", message))

    def add(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, ttl: int, text: str
    ) -> None:
        rdataset = self.sets.get((name, rdtype))
        if rdataset is None:
            rdataset = self.sets[(name, rdtype)] = dns.rdataset.Rdataset(IN, rdtype, ttl=ttl)
        rdataset.update_ttl(ttl)  # an RRset has one TTL: the lowest asked for
        rdataset.add(dns.rdata.from_text(IN, rdtype, text, origin=dns.name.root, relativize=False))

    def build(self) -> DnsZone:
        if not self.problems_in_options():
            self.apex()
        hosts = self.media_hosts()
        for zone in self.source.cluster.zones:
            self.zone(zone, hosts)
        self.check_names()
        records = {
            key: dns.rdataset.ImmutableRdataset(rdataset) for key, rdataset in self.sets.items()
        }
        return DnsZone(self.origin, self.source.source, self.serial, MappingProxyType(records))

    def problems_in_options(self) -> bool:
        options = self.options
        before = len(self.problems)
        for name, value, low, high in (
            ("SOA TTL", options.soa_ttl, 0, MAX_TTL),
            ("SOA refresh", options.refresh, 0, MAX_TTL),
            ("SOA retry", options.retry, 0, MAX_TTL),
            ("SOA expire", options.expire, 0, MAX_TTL),
            ("SOA minimum (negative TTL)", options.negative_ttl, 0, MAX_TTL),
            ("SOA serial", self.serial, 0, 2**32 - 1),
        ):
            if not low <= value <= high:
                self.problem(name, f"{value} is out of range {low}..{high}")
        if not options.nameservers:
            self.problem("NS", "no name server")
        return len(self.problems) > before

    def under(self, text: str) -> str:
        """An absolute name for `text`: as is when it has a dot, else under this zone."""
        text = text.lower().removesuffix(".")
        return text if "." in text else f"{text}.{self.source.domain}"

    def apex(self) -> None:
        options = self.options
        ns_names = []
        for server in options.nameservers:
            try:
                name = names.host_name(self.under(server.name))
            except ValueError as error:
                self.problem("NS", str(error))
                continue
            ns_names.append(name)
            self.add(self.origin, NS, options.soa_ttl, name + ".")
            if absolute(name).is_subdomain(self.origin):
                self.addresses(absolute(name), server.addresses, options.soa_ttl, f"NS {name}")
        if not ns_names:
            return
        try:
            hostmaster = names.host_name(self.under(options.hostmaster.replace("@", ".")))
        except ValueError as error:
            self.problem("SOA hostmaster", str(error))
            return
        soa = (
            f"{ns_names[0]}. {hostmaster}. {self.serial} {options.refresh} {options.retry} "
            f"{options.expire} {options.negative_ttl}"
        )
        self.add(self.origin, SOA, options.soa_ttl, soa)

    def addresses(
        self, name: dns.name.Name, addresses: Sequence[str], ttl: int, field_name: str
    ) -> bool:
        ok = bool(addresses)
        if not addresses:
            self.problem(field_name, "has no address (A/AAAA needed)")
        for address in addresses:
            try:
                parsed = ipaddress.ip_address(address)
            except ValueError:
                self.problem(field_name, f"{address!r} is not an IPv4 or IPv6 address")
                ok = False
                continue
            self.add(name, A if parsed.version == 4 else AAAA, ttl, str(parsed))
        return ok

    def media_hosts(self) -> dict[str, dns.name.Name]:
        """The A/AAAA records of the cluster's media servers under this zone's domain."""
        ttls: dict[str, int] = {}
        for zone in self.source.cluster.zones:
            for server in zone.media_servers:
                ttls[server.name] = min(ttls.get(server.name, MAX_TTL), zone.ttl)
        hosts = {}
        for server in self.source.cluster.media_servers:
            field_name = f"media server {server.name}"
            try:
                host = names.host_name(f"{server.name}.{self.source.host_domain}")
            except ValueError as error:
                self.problem(field_name, f"SRV target: {error}")
                continue
            name = absolute(host)
            ttl = ttls.get(server.name, self.options.soa_ttl)
            if self.addresses(name, server.addresses, ttl, field_name):
                hosts[server.name] = name
        return hosts

    def zone(self, zone: Zone, hosts: Mapping[str, dns.name.Name]) -> None:
        where = f"zone {zone.name}"
        try:
            proxy = absolute(names.host_name(zone.proxy_name_under(self.source.domain)))
        except ValueError as error:
            self.problem(f"{where}: proxy name", str(error))
            return
        if proxy in hosts.values():
            self.problem(f"{where}: proxy name", f"{proxy} is also a media server's name")
            return
        if not 0 <= zone.ttl <= MAX_TTL:
            self.problem(f"{where}: ttl", f"{zone.ttl} is out of range 0..{MAX_TTL}")
            return
        if not 0 <= zone.srv_weight <= 65535:
            self.problem(f"{where}: srv_weight", f"{zone.srv_weight} is out of range 0..65535")
            return
        if not zone.media_servers:
            self.problem(
                f"{where}: media servers", "no media server: phones would have nowhere to go"
            )
            return
        if len(zone.media_servers) * PRIORITY_STEP > 65535:
            self.problem(f"{where}: media servers", "too many for SRV priorities (at most 6553)")
            return
        offered = [TRANSPORTS[t] for t in zone.transports]
        if not offered:
            self.problem(f"{where}: transports", "none offered")
            return
        if len(set(zone.transports)) != len(zone.transports):
            self.problem(f"{where}: transports", "names the same transport twice")
            return
        for position, transport in enumerate(offered, start=1):
            owner = dns.name.from_text(transport.srv_prefix, proxy)
            naptr = (
                f'{position * ORDER_STEP} {NAPTR_PREFERENCE} "s" "{transport.naptr_service}" "" '
                f"{owner}"
            )
            self.add(proxy, NAPTR, zone.ttl, naptr)
            for priority, server in enumerate(zone.media_servers, start=1):
                self.srv(zone, owner, transport, priority, server, hosts)
        first = zone.media_servers[0]
        if first.name in hosts:  # else already reported with the media server
            self.addresses(proxy, first.addresses, zone.ttl, f"{where}: proxy name")

    def srv(
        self,
        zone: Zone,
        srv_name: dns.name.Name,
        transport: TransportRecords,
        position: int,
        server: MediaServer,
        hosts: Mapping[str, dns.name.Name],
    ) -> None:
        target = hosts.get(server.name)
        if target is None:
            return  # already reported with the media server
        port = server.ports.get(transport.transport)
        field_name = f"zone {zone.name}: media server {server.name}: {transport.transport} port"
        if port is None or not 1 <= port <= 65535:
            self.problem(field_name, f"{port} is out of range 1..65535")
            return
        priority = position * PRIORITY_STEP
        self.add(srv_name, SRV, zone.ttl, f"{priority} {zone.srv_weight} {port} {target}")

    def check_names(self) -> None:
        """No name both CNAME and other data; every SRV target a name with addresses here
        or outside this zone, never a CNAME."""
        owners: dict[dns.name.Name, set[dns.rdatatype.RdataType]] = {}
        for name, rdtype in self.sets:
            owners.setdefault(name, set()).add(rdtype)
        for name, types in owners.items():
            if CNAME in types and len(types) > 1:
                self.problem(str(name), "is both a CNAME and other data")
        for (name, rdtype), rdataset in self.sets.items():
            if rdtype != SRV:
                continue
            for rdata in rdataset:
                target = rdata.target
                if names.is_ip_address(target.to_text(omit_final_dot=True)):
                    self.problem(f"SRV {name}", f"target {target} is an IP address")
                elif target.is_subdomain(self.origin):
                    types = owners.get(target, set())
                    if CNAME in types:
                        self.problem(f"SRV {name}", f"target {target} is a CNAME")
                    elif not types & {A, AAAA}:
                        self.problem(f"SRV {name}", f"target {target} has no A/AAAA")
