"""Zone transfers to secondaries and NOTIFY on change.

AXFR is answered over TCP only, to addresses in `TransferPolicy.allow` (loopback by
default), and when a TSIG key is configured only to requests signed with it. IXFR falls
back to AXFR (RFC 1995 §4): a secondary already at our serial gets the SOA alone, any
other gets the whole zone. After every change each configured secondary gets a NOTIFY for
every zone whose serial moved, retried a few times. TSIG secrets are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

from provisioner.dns.records import DnsRecords, DnsZone
from provisioner.dns.responder import Responder
from provisioner.domain.errors import InvalidValue

log = logging.getLogger(__name__)

RRSETS_PER_MESSAGE = 200
NOTIFY_TRIES = 3
NOTIFY_TIMEOUT_SECONDS = 1.0
_ALGORITHMS = {
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
}


@dataclass(frozen=True)
class TsigKey:
    name: str
    algorithm: str  # hmac-sha256, ...
    secret: str = field(repr=False)  # base64

    @classmethod
    def parse(cls, text: str, option: str = "--tsig") -> TsigKey:
        """``ALGORITHM:NAME:BASE64SECRET`` (Knot's and kdig's ``-y`` form)."""
        algorithm, _, rest = text.partition(":")
        name, _, secret = rest.partition(":")
        algorithm = algorithm.lower()
        if algorithm not in _ALGORITHMS or not name or not secret:
            raise InvalidValue(
                option, f"not ALGORITHM:NAME:SECRET with ALGORITHM one of {', '.join(_ALGORITHMS)}"
            )
        try:
            base64.b64decode(secret, validate=True)
            dns.name.from_text(name)
        except (ValueError, dns.exception.DNSException):
            raise InvalidValue(option, "the name or the base64 secret is malformed") from None
        return cls(name.lower().removesuffix("."), algorithm, secret)

    def keyring(self) -> dict[dns.name.Name, dns.tsig.Key]:
        key = dns.tsig.Key(self.name + ".", self.secret, _ALGORITHMS[self.algorithm])
        return {key.name: key}

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.name}:<secret>"


@dataclass(frozen=True)
class Secondary:
    host: str
    port: int = 53

    @classmethod
    def parse(cls, text: str, option: str = "--notify") -> Secondary:
        host, sep, port = text.rpartition(":")
        if not sep:
            host, port = text, "53"
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise InvalidValue(option, f"{text!r} is not ADDRESS[:PORT]") from None
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise InvalidValue(option, f"{text!r}: port must be 1..65535")
        return cls(host, int(port))


LOOPBACK = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class TransferPolicy:
    allow: tuple[str, ...] = LOOPBACK  # networks that may transfer zones
    tsig: TsigKey | None = None
    notify: tuple[Secondary, ...] = ()

    def allows(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
            peer = peer.ipv4_mapped
        return any(peer in ipaddress.ip_network(net, strict=False) for net in self.allow)


def _rcode_only(query: dns.message.Message, rcode: dns.rcode.Rcode) -> bytes:
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    return response.to_wire()


class Transfers:
    """AXFR/IXFR for `DnsServer`, from the responder's current records."""

    def __init__(self, responder: Responder, policy: TransferPolicy) -> None:
        self.responder = responder
        self.policy = policy
        self.keyring = policy.tsig.keyring() if policy.tsig else None

    def wants(self, packet: bytes) -> bool:
        # a cheap look at the question type, right after the first name
        if len(packet) < 17 or packet[2] & 0xF8 or packet[4:6] != b"\x00\x01":
            return False
        i = 12
        while i < len(packet) and 0 < packet[i] < 64:
            i += packet[i] + 1
        return i + 3 < len(packet) and packet[i + 1] == 0 and packet[i + 2] in (251, 252)

    async def messages(self, packet: bytes, peer: str) -> AsyncIterator[bytes]:
        for wire in self._messages(packet, peer):
            yield wire

    def _messages(self, packet: bytes, peer: str) -> Sequence[bytes]:
        try:
            query = dns.message.from_wire(packet, keyring=self.keyring)
        except (dns.message.UnknownTSIGKey, dns.tsig.BadSignature, dns.tsig.PeerError):
            log.warning("DNS transfer from %s: bad or unknown TSIG", peer)
            return [packet[:2] + bytes((0x80 | (packet[2] & 0x78), dns.rcode.NOTAUTH)) + bytes(8)]
        except Exception:
            return [packet[:2] + bytes((0x80 | (packet[2] & 0x78), dns.rcode.FORMERR)) + bytes(8)]
        if not self.policy.allows(peer) or (self.keyring and not query.had_tsig):
            log.warning("DNS transfer refused to %s", peer)
            return [_rcode_only(query, dns.rcode.REFUSED)]
        question = query.question[0] if len(query.question) == 1 else None
        if question is None or question.rdclass != dns.rdataclass.IN:
            return [_rcode_only(query, dns.rcode.FORMERR)]
        records = self.responder.answers.records
        try:
            zone = records.zone(question.name)
        except KeyError:
            return [_rcode_only(query, dns.rcode.NOTAUTH)]
        rrsets = list(zone.rrsets())
        soa = rrsets[0]
        if question.rdtype == dns.rdatatype.IXFR and _up_to_date(query, zone):
            rrsets = [soa]
        else:
            rrsets.append(soa)
        log.info("DNS transfer of %s (serial %d) to %s", zone.domain, zone.serial, peer)
        return list(_stream(query, rrsets))


