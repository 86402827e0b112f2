"""Answers prepared in wire format from `DnsRecords`, once per change, so that answering a
query is a dictionary lookup and a few byte joins.

For every owner name and record type we render the whole response (header, question,
answer, authority, additional) with dnspython, then keep it as ``heads`` (header bytes 2..12,
one per combination of the query's RD and CD bits) and ``tail`` (everything after the
question). A response is then ``query ID + head + the query's own question + tail``: the
question is copied from the query, so its letter case (0x20 randomisation) comes back as
sent, and the compression pointers of the tail, which point into the question, stay valid.

What each response holds:

* a name with the asked type: AA, that RRset; for SRV the targets' A/AAAA in the additional
  section, for NAPTR (flag ``s``) the SRV records it points at and their A/AAAA (RFC 3404);
* a name without the asked type, or an empty non-terminal (``_udp.us-east...``): NOERROR,
  no answer, the zone's SOA in the authority section (RFC 2308, RFC 8020);
* a name that does not exist in one of our zones: NXDOMAIN with the SOA;
* ANY: one RRset of the name (RFC 8482), over UDP and TCP alike;
* anything outside our zones: REFUSED.

UDP answers that do not fit (512 bytes without EDNS, the client's payload size with it, at
most `EDNS_PAYLOAD`) drop additional records first; when the answer itself does not fit
they carry TC and the client asks again over TCP, where the full answer is sent.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from provisioner.dns.records import DnsRecords, DnsZone

EDNS_PAYLOAD = 1232  # what we accept and send over UDP (the DNS flag day 2020 value)
PLAIN_UDP_PAYLOAD = 512
IN = dns.rdataclass.IN
_LONGEST_QUESTION = 255 + 4
_OPT = struct.pack("!BHHIH", 0, dns.rdatatype.OPT, EDNS_PAYLOAD, 0, 0)
_ANY_PREFERENCE = (
    dns.rdatatype.NAPTR,
    dns.rdatatype.SRV,
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.SOA,
    dns.rdatatype.NS,
)


def _heads(header: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """Header bytes 2..12 for each (RD, CD) of the query: index ``RD | CD >> 3``."""
    flags_high, flags_low, counts = header[0], header[1], header[2:]
    return tuple(  # type: ignore[return-value]
        bytes((flags_high | (index & 1), flags_low | ((index & 2) << 3))) + counts
        for index in range(4)
    )


@dataclass(frozen=True, slots=True)
class Wire:
    """One response minus the query ID and question."""

    heads: tuple[bytes, bytes, bytes, bytes]
    tail: bytes
    size: int  # of the whole response

    @classmethod
    def split(cls, wire: bytes, question_length: int) -> Wire:
        return cls(_heads(wire[2:12]), wire[12 + question_length :], len(wire))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A response in its four forms: over TCP or UDP, with or without EDNS."""

    tcp: Wire
    tcp_edns: Wire
    udp: Wire  # fits 512 bytes
    udp_edns: Wire  # fits EDNS_PAYLOAD
    message: dns.message.Message | None  # to render for an unusual EDNS payload size

    def for_udp_payload(self, payload: int) -> Wire | None:
        """The EDNS form that fits `payload` bytes, or None when it must be rendered."""
        if self.tcp_edns.size <= payload:
            return self.tcp_edns
        if payload >= EDNS_PAYLOAD:
            return self.udp_edns
        return None


def _render(message: dns.message.Message, max_size: int) -> bytes:
    return message.to_wire(max_size=max_size, prefer_truncation=True)


def prepare_message(message: dns.message.Message, question_length: int) -> Prepared:
    """The four forms of a response whose question takes `question_length` bytes."""
    plain = message
    tcp = Wire.split(_render(plain, 65535), question_length)
    udp = Wire.split(_render(plain, PLAIN_UDP_PAYLOAD), question_length)
    with_edns = _copy(message)
    with_edns.use_edns(0, 0, EDNS_PAYLOAD)
    tcp_edns = Wire.split(_render(with_edns, 65535), question_length)
    udp_edns = Wire.split(_render(with_edns, EDNS_PAYLOAD), question_length)
    return Prepared(tcp, tcp_edns, udp, udp_edns, with_edns)


def _copy(message: dns.message.Message) -> dns.message.Message:
    copy = dns.message.Message(id=0)
    copy.flags = message.flags
    copy.question = list(message.question)
    copy.answer = list(message.answer)
    copy.authority = list(message.authority)
    copy.additional = list(message.additional)
    copy.set_rcode(message.rcode())
    return copy


def _wire(name: dns.name.Name) -> bytes:
    """A name's uncompressed wire form (dnspython types it as optional: it returns None
    only when asked to write into a file)."""
    wire = name.to_wire()
    assert wire is not None
    return wire


def _fixed_prepared(flags: int, rcode: int, authority: bytes, authority_count: int) -> Prepared:
    """A response whose tail does not depend on the question (NXDOMAIN, REFUSED): the
    authority section is rendered without compression."""
    high = (flags >> 8) & 0xFF
    low = (flags & 0xFF) | rcode
    forms = []
    for with_edns in (False, True):
        counts = struct.pack("!HHHH", 1, 0, authority_count, 1 if with_edns else 0)
        tail = authority + (_OPT if with_edns else b"")
        size = 12 + _LONGEST_QUESTION + len(tail)  # an upper bound, whatever the question
        forms.append(Wire(_heads(bytes((high, low)) + counts), tail, size))
    plain, edns = forms
    return Prepared(plain, edns, plain, edns, None)


