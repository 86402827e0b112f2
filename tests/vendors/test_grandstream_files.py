"""Grandstream device files read back: every account, every managed key in every mode."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

import pytest

from provisioner.domain.estate import LineConfig
from provisioner.vendors import grandstream
from tests.vendors.helpers import PLAIN_TRANSPORTS, PROXY, REGISTRAR, config, parse_xml, render

MAC = "000b82a00004"


def lines(count: int) -> tuple[LineConfig, ...]:
    return tuple(
        LineConfig(i, f"10{i:02d}", f"auth-{i}", f"secret-{i}", f"Name {i}", f"Label {i}")
        for i in range(1, count + 1)
    )


def p_values(text: str) -> dict[str, str]:
    root: ElementTree.Element = parse_xml(text)
    assert root.tag == "gs_provision"
    (settings,) = root.findall("config")
    values: dict[str, str] = {}
    for element in settings:
        assert element.tag not in values, f"{element.tag} twice"
        values[element.tag] = element.text or ""
    return values


def file_of(
    settings: Mapping[str, Any] | None = None,
    model: str = "GRP2614",
    count: int = 2,
) -> tuple[str, dict[str, str]]:
    text = render(config("grandstream", model, MAC, settings, lines(count)), f"cfg{MAC}.xml")
    return text, p_values(text)


# --- the P-value tables, held to Grandstream's GRP261x 1.0.5.15 template ---


def test_account_keys_are_the_templates() -> None:
    keys = grandstream.ACCOUNT_KEYS
    assert keys[2]["active"] == "P401" and keys[2]["account_name"] == "P417"
    assert keys[3]["server"] == "P502" and keys[3]["secondary_server"] == "P2512"
    assert keys[4]["transport"] == "P648" and keys[4]["srv_failover_mode"] == "P26340"
    assert keys[5]["active"] == "P1701" and keys[5]["backup_proxy"] == "P2733"
    assert keys[5]["voicemail"] == "P1726" and keys[5]["register_before_failover"] == "P29495"
    six = keys[6]
    assert (six["active"], six["account_name"], six["server"], six["proxy"]) == (
        "P1801",
        "P1817",
        "P1802",
        "P1803",
    )
    assert (six["user_id"], six["auth_id"], six["password"], six["display_name"]) == (
        "P1804",
        "P1805",
        "P1806",
        "P1807",
    )
    assert (six["dns_mode"], six["transport"], six["expiry_minutes"], six["srtp"]) == (
        "P1808",
        "P1848",
        "P1812",
        "P1843",
    )
    assert six["codecs"] == tuple(f"P18{n}" for n in range(51, 59))
    assert six["dtmf"] == ("P2801", "P2802", "P2803")
    assert (six["srv_failover_mode"], six["register_before_failover"]) == ("P26540", "P29595")
    every = [
        key
        for table in keys.values()
        for value in table.values()
        for key in ((value,) if isinstance(value, str) else value)
    ]
    assert len(every) == len(set(every)), "two settings share a P-value"


# --- accounts ---


def test_every_account_of_the_grp2616() -> None:
    _, values = file_of(model="GRP2616", count=6)
    for n, active in ((1, "P271"), (2, "P401"), (3, "P501"), (4, "P601"), (5, "P1701")):
        assert values[active] == "1", n
    assert values["P1801"] == "1"
    assert values["P1804"] == "1006"
    assert values["P1806"] == "secret-6"
    assert values["P1802"] == REGISTRAR
    assert values["P1803"] == PROXY
    assert values["P1808"] == "2"
    assert values["P1848"] == "0"
    assert values["P1817"] == "Label 6"


def test_grp2614_accounts_past_the_estate_are_disabled_and_cleared() -> None:
    text, values = file_of(model="GRP2614", count=1, settings={"voicemail.number": "*97"})
    assert values["P271"] == "1" and values["P33"] == "*97"
    for n in (2, 3, 4):
        keys = grandstream.ACCOUNT_KEYS[n]
        assert values[keys["active"]] == "0"
        for field in ("user_id", "auth_id", "password", "server", "proxy", "voicemail"):
            assert values[keys[field]] == "", (n, field)
        assert values[keys["dns_mode"]] == "2"  # the same keys as an enabled account
    assert "P1701" not in values and "P1801" not in values  # the GRP2614 has four
    assert "Account 4: disabled" in text


def test_every_account_carries_the_same_keys_whatever_the_estate() -> None:
    key_sets = {frozenset(file_of(count=count)[1]) for count in (0, 1, 2, 4)}
    assert len(key_sets) == 1


def test_an_unknown_model_gets_six_accounts_and_says_so() -> None:
    text, values = file_of(model="GXP2140", count=1)
    assert values["P1801"] == "0"
    assert "not in Provisioner's table" in text


def test_the_policy_reaches_every_account() -> None:
    settings = {
        "failover.failback": "new-requests",
        "failover.signal_only_registered": False,
        "failover.register_on_failover": False,
    }
    _, values = file_of(settings, model="GRP2616", count=6)
    for n in range(1, 7):
        keys = grandstream.ACCOUNT_KEYS[n]
        assert values[keys["srv_failover_mode"]] == "0"
        assert values[keys["register_before_failover"]] == "0"
    _, default = file_of(model="GRP2616", count=6)
    assert default["P26540"] == "3" and default["P29595"] == "1"


# --- transport and ports in every mode ---


def test_tls_to_naptr_leaves_no_key_of_the_old_mode_unwritten() -> None:
    _, tls = file_of(PLAIN_TRANSPORTS["tls"])
    _, naptr = file_of({})
    assert set(tls) == set(naptr)
    assert tls["P130"] == "2" and naptr["P130"] == "0"
    assert tls["P103"] == "0" and naptr["P103"] == "2"
    assert tls["P47"].endswith(":5061") and naptr["P47"] == REGISTRAR
    assert tls["P48"].endswith(":5061") and naptr["P48"] == PROXY
    assert tls["P2333"] and naptr["P2333"] == ""
    assert naptr["P448"] == naptr["P548"] == naptr["P648"] == "0"


# --- codecs ---


def test_codecs_fill_every_slot_with_the_chosen_ones() -> None:
    _, values = file_of({"codecs": ["pcma", "g729"]})
    slots = [values[key] for key in ("P57", "P58", "P59", "P60", "P61", "P62", "P46", "P98")]
    assert slots == ["8", "18", "18", "18", "18", "18", "18", "18"]
    assert [values[f"P45{n}"] for n in range(1, 9)] == slots  # account 2
    assert [values[f"P65{n}"] for n in range(1, 9)] == slots  # account 4, disabled


def test_the_default_codecs_in_order() -> None:
    _, values = file_of()
    assert [values["P57"], values["P58"], values["P59"], values["P98"]] == ["9", "0", "8", "8"]


@pytest.mark.parametrize(("model", "code"), [("GRP2614", "125"), ("GXP2140", "123")])
def test_opus_by_family(model: str, code: str) -> None:
    text, values = file_of({"codecs": ["opus", "pcmu"]}, model=model)
    assert values["P57"] == code and values["P58"] == values["P98"] == "0"
    assert f"Opus {code}" in text


# --- DTMF, SRTP, voicemail ---


@pytest.mark.parametrize(
    ("dtmf", "expected"),
    [("rfc2833", ("0", "1", "0")), ("inband", ("1", "0", "0")), ("info", ("0", "0", "1"))],
)
def test_dtmf(dtmf: str, expected: tuple[str, str, str]) -> None:
    _, values = file_of({"dtmf": dtmf}, model="GRP2616", count=6)
    for first in ("P23", "P24", "P25", "P26", "P27", "P28"):
        assert (values[f"{first}01"], values[f"{first}02"], values[f"{first}03"]) == expected


@pytest.mark.parametrize(
    ("srtp", "code"), [("disabled", "0"), ("optional", "1"), ("required", "2")]
)
def test_srtp(srtp: str, code: str) -> None:
    _, values = file_of({"srtp": srtp}, model="GRP2616", count=6)
    assert [values[key] for key in ("P183", "P443", "P543", "P643", "P1743", "P1843")] == [code] * 6


def test_voicemail_on_every_estate_account() -> None:
    _, values = file_of({"voicemail.number": "+1555#"}, count=2)
    assert values["P33"] == values["P426"] == "+1555#"
    assert values["P526"] == values["P626"] == ""
    _, none = file_of({})
    assert none["P33"] == ""


# --- time zone ---


@pytest.mark.parametrize(
    ("zone", "posix"),
    [
        ("America/New_York", "EST5EDT,M3.2.0,M11.1.0"),
        ("Asia/Kolkata", "IST-5:30"),
        ("UTC", "UTC0"),
        ("Europe/Dublin", "GMT0IST,M3.5.0/1,M10.5.0"),  # DST turned positive
        ("America/Sao_Paulo", "STD3"),  # <-03> is not a name of letters
    ],
)
def test_time_zone(zone: str, posix: str) -> None:
    _, values = file_of({"time_zone": zone})
    assert values["P64"] == "customize"
    assert values["P246"] == posix
    assert values["P143"] == "0"
    assert len(values["P246"]) <= 64


# --- periodic check ---


@pytest.mark.parametrize(
    ("seconds", "mode", "minutes"),
    [
        (0, "0", "10080"),
        (7200, "1", "120"),
        (301, "1", "60"),
        (3601, "1", "61"),
        (86400, "1", "1440"),
    ],
)
def test_resync(seconds: int, mode: str, minutes: str) -> None:
    _, values = file_of({"resync.interval": seconds})
    assert (values["P194"], values["P193"]) == (mode, minutes)


# --- language, NTP, admin password, provisioning URL ---


@pytest.mark.parametrize(
    ("language", "code"), [("de", "de"), ("cs", "cz"), ("sv", "se"), ("en", "en"), ("xx", "auto")]
)
def test_language(language: str, code: str) -> None:
    text, values = file_of({"language": language})
    assert values["P1362"] == code
    assert ("not in the phone's table" in text) is (code == "auto")


def test_ntp() -> None:
    _, values = file_of({"ntp.server": "time.example.net"})
    assert values["P30"] == "time.example.net" and values["P144"] == "0"


def test_admin_password_only_when_set() -> None:
    _, values = file_of({"admin.password": "Adm1nPass"})
    assert values["P2"] == "Adm1nPass"
    _, unset = file_of({})
    assert "P2" not in unset


def test_provisioning_url() -> None:
    _, values = file_of({"provisioning.url": "http://other.example:8080/p/"})
    assert (values["P212"], values["P237"]) == ("1", "other.example:8080/p")
    _, default = file_of({})
    assert (default["P212"], default["P237"]) == ("2", "prov.example.net:8443")


# --- file names ---


@pytest.mark.parametrize("name", ["cfgGRP2614.xml", "cfggrp2614.xml", "cfgGrp2614.xml"])
def test_model_file_names_in_any_case(name: str) -> None:
    request = grandstream.PROFILE.match(f"/{name}")
    assert request is not None and request.kind == "model"
    assert request.model is not None and request.model.upper() == "GRP2614"


@pytest.mark.parametrize("mac", ["000B82A00004", "000b82A00004", MAC])
def test_mac_file_names_in_any_case(mac: str) -> None:
    request = grandstream.PROFILE.match(f"/cfg{mac}.xml")
    assert request is not None and request.kind == "device" and request.mac == MAC


def test_model_found_in_any_case() -> None:
    _, values = file_of(model="grp2616", count=1)
    assert values["P1801"] == "0"  # the GRP2616's sixth account, written disabled
