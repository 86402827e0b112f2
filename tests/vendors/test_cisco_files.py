"""Cisco device files read back: time zone and DST, codecs, DTMF, resync, admin password,
voicemail, every line of the model, the profile rule's credentials, and no key of an old
transport left behind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.vendors import cisco
from tests.vendors.helpers import BASE_URL, LINES, PLAIN_TRANSPORTS, config, parse_xml, render
from tests.vendors.test_cisco import elements

MAC = "00562ba00003"
MPP, SPA = "CP-8841-3PCC", "SPA504G"


def device(
    model: str = MPP,
    settings: Mapping[str, Any] | None = None,
    lines: tuple[LineConfig, ...] = LINES,
    user: str = MAC,
    password: str = f"demo-{MAC}",
) -> DeviceConfig:
    found = config("cisco", model, MAC, settings, lines)
    found.__dict__["provisioning_user"] = user
    found.__dict__["provisioning_password"] = password
    return found


def values_of(found: DeviceConfig) -> dict[str, str]:
    return elements(parse_xml(render(found, f"{MAC}.xml")))


@pytest.mark.parametrize(
    ("zone", "time_zone", "enable", "rule"),
    [
        # second Sunday of March (the first on or after the 8th) to the first of November
        ("America/New_York", "GMT-05:00", "yes", "start=3/8/7/2:0:0;end=11/1/7/2:0:0;save=1"),
        # the last Sunday (day -1) of March at 1:00 to the last of October at 2:00
        ("Europe/London", "GMT", "yes", "start=3/-1/7/1:0:0;end=10/-1/7/2:0:0;save=1"),
        ("Australia/Sydney", "GMT+10:00", "yes", "start=10/1/7/2:0:0;end=4/1/7/3:0:0;save=1"),
        ("Asia/Kolkata", "GMT+05:30", "no", ""),  # half an hour, no DST
        ("Asia/Kathmandu", "GMT+05:45", "no", ""),
        ("UTC", "GMT", "no", ""),
    ],
)
def test_time_zone_and_daylight_saving(zone: str, time_zone: str, enable: str, rule: str) -> None:
    for model in (MPP, SPA):
        values = values_of(device(model, {"time_zone": zone}))
        assert values["Time_Zone"] == time_zone
        assert values["Daylight_Saving_Time_Enable"] == enable
        assert values["Daylight_Saving_Time_Rule"] == rule


def test_a_half_hour_zone_says_it_is_unsure_in_the_file() -> None:
    text = render(device(settings={"time_zone": "Asia/Kolkata"}), f"{MAC}.xml")
    assert "GMT+05:30: a half-hour value" in text


@pytest.mark.parametrize(
    ("codecs", "slots"),
    [
        (["g722", "pcmu", "pcma"], ("G722", "G711u", "G711a")),
        (["opus", "g729", "pcma", "pcmu"], ("G729a", "G711a", "G711u")),  # opus skipped
        (["pcma"], ("G711a", "Unspecified", "Unspecified")),
        (["opus"], ("G711u", "Unspecified", "Unspecified")),  # nothing Cisco takes: default
    ],
)
def test_codecs_fill_the_three_preferred_slots_of_every_line(
    codecs: list[str], slots: tuple[str, ...]
) -> None:
    values = values_of(device(settings={"codecs": codecs}))
    for n in (1, 2):
        found = (
            values[f"Preferred_Codec_{n}_"],
            values[f"Second_Preferred_Codec_{n}_"],
            values[f"Third_Preferred_Codec_{n}_"],
        )
        assert found == slots
        assert values[f"Use_Pref_Codec_Only_{n}_"] == "No"
    assert "Preferred_Codec_3_" not in values  # line 3 is not in the estate: disabled


@pytest.mark.parametrize(
    ("dtmf", "method"), [("rfc2833", "AVT"), ("inband", "InBand"), ("info", "INFO")]
)
def test_dtmf(dtmf: str, method: str) -> None:
    values = values_of(device(settings={"dtmf": dtmf}))
    assert values["DTMF_Tx_Method_1_"] == values["DTMF_Tx_Method_2_"] == method


@pytest.mark.parametrize(("interval", "written"), [(0, "0"), (7200, "7200"), (86400, "86400")])
def test_resync_periodic(interval: int, written: str) -> None:
    assert values_of(device(settings={"resync.interval": interval}))["Resync_Periodic"] == written


def test_language_and_srtp_are_not_written() -> None:
    """Declared unavailable: no key, and the file is the same whatever they say."""
    plain = values_of(device())
    other = values_of(device(settings={"language": "de", "srtp": "required"}))
    assert plain == other
    assert not [key for key in plain if "Language" in key or "Secure" in key or "SRTP" in key]
    assert isinstance(cisco.SETTINGS["srtp"], cisco.Unavailable)
    assert isinstance(cisco.SETTINGS["language"], cisco.Unavailable)


def test_admin_password_key_of_each_family() -> None:
    settings = {"admin.password": "Adm1n&<pass>"}
    mpp, spa = values_of(device(MPP, settings)), values_of(device(SPA, settings))
    assert mpp["Admin_Password"] == "Adm1n&<pass>" and "Admin_Passwd" not in mpp
    assert spa["Admin_Passwd"] == "Adm1n&<pass>" and "Admin_Password" not in spa
    unset = values_of(device(MPP))
    assert "Admin_Password" not in unset and "Admin_Passwd" not in unset


def test_voicemail_written_and_cleared() -> None:
    assert values_of(device(settings={"voicemail.number": "*97"}))["Voice_Mail_Number"] == "*97"
    assert values_of(device())["Voice_Mail_Number"] == ""  # cleared, not left as it was


def test_ntp_server() -> None:
    values = values_of(device(settings={"ntp.server": "ntp.example.net"}))
    assert values["Primary_NTP_Server"] == "ntp.example.net"


@pytest.mark.parametrize(
    ("model", "count"), [(MPP, 10), (SPA, 4), ("CP-7861-3PCC", 16), ("SPA303", 3)]
)
def test_every_line_of_the_model_beyond_the_estate_is_disabled_and_cleared(
    model: str, count: int
) -> None:
    values = values_of(device(model, {"transport": "udp", "registrar.port": 5060}))
    assert values["Line_Enable_1_"] == values["Line_Enable_2_"] == "Yes"
    assert values["User_ID_2_"] == "1002"
    for n in range(3, count + 1):
        assert values[f"Line_Enable_{n}_"] == "No"
        for key in ("User_ID", "Password", "Auth_ID", "Display_Name", "Proxy", "Outbound_Proxy"):
            assert values[f"{key}_{n}_"] == "", f"{key}_{n}_"
        assert values[f"Alternate_Proxy_{n}_"] == values[f"Alternate_Outbound_Proxy_{n}_"] == ""
    assert f"Line_Enable_{count + 1}_" not in values


def test_estate_lines_past_the_model_are_named_in_a_comment() -> None:
    lines = (
        *LINES,
        LineConfig(3, "1003", "a3", "s3", "C", "C"),
        LineConfig(4, "1004", "a4", "s4", "D", "D"),
    )
    text = render(device("CP-7821-3PCC", lines=lines), f"{MAC}.xml")
    values = elements(parse_xml(text))
    assert "Line_Enable_3_" not in values and "s3" not in text
    assert "estate lines 3, 4 are not written: CP-7821-3PCC has 2" in text


def test_an_unknown_model_is_written_with_the_unknown_entry_and_says_so() -> None:
    text = render(device("CP-9999-3PCC"), f"{MAC}.xml")
    values = elements(parse_xml(text))
    assert values["Line_Enable_10_"] == "No" and "Line_Enable_11_" not in values
    assert "Admin_Passwd" not in text and "Use_Auth_ID_1_" not in values  # MPP format
    assert "model CP-9999-3PCC is not in the Cisco model table: written with 10 lines" in text
    spa = values_of(device("SPA999G"))
    assert spa["Use_Auth_ID_1_"] == "Yes"  # an unknown SPA gets the SPA keys


def test_models_are_found_without_regard_to_case() -> None:
    assert cisco.MODELS.find("cp-8841-3pcc") is cisco.MODELS.find("CP-8841-3PCC")
    assert cisco.template_for("device", "spa504g") == "cisco/spa.xml.j2"


@pytest.mark.parametrize("model", [MPP, SPA])
@pytest.mark.parametrize("old", ["tls", "udp", "tcp"])
def test_switching_to_dns_naptr_leaves_no_key_of_the_old_mode_unwritten(
    model: str, old: str
) -> None:
    before = values_of(device(model, PLAIN_TRANSPORTS[old]))
    after = values_of(device(model, {"transport": "dns-naptr"}))
    assert set(before) == set(after)  # the same keys in both modes: each one rewritten
    assert after["SIP_Transport_1_"] == "AUTO" and after["Use_DNS_SRV_1_"] == "Yes"
    assert after["Alternate_Outbound_Proxy_1_"] == "" and ":" not in after["Proxy_1_"]
    assert before["Alternate_Outbound_Proxy_1_"] != ""


def test_the_device_file_keeps_the_credentials_in_its_own_rule() -> None:
    values = values_of(device())
    assert values["Profile_Rule"] == f"[--uid {MAC} --pwd demo-{MAC}] {BASE_URL}/$MA.xml"
    assert values["Profile_Rule_B"] == ""  # the bootstrap's rule, without credentials: gone
    other = values_of(device(settings={"provisioning.url": "https://other.example.net/p"}))
    assert other["Profile_Rule"].endswith("] https://other.example.net/p/$MA.xml")


def test_credentials_that_need_quoting_are_quoted_and_dollars_doubled() -> None:
    values = values_of(device(user="user one", password="pa$s]w;rd"))
    assert values["Profile_Rule"] == f'[--uid "user one" --pwd "pa$$s]w;rd"] {BASE_URL}/$MA.xml'


def test_credentials_a_rule_cannot_carry_are_left_out_and_said() -> None:
    text = render(device(password='bad"quote'), f"{MAC}.xml")
    values = elements(parse_xml(text))
    assert values["Profile_Rule"] == f"{BASE_URL}/$MA.xml"
    assert "bad" not in text
    assert "cannot carry" in text
    nothing = elements(parse_xml(render(device(user="", password=""), f"{MAC}.xml")))
    assert nothing["Profile_Rule"] == f"{BASE_URL}/$MA.xml"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("00562ba00003", "00562ba00003"),
        ("demo-00562ba00003", "demo-00562ba00003"),
        ("a b", '"a b"'),
        ("$MA", '"$$MA"'),
        ("x]y", '"x]y"'),
        ('q"uote', None),
        ("tab\there", None),
        ("", None),
    ],
)
def test_rule_arguments(text: str, written: str | None) -> None:
    assert cisco.rule_argument(text) == written


def test_the_secret_stays_in_the_per_mac_file() -> None:
    found = device(password="Very-Secret-1")
    for name in ("spa504G.cfg", "CP-8841-3PCC.xml", "8841-3PCC.xml", "CP-8841-3PCC.cfg"):
        assert "Very-Secret-1" not in render(found, name)
    assert "Very-Secret-1" in render(found, f"{MAC}.xml")
