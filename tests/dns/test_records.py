"""The records built from the estate: what the zones hold and what is refused."""

from __future__ import annotations

import dataclasses

import dns.name
import dns.rdatatype
import pytest

from provisioner.dns.records import DnsOptions, NameServer, build_records
from provisioner.domain.errors import EstateErrors
from provisioner.domain.estate import Estate, SipTransport
from provisioner.storage.database import Database
from tests.dns.helpers import estate_of, replace_zone

NAPTR = dns.rdatatype.NAPTR
SRV = dns.rdatatype.SRV
A = dns.rdatatype.A


def n(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


@pytest.fixture
def demo_estate(demo_database: Database) -> Estate:
    return estate_of(demo_database)


def srv_targets(records, domain: str, name: str) -> list[tuple[int, int, int, str]]:
    rdataset = records.zone(domain).records[(n(name), SRV)]
    return sorted((r.priority, r.weight, r.port, r.target.to_text()) for r in rdataset)


def test_one_zone_per_cluster_and_partner_domain(demo_estate: Estate) -> None:
    records = build_records(demo_estate)
    assert sorted(records.domains) == ["p.acme.example", "p.example.net", "voice.globex.example"]
    for zone in records.zones:
        assert (zone.origin, dns.rdatatype.SOA) in zone.records
        assert (zone.origin, dns.rdatatype.NS) in zone.records


def test_naptr_per_offered_transport_with_flag_s_and_empty_regexp(demo_estate: Estate) -> None:
    records = build_records(demo_estate)
    naptrs = records.zone("p.example.net").records[(n("us-east.p.example.net"), NAPTR)]
    found = sorted((r.order, r.flags, r.service, r.regexp, r.replacement.to_text()) for r in naptrs)
    # us-east lists no transports: the default, [udp, tcp, tls], in that order
    assert found == [
        (10, b"s", b"SIP+D2U", b"", "_sip._udp.us-east.p.example.net."),
        (20, b"s", b"SIP+D2T", b"", "_sip._tcp.us-east.p.example.net."),
        (30, b"s", b"SIPS+D2T", b"", "_sips._tcp.us-east.p.example.net."),
    ]
    # eu-central offers UDP and TCP only: no SIPS NAPTR and no _sips._tcp SRV
    globex = records.zone("voice.globex.example")
    services = {r.service for r in globex.records[(n("eu-central.voice.globex.example"), NAPTR)]}
    assert services == {b"SIP+D2T", b"SIP+D2U"}
    assert (n("_sips._tcp.eu-central.voice.globex.example"), SRV) not in globex.records


def test_never_sips_over_udp(demo_estate: Estate) -> None:
    for zone in build_records(demo_estate).zones:
        for (_, rdtype), rdataset in zone.records.items():
            if rdtype == NAPTR:
                assert all(r.service != b"SIPS+D2U" for r in rdataset)


def test_srv_priorities_follow_the_zone_order(demo_estate: Estate) -> None:
    records = build_records(demo_estate)
    assert srv_targets(records, "p.example.net", "_sip._udp.us-east.p.example.net") == [
        (10, 50, 5060, "ms1.p.example.net."),
        (20, 50, 5060, "ms2.p.example.net."),
        (30, 50, 5060, "ms3.p.example.net."),
    ]
    assert srv_targets(records, "p.example.net", "_sips._tcp.us-west.p.example.net") == [
        (10, 50, 5061, "ms3.p.example.net."),
        (20, 50, 5061, "ms2.p.example.net."),
        (30, 50, 5061, "ms1.p.example.net."),
    ]
    # us-central: nearest first from Chicago
    nearest = srv_targets(records, "p.example.net", "_sip._tcp.us-central.p.example.net")
    assert [t[3] for t in nearest] == [
        "ms2.p.example.net.",
        "ms1.p.example.net.",
        "ms3.p.example.net.",
    ]


def test_partner_zone_is_white_labelled_and_stands_alone(demo_estate: Estate) -> None:
    records = build_records(demo_estate)
    acme = records.zone("p.acme.example")
    assert srv_targets(records, "p.acme.example", "_sip._udp.us-east.p.acme.example") == [
        (10, 50, 5060, "ms1.p.acme.example."),
        (20, 50, 5060, "ms2.p.acme.example."),
        (30, 50, 5060, "ms3.p.acme.example."),
    ]
    assert [r.address for r in acme.records[(n("ms1.p.acme.example"), A)]] == ["127.0.0.11"]
    for name, _ in acme.records:
        assert name.is_subdomain(acme.origin)


def test_every_srv_target_has_addresses_in_its_zone(demo_estate: Estate) -> None:
    for zone in build_records(demo_estate).zones:
        for (_, rdtype), rdataset in zone.records.items():
            if rdtype == SRV:
                for rdata in rdataset:
                    assert (rdata.target, A) in zone.records


def test_serials_and_options_reach_the_soa(demo_estate: Estate) -> None:
    options = DnsOptions(
        nameservers=(NameServer("ns1", ("192.0.2.53",)), NameServer("ns2.example.org")),
        hostmaster="dns-admin.example.org",
    )
    records = build_records(demo_estate, {"p.example.net": 2024010101}, options)
    zone = records.zone("p.example.net")
    soa = zone.soa[0]
    assert soa.serial == 2024010101
    assert soa.mname == n("ns1.p.example.net")
    assert soa.rname == n("dns-admin.example.org")
    ns = {r.target.to_text() for r in zone.records[(zone.origin, dns.rdatatype.NS)]}
    assert ns == {"ns1.p.example.net.", "ns2.example.org."}
    assert [r.address for r in zone.records[(n("ns1.p.example.net"), A)]] == ["192.0.2.53"]
    assert records.zone("p.acme.example").soa[0].serial == 1


def test_zone_text_is_bind_format_that_dnspython_reads_back(demo_estate: Estate) -> None:
    import dns.zone

    zone = build_records(demo_estate).zone("p.example.net")
    parsed = dns.zone.from_text(zone.to_text(), origin=zone.origin, relativize=False)
    assert parsed == zone.to_dnspython()


def test_records_are_read_only(demo_estate: Estate) -> None:
    zone = build_records(demo_estate).zone("p.example.net")
    with pytest.raises(TypeError):
        zone.records[(zone.origin, A)] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        zone.soa.add(zone.soa[0])


def errors_of(estate: Estate) -> str:
    with pytest.raises(EstateErrors) as caught:
        build_records(estate)
    return str(caught.value)


def test_a_zone_without_media_servers_is_refused(demo_estate: Estate) -> None:
    message = errors_of(replace_zone(demo_estate, "hosted", "us-west", media_servers=()))
    assert "DNS zone p.example.net: zone us-west: media servers: no media server" in message
    assert "DNS zone p.acme.example: zone us-west: media servers" in message


def test_out_of_range_numbers_are_refused(demo_estate: Estate) -> None:
    estate = replace_zone(demo_estate, "globex", "eu-west", srv_weight=70000)
    assert "zone eu-west: srv_weight: 70000 is out of range 0..65535" in errors_of(estate)
    server = demo_estate.cluster("globex").media_servers[0]
    broken = dataclasses.replace(server, ports={**server.ports, SipTransport.TLS: 0})
    estate = replace_zone(demo_estate, "globex", "eu-west", media_servers=(broken,))
    assert "zone eu-west: media server ms1: tls port: 0 is out of range 1..65535" in errors_of(
        estate
    )


def test_a_media_server_without_a_valid_address_is_refused(demo_estate: Estate) -> None:
    globex = demo_estate.cluster("globex")
    servers = (
        dataclasses.replace(globex.media_servers[0], addresses=()),
        dataclasses.replace(globex.media_servers[1], addresses=("ms2.example.org",)),
    )
    clusters = tuple(
        dataclasses.replace(c, media_servers=servers) if c.name == "globex" else c
        for c in demo_estate.clusters
    )
    message = errors_of(dataclasses.replace(demo_estate, clusters=clusters))
    assert "DNS zone voice.globex.example: media server ms1: has no address" in message
    assert "media server ms2: 'ms2.example.org' is not an IPv4 or IPv6 address" in message


def test_nested_or_shared_domains_are_refused(demo_estate: Estate) -> None:
    hosted = demo_estate.cluster("hosted")
    partner = dataclasses.replace(hosted.partners[0], domain="acme.voice.globex.example")
    clusters = tuple(
        dataclasses.replace(c, partners=(partner,)) if c.name == "hosted" else c
        for c in demo_estate.clusters
    )
    message = errors_of(dataclasses.replace(demo_estate, clusters=clusters))
    assert "DNS zone acme.voice.globex.example (partner acme): domain: overlaps" in message
