"""Yealink: every setting in its keys and units, and nothing left stale on the phone."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.domain.estate import LineConfig
from tests.vendors.helpers import LINES, config, parse_key_values, render

MAC = "001565a00001"


def values(
    settings: dict[str, Any] | None = None, model: str = "T46U", lines: Any = LINES
) -> dict[str, str]:
    return parse_key_values(render(config("yealink", model, MAC, settings, lines), f"{MAC}.cfg"))


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (
            "America/New_York",  # DST: second Sunday of March to first Sunday of November
            {
                "local_time.time_zone": "-5",
                "local_time.summer_time": "1",
                "local_time.dst_time_type": "1",
                "local_time.start_time": "3/2/7/2",
                "local_time.end_time": "11/1/7/2",
                "local_time.offset_time": "60",
            },
        ),
        (
            "Europe/Berlin",  # the last Sunday (week 5), ending at 03:00
            {
                "local_time.time_zone": "+1",
                "local_time.start_time": "3/5/7/2",
                "local_time.end_time": "10/5/7/3",
            },
        ),
        (
            "Asia/Kolkata",  # half an hour, no DST
            {
                "local_time.time_zone": "+5:30",
                "local_time.summer_time": "0",
                "local_time.start_time": "%NULL%",
            },
        ),
        ("UTC", {"local_time.time_zone": "+0", "local_time.summer_time": "0"}),
    ],
)
def test_time_zone_and_dst(zone: str, expected: dict[str, str]) -> None:
    found = values({"time_zone": zone})
    assert {key: found[key] for key in expected} == expected


def test_a_transition_off_the_hour_is_said() -> None:
    text = render(config("yealink", "T46U", MAC, {"time_zone": "Asia/Jerusalem"}), f"{MAC}.cfg")
    assert "## Asia/Jerusalem's DST changes at IST-2IDT,M3.4.4/26" in text
    assert parse_key_values(text)["local_time.start_time"] == "3/4/4/23"


def test_codecs_dtmf_srtp_language_resync_voicemail_admin() -> None:
    found = values(
        {
            "codecs": "opus,pcma",
            "dtmf": "info",
            "srtp": "required",
            "language": "fr",
            "resync.interval": 7200,
            "voicemail.number": "*97",
            "admin.password": "Adm1n-pass",
        }
    )
    assert found["account.1.codec.opus.enable"] == "1"
    assert found["account.1.codec.opus.priority"] == "1"
    assert found["account.1.codec.pcma.priority"] == "2"
    assert found["account.1.codec.g722.enable"] == "0"
    assert "account.1.codec.g722.priority" not in found
    assert found["account.1.dtmf.type"] == "2"
    assert found["account.1.srtp_encryption"] == "2"
    assert found["lang.gui"] == found["lang.wui"] == "French"
    assert found["static.auto_provision.repeat.enable"] == "1"
    assert found["static.auto_provision.repeat.minutes"] == "120"
    assert found["voice_mail.number.1"] == found["voice_mail.number.2"] == "*97"
    assert found["static.security.user_password"] == "admin:Adm1n-pass"


def test_values_no_longer_set_are_cleared_not_left_blank() -> None:
    found = values({"resync.interval": 0})
    assert found["voice_mail.number.1"] == "%NULL%"  # a blank would keep the old number
    assert found["static.auto_provision.repeat.enable"] == "0"
    assert found["static.auto_provision.repeat.minutes"] == "%NULL%"
    empty = (LineConfig(1, "1001", "auth-1001", "secret", "", ""),)
    found = values(lines=empty)
    assert found["account.1.display_name"] == found["account.1.label"] == "%NULL%"


def test_lines_beyond_the_estate_are_disabled_up_to_the_models_count() -> None:
    found = values(model="T33G")  # 4 accounts
    for index in (3, 4):
        assert found[f"account.{index}.enable"] == "0"
        assert found[f"account.{index}.user_name"] == "%NULL%"
        assert found[f"account.{index}.password"] == "%NULL%"
        assert found[f"account.{index}.sip_server.1.address"] == "%NULL%"
    assert "account.5.enable" not in found
    assert found["account.2.enable"] == "1"


def test_an_unknown_model_gets_sixteen_accounts_and_says_so() -> None:
    text = render(config("yealink", "T99X", MAC), f"{MAC}.cfg")
    assert "not in Yealink's table: 16 accounts written" in text
    assert parse_key_values(text)["account.16.enable"] == "0"


def test_estate_lines_past_the_model_are_named_not_written() -> None:
    lines = (*LINES, LineConfig(3, "1003", "a3", "s3", "Three", "3"))
    text = render(config("yealink", "T31G", MAC, None, lines), f"{MAC}.cfg")
    assert "## Lines 3 not written: this model has 2 accounts." in text
    assert "account.3.enable" not in parse_key_values(text)


def test_static_cache_entries_not_written_are_cleared() -> None:
    found = values()
    for kind in ("naptr", "srv", "a"):
        for n in range(1, 13):
            assert found[f"dns_cache_{kind}.{n}.name"] == "%NULL%"
    assert found["account.1.static_cache_pri"] == "0"


def test_tls_to_dns_naptr_leaves_no_transport_or_port_key_unwritten() -> None:
    tls = values({"transport": "tls", "registrar.port": 5061, "outbound_proxy.port": 5061,
                  "secondary_proxy.host": "backup.p.example.net", "secondary_proxy.port": 5071})  # fmt: skip
    naptr = values({"transport": "dns-naptr"})
    servers = {key for key in tls if ".sip_server." in key or ".outbound_proxy" in key}
    assert servers and servers <= set(naptr)
    assert naptr["account.1.sip_server.1.transport_type"] == "3"
    assert naptr["account.1.sip_server.1.port"] == naptr["account.1.outbound_proxy.1.port"] == "0"
    assert naptr["account.1.outbound_proxy.2.address"] == "%NULL%"
