"""Every name a rendered file hands a phone resolves, against the embedded DNS server, the
way that vendor looks it up with the keys the file sets.

For each vendor × transport (dns-naptr, udp, tcp, tls) × port (none, explicit) the file
is read back as the phone reads it: which name requests go to (the outbound proxy; the
registrar, the account's SIP domain, is only the domain of the address of record while
the outbound proxy is on, so every file is checked to turn the proxy on), and how the
vendor looks it up with those keys — NAPTR → SRV → A, SRV → A, or A/AAAA only. Then that
lookup runs against our DNS server, and must end with addresses.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any, NamedTuple
from xml.etree import ElementTree

import dns.message
import dns.query
import dns.rdatatype
import pytest

from provisioner.domain.effective import device_config
from provisioner.domain.settings import validate_layer
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device, load_estate
from provisioner.vendors import RenderContext, profile
from tests.dns.conftest import RunningDns, start_dns, stop_dns
from tests.vendors.helpers import MODELS

pytestmark = pytest.mark.integration

MAC = "001565a00001"  # the demo's Yealink: account example-dental, zone us-east
SRV_PREFIX = {"udp": "_sip._udp.", "tcp": "_sip._tcp.", "tls": "_sips._tcp."}
NAPTR_SERVICE = {b"SIP+D2U": "udp", b"SIP+D2T": "tcp", b"SIPS+D2T": "tls"}


class Lookup(NamedTuple):
    """What the phone asks DNS: `how` is naptr, srv or a."""

    how: str
    name: str  # for srv: the SRV owner name itself
    port: int = 0


@pytest.fixture
def running_dns(demo_database: Database) -> Iterator[RunningDns]:
    running = start_dns(demo_database)
    yield running
    stop_dns(running)


def rendered(database: Database, vendor: str, settings: dict[str, Any]) -> str:
    with database.read() as session:
        record = load_device(session, MAC)
        estate = load_estate(session)
    assert record is not None
    record = dataclasses.replace(
        record, vendor=vendor, model=MODELS[vendor], settings=validate_layer(settings, "test")
    )
    config = device_config(estate, record)
    files = profile(vendor).device_files(MAC, MODELS[vendor])
    request = profile(vendor).match("/" + files[0])
    assert request is not None
    context = RenderContext("http://prov.test", mac=MAC, model=MODELS[vendor])
    return profile(vendor).render(request.kind, config, context).decode()


def split_host_port(text: str) -> tuple[str, int]:
    host, _, port = text.partition(":")
    return host, int(port) if port else 0


def srv_or_a(name: str, port: int, transport: str) -> Lookup:
    return Lookup("a", name, port) if port else Lookup("srv", SRV_PREFIX[transport] + name)


# --- how each vendor looks its outbound proxy up, from the keys of its file ---


def yealink(text: str) -> Lookup:
    values = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in text.splitlines())
        if not key.startswith("#")
    )
    assert values["account.1.outbound_proxy_enable"] == "1"
    name = values["account.1.outbound_proxy.1.address"]
    port = int(values["account.1.outbound_proxy.1.port"] or 0)
    code = values["account.1.sip_server.1.transport_type"]
    if code == "3" and not port:  # DNS-NAPTR with port 0
        return Lookup("naptr", name)
    return srv_or_a(name, port, {"0": "udp", "1": "tcp", "2": "tls", "3": "udp"}[code])


def poly(text: str) -> Lookup:
    reg = ElementTree.fromstring(text).find("reg")
    assert reg is not None and reg.get("reg.1.server.1.useOutboundProxy") == "1"
    name, port = reg.get("reg.1.outboundProxy.address"), int(reg.get("reg.1.outboundProxy.port"))
    transport = reg.get("reg.1.outboundProxy.transport")
    if transport == "DNSnaptr" and not port:
        return Lookup("naptr", name)  # type: ignore[arg-type]
    kind = {"UDPOnly": "udp", "TCPOnly": "tcp", "TLS": "tls", "DNSnaptr": "udp"}[transport]  # type: ignore[index]
    return srv_or_a(name, port, kind)  # type: ignore[arg-type]


def cisco(text: str) -> Lookup:
    values = {element.tag: element.text or "" for element in ElementTree.fromstring(text)}
    name, port = split_host_port(values["Outbound_Proxy_1_"])
    if values["Use_DNS_SRV_1_"] != "Yes" or port:
        return Lookup("a", name, port)
    if values["DNS_SRV_Auto_Prefix_1_"] != "Yes":
        return Lookup("srv", name)  # the name is queried as SRV as given
    if values["SIP_Transport_1_"] == "AUTO":
        return Lookup("naptr", name)
    return Lookup("srv", "_sip._udp." + name)  # the auto prefix is always _sip._udp.


def grandstream(text: str) -> Lookup:
    values = {e.tag: e.text or "" for e in ElementTree.fromstring(text).iter()}
    name, port = split_host_port(values["P48"])
    mode = values["P103"]
    if mode == "2":
        return Lookup("naptr", name)
    if mode == "1":
        return Lookup(
            "srv", SRV_PREFIX[{"0": "udp", "1": "tcp", "2": "tls"}[values["P130"]]] + name
        )
    return Lookup("a", name, port)


def snom(text: str) -> Lookup:
    outbound = next(
        e.text or ""
        for e in ElementTree.fromstring(text).iter("user_outbound")
        if e.get("idx") == "1"
    )
    target, _, parameters = outbound.partition(";")
    name, port = split_host_port(target)
    transport = re.search(r"transport=(\w+)", parameters)
    if port:
        return Lookup("a", name, port)
    if transport is None:
        return Lookup("naptr", name)  # RFC 3263: no transport, no port
    return Lookup("srv", SRV_PREFIX[transport.group(1)] + name)


def fanvil(text: str) -> Lookup:
    line = ElementTree.fromstring(text).find("sip/line[@index='1']")
    assert line is not None
    values = {e.tag: e.text or "" for e in line}
    name, port = values["ProxyAddr"], int(values.get("ProxyPort") or 0)
    if values["DNSSRV"] != "1" or port:
        return Lookup("a", name, port)
    # With no Transport written (dns-naptr) the phone keeps its own, UDP from the factory:
    # the conservative reading is SRV for UDP.
    transport = {"0": "udp", "1": "tcp", "3": "tls"}[values.get("Transport", "0")]
    return Lookup("srv", SRV_PREFIX[transport] + name)


READERS = {
    "yealink": yealink,
    "poly": poly,
    "cisco": cisco,
    "grandstream": grandstream,
    "snom": snom,
    "fanvil": fanvil,
}


# --- the lookup, as RFC 3263 describes it, against the embedded server ---


def ask(running: RunningDns, name: str, rdtype: str) -> list[Any]:
    response = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=running.port)
    return [rdata for rrset in response.answer for rdata in rrset]


def addresses(running: RunningDns, lookup: Lookup) -> list[str]:
    if lookup.how == "a":
        return [r.address for rdtype in ("A", "AAAA") for r in ask(running, lookup.name, rdtype)]
    if lookup.how == "naptr":
        naptrs = sorted(ask(running, lookup.name, "NAPTR"), key=lambda r: (r.order, r.preference))
        usable = [r for r in naptrs if r.flags.lower() == b"s" and r.service in NAPTR_SERVICE]
        assert usable, f"no usable NAPTR at {lookup.name}"
        srv_name = usable[0].replacement.to_text()
    else:
        srv_name = lookup.name
    targets = sorted(ask(running, srv_name, "SRV"), key=lambda r: r.priority)
    assert targets, f"no SRV at {srv_name}"
    return [r.address for target in targets for r in ask(running, target.target.to_text(), "A")]


@pytest.mark.parametrize("port", ["none", "explicit"])
@pytest.mark.parametrize("transport", ["dns-naptr", "udp", "tcp", "tls"])
@pytest.mark.parametrize("vendor", sorted(READERS))
def test_every_proxy_name_resolves_as_the_vendor_looks_it_up(
    demo_database: Database, running_dns: RunningDns, vendor: str, transport: str, port: str
) -> None:
    settings: dict[str, Any] = {"transport": transport}
    if port == "explicit":
        number = 5061 if transport == "tls" else 5060
        settings.update({"outbound_proxy.port": number, "registrar.port": number})
    lookup = READERS[vendor](rendered(demo_database, vendor, settings))
    assert lookup.name.endswith("us-east.p.example.net")
    found = addresses(running_dns, lookup)
    assert found, f"{vendor} {transport} port {port}: {lookup} gives no address"
    if port == "explicit" and transport != "dns-naptr":
        # the proxy name's own A record: the zone's first media server, no DNS failover
        assert lookup.how == "a" and found == ["127.0.0.11"]
    else:
        # no port: the lookup follows DNS to ms1, ms2, ms3 in the zone's order
        assert lookup.how in ("naptr", "srv")
        assert found == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
