"""Yealink: the device file's failover keys, credentials and variants; boot files; names."""

from __future__ import annotations

import pytest

from provisioner.domain.estate import DeviceConfig
from provisioner.vendors import yealink
from tests.vendors.helpers import (
    BASE_URL,
    PLAIN_TRANSPORTS,
    PROXY,
    REGISTRAR,
    config,
    parse_key_values,
    render,
)

MAC = "001565a00001"


def test_the_demo_device_gets_dns_naptr_port_0_and_no_backup(
    demo_configs: dict[str, DeviceConfig],
) -> None:
    values = parse_key_values(render(demo_configs["yealink"], f"{MAC}.cfg"))
    for line, (user, password, label) in {
        1: ("1001", "dental-1001-secret", "Reception"),
        2: ("1002", "dental-1002-secret", "Dr Lee"),
    }.items():
        a = f"account.{line}"
        assert values[f"{a}.enable"] == "1"
        assert values[f"{a}.user_name"] == user
        assert values[f"{a}.auth_name"] == user
        assert values[f"{a}.password"] == password
        assert values[f"{a}.label"] == label
        assert values[f"{a}.sip_server.1.address"] == "dental.sip.example.net"
        assert values[f"{a}.sip_server.1.port"] == "0"
        assert values[f"{a}.sip_server.1.transport_type"] == "3"
        assert values[f"{a}.sip_server.1.expires"] == "300"
        assert values[f"{a}.outbound_proxy_enable"] == "1"
        assert values[f"{a}.outbound_proxy.1.address"] == "us-east.p.example.net"
        assert values[f"{a}.outbound_proxy.1.port"] == "0"
        for backup in ("sip_server.2", "outbound_proxy.2"):
            assert values[f"{a}.{backup}.address"] == "%NULL%"
            assert values[f"{a}.{backup}.port"] == "%NULL%"
    assert values["local_time.ntp_server1"] == "pool.ntp.org"


def test_no_backup_key_anywhere_has_a_value_with_dns_naptr() -> None:
    device = config("yealink", "T46U", MAC, {"transport": "dns-naptr"})
    values = parse_key_values(render(device, f"{MAC}.cfg"))
    backups = {
        k: v for k, v in values.items() if ".sip_server.2." in k or ".outbound_proxy.2." in k
    }
    assert backups and all(value == "%NULL%" for value in backups.values())


@pytest.mark.parametrize(("transport", "code"), [("udp", "0"), ("tcp", "1"), ("tls", "2")])
def test_plain_transports_carry_their_code_ports_and_secondary(transport: str, code: str) -> None:
    settings = PLAIN_TRANSPORTS[transport]
    values = parse_key_values(render(config("yealink", "T46U", MAC, settings), f"{MAC}.cfg"))
    assert values["account.1.sip_server.1.transport_type"] == code
    assert values["account.1.sip_server.1.address"] == REGISTRAR
    assert values["account.1.sip_server.1.port"] == str(settings["registrar.port"])
    assert values["account.1.outbound_proxy.1.address"] == PROXY
    assert values["account.1.outbound_proxy.1.port"] == str(settings["outbound_proxy.port"])
    assert values["account.1.outbound_proxy.2.address"] == "backup.p.example.net"
    assert values["account.1.outbound_proxy.2.port"] == str(settings["secondary_proxy.port"])
    assert values["account.1.sip_server.2.address"] == "%NULL%"


def test_other_settings_use_yealink_keys_and_units() -> None:
    device = config(
        "yealink",
        "T46U",
        MAC,
        {
            "resync.interval": 3600,
            "codecs": "pcma,g722",
            "dtmf": "info",
            "srtp": "required",
            "voicemail.number": "*97",
            "admin.password": "admin-secret",
            "provisioning.url": "https://prov.example.net/phones",
            "language": "fr",
        },
    )
    values = parse_key_values(render(device, f"{MAC}.cfg"))
    assert values["static.auto_provision.repeat.enable"] == "1"
    assert values["static.auto_provision.repeat.minutes"] == "60"  # minutes, not seconds
    assert values["account.1.codec.pcma.priority"] == "1"
    assert values["account.1.codec.g722.priority"] == "2"
    assert values["account.1.codec.pcmu.enable"] == "0"
    assert values["account.1.dtmf.type"] == "2"
    assert values["account.1.srtp_encryption"] == "2"
    assert values["voice_mail.number.1"] == "*97"
    assert values["static.security.user_password"] == "admin:admin-secret"
    assert values["static.auto_provision.server.url"] == "https://prov.example.net/phones"
    assert values["lang.gui"] == "French"