def _up_to_date(query: dns.message.Message, zone: DnsZone) -> bool:
    for rrset in query.authority:
        if rrset.rdtype == dns.rdatatype.SOA and rrset:
            return rrset[0].serial == zone.serial
    return False


def _stream(query: dns.message.Message, rrsets: list[dns.rrset.RRset]) -> list[bytes]:
    wires = []
    tsig_context = None
    for start in range(0, len(rrsets), RRSETS_PER_MESSAGE):
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.answer = rrsets[start : start + RRSETS_PER_MESSAGE]
        multi = query.had_tsig and len(rrsets) > RRSETS_PER_MESSAGE
        wires.append(response.to_wire(multi=multi, tsig_ctx=tsig_context, max_size=65535))
        tsig_context = getattr(response, "tsig_ctx", None)
    return wires


class Notifier:
    """Sends NOTIFY to the configured secondaries for every zone whose serial moved."""

    def __init__(self, policy: TransferPolicy) -> None:
        self.policy = policy
        self.keyring = policy.tsig.keyring() if policy.tsig else None

    async def changed(self, new: DnsRecords, old: DnsRecords | None) -> None:
        before = {zone.origin: zone.serial for zone in old.zones} if old else {}
        moved = [zone for zone in new.zones if before.get(zone.origin) != zone.serial]
        await asyncio.gather(
            *(self.notify(zone, secondary) for zone in moved for secondary in self.policy.notify)
        )

    async def notify(self, zone: DnsZone, secondary: Secondary) -> bool:
        message = dns.message.make_query(zone.origin, dns.rdatatype.SOA)
        message.flags = dns.flags.AA  # before the opcode, which lives in the same bits
        message.set_opcode(dns.opcode.NOTIFY)
        message.answer = [next(zone.rrsets())]
        if self.keyring:
            key = next(iter(self.keyring.values()))
            message.use_tsig(self.keyring, key.name, algorithm=key.algorithm)
        for attempt in range(1, NOTIFY_TRIES + 1):
            try:
                response = await dns.asyncquery.udp(
                    message,
                    secondary.host,
                    port=secondary.port,
                    timeout=NOTIFY_TIMEOUT_SECONDS,
                    ignore_unexpected=True,
                )
                if response.rcode() != dns.rcode.NOERROR:
                    log.warning(
                        "DNS NOTIFY %s to %s:%d: %s",
                        zone.domain,
                        secondary.host,
                        secondary.port,
                        dns.rcode.to_text(response.rcode()),
                    )
                    return False
                log.info(
                    "DNS NOTIFY %s serial %d to %s:%d",
                    zone.domain,
                    zone.serial,
                    secondary.host,
                    secondary.port,
                )
                return True
            except (dns.exception.DNSException, OSError) as error:
                log.debug(
                    "DNS NOTIFY %s to %s, try %d: %s", zone.domain, secondary.host, attempt, error
                )
        log.warning(
            "DNS NOTIFY %s to %s:%d: no answer", zone.domain, secondary.host, secondary.port
        )
        return False
