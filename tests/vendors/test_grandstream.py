"""Grandstream: P-values, DNS mode 2 without a port, expiry in minutes, no backups."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.vendors import Delivery, grandstream
from tests.vendors.helpers import PLAIN_TRANSPORTS, PROXY, REGISTRAR, config, parse_xml, render

MAC = "000b82a00004"
BACKUP_KEYS = ("P2312", "P2412", "P2333", "P2433")


def p_values(root: ElementTree.Element) -> dict[str, str]:
    assert root.tag == "gs_provision"
    (settings,) = root.findall("config")
    values: dict[str, str] = {}
    for element in settings:
        assert element.tag not in values, f"{element.tag} twice"
        values[element.tag] = element.text or ""
    return values


def test_the_demo_device(demo_configs: dict[str, DeviceConfig]) -> None:
    values = p_values(parse_xml(render(demo_configs["grandstream"], f"cfg{MAC}.xml")))
    assert values["P271"] == "1"
    assert values["P47"] == "bakery.sip.acme.example"  # no port
    assert values["P48"] == "us-west.p.acme.example"  # pinned zone, partner's white label
    assert values["P103"] == "2"  # NAPTR/SRV
    assert values["P35"] == "2001"
    assert values["P36"] == "2001"
    assert values["P34"] == "bakery-2001-secret"
    assert values["P3"] == "Front Desk"
    assert values["P32"] == "5"  # 300 seconds in minutes
    assert values["P30"] == "pool.ntp.org"
    for key in BACKUP_KEYS:
        assert values.get(key, "") == ""


def test_account_2_and_minutes_round_up() -> None:
    device = config("grandstream", "GRP2614", MAC, {"registration.expiry": 90})
    values = p_values(parse_xml(render(device, f"cfg{MAC}.xml")))
    assert values["P32"] == values["P412"] == "2"
    assert values["P401"] == "1"
    assert values["P402"] == REGISTRAR
    assert values["P403"] == PROXY
    assert values["P404"] == "1002"
    assert values["P405"] == "auth-1002"
    assert values["P406"] == "secret-1002"
    assert values["P408"] == "2"
    assert values["P2412"] == values["P2433"] == ""


def test_lines_past_the_model_are_left_out_and_said_so() -> None:
    lines = tuple(LineConfig(i, str(i), str(i), f"pw-{i}-x", f"L{i}", f"L{i}") for i in (1, 2, 3))
    text = render(config("grandstream", "GRP2612", MAC, lines=lines), f"cfg{MAC}.xml")
    values = p_values(parse_xml(text))
    assert "pw-3-x" not in text
    assert "Lines 3 not written: the GRP2612 has 2 accounts" in text
    assert values["P406"] == "pw-2-x"
    assert "P501" not in values  # the GRP2612 has no account 3


@pytest.mark.parametrize(("transport", "code"), [("udp", "0"), ("tcp", "1"), ("tls", "2")])
def test_plain_transports(transport: str, code: str) -> None:
    settings = PLAIN_TRANSPORTS[transport]
    values = p_values(
        parse_xml(render(config("grandstream", "GRP2614", MAC, settings), f"cfg{MAC}.xml"))
    )
    assert values["P130"] == values["P448"] == code
    assert values["P103"] == "0"
    assert values["P47"] == f"{REGISTRAR}:{settings['registrar.port']}"
    assert values["P48"] == f"{PROXY}:{settings['outbound_proxy.port']}"
    assert values["P2333"] == f"backup.p.example.net:{settings['secondary_proxy.port']}"
    assert values["P2312"] == ""


def test_common_files_are_empty_and_well_formed() -> None:
    device = config("grandstream", "GRP2614", MAC)
    for name in ("cfg.xml", "cfggrp2614.xml"):
        assert p_values(parse_xml(render(device, name))) == {}


@pytest.mark.parametrize(
    ("path", "kind", "mac", "model", "secret", "delivery"),
    [
        (f"/cfg{MAC}", "encrypted", MAC, None, False, Delivery.ABSENT),
        (f"/cfg{MAC}.bin", "encrypted", MAC, None, False, Delivery.ABSENT),
        (f"/cfg{MAC}.xml", "device", MAC, None, True, Delivery.RENDER),
        ("/cfggrp2614.xml", "model", None, "grp2614", False, Delivery.RENDER),
        ("/cfggxp2140.xml", "model", None, "gxp2140", False, Delivery.RENDER),
        ("/cfg.xml", "common", None, None, False, Delivery.RENDER),
    ],
)
def test_paths(
    path: str, kind: str, mac: str | None, model: str | None, secret: bool, delivery: Delivery
) -> None:
    request = grandstream.PROFILE.match(path)
    assert request is not None
    assert (request.kind, request.mac, request.model, request.secret, request.delivery) == (
        kind,
        mac,
        model,
        secret,
        delivery,
    )


@pytest.mark.parametrize(
    "path",
    [
        "/CFG000b82a00004.xml",
        "/cfg000b82a00004.XML",
        "/cfg000b82a00004.xml.bak",
        "/cfg/../000b82a00004.xml",
        "/000b82a00004.xml",
    ],
)
def test_lookalikes_are_refused(path: str) -> None:
    assert grandstream.PROFILE.match(path) is None


def test_user_agent() -> None:
    identity = grandstream.PROFILE.identify(
        "Grandstream Model HW GXP2140 V2.3A SW 1.0.9.69 DevId 000b82a00004"
    )
    assert identity is not None
    assert (identity.vendor, identity.model, identity.firmware, identity.mac) == (
        "grandstream",
        "GXP2140",
        "1.0.9.69",
        MAC,
    )
    bare = grandstream.PROFILE.identify("Grandstream Model HW GRP2614 SW 1.0.5.15")
    assert bare is not None and bare.model == "GRP2614" and bare.mac is None
