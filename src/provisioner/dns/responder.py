"""Turning one query packet into one response packet, from prepared `Answers`.

`Responder.udp(packet)` and `Responder.tcp(packet)` read the header and question of an
ordinary query with a few byte operations (one question, no answer or authority records,
at most an OPT record) and answer from the prepared data. Anything else takes the careful
path: dnspython parses it, garbage gets FORMERR, other opcodes NOTIMP, an unknown EDNS
version BADVERS; responses are never answered; nothing raises. Zone transfers are not
answered here (see `provisioner.dns.transfer`).

`answers` may be replaced at any time (one attribute assignment): each query reads it once.
"""

from __future__ import annotations

import logging

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from provisioner.dns.answers import EDNS_PAYLOAD, PLAIN_UDP_PAYLOAD, Answers, Prepared, Wire

log = logging.getLogger(__name__)

_ONE_QUESTION = b"\x00\x01\x00\x00\x00\x00"  # QDCOUNT 1, ANCOUNT 0, NSCOUNT 0
_OPT_TYPE = b"\x00\x29"
_IN = b"\x00\x01"
_TRANSFER_TYPES = frozenset((dns.rdatatype.AXFR, dns.rdatatype.IXFR))
_META_TYPES = range(128, 255)  # TKEY, TSIG, IXFR, AXFR, MAILB, MAILA and unassigned
TCP_LIMIT = 65535
UDP_CACHE_SIZE = 10_000