def test_a_display_name_cannot_add_a_key() -> None:
    from provisioner.domain.estate import LineConfig

    sneaky = LineConfig(
        1, "1001", "1001", "pw-1001", "Eve\naccount.1.sip_server.1.port = 5060", "x"
    )
    values = parse_key_values(render(config("yealink", "T46U", MAC, lines=(sneaky,)), f"{MAC}.cfg"))
    assert values["account.1.sip_server.1.port"] == "0"


def test_boot_files_point_at_the_device_file() -> None:
    device = config("yealink", "T46U", MAC)
    boot = render(device, f"{MAC}.boot")
    assert boot.splitlines()[0] == "#!version:1.0.0.1"
    assert f'include:config "{BASE_URL}/{MAC}.cfg"' in boot
    assert "password" not in boot
    common = render(device, "y000000000000.boot", context_mac=MAC)
    assert f'include:config "{BASE_URL}/{MAC}.cfg"' in common
    anonymous = render(device, "y000000000000.boot")
    assert "include:config" not in anonymous
    model = render(device, "y000000000066.cfg")
    assert model.splitlines()[0] == "#!version:1.0.0.1"
    assert parse_key_values(model) == {}


@pytest.mark.parametrize(
    ("path", "kind", "mac", "model", "secret"),
    [
        (f"/{MAC}.boot", "boot", MAC, None, False),
        ("/y000000000000.boot", "common-boot", None, None, False),
        ("/y000000000066.cfg", "model", None, "66", False),
        ("/y000000000108.cfg", "model", None, "108", False),
        (f"/{MAC}.cfg", "device", MAC, None, True),
    ],
)
def test_paths(path: str, kind: str, mac: str | None, model: str | None, secret: bool) -> None:
    request = yealink.PROFILE.match(path)
    assert request is not None
    assert (request.kind, request.mac, request.model, request.secret) == (kind, mac, model, secret)


@pytest.mark.parametrize(
    "path",
    [
        "/001565A00001.cfg",  # Yealink asks in lower case
        "/001565a00001.CFG",
        "/001565a0000.cfg",
        "/001565a000011.cfg",
        "/00:15:65:a0:00:01.cfg",
        "/000000000000.cfg",  # not a phone's MAC
        "/011565a00001.cfg",  # multicast
        "/../001565a00001.cfg",
        "/x/001565a00001.cfg",
        "001565a00001.cfg",
        "/001565a00001.cfg/",
        "/001565a00001.cfg.bak",
        "/y00000000066.cfg",
        "/y0000000000066.cfg",
        "/y000000000000.boot.bak",
    ],
)
def test_lookalikes_are_refused(path: str) -> None:
    assert yealink.PROFILE.match(path) is None


@pytest.mark.parametrize(
    ("user_agent", "model", "firmware", "mac"),
    [
        ("Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37", "T46G", "28.72.0.1", "0015654aa937"),
        (
            "Yealink SIP VP-T49G 51.80.0.100 00:15:65:11:22:33",
            "VP-T49G",
            "51.80.0.100",
            "001565112233",
        ),
        ("Yealink W52P 25.81.0.10", "W52P", "25.81.0.10", None),
    ],
)
def test_user_agents(user_agent: str, model: str, firmware: str, mac: str | None) -> None:
    identity = yealink.PROFILE.identify(user_agent)
    assert identity is not None
    assert (identity.vendor, identity.model, identity.firmware, identity.mac) == (
        "yealink",
        model,
        firmware,
        mac,
    )


def test_other_user_agents_are_not_yealink() -> None:
    for user_agent in ("Fanvil X4 2.10.2.6887 0c383e07e16c", "curl/8.0", "", None):
        assert yealink.PROFILE.identify(user_agent) is None
