"""Fanvil's device file read back as the phone would: both formats, every setting it takes.

Each test renders a device and parses the XML, so a key in the wrong element, format or
unit fails here; the golden files only say that the bytes did not change.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from provisioner.dns.records import ProxyRecords
from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.vendors import fanvil
from provisioner.vendors.base import RenderContext, Unavailable, Writes
from tests.vendors.helpers import BASE_URL, LINES, PLAIN_TRANSPORTS, PROXY, config, parse_xml
from tests.vendors.test_settings_reach import without_comments

MAC = "0c383ea00006"
FILE = f"{MAC}.cfg"
TLS = PLAIN_TRANSPORTS["tls"]


def render_text(
    settings: Mapping[str, Any] | None = None,
    model: str = "X4U",
    firmware: str | None = None,
    lines: tuple[LineConfig, ...] = LINES,
    revision: int = 0,
    records: ProxyRecords | None = None,
) -> str:
    device = config("fanvil", model, MAC, settings or {}, lines)
    if revision or records is not None:
        device = DeviceConfig(
            device.mac,
            device.vendor,
            device.model,
            device.account,
            device.cluster,
            device.partner,
            device.zone,
            device.settings,
            device.lines,
            records,
            revision=revision,
        )
    request = fanvil.PROFILE.match(f"/{FILE}")
    assert request is not None
    context = RenderContext(BASE_URL, mac=MAC, model=model, firmware=firmware)
    return fanvil.PROFILE.render("device", device, context).decode("utf-8")


def render_root(settings: Mapping[str, Any] | None = None, **options: Any) -> ElementTree.Element:
    return parse_xml(render_text(settings, **options))


def children(element: ElementTree.Element | None) -> dict[str, str]:
    """An element's children as tag → text; each tag once."""
    assert element is not None
    found: dict[str, str] = {}
    for child in element:
        assert child.tag not in found, f"{child.tag} twice"
        found[child.tag] = child.text or ""
    return found


def sysconf_lines(root: ElementTree.Element) -> dict[int, dict[str, str]]:
    assert root.tag == "sysConf"
    return {int(line.get("index", "0")): children(line) for line in root.iterfind("sip/line")}


def module_lines(root: ElementTree.Element) -> dict[int, dict[str, str]]:
    assert root.tag == "VOIP_CONFIG_FILE"
    found = {}
    for entry in root.iterfind("SIP_CONFIG_MODULE/SIP_Line_List/SIP_Line_List_Entry"):
        values = children(entry)
        found[int(values.pop("ID").removeprefix("SIP"))] = values
    return found


def date(root: ElementTree.Element) -> dict[str, str]:
    return children(root.find("phone/date"))


def records(*naptrs: str) -> ProxyRecords:
    """The zone's proxy name with these NAPTR services (order 10, 20, ...), no SRV sets."""
    found = dns.rrset.RRset(dns.name.from_text(f"{PROXY}."), dns.rdataclass.IN, dns.rdatatype.NAPTR)
    found.update_ttl(60)
    for order, (service, target) in enumerate(
        (service, f"_x{index}.{PROXY}.") for index, service in enumerate(naptrs)
    ):
        text = f'{(order + 1) * 10} 50 "s" "{service}" "" {target}'
        found.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.NAPTR, text))
    return ProxyRecords(PROXY, 60, (found,))


# --- file format by model and firmware ---


@pytest.mark.parametrize(
    ("model", "firmware", "root"),
    [
        ("X4U", None, "sysConf"),
        ("x4u", None, "sysConf"),  # models are found without regard to case
        ("X4U", "0.0.10", "sysConf"),  # the newer models only ever had sysConf
        ("X210", None, "sysConf"),
        ("X7C-Pro", None, "sysConf"),
        ("X3S", None, "VOIP_CONFIG_FILE"),  # firmware unknown: the form both take
        ("X3S", "2.2.9", "VOIP_CONFIG_FILE"),
        ("X3S", "2.2.10", "sysConf"),
        ("X4", "2.10.2.6887", "sysConf"),  # 2.10.2 > 2.2.10 as numbers, not as text
        ("X6", "1.12.2", "VOIP_CONFIG_FILE"),
        ("Z99", None, "sysConf"),  # unknown model, unknown firmware
        ("Z99", "1.4.0.2090", "VOIP_CONFIG_FILE"),
        ("Z99", "2.12.16.17", "sysConf"),
    ],
)
def test_the_format_follows_model_and_firmware(model: str, firmware: str | None, root: str) -> None:
    assert render_root(model=model, firmware=firmware).tag == root


def test_firmware_versions_compare_as_numbers() -> None:
    assert fanvil.firmware_version("2.10.2.6887") == (2, 10, 2, 6887)
    assert fanvil.firmware_version("2.10.2") > fanvil.firmware_version("2.2.10")  # type: ignore[operator]
    assert fanvil.firmware_version("not a version") is None
    assert fanvil.firmware_version(None) is None


