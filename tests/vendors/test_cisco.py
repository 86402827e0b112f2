"""Cisco SPA and MPP: secret-free bootstraps → ``<mac>.xml`` with AUTO, DNS SRV and no port."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from provisioner.domain.estate import DeviceConfig
from provisioner.vendors import cisco
from tests.vendors.helpers import (
    BASE_URL,
    PLAIN_TRANSPORTS,
    PROXY,
    REGISTRAR,
    config,
    parse_xml,
    render,
)

MAC = "00562ba00003"


def elements(root: ElementTree.Element) -> dict[str, str]:
    assert root.tag == "flat-profile"
    values: dict[str, str] = {}
    for element in root:
        assert element.tag not in values, f"{element.tag} twice"
        values[element.tag] = element.text or ""
    return values


def test_the_demo_mpp_device(demo_configs: dict[str, DeviceConfig]) -> None:
    values = elements(parse_xml(render(demo_configs["cisco"], f"{MAC}.xml")))
    assert values["Proxy_1_"] == "sip.globex.example"
    assert values["Outbound_Proxy_1_"] == "eu-west.voice.globex.example"
    assert values["SIP_Transport_1_"] == "AUTO"
    assert values["Use_DNS_SRV_1_"] == "Yes"
    assert values["DNS_SRV_Auto_Prefix_1_"] == "Yes"
    assert values["User_ID_1_"] == "3001"
    assert values["Auth_ID_1_"] == "globex-3001"
    assert values["Password_1_"] == "globex-3001-secret"
    assert values["Display_Name_1_"] == "Hank Scorpio"
    assert values["Register_Expires_1_"] == "600"  # the account layer's value, in seconds
    assert values["Alternate_Proxy_1_"] == ""
    assert values["Alternate_Outbound_Proxy_1_"] == ""
    assert values["Dual_Registration_1_"] == "No"
    assert ":" not in values["Proxy_1_"] and ":" not in values["Outbound_Proxy_1_"]
    assert "Use_Auth_ID_1_" not in values  # SPA only
    assert values["Profile_Rule"] == f"[--uid {MAC} --pwd demo-{MAC}] {BASE_URL}/$MA.xml"
    assert values["Profile_Rule_B"] == ""


def test_spa_models_get_the_spa_keys() -> None:
    values = elements(parse_xml(render(config("cisco", "SPA504G", MAC), f"{MAC}.xml")))
    assert values["Use_Auth_ID_1_"] == "Yes"
    assert values["Use_Outbound_Proxy_1_"] == "Yes"
    assert values["SIP_Transport_2_"] == "AUTO"
    assert values["Password_2_"] == "secret-1002"
    assert values["Alternate_Outbound_Proxy_2_"] == ""


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_plain_transports(transport: str) -> None:
    settings = PLAIN_TRANSPORTS[transport]
    device = config("cisco", "CP-8841-3PCC", MAC, settings)
    values = elements(parse_xml(render(device, f"{MAC}.xml")))
    assert values["SIP_Transport_1_"] == transport.upper()
    assert values["Use_DNS_SRV_1_"] == "No"
    assert values["DNS_SRV_Auto_Prefix_1_"] == "No"
    assert values["Proxy_1_"] == f"{REGISTRAR}:{settings['registrar.port']}"
    assert values["Outbound_Proxy_1_"] == f"{PROXY}:{settings['outbound_proxy.port']}"
    assert (
        values["Alternate_Outbound_Proxy_1_"]
        == f"backup.p.example.net:{settings['secondary_proxy.port']}"
    )
    assert values["Alternate_Proxy_1_"] == ""


def test_sip_transport_is_never_a_dns_srv_value() -> None:
    for transport in ("dns-naptr", "udp", "tcp", "tls"):
        values = elements(
            parse_xml(
                render(config("cisco", "CP-8841-3PCC", MAC, {"transport": transport}), f"{MAC}.xml")
            )
        )
        assert values["SIP_Transport_1_"] in ("UDP", "TCP", "TLS", "AUTO")


@pytest.mark.parametrize("name", ["spa504G.cfg", "CP-8841-3PCC.xml", "8841-3PCC.xml"])
def test_bootstraps_carry_no_secret_and_point_at_the_mac_profile(name: str) -> None:
    text = render(config("cisco", "CP-8841-3PCC", MAC, {"admin.password": "qwerty123"}), name)
    values = elements(parse_xml(text))
    url = f"{BASE_URL}/$MA.xml"
    assert values == {"Profile_Rule": url, "Profile_Rule_B": url}  # _B: the same resync
    assert "secret-100" not in text and "qwerty" not in text
    assert "--uid" not in text and "--pwd" not in text


@pytest.mark.parametrize(
    ("path", "kind", "mac", "model", "secret"),
    [
        ("/spa504G.cfg", "spa-bootstrap", None, "504G", False),
        ("/spa508G.cfg", "spa-bootstrap", None, "508G", False),
        ("/spa303.cfg", "spa-bootstrap", None, "303", False),
        ("/CP-8841-3PCC.xml", "mpp-bootstrap", None, "8841-3PCC", False),
        ("/8841-3PCC.xml", "mpp-bootstrap", None, "8841-3PCC", False),
        ("/CP-7832-3PCC.xml", "mpp-bootstrap", None, "7832-3PCC", False),
        ("/CP-8851NR-3PCC.xml", "mpp-bootstrap", None, "8851NR-3PCC", False),
        ("/CP-8841-3PCC.cfg", "mpp-bootstrap", None, "8841-3PCC", False),
        ("/8841-3PCC.cfg", "mpp-bootstrap", None, "8841-3PCC", False),
        (f"/{MAC}.xml", "device", MAC, None, True),
    ],
)
def test_paths(path: str, kind: str, mac: str | None, model: str | None, secret: bool) -> None:
    request = cisco.PROFILE.match(path)
    assert request is not None
    assert (request.kind, request.mac, request.model, request.secret) == (kind, mac, model, secret)


@pytest.mark.parametrize(
    "path",
    [
        "/00562BA00003.xml",  # $MA is lower case
        "/spa.cfg",
        "/spa504G.xml",
        "/CP-8841.xml",
        "/CP-8841-3PCC.txt",
        "/V03.xml",  # $PSN as the 8800 guide's example: names no model, not served
        "/../CP-8841-3PCC.xml",
        "/spa504G.cfg/../../etc/passwd",
        "/00562ba00003.xml.bak",
    ],
)
def test_lookalikes_are_refused(path: str) -> None:
    assert cisco.PROFILE.match(path) is None


@pytest.mark.parametrize(
    ("user_agent", "model", "firmware", "mac"),
    [
        ("Cisco/SPA508G-7.4.4 (0002FDFF2103)(CBT141400UK)", "SPA508G", "7.4.4", "0002fdff2103"),
        ("Cisco-CP-7832-3PCC/11.0.1 (00562b043615)", "CP-7832-3PCC", "11.0.1", "00562b043615"),
    ],
)
def test_user_agents(user_agent: str, model: str, firmware: str, mac: str) -> None:
    identity = cisco.PROFILE.identify(user_agent)
    assert identity is not None
    assert (identity.vendor, identity.model, identity.firmware, identity.mac) == (
        "cisco",
        model,
        firmware,
        mac,
    )
