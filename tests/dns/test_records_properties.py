"""Properties of the records for any valid estate, and of the answers served from them."""

from __future__ import annotations

import ipaddress

import dns.message
import dns.rdatatype
import dns.zone
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.dns.answers import prepare_answers
from provisioner.dns.records import TRANSPORTS, build_records
from provisioner.dns.responder import Responder
from provisioner.domain.estate import (
    Cluster,
    ClusterKind,
    Estate,
    MediaServer,
    Partner,
    SipTransport,
    Zone,
)
from provisioner.domain.geography import Location

labels = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
ipv4 = st.tuples(*[st.integers(1, 254)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.integers(1, 0xFFFF).map(lambda n: f"2001:db8::{n:x}")
ports = st.integers(1, 65535)
HERE = Location(0.0, 0.0)


@st.composite
def clusters(draw: st.DrawFn, index: int) -> Cluster:
    domain = f"c{index}.example"
    names = draw(st.lists(labels, min_size=1, max_size=5, unique=True))
    servers = tuple(
        MediaServer(
            name=name,
            host_name=f"{name}.{domain}",
            addresses=tuple(
                draw(st.lists(st.one_of(ipv4, ipv6), min_size=1, max_size=2, unique=True))
            ),
            location=None,
            ports={t: draw(ports) for t in SipTransport},
        )
        for name in names
    )
    zones = []
    proxies = labels.filter(lambda label: label not in names)  # never a media server's name
    for proxy in draw(st.lists(proxies, min_size=1, max_size=4, unique=True)):
        order = draw(st.permutations(servers))
        chosen = tuple(order[: draw(st.integers(1, len(order)))])
        transports = tuple(
            draw(st.lists(st.sampled_from(list(SipTransport)), min_size=1, unique=True))
        )
        zones.append(
            Zone(
                proxy,
                f"cluster{index}",
                proxy,
                f"{proxy}.{domain}",
                HERE,
                "explicit",
                chosen,
                draw(st.integers(0, 65535)),
                draw(st.integers(0, 86400)),
                transports,
            )
        )
    partners = tuple(
        Partner(f"partner{index}{j}", f"cluster{index}", f"p{j}.partner{index}.test")
        for j in range(draw(st.integers(0, 2)))
    )
    return Cluster(
        f"cluster{index}", ClusterKind.HOSTED, domain, None, tuple(zones), servers, partners
    )


@st.composite
def estates(draw: st.DrawFn) -> Estate:
    count = draw(st.integers(1, 2))
    return Estate(tuple(draw(clusters(i)) for i in range(count)))


@settings(max_examples=40, deadline=None)
@given(estates())
def test_records_follow_the_rules_and_answers_match_them(estate: Estate) -> None:
    records = build_records(estate)
    responder = Responder(prepare_answers(records))
    for zone in records.zones:
        cluster = next(
            c
            for c in estate.clusters
            if zone.domain == c.domain or zone.domain in {p.domain for p in c.partners}
        )
        for each in cluster.zones:
            proxy = dns.name.from_text(f"{each.proxy_label}.{zone.domain}")
            naptrs = zone.records[(proxy, dns.rdatatype.NAPTR)]
            # NAPTR orders follow the zone's transports list: the operator's preference
            by_order = sorted(naptrs, key=lambda r: r.order)
            assert [r.service.decode() for r in by_order] == [
                TRANSPORTS[t].naptr_service for t in each.transports
            ]
            assert [r.order for r in by_order] == [10 * (i + 1) for i in range(len(by_order))]
            # explicit-port phones look up A/AAAA on the proxy name: the first media server's
            first = {a for a in each.media_servers[0].addresses}
            published = {
                r.address
                for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                for r in zone.records.get((proxy, rdtype), ())
            }
            assert published == {str(ipaddress.ip_address(a)) for a in first}
            for rdata in naptrs:
                assert rdata.flags == b"s" and rdata.regexp == b""
                srv = zone.records[(rdata.replacement, dns.rdatatype.SRV)]
                by_priority = sorted(srv, key=lambda r: r.priority)
                assert [r.priority for r in by_priority] == [
                    10 * (i + 1) for i in range(len(each.media_servers))
                ]
                assert [r.target.labels[0].decode() for r in by_priority] == [
                    s.name for s in each.media_servers
                ]
                for r in by_priority:
                    assert (r.target, dns.rdatatype.A) in zone.records or (
                        r.target,
                        dns.rdatatype.AAAA,
                    ) in zone.records
        parsed = dns.zone.from_text(zone.to_text(), origin=zone.origin, relativize=False)
        assert parsed == zone.to_dnspython()
        for (name, rdtype), rdataset in zone.records.items():
            query = dns.message.make_query(name, rdtype)
            for response in (responder.tcp(query.to_wire()),):
                parsed_response = dns.message.from_wire(response)
                assert parsed_response.answer[0].to_rdataset() == rdataset