class Responder:
    def __init__(self, answers: Answers) -> None:
        # The answers, and whole UDP responses (minus the ID) by whole query (minus the
        # ID): a query seen before, in the same letter case, is answered with one lookup.
        # The cache is bounded and replaced together with the answers (one assignment, so
        # a reader on another thread sees an old pair or a new one, never a mix).
        self._current: tuple[Answers, dict[bytes, bytes]] = (answers, {})

    @property
    def answers(self) -> Answers:
        return self._current[0]

    @answers.setter
    def answers(self, answers: Answers) -> None:
        self._current = (answers, {})

    def udp(self, packet: bytes) -> bytes | None:
        answers, cache = self._current
        hit = cache.get(packet[2:])
        if hit is not None:
            return packet[:2] + hit
        response = self.respond(packet, False, careful=False, answers=answers)
        if response is None:
            return self.careful(packet, False)
        if len(cache) >= UDP_CACHE_SIZE:
            cache.clear()
        cache[packet[2:]] = response[2:]
        return response

    def tcp(self, packet: bytes) -> bytes | None:
        return self.respond(packet, True)

    def respond(
        self, p: bytes, tcp: bool, careful: bool = True, answers: Answers | None = None
    ) -> bytes | None:
        """The response to query `p` (over TCP or UDP), or None to drop it.

        The fast path: a standard query with one question and at most an OPT record.
        """
        n = len(p)
        if n < 17 or p[2] & 0xF8 or p[4:10] != _ONE_QUESTION or p[10] or p[11] > 1:
            return self.careful(p, tcp) if careful else None
        i = 12
        length = p[12]
        while length:
            if length > 63:
                return self.careful(p, tcp) if careful else None
            i += length + 1
            if i >= n:
                return self.careful(p, tcp) if careful else None
            length = p[i]
        qend = i + 1
        end = qend + 4
        edns = False
        limit = TCP_LIMIT if tcp else PLAIN_UDP_PAYLOAD
        if p[11]:
            # exactly one OPT: root owner, type 41, payload, version 0, options
            if n < end + 11 or p[end] or p[end + 1 : end + 3] != _OPT_TYPE or p[end + 6]:
                return self.careful(p, tcp) if careful else None
            if n != end + 11 + (p[end + 9] << 8 | p[end + 10]):
                return self.careful(p, tcp) if careful else None
            option = end + 11  # options must tile the OPT data exactly
            while option < n:
                option += 4 + (p[option + 2] << 8 | p[option + 3]) if option + 4 <= n else n + 1
            if option != n:
                return self.careful(p, tcp) if careful else None
            edns = True
            if not tcp:
                limit = min(EDNS_PAYLOAD, max(PLAIN_UDP_PAYLOAD, p[end + 3] << 8 | p[end + 4]))
        elif n != end:
            return self.careful(p, tcp) if careful else None
        if p[end - 2 : end] != _IN or (p[qend] == 0 and p[qend + 1] in _META_TYPES):
            return self.careful(p, tcp) if careful else None

        if answers is None:
            answers = self._current[0]
        name = p[12:qend].lower()
        prepared = answers.by_name_and_type.get(name + p[qend:end])
        if prepared is None:
            prepared = answers.by_name.get(name) or self.negative(answers, name)
        wire = _choose(prepared, tcp, edns, limit)
        if wire is None:  # an EDNS payload size between 512 and ours: rendered on demand
            response = self.render(prepared, p, limit, end)
        else:
            heads = wire.heads[(p[2] & 1) | ((p[3] & 0x10) >> 3)]
            response = p[:2] + heads + p[12:end] + wire.tail
        if edns and p[end + 7] & 0x80:
            # DO set: copy it (RFC 3225) into our OPT, always the last 11 bytes
            response = response[:-4] + bytes((response[-4] | 0x80,)) + response[-3:]
        return response

    @staticmethod
    def negative(answers: Answers, name: bytes) -> Prepared:
        """NXDOMAIN for a name under one of our zones, else REFUSED."""
        i = 0
        while name[i]:
            i += name[i] + 1
            prepared = answers.nxdomain_by_zone.get(name[i:])
            if prepared is not None:
                return prepared
        return answers.refused

    @staticmethod
    def render(prepared: Prepared, p: bytes, limit: int, end: int) -> bytes:
        message = prepared.message
        assert message is not None  # only positive answers and NODATA grow past 512
        question_length = end - 12
        wire = message.to_wire(max_size=limit, prefer_truncation=True)
        split = Wire.split(wire, question_length)
        return p[:2] + split.heads[(p[2] & 1) | ((p[3] & 0x10) >> 3)] + p[12:end] + split.tail

    def careful(self, p: bytes, tcp: bool) -> bytes | None:
        """Everything the fast path does not take, parsed by dnspython. Never raises."""
        try:
            return self._careful(p, tcp)
        except Exception:  # a bug must not stop the server: log it, answer SERVFAIL
            log.exception("DNS query of %d bytes could not be answered", len(p))
            return _header_only(p, dns.rcode.SERVFAIL)

    def _careful(self, p: bytes, tcp: bool) -> bytes | None:
        if len(p) < 12 or p[2] & 0x80:
            return None  # too short to answer, or a response: never answer those
        try:
            query = dns.message.from_wire(p, ignore_trailing=False)
        except dns.message.UnknownTSIGKey:
            return _header_only(p, dns.rcode.NOTAUTH)
        except Exception:
            return _header_only(p, dns.rcode.FORMERR)
        if query.opcode() != dns.opcode.QUERY:
            return _header_only(p, dns.rcode.NOTIMP)
        if len(query.question) != 1 or query.answer or query.authority:
            return _header_only(p, dns.rcode.FORMERR)
        if query.edns > 0:
            return _bad_version(query)
        question = query.question[0]
        if question.rdtype in _TRANSFER_TYPES or question.rdclass != dns.rdataclass.IN:
            return _reply(query, dns.rcode.REFUSED)
        if question.rdtype in _META_TYPES:
            return _reply(query, dns.rcode.NOTIMP)
        # An ordinary question in an unusual packet (compressed question, EDNS options in
        # another place, trailing records): answer it as the canonical query.
        canonical = dns.message.Message(id=query.id)
        canonical.flags = query.flags
        canonical.question = [dns.rrset.RRset(question.name, question.rdclass, question.rdtype)]
        if query.edns == 0:
            canonical.use_edns(
                0, query.ednsflags & dns.flags.DO, max(query.payload, PLAIN_UDP_PAYLOAD)
            )
        response = self.respond(canonical.to_wire(), tcp, careful=False)
        if response is None:
            return _reply(query, dns.rcode.FORMERR)
        return response


def _choose(prepared: Prepared, tcp: bool, edns: bool, limit: int) -> Wire | None:
    if tcp:
        return prepared.tcp_edns if edns else prepared.tcp
    if not edns:
        return prepared.udp
    return prepared.for_udp_payload(limit)


def _header_only(p: bytes, rcode: int) -> bytes:
    """ID and opcode of the query, QR, the RD bit copied, no records."""
    flags = 0x80 | (p[2] & 0x79)  # QR, opcode, RD
    return p[:2] + bytes((flags, rcode & 0x0F)) + b"\x00" * 8


def _reply(query: dns.message.Message, rcode: dns.rcode.Rcode) -> bytes:
    response = dns.message.make_response(query, our_payload=EDNS_PAYLOAD)
    response.flags &= ~dns.flags.AA
    response.set_rcode(rcode)
    return response.to_wire(max_size=EDNS_PAYLOAD, prefer_truncation=True)


def _bad_version(query: dns.message.Message) -> bytes:
    response = dns.message.Message(id=query.id)
    response.flags = dns.flags.QR | (query.flags & dns.flags.RD)
    response.question = list(query.question)
    response.use_edns(0, 0, EDNS_PAYLOAD)
    response.set_rcode(dns.rcode.BADVERS)
    return response.to_wire()