def test_an_unreadable_firmware_counts_as_unknown() -> None:
    assert render_root(model="X3S", firmware="P0.16.5-1.12.2").tag == "VOIP_CONFIG_FILE"


def test_the_module_format_carries_the_same_settings() -> None:
    settings = {
        **TLS,
        "voicemail.number": "*97",
        "dtmf": "info",
        "codecs": ["pcma", "g722"],
        "admin.password": "Adm1n-secret",
        "language": "fr",
        "ntp.server": "time.example.net",
        "resync.interval": 3600,
    }
    root = render_root(settings, model="X3S")
    assert root[0].tag == "version"
    lines = module_lines(root)
    assert sorted(lines) == [1, 2]
    first = lines[1]
    assert first["Phone_Number"] == "1001"
    assert first["Register_User"] == first["Proxy_User"] == "auth-1001"
    assert first["Register_Pswd"] == first["Proxy_Pswd"] == "secret-1001"
    assert first["Register_Addr"] == "dental.sip.example.net"
    assert first["Register_Port"] == "5061"
    assert first["Proxy_Port"] == "5061"
    assert first["BakProxy_Addr"] == "backup.p.example.net"
    assert first["BakProxy_Port"] == "5071"
    assert first["Transport"] == "2"  # TLS in the module format (FusionPBX)
    assert (first["DNS_SRV"], first["DNS_Mode"]) == ("0", "0")
    assert first["DTMF_Mode"] == "2"
    assert first["MWI_Num"] == "*97"
    assert first["VoiceCodecMap"] == "G711A,G722"
    assert first["Enable_Reg"] == "1"
    general = children(root.find("GLOBAL_CONFIG_MODULE"))
    assert general["SNTP_Server"] == "time.example.net"
    assert general["Enable_SNTP"] == "1"
    assert general["Language"] == "4"
    assert general["Time_Zone"] == "0"
    assert children(root.find("PHONE_CONFIG_MODULE"))["Menu_Password"] == "Adm1n-secret"
    account = children(root.find("MMI_CONFIG_MODULE/MMI_Account/MMI_Account_Entry"))
    assert account == {
        "ID": "Account1",
        "Name": "admin",
        "Password": "Adm1n-secret",
        "Level": "10",
    }
    update = children(root.find("AUTOUPDATE_CONFIG_MODULE"))
    assert update == {
        "Download_Server_IP": BASE_URL,
        "Download_Mode": "1",
        "Download_Interval": "1",
    }


# --- Version ---


def test_version_is_first_and_rises_with_the_estate() -> None:
    older = render_root(revision=41)
    newer = render_root(revision=42)
    assert older[0].tag == newer[0].tag == "Version"
    old, new = older[0].text or "", newer[0].text or ""
    assert (old, new) == ("2.0000000041", "2.0000000042")
    # The same order whichever way the phone compares: text, decimal, or the part after
    # the dot as a whole number.
    assert old < new
    assert float(old) < float(new)
    assert int(old.split(".")[1]) < int(new.split(".")[1])
    assert render_root(revision=1000)[0].text == "2.0000001000"  # one more digit: still higher


def test_version_keeps_rising_in_the_module_format() -> None:
    assert render_root(model="X3S", revision=7)[0].text == "2.0000000007"
    assert fanvil.version(10**12) == "2.9999999999"  # never wraps to a lower version


# --- servers and transports ---


def tags(root: ElementTree.Element) -> set[str]:
    """Every element's path with its index (``sip/line[1]/RegisterPort``)."""
    found: set[str] = set()

    def walk(element: ElementTree.Element, path: str) -> None:
        for child in element:
            name = child.tag
            index = child.get("index")
            if index is not None:
                name += f"[{index}]"
            if child.tag == "SIP_Line_List_Entry":
                name += f"[{child.findtext('ID')}]"
            found.add(f"{path}/{name}")
            walk(child, f"{path}/{name}")

    walk(root, root.tag)
    return found


@pytest.mark.parametrize("model", ["X4U", "X3S"])
def test_switching_tls_to_dns_naptr_rewrites_every_key(model: str) -> None:
    tls = render_root(TLS, model=model)
    naptr = render_root({}, model=model)
    assert tags(tls) == tags(naptr), "a key of one mode is missing from the other"
    lines = sysconf_lines(naptr) if model == "X4U" else module_lines(naptr)
    first = lines[1]
    names = fanvil.KEYS
    column = 0 if model == "X4U" else 1
    for key in ("registrar_port", "proxy_port", "secondary", "secondary_port", "backup"):
        assert first[names[key][column]] == "", f"{key} keeps a value under dns-naptr"
    assert first[names["srv"][column]] == "1"
    assert first[names["dns_mode"][column]] == "1"
    assert first[names["transport"][column]] == "0"  # no records known: UDP


