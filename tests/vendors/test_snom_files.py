"""Snom: codecs, SRTP, time zone and the rest in Snom's keys, and nothing left stale."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest

from provisioner.domain.estate import LineConfig
from tests.vendors.helpers import LINES, config, parse_xml, render

MAC = "000413a00005"
UPPER = MAC.upper()


def settings_of(
    settings: dict[str, Any] | None = None, model: str = "D785", lines: Any = LINES
) -> tuple[dict[str, str], dict[tuple[str, str], str], str]:
    """Phone settings, identity settings by (name, idx), and the text."""
    text = render(config("snom", model, MAC, settings, lines), f"{UPPER}.xml")
    root: ElementTree.Element = parse_xml(text)
    phone: dict[str, str] = {}
    identities: dict[tuple[str, str], str] = {}
    for element in root.iter():
        if "perm" not in element.attrib:
            continue
        if "idx" in element.attrib:
            key = (element.tag, element.attrib["idx"])
            assert key not in identities, key
            identities[key] = element.text or ""
        else:
            assert element.tag not in phone, element.tag
            phone[element.tag] = element.text or ""
    return phone, identities, text


@pytest.mark.parametrize(
    ("zone", "code"),
    [
        ("Europe/Berlin", "GER+1"),  # DST zone: the code carries the rule
        ("America/New_York", "USA-5"),
        ("Europe/London", "GBR+0"),
    ],
)
def test_time_zone_codes(zone: str, code: str) -> None:
    phone, _, _ = settings_of({"time_zone": zone})
    assert phone["timezone"] == code


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "UTC"])  # half-hour; no code known
def test_a_zone_without_a_snom_code_is_not_written_and_said(zone: str) -> None:
    phone, _, text = settings_of({"time_zone": zone})
    assert "timezone" not in phone
    assert f"Time zone {zone}: no Snom code known here" in text


def test_an_unsure_code_is_said() -> None:
    phone, _, text = settings_of({"time_zone": "America/Chicago"})
    assert phone["timezone"] == "USA-6"
    assert "Snom's pattern, unsure" in text


@pytest.mark.parametrize(
    ("dtmf", "codecs"),
    [("rfc2833", "pcma,g729,telephone-event"), ("info", "pcma,g729"), ("inband", "pcma,g729")],
)
def test_codecs_and_dtmf(dtmf: str, codecs: str) -> None:
    _, identities, _ = settings_of({"codecs": "pcma,g729", "dtmf": dtmf})
    assert identities[("codec_priority_list", "1")] == identities[("codec_priority_list", "2")]
    assert identities[("codec_priority_list", "1")] == codecs


@pytest.mark.parametrize(
    ("srtp", "on", "savp"),
    [("disabled", "off", "off"), ("optional", "on", "optional"), ("required", "on", "mandatory")],
)
def test_srtp(srtp: str, on: str, savp: str) -> None:
    _, identities, _ = settings_of({"srtp": srtp})
    assert identities[("user_srtp", "1")] == on
    assert identities[("user_savp", "1")] == savp


def test_resync_voicemail_admin_ntp() -> None:
    phone, identities, _ = settings_of(
        {
            "resync.interval": 7200,
            "voicemail.number": "*97",
            "admin.password": "Adm1n-pass",
            "ntp.server": "ntp.example.net",
        }
    )
    assert phone["settings_refresh_timer"] == "7200"
    assert phone["admin_mode_password"] == "Adm1n-pass"
    assert phone["ntp_server"] == "ntp.example.net"
    assert identities[("user_mailbox", "1")] == identities[("user_mailbox", "2")] == "*97"


def test_values_no_longer_set_are_written_empty_or_off() -> None:
    phone, identities, _ = settings_of({"resync.interval": 0})
    assert phone["settings_refresh_timer"] == "0"
    assert identities[("user_mailbox", "1")] == ""


def test_identities_beyond_the_estate_are_off_up_to_the_models_count() -> None:
    _, identities, text = settings_of(model="D715")  # 4 identities
    for idx in ("3", "4"):
        assert identities[("user_active", idx)] == "off"
        assert identities[("user_name", idx)] == identities[("user_pass", idx)] == ""
        assert identities[("user_host", idx)] == ""
    assert ("user_active", "5") not in identities
    assert "The D715 has 4 identities" in text


def test_an_unknown_model_and_lines_past_the_model() -> None:
    _, identities, text = settings_of(model="D999")
    assert "not in Snom's table: 12 identities written" in text
    assert identities[("user_active", "12")] == "off"
    lines = tuple(
        LineConfig(i, f"10{i:02}", f"a{i}", f"s{i}", f"L{i}", f"L{i}") for i in range(1, 6)
    )
    _, identities, text = settings_of(model="D715", lines=lines)
    assert "Lines 5 not written: this model has 4 identities." in text
    assert ("user_active", "5") not in identities


def test_tls_to_dns_naptr_leaves_no_server_key_unwritten() -> None:
    _, tls, _ = settings_of(
        {"transport": "tls", "registrar.port": 5061, "outbound_proxy.port": 5061}
    )
    _, naptr, _ = settings_of({"transport": "dns-naptr"})
    assert set(tls) == set(naptr)
    assert naptr[("user_outbound", "1")] == "us-east.p.example.net"
    assert naptr[("user_host", "1")] == "dental.sip.example.net"
