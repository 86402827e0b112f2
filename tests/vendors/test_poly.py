"""Poly: master file (no secret) → parameter file with DNSnaptr, port 0, no server 2."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from provisioner.domain.estate import DeviceConfig
from provisioner.vendors import Delivery, poly
from tests.vendors.helpers import PLAIN_TRANSPORTS, PROXY, REGISTRAR, config, parse_xml, render

MAC = "0004f2a00002"


def attributes(root: ElementTree.Element) -> dict[str, str]:
    """Every parameter of a Poly parameter file (attributes of any element), none twice."""
    values: dict[str, str] = {}
    for element in root.iter():
        for key, value in element.attrib.items():
            assert key not in values, f"{key} twice"
            values[key] = value
    return values


def test_the_demo_device_gets_dnsnaptr_port_0_and_no_second_server(
    demo_configs: dict[str, DeviceConfig],
) -> None:
    values = attributes(parse_xml(render(demo_configs["poly"], f"{MAC}-sip.cfg")))
    assert values["reg.1.address"] == "1003"
    assert values["reg.1.auth.userId"] == "1003"
    assert values["reg.1.auth.password"] == "dental-1003-secret"
    assert values["reg.1.displayName"] == "Surgery 1"
    assert values["reg.1.server.1.address"] == "dental.sip.example.net"
    assert values["reg.1.server.1.port"] == "0"
    assert values["reg.1.server.1.transport"] == "DNSnaptr"
    assert values["reg.1.server.1.expires"] == "300"
    assert values["reg.1.outboundProxy.address"] == "us-east.p.example.net"
    assert values["reg.1.outboundProxy.port"] == "0"
    assert values["reg.1.outboundProxy.transport"] == "DNSnaptr"
    assert values["reg.1.server.2.address"] == ""
    assert values["reg.1.server.2.port"] == ""
    assert not any("DNSsnaptr" in value for value in values.values())
    assert values["tcpIpApp.sntp.address"] == "pool.ntp.org"


@pytest.mark.parametrize(
    ("transport", "value"), [("udp", "UDPOnly"), ("tcp", "TCPOnly"), ("tls", "TLS")]
)
def test_plain_transports(transport: str, value: str) -> None:
    settings = PLAIN_TRANSPORTS[transport]
    root = parse_xml(render(config("poly", "VVX450", MAC, settings), f"{MAC}-sip.cfg"))
    values = attributes(root)
    for reg in (1, 2):
        assert values[f"reg.{reg}.server.1.transport"] == value
        assert values[f"reg.{reg}.server.1.address"] == REGISTRAR
        assert values[f"reg.{reg}.server.1.port"] == str(settings["registrar.port"])
        assert values[f"reg.{reg}.outboundProxy.address"] == PROXY
        assert values[f"reg.{reg}.outboundProxy.port"] == str(settings["outbound_proxy.port"])
        assert values[f"reg.{reg}.server.2.address"] == ""
    assert values["reg.2.auth.password"] == "secret-1002"
    assert values["reg.2.auth.userId"] == "auth-1002"


def test_other_settings() -> None:
    device = config(
        "poly",
        "VVX450",
        MAC,
        {
            "srtp": "optional",
            "codecs": "pcmu",
            "voicemail.number": "*98",
            "admin.password": "456789",
            "resync.interval": 0,
        },
    )
    values = attributes(parse_xml(render(device, f"{MAC}-sip.cfg")))
    assert (values["sec.srtp.enable"], values["sec.srtp.require"]) == ("1", "0")
    assert values["voice.codecPref.G711_Mu"] == "1"
    assert values["voice.codecPref.G722"] == "0"
    assert values["msg.mwi.1.callBack"] == "*98"
    assert values["device.auth.localAdminPassword"] == "456789"
    assert values["prov.polling.enabled"] == "0"


def test_the_master_file_names_the_parameter_file_and_has_no_secret() -> None:
    device = config("poly", "VVX450", MAC)
    master = render(device, f"{MAC}.cfg")
    root = parse_xml(master)
    assert root.tag == "APPLICATION"
    assert root.attrib["CONFIG_FILES"] == f"{MAC}-sip.cfg"
    assert "secret-100" not in master
    default = parse_xml(render(device, "000000000000.cfg"))
    assert default.attrib["CONFIG_FILES"] == "[PHONE_MAC_ADDRESS]-sip.cfg"  # Poly puts its MAC in


@pytest.mark.parametrize(
    ("path", "kind", "mac", "secret", "delivery"),
    [
        ("/000000000000.cfg", "default-master", None, False, Delivery.RENDER),
        (f"/{MAC}.cfg", "master", MAC, False, Delivery.RENDER),
        (f"/{MAC}-sip.cfg", "device", MAC, True, Delivery.RENDER),
        (f"/{MAC}-phone.cfg", "phone-overrides", MAC, False, Delivery.ABSENT),
        (f"/{MAC}-directory.xml", "directory", MAC, False, Delivery.ABSENT),
        (f"/{MAC}-license.cfg", "license", MAC, False, Delivery.ABSENT),
        (f"/{MAC}-boot.log", "boot-log", MAC, False, Delivery.UPLOAD),
        (f"/{MAC}-app.log", "app-log", MAC, False, Delivery.UPLOAD),
    ],
)
def test_paths(path: str, kind: str, mac: str | None, secret: bool, delivery: Delivery) -> None:
    request = poly.PROFILE.match(path)
    assert request is not None
    assert (request.kind, request.mac, request.secret, request.delivery) == (
        kind,
        mac,
        secret,
        delivery,
    )


@pytest.mark.parametrize(
    "path",
    [
        "/0004F2A00002.cfg",
        "/0004F2A00002-sip.cfg",
        "/0004f2a00002-SIP.cfg",
        "/0004f2a00002-other.cfg",
        "/0004f2a00002-app.log/../x",
        "/..%2f0004f2a00002.cfg",
        "/0004f2a00002.cfg.xml",
    ],
)
def test_lookalikes_are_refused(path: str) -> None:
    assert poly.PROFILE.match(path) is None


def test_user_agent_has_model_and_firmware_but_no_mac() -> None:
    identity = poly.PROFILE.identify(
        "FileTransport PolycomVVX-VVX_400-UA/4.1.4.7430 Type/Application"
    )
    assert identity is not None
    assert (identity.vendor, identity.model, identity.firmware, identity.mac) == (
        "poly",
        "VVX_400",
        "4.1.4.7430",
        None,
    )
    assert poly.PROFILE.identify("Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37") is None