def refused() -> Prepared:
    return _fixed_prepared(dns.flags.QR, dns.rcode.REFUSED, b"", 0)


def _uncompressed(rrset: dns.rrset.RRset) -> bytes:
    out = io.BytesIO()
    rrset.to_wire(out)
    return out.getvalue()


@dataclass(frozen=True)
class Answers:
    """Every prepared response, found by the query's lower-cased name in wire format."""

    by_name_and_type: dict[bytes, Prepared]  # name + type + class IN
    by_name: dict[bytes, Prepared]  # NODATA for names that exist (with records or not)
    nxdomain_by_zone: dict[bytes, Prepared]  # NXDOMAIN with the SOA, by zone apex
    refused: Prepared
    serials: dict[str, int]  # domain → SOA serial, for logs and tests
    change_id: int
    records: DnsRecords


def prepare_answers(records: DnsRecords) -> Answers:
    """Render every response our zones can give."""
    hosts = _addresses_by_name(records.zones)
    by_name_and_type: dict[bytes, Prepared] = {}
    by_name: dict[bytes, Prepared] = {}
    nxdomain: dict[bytes, Prepared] = {}
    for zone in records.zones:
        soa = zone.rrset(zone.origin, dns.rdatatype.SOA)
        soa.update_ttl(min(soa.ttl, soa[0].minimum))  # negative answers: RFC 2308 §3
        sets = {key: zone.rrset(*key) for key in zone.records}
        types_by_name: dict[dns.name.Name, list[dns.rdatatype.RdataType]] = {}
        for name, rdtype in zone.records:
            types_by_name.setdefault(name, []).append(rdtype)
        for name in _with_empty_non_terminals(zone.origin, types_by_name):
            wire_name = _wire(name)
            qlen = len(wire_name) + 4
            by_name[wire_name] = prepare_message(_nodata(name, soa), qlen)
            types = types_by_name.get(name, [])
            for rdtype in types:
                rrset = sets[(name, rdtype)]
                message = _positive(name, rdtype, rrset, sets, hosts)
                by_name_and_type[wire_name + struct.pack("!HH", rdtype, IN)] = prepare_message(
                    message, qlen
                )
            if types:
                chosen = min(types, key=_any_rank)
                message = _positive(name, dns.rdatatype.ANY, sets[(name, chosen)], sets, hosts)
                by_name_and_type[wire_name + struct.pack("!HH", dns.rdatatype.ANY, IN)] = (
                    prepare_message(message, qlen)
                )
        nxdomain[_wire(zone.origin)] = _fixed_prepared(
            dns.flags.QR | dns.flags.AA, dns.rcode.NXDOMAIN, _uncompressed(soa), 1
        )
    return Answers(
        by_name_and_type=by_name_and_type,
        by_name=by_name,
        nxdomain_by_zone=nxdomain,
        refused=refused(),
        serials={zone.domain: zone.serial for zone in records.zones},
        change_id=records.change_id,
        records=records,
    )


def _any_rank(rdtype: dns.rdatatype.RdataType) -> int:
    return _ANY_PREFERENCE.index(rdtype) if rdtype in _ANY_PREFERENCE else len(_ANY_PREFERENCE)


def _with_empty_non_terminals(
    origin: dns.name.Name, types_by_name: dict[dns.name.Name, list[dns.rdatatype.RdataType]]
) -> list[dns.name.Name]:
    names = set(types_by_name)
    for name in list(names):
        parent = name
        while parent != origin and len(parent) > len(origin):
            parent = parent.parent()
            names.add(parent)
    return sorted(names)


def _addresses_by_name(
    zones: Iterable[DnsZone],
) -> dict[dns.name.Name, list[dns.rrset.RRset]]:
    hosts: dict[dns.name.Name, list[dns.rrset.RRset]] = {}
    for zone in zones:
        for name, rdtype in zone.records:
            if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                hosts.setdefault(name, []).append(zone.rrset(name, rdtype))
    for rrsets in hosts.values():
        rrsets.sort(key=lambda rrset: rrset.rdtype)
    return hosts


def _response(name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
    message = dns.message.Message(id=0)
    message.flags = dns.flags.QR | dns.flags.AA
    message.question = [dns.rrset.RRset(name, IN, rdtype)]
    return message


def _nodata(name: dns.name.Name, soa: dns.rrset.RRset) -> dns.message.Message:
    message = _response(name, dns.rdatatype.A)  # the type is patched by the query's own
    message.authority = [soa]
    return message


def _positive(
    name: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    rrset: dns.rrset.RRset,
    sets: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rrset.RRset],
    hosts: dict[dns.name.Name, list[dns.rrset.RRset]],
) -> dns.message.Message:
    message = _response(name, qtype)
    message.answer = [rrset]
    additional: list[dns.rrset.RRset] = []
    targets: list[dns.name.Name] = []
    if rrset.rdtype == dns.rdatatype.NAPTR:
        for rdata in sorted(rrset, key=lambda r: (r.order, r.preference)):
            srv = sets.get((rdata.replacement, dns.rdatatype.SRV))
            if rdata.flags.lower() == b"s" and srv is not None:
                additional.append(srv)
                targets.extend(r.target for r in sorted(srv, key=lambda r: r.priority))
    elif rrset.rdtype == dns.rdatatype.SRV:
        targets = [r.target for r in sorted(rrset, key=lambda r: r.priority)]
    elif rrset.rdtype == dns.rdatatype.NS:
        targets = [r.target for r in rrset]
    seen = set()
    for target in targets:
        if target not in seen:
            seen.add(target)
            additional.extend(hosts.get(target, []))
    message.additional = additional
    return message