def test_dns_naptr_takes_the_zones_first_transport() -> None:
    tls_first = render_root(records=records("SIPS+D2T", "SIP+D2U"))
    assert sysconf_lines(tls_first)[1]["Transport"] == "3"
    tcp_first = render_root(records=records("SIP+D2T", "SIPS+D2T"))
    assert sysconf_lines(tcp_first)[1]["Transport"] == "1"


def test_an_explicit_port_turns_srv_off() -> None:
    line = sysconf_lines(render_root(PLAIN_TRANSPORTS["udp"]))[1]
    assert (line["DNSSRV"], line["DNSMode"]) == ("0", "0")
    assert (line["RegisterPort"], line["ProxyPort"]) == ("5060", "5060")
    no_port = sysconf_lines(render_root({"transport": "tcp"}))[1]
    assert (no_port["Transport"], no_port["DNSSRV"], no_port["DNSMode"]) == ("1", "1", "1")


# --- lines ---


def test_lines_beyond_the_estate_are_written_disabled() -> None:
    lines = sysconf_lines(render_root())
    assert sorted(lines) == list(range(1, 13))  # an X4U has 12
    assert lines[1]["EnableReg"] == lines[2]["EnableReg"] == "1"
    for index in range(3, 13):
        line = lines[index]
        assert line["EnableReg"] == "0"
        for key in (
            "PhoneNumber",
            "RegisterUser",
            "RegisterPswd",
            "ProxyUser",
            "ProxyPswd",
            "RegisterAddr",
            "ProxyAddr",
            "BakProxyAddr",
            "MWINum",
        ):
            assert line[key] == "", f"line {index} keeps {key}"


def test_estate_lines_past_the_model_are_left_out_and_named() -> None:
    extra = (*LINES, LineConfig(3, "1003", "auth-1003", "secret-1003", "Kim", "Kim"))
    text = render_text(model="X3S", lines=extra)
    assert sorted(module_lines(parse_xml(text))) == [1, 2]
    assert "secret-1003" not in text
    assert "not written: line 3" in text


def test_an_unknown_model_gets_twenty_lines_and_a_note() -> None:
    text = render_text(model="Z99")
    assert sorted(sysconf_lines(parse_xml(text))) == list(range(1, 21))
    assert "model Z99 is not in the Fanvil table" in text


def test_a_model_name_cannot_break_the_comment() -> None:
    root = render_root(model="X--9-->")
    assert root.tag == "sysConf"


# --- settings ---


def test_new_york_has_its_offset_and_dst_rule() -> None:
    values = date(render_root({"time_zone": "America/New_York"}))
    assert values["TimeZone"] == "-20"  # quarter hours: UTC-5
    assert values["TimeZoneName"] == "UTC-5"
    assert (values["EnableDST"], values["DSTFixedType"], values["DSTMinOffset"]) == ("2", "2", "60")
    start = [values[f"DSTStart{part}"] for part in ("Mon", "Week", "Wday", "Hour")]
    end = [values[f"DSTEnd{part}"] for part in ("Mon", "Week", "Wday", "Hour")]
    assert start == ["3", "2", "0", "2"]  # second Sunday of March, 02:00
    assert end == ["11", "1", "0", "2"]  # first Sunday of November, 02:00


def test_the_last_week_is_minus_one() -> None:
    values = date(render_root({"time_zone": "Europe/London"}))
    assert (values["TimeZone"], values["TimeZoneName"]) == ("0", "UTC")
    assert (values["DSTStartMon"], values["DSTStartWeek"], values["DSTStartHour"]) == (
        "3",
        "-1",
        "1",
    )
    assert (values["DSTEndMon"], values["DSTEndWeek"], values["DSTEndHour"]) == ("10", "-1", "2")


def test_kolkata_is_a_half_hour_offset_without_dst() -> None:
    values = date(render_root({"time_zone": "Asia/Kolkata"}))
    assert values["TimeZone"] == "22"  # 5 h 30 in quarter hours
    assert values["TimeZoneName"] == "UTC+5:30"
    assert values["EnableDST"] == "0"
    assert "DSTStartMon" not in values


def test_utc_and_the_time_server() -> None:
    values = date(render_root({"ntp.server": "time.example.net"}))
    assert values == {
        "EnableSNTP": "1",
        "SNTPServer": "time.example.net",
        "TimeZone": "0",
        "TimeZoneName": "UTC",
        "EnableDST": "0",
    }


