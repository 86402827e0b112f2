"""Poly: every setting in its attributes and units, nothing left stale, master files for any
User-Agent."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.domain.estate import LineConfig
from provisioner.storage.database import Database
from provisioner.vendors import poly, profile
from provisioner.web.digest import authorization_header
from tests.vendors.helpers import LINES, config, parse_xml, render
from tests.vendors.test_poly import attributes
from tests.web.support import REALM, phone_client

MAC = "0004f2a00002"


def values(
    settings: dict[str, Any] | None = None, model: str = "VVX450", lines: Any = LINES
) -> dict[str, str]:
    text = render(config("poly", model, MAC, settings, lines), f"{MAC}-sip.cfg")
    return attributes(parse_xml(text))


DST = "tcpIpApp.sntp.daylightSavings."


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (
            "America/New_York",  # second Sunday of March to first Sunday of November, 2:00
            {
                "tcpIpApp.sntp.gmtOffset": "-18000",
                DST + "enable": "1",
                DST + "fixedDayEnable": "0",
                DST + "start.month": "3",
                DST + "start.date": "8",
                DST + "start.dayOfWeek": "1",
                DST + "start.dayOfWeek.lastInMonth": "0",
                DST + "start.time": "2",
                DST + "stop.month": "11",
                DST + "stop.date": "1",
                DST + "stop.time": "2",
            },
        ),
        (
            "Europe/London",  # the last Sunday
            {
                "tcpIpApp.sntp.gmtOffset": "0",
                DST + "start.dayOfWeek.lastInMonth": "1",
                DST + "start.time": "1",
                DST + "stop.dayOfWeek.lastInMonth": "1",
                DST + "stop.time": "2",
            },
        ),
        ("Asia/Kolkata", {"tcpIpApp.sntp.gmtOffset": "19800", DST + "enable": "0"}),
        ("UTC", {"tcpIpApp.sntp.gmtOffset": "0", DST + "enable": "0"}),
    ],
)
def test_time_zone_and_dst(zone: str, expected: dict[str, str]) -> None:
    found = values({"time_zone": zone})
    assert {key: found[key] for key in expected} == expected
    assert found["tcpIpApp.sntp.address.overrideDHCP"] == "1"
    if expected.get(DST + "enable") == "0":
        assert DST + "start.month" not in found


@pytest.mark.parametrize(
    ("dtmf", "via_rtp", "rfc2833", "info"),
    [("rfc2833", "1", "1", "0"), ("inband", "1", "0", "0"), ("info", "0", "0", "1")],
)
def test_dtmf(dtmf: str, via_rtp: str, rfc2833: str, info: str) -> None:
    found = values({"dtmf": dtmf})
    assert found["tone.dtmf.viaRtp"] == via_rtp
    assert found["tone.dtmf.rfc2833Control"] == rfc2833
    assert found["voIpProt.SIP.dtmfViaSignaling.rfc2976"] == info


def test_codecs_srtp_language_voicemail_admin_resync() -> None:
    found = values(
        {
            "codecs": "pcma,g722",
            "srtp": "optional",
            "language": "de",
            "voicemail.number": "*97",
            "admin.password": "Adm1n-pass",
            "resync.interval": 7200,
        }
    )
    assert found["voice.codecPref.G711_A"] == "1"
    assert found["voice.codecPref.G722"] == "2"
    assert found["voice.codecPref.G711_Mu"] == "0"
    assert (found["sec.srtp.enable"], found["sec.srtp.offer"], found["sec.srtp.require"]) == (
        "1",
        "1",
        "0",
    )
    assert found["lcl.ml.lang"] == "German_Germany"
    assert found["msg.mwi.1.callBackMode"] == "contact"
    assert found["msg.mwi.1.callBack"] == "*97"
    assert found["device.auth.localAdminPassword"] == "Adm1n-pass"
    assert found["prov.polling.period"] == "7200"


def test_a_polling_period_of_an_hour_or_less_is_raised_and_said() -> None:
    device = config("poly", "VVX450", MAC, {"resync.interval": 1800})
    text = render(device, f"{MAC}-sip.cfg")
    assert attributes(parse_xml(text))["prov.polling.period"] == "3601"
    assert "below Poly's lower bound: 3601 s written" in text
    said = (
        "resync.interval",
        "Poly polls no more often than every 3601 s: 3601 written instead of 1800",
    )
    assert said in profile("poly").notes(device.settings)
    notes = profile("poly").notes(config("poly", "VVX450", MAC).settings)
    assert all(key != "resync.interval" for key, _ in notes)


def test_values_no_longer_set_are_cleared() -> None:
    found = values()
    assert found["msg.mwi.1.callBackMode"] == "disabled"
    assert found["msg.mwi.1.callBack"] == ""


def test_registrations_beyond_the_estate_are_cleared_up_to_the_models_count() -> None:
    found = values(model="VVX250")  # 4 line keys
    for index in (3, 4):
        for key in ("address", "auth.userId", "auth.password", "server.1.address"):
            assert found[f"reg.{index}.{key}"] == ""
    assert "reg.5.address" not in found
    text = render(config("poly", "VVX_250", MAC), f"{MAC}-sip.cfg")  # the User-Agent's form
    assert "The VVX250 has 4 line keys" in text


def test_an_unknown_model_and_lines_past_the_model() -> None:
    text = render(config("poly", "CCX600", MAC), f"{MAC}-sip.cfg")
    assert "not in Poly's table: 16 registrations written" in text
    assert attributes(parse_xml(text))["reg.16.address"] == ""
    lines = (*LINES, LineConfig(3, "1003", "a3", "s3", "Three", "3"))
    text = render(config("poly", "VVX150", MAC, None, lines), f"{MAC}-sip.cfg")
    assert "Lines 3 not written: this model has 2 line keys." in text


def test_tls_to_dns_naptr_leaves_no_transport_or_port_key_unwritten() -> None:
    tls = values({"transport": "tls", "registrar.port": 5061, "outbound_proxy.port": 5061})
    naptr = values({"transport": "dns-naptr"})
    servers = {k for k in tls if ".server." in k or ".outboundProxy." in k}
    assert servers and servers <= set(naptr)
    assert naptr["reg.1.server.1.transport"] == naptr["reg.1.outboundProxy.transport"] == "DNSnaptr"
    assert naptr["reg.1.server.1.port"] == naptr["reg.1.outboundProxy.port"] == "0"


def test_the_default_master_names_the_phones_own_parameter_file() -> None:
    root = parse_xml(render(config("poly", "VVX450", MAC), "000000000000.cfg"))
    assert root.attrib["CONFIG_FILES"] == "[PHONE_MAC_ADDRESS]-sip.cfg"
    assert poly.device_file("[PHONE_MAC_ADDRESS]") == "[PHONE_MAC_ADDRESS]-sip.cfg"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "agent",
    [
        None,
        "curl/8.0",
        "FileTransport PolycomVVX-VVX_450-UA/6.4.3.5018 Type/Application",
        "FileTransport PolycomSoundPointIP-SPIP_650-UA/4.0.15.1009",  # the bootROM's
    ],
)
async def test_master_files_are_served_whatever_the_user_agent(
    demo_database: Database, agent: str | None
) -> None:
    """The default master to anyone; the phone's own master to a Poly User-Agent at once,
    and to any other after the device's credentials (``<mac>.cfg`` is also Yealink's and
    Fanvil's secret file name: answering it unauthenticated would say which MACs exist)."""
    headers = {"user-agent": agent} if agent else {}
    path = f"/{MAC}.cfg"
    async with phone_client(demo_database) as phones:
        default = await phones.client.get("/000000000000.cfg", headers=headers)
        assert default.status_code == 200
        assert b'CONFIG_FILES="[PHONE_MAC_ADDRESS]-sip.cfg"' in default.content
        own = await phones.client.get(path, headers=headers)
        if agent is None or "Polycom" not in agent:
            assert own.status_code == 401
            nonce = await phones.challenge(path)
            header = authorization_header(MAC, f"demo-{MAC}", REALM, nonce, path)
            own = await phones.client.get(path, headers={**headers, "authorization": header})
        assert own.status_code == 200, own.text
        assert f'CONFIG_FILES="{MAC}-sip.cfg"'.encode() in own.content
