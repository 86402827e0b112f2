"""AXFR (and IXFR falling back to it) to allowed secondaries, optionally with TSIG."""

from __future__ import annotations

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

from provisioner.dns.publish import current_records
from provisioner.dns.service import DnsSettings
from provisioner.dns.transfer import Secondary, TransferPolicy, TsigKey
from provisioner.domain.errors import InvalidValue
from provisioner.storage.database import Database
from tests.dns.conftest import RunningDns, start_dns, stop_dns

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTAxMjM0NTY3"


def transferred(running: RunningDns, domain: str, **tsig: object) -> dns.zone.Zone:
    return dns.zone.from_xfr(
        dns.query.xfr(running.host, domain, port=running.port, relativize=False, timeout=5, **tsig),
        relativize=False,
    )


def test_axfr_gives_exactly_the_published_zone(
    demo_dns: RunningDns, demo_database: Database
) -> None:
    for domain in ("p.example.net", "p.acme.example", "voice.globex.example"):
        zone = transferred(demo_dns, domain)
        assert zone == current_records(demo_database).zone(domain).to_dnspython()


def test_ixfr_falls_back_to_axfr_or_says_up_to_date(demo_dns: RunningDns) -> None:
    serial = demo_dns.query("p.example.net", "SOA").answer[0][0].serial
    old = dns.query.xfr(
        demo_dns.host,
        "p.example.net",
        rdtype=dns.rdatatype.IXFR,
        serial=serial - 1,
        port=demo_dns.port,
        relativize=False,
        timeout=5,
    )
    assert len(dns.zone.from_xfr(old, relativize=False).nodes) > 10
    query = dns.message.make_query("p.example.net", "IXFR")
    soa = demo_dns.query("p.example.net", "SOA").answer[0]
    query.authority = [soa]
    response = dns.query.tcp(query, demo_dns.host, port=demo_dns.port, timeout=5)
    assert [rrset.rdtype for rrset in response.answer] == [dns.rdatatype.SOA]


def test_transfers_only_to_allowed_addresses(demo_database: Database) -> None:
    policy = TransferPolicy(allow=("192.0.2.0/24",))
    running = start_dns(demo_database, DnsSettings(port=0, transfer=policy))
    try:
        query = dns.message.make_query("p.example.net", "AXFR")
        response = dns.query.tcp(query, running.host, port=running.port, timeout=5)
        assert response.rcode() == dns.rcode.REFUSED
        assert not response.answer
    finally:
        stop_dns(running)


def test_tsig_is_required_when_configured(demo_database: Database) -> None:
    key = TsigKey.parse(f"hmac-sha256:transfer-key:{SECRET}")
    running = start_dns(demo_database, DnsSettings(port=0, transfer=TransferPolicy(tsig=key)))
    try:
        unsigned = dns.message.make_query("p.example.net", "AXFR")
        response = dns.query.tcp(unsigned, running.host, port=running.port, timeout=5)
        assert response.rcode() == dns.rcode.REFUSED
        keyring = dns.tsigkeyring.from_text({"transfer-key.": ("hmac-sha256", SECRET)})
        zone = transferred(
            running,
            "p.example.net",
            keyring=keyring,
            keyname="transfer-key.",
            keyalgorithm="hmac-sha256",
        )
        assert zone.origin.to_text() == "p.example.net."
        wrong = dns.tsigkeyring.from_text({"transfer-key.": ("hmac-sha256", SECRET[::-1])})
        with pytest.raises(dns.exception.DNSException):
            transferred(running, "p.example.net", keyring=wrong, keyname="transfer-key.")
    finally:
        stop_dns(running)


def test_unknown_zone_is_not_ours(demo_dns: RunningDns) -> None:
    query = dns.message.make_query("example.org", "AXFR")
    response = dns.query.tcp(query, demo_dns.host, port=demo_dns.port, timeout=5)
    assert response.rcode() == dns.rcode.NOTAUTH


def test_bad_transfer_settings_name_the_option() -> None:
    with pytest.raises(InvalidValue, match="--tsig"):
        TsigKey.parse("md5:key:c2VjcmV0")
    with pytest.raises(InvalidValue, match="--tsig"):
        TsigKey.parse("hmac-sha256:key:not base64!")
    with pytest.raises(InvalidValue, match="--notify"):
        Secondary.parse("ns2.example.net:53")
    assert Secondary.parse("[::1]:5300") == Secondary("::1", 5300)
    key = TsigKey.parse(f"hmac-sha256:k:{SECRET}")
    assert SECRET not in repr(key) and SECRET not in str(key)


@pytest.mark.parametrize("signed", [False, True])
def test_a_transfer_in_many_messages(
    demo_database: Database, monkeypatch: pytest.MonkeyPatch, signed: bool
) -> None:
    from provisioner.dns import transfer

    monkeypatch.setattr(transfer, "RRSETS_PER_MESSAGE", 3)
    key = TsigKey.parse(f"hmac-sha256:transfer-key:{SECRET}") if signed else None
    running = start_dns(demo_database, DnsSettings(port=0, transfer=TransferPolicy(tsig=key)))
    try:
        tsig = (
            {
                "keyring": dns.tsigkeyring.from_text({"transfer-key.": ("hmac-sha256", SECRET)}),
                "keyname": "transfer-key.",
                "keyalgorithm": "hmac-sha256",
            }
            if signed
            else {}
        )
        zone = transferred(running, "p.example.net", **tsig)
        assert zone == current_records(demo_database).zone("p.example.net").to_dnspython()
    finally:
        stop_dns(running)
