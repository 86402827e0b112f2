"""Fanvil: ``<mac>.cfg`` as ``<sysConf>``, DNSSRV on, hosts without ports, empty backups."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from provisioner.domain.estate import DeviceConfig
from provisioner.vendors import fanvil
from tests.vendors.helpers import PLAIN_TRANSPORTS, PROXY, REGISTRAR, config, parse_xml, render

MAC = "0c383ea00006"
BACKUP_KEYS = ("BakProxyAddr", "BakProxyPort", "BackupAddr", "BackupPort")


def line_values(root: ElementTree.Element, index: str = "1") -> dict[str, str]:
    assert root.tag == "sysConf"
    (line,) = [line for line in root.iterfind("sip/line") if line.get("index") == index]
    values: dict[str, str] = {}
    for element in line:
        assert element.tag not in values, f"{element.tag} twice"
        values[element.tag] = element.text or ""
    return values


def test_the_demo_device(demo_configs: dict[str, DeviceConfig]) -> None:
    text = render(demo_configs["fanvil"], f"{MAC}.cfg")
    values = line_values(parse_xml(text))
    assert values["PhoneNumber"] == "2002"
    assert values["RegisterUser"] == "2002"
    assert values["RegisterPswd"] == "bakery-2002-secret"
    assert values["DisplayName"] == "Kitchen"
    assert values["RegisterAddr"] == "bakery.sip.acme.example"
    assert values["ProxyAddr"] == "us-east.p.acme.example"
    assert values["DNSSRV"] == "1"
    assert values["RegisterTTL"] == "300"
    assert values["RegisterPort"] == "" and values["ProxyPort"] == ""  # no port: SRV
    assert values["ProxyUser"] == "2002" and values["ProxyPswd"] == "bakery-2002-secret"
    for key in BACKUP_KEYS:
        assert values[key] == ""
    assert "Unsure" in text


@pytest.mark.parametrize(("transport", "code"), [("udp", "0"), ("tcp", "1"), ("tls", "3")])
def test_plain_transports(transport: str, code: str) -> None:
    settings = PLAIN_TRANSPORTS[transport]
    root = parse_xml(render(config("fanvil", "X4U", MAC, settings), f"{MAC}.cfg"))
    for index in ("1", "2"):
        values = line_values(root, index)
        assert values["Transport"] == code
        assert values["DNSSRV"] == "0"
        assert values["RegisterAddr"] == REGISTRAR
        assert values["RegisterPort"] == str(settings["registrar.port"])
        assert values["ProxyAddr"] == PROXY
        assert values["ProxyPort"] == str(settings["outbound_proxy.port"])
        assert values["BakProxyAddr"] == "backup.p.example.net"
        assert values["BakProxyPort"] == str(settings["secondary_proxy.port"])
        assert values["BackupAddr"] == ""
    assert line_values(root, "2")["RegisterPswd"] == "secret-1002"


def test_paths() -> None:
    request = fanvil.PROFILE.match(f"/{MAC}.cfg")
    assert request is not None
    assert (request.kind, request.mac, request.secret) == ("device", MAC, True)


@pytest.mark.parametrize(
    "path", [f"/{MAC.upper()}.cfg", f"/{MAC}.xml", f"/{MAC}.cfg.bak", f"/./{MAC}.cfg", "/x4.cfg"]
)
def test_lookalikes_are_refused(path: str) -> None:
    assert fanvil.PROFILE.match(path) is None


def test_user_agent() -> None:
    identity = fanvil.PROFILE.identify("Fanvil X4 2.10.2.6887 0c383e07e16c")
    assert identity is not None
    assert (identity.vendor, identity.model, identity.firmware, identity.mac) == (
        "fanvil",
        "X4",
        "2.10.2.6887",
        "0c383e07e16c",
    )


def test_a_user_agent_whose_model_has_a_variant_word() -> None:
    identity = fanvil.PROFILE.identify("Fanvil X6U Pro 0.0.10 0c383e07e16c")
    assert identity is not None
    assert (identity.model, identity.firmware, identity.mac) == (
        "X6U Pro",
        "0.0.10",
        "0c383e07e16c",
    )
    model = fanvil.MODELS.find(identity.model)
    assert model is not None and model.name == "X6U-Pro"
