"""Snom: the index files (no secret) and ``<MAC>.xml``; MAC upper-case; hosts without ports."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from provisioner.domain.estate import DeviceConfig
from provisioner.vendors import snom
from tests.vendors.helpers import BASE_URL, PROXY, REGISTRAR, config, parse_xml, render

MAC = "000413a00005"
UPPER = MAC.upper()


def identity_values(root: ElementTree.Element, idx: str = "1") -> dict[str, str]:
    assert root.tag == "settings"
    (phone,) = root.findall("phone-settings")
    values: dict[str, str] = {}
    for element in phone:
        if element.get("idx", idx) != idx:
            continue
        assert element.tag not in values, f"{element.tag} twice"
        values[element.tag] = element.text or ""
    return values


def test_the_demo_device_uses_its_tcp_override(demo_configs: dict[str, DeviceConfig]) -> None:
    values = identity_values(parse_xml(render(demo_configs["snom"], f"{UPPER}.xml")))
    assert values["user_active"] == "on"
    assert values["user_name"] == "3002"
    assert values["user_pname"] == "3002"
    assert values["user_pass"] == "globex-3002-secret"
    assert values["user_realname"] == "Lab"
    assert values["user_host"] == "sip.globex.example"
    # TCP without a port: an RFC 3263 stack looks up _sip._tcp SRV of the proxy name
    assert values["user_outbound"] == "eu-west.voice.globex.example;transport=tcp"
    assert values["user_expiry"] == "600"


def test_dns_naptr_gives_host_names_without_port_and_says_it_is_unsure() -> None:
    text = render(config("snom", "D785", MAC), f"{UPPER}.xml")
    values = identity_values(parse_xml(text))
    assert values["user_host"] == REGISTRAR
    assert values["user_outbound"] == PROXY
    assert "Unsure" in text
    second = identity_values(parse_xml(text), "2")
    assert second["user_pass"] == "secret-1002" and second["user_pname"] == "auth-1002"


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_plain_transports(transport: str) -> None:
    settings = {"transport": transport, "registrar.port": 5062, "outbound_proxy.port": 5063}
    values = identity_values(
        parse_xml(render(config("snom", "D785", MAC, settings), f"{UPPER}.xml"))
    )
    assert values["user_host"] == f"{REGISTRAR}:5062"
    assert values["user_outbound"] == f"{PROXY}:5063;transport={transport}"


def test_index_files_point_at_the_upper_case_device_file() -> None:
    device = config("snom", "D785", MAC)
    for name, context_mac in ((f"snomD785-{UPPER}.htm", None), ("snomD785.htm", MAC)):
        root = parse_xml(render(device, name, context_mac=context_mac))
        assert root.tag == "setting-files"
        assert [f.get("url") for f in root] == [f"{BASE_URL}/{UPPER}.xml"]
    assert list(parse_xml(render(device, "snomD785.htm"))) == []


@pytest.mark.parametrize(
    ("path", "kind", "mac", "model", "secret"),
    [
        ("/snomD785.htm", "model-index", None, "D785", False),
        (f"/snomD785-{UPPER}.htm", "device-index", MAC, "D785", False),
        ("/snom760.htm", "model-index", None, "760", False),
        (f"/{UPPER}.xml", "device", MAC, None, True),
    ],
)
def test_paths(path: str, kind: str, mac: str | None, model: str | None, secret: bool) -> None:
    request = snom.PROFILE.match(path)
    assert request is not None
    assert (request.kind, request.mac, request.model, request.secret) == (kind, mac, model, secret)


@pytest.mark.parametrize(
    "path",
    [
        f"/{MAC}.xml",  # Snom asks in upper case
        f"/snomD785-{MAC}.htm",
        "/snomD785.html",
        "/SNOMD785.htm",
        "/snom.htm",
        f"/snomD785-{UPPER}.htm/..",
        f"/../{UPPER}.xml",
    ],
)
def test_lookalikes_are_refused(path: str) -> None:
    assert snom.PROFILE.match(path) is None


def test_user_agent() -> None:
    identity = snom.PROFILE.identify(
        "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-gd311851 000413922D24 SXM:0 UXM:0)"
    )
    assert identity is not None
    assert (identity.vendor, identity.model, identity.firmware, identity.mac) == (
        "snom",
        "D785",
        "10.1.33.33",
        "000413922d24",
    )