def test_time_zone_in_the_module_format() -> None:
    values = children(
        render_root({"time_zone": "America/New_York"}, model="X3S").find("GLOBAL_CONFIG_MODULE")
    )
    assert (values["Time_Zone"], values["Enable_DST"], values["DST_Min_Offset"]) == (
        "-20",
        "2",
        "60",
    )
    assert (values["DST_Start_Mon"], values["DST_Start_Week"], values["DST_Start_Wday"]) == (
        "3",
        "2",
        "0",
    )
    assert (values["DST_End_Mon"], values["DST_End_Hour"]) == ("11", "2")


def test_codecs_in_the_settings_order() -> None:
    text = render_text({"codecs": ["g729", "pcma", "opus", "g722"]})
    for line in sysconf_lines(parse_xml(text)).values():
        if line["EnableReg"] == "1":
            assert line["VoiceCodecMap"] == "G729,PCMA,G722"
    assert "codecs opus: no Fanvil name is documented" in text
    assert "VoiceCodecMap" not in render_text({"codecs": ["opus"]}).split("<sysConf>")[1]


@pytest.mark.parametrize(("dtmf", "code"), [("inband", "0"), ("rfc2833", "1"), ("info", "2")])
def test_dtmf(dtmf: str, code: str) -> None:
    lines = sysconf_lines(render_root({"dtmf": dtmf}))
    assert lines[1]["DTMFMode"] == lines[2]["DTMFMode"] == code


def test_srtp_is_declared_unavailable_and_changes_nothing() -> None:
    assert isinstance(fanvil.SETTINGS["srtp"], Unavailable)
    disabled = without_comments(render_text({"srtp": "disabled"}))
    assert disabled == without_comments(render_text({"srtp": "required"}))
    assert "MediaCrypto" not in disabled


@pytest.mark.parametrize(
    ("seconds", "mode", "hours"),
    [(86400, "1", "24"), (7200, "1", "2"), (301, "1", "1"), (3601, "1", "2"), (0, "0", None)],
)
def test_resync_interval_in_hours(seconds: int, mode: str, hours: str | None) -> None:
    values = children(render_root({"resync.interval": seconds}).find("ap"))
    assert values["FlashMode"] == mode
    assert values.get("FlashInterval") == hours


def test_provisioning_url_and_protocol() -> None:
    values = children(render_root({"provisioning.url": "http://other.example/p/"}).find("ap"))
    assert (values["FlashServerIP"], values["FlashProtocol"]) == ("http://other.example/p", "4")
    default = children(render_root().find("ap"))
    assert (default["FlashServerIP"], default["FlashProtocol"]) == (BASE_URL, "5")


@pytest.mark.parametrize(
    ("language", "code"), [("de", "de"), ("ca", "cat"), ("cs", "cz"), ("en", "en")]
)
def test_language(language: str, code: str) -> None:
    root = render_root({"language": language})
    assert root.findtext("phone/display/DefaultLanguage") == code


def test_an_unknown_language_is_not_written_and_said() -> None:
    text = render_text({"language": "xx"})
    assert parse_xml(text).find("phone/display") is None
    assert "language xx has no Fanvil code known" in text
    module = render_root({"language": "de"}, model="X3S")
    assert module.findtext("GLOBAL_CONFIG_MODULE/Language") == "16"


def test_admin_password_on_the_menu_and_the_web() -> None:
    root = render_root({"admin.password": "Adm1n-s&cret"})
    assert root.findtext("phone/MenuPassword") == "Adm1n-s&cret"
    account = children(root.find("web/account[@index='1']"))
    assert account == {"Name": "admin", "Password": "Adm1n-s&cret", "Level": "10"}


def test_no_admin_password_keeps_the_phones_own() -> None:
    root = render_root()
    assert root.find("phone/MenuPassword") is None
    assert root.find("web") is None


def test_voicemail_on_every_line() -> None:
    lines = sysconf_lines(render_root({"voicemail.number": "*97"}))
    assert lines[1]["MWINum"] == lines[2]["MWINum"] == "*97"
    assert lines[3]["MWINum"] == ""  # a disabled line
    assert sysconf_lines(render_root())[1]["MWINum"] == ""  # unset: cleared


def test_expiry_and_proxy_credentials() -> None:
    line = sysconf_lines(render_root({"registration.expiry": 900}))[2]
    assert line["RegisterTTL"] == "900"
    assert (line["ProxyUser"], line["ProxyPswd"]) == ("auth-1002", "secret-1002")


def test_every_written_key_of_the_map_is_in_the_file() -> None:
    text = render_text({"time_zone": "America/New_York", "admin.password": "Adm1n-secret"})
    for key, reach in fanvil.SETTINGS.items():
        if isinstance(reach, Writes):
            for vendor_key in reach.keys:
                assert f"<{vendor_key}" in text, f"{key}: {vendor_key} not in the file"
