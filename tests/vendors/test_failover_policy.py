"""The failover policy (``failover.*``) lands in each vendor's own keys, in its units.

Each test renders a device with one policy and reads the file back as the phone would
(key = value lines or XML), so a key in the wrong place or unit fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.domain.errors import InvalidValue
from provisioner.domain.settings import SCHEMA, Layer, LayerValues, conflicts, merge, validate_layer
from tests.vendors.helpers import config, parse_key_values, parse_xml, render

MAC = "001565a00001"
POLICY = {
    "failover.tries_per_server": 3,
    "failover.try_timeout": 4,
    "failover.register_on_failover": "yes",
    "failover.signal_only_registered": "no",
    "failover.failback": "duration",
    "failover.failback_interval": 1500,
    "failover.subscriptions_follow": "no",
    "registration.expiry": 240,
}


def yealink(settings: dict[str, Any]) -> dict[str, str]:
    return parse_key_values(render(config("yealink", "T46U", MAC, settings), f"{MAC}.cfg"))


def poly(settings: dict[str, Any]) -> dict[str, str]:
    root = parse_xml(render(config("poly", "VVX450", MAC, settings), f"{MAC}-sip.cfg"))
    (reg,) = [element for element in root if element.tag == "reg"][:1]
    return dict(reg.attrib)


def cisco(settings: dict[str, Any]) -> dict[str, str]:
    root = parse_xml(render(config("cisco", "CP-8841-3PCC", MAC, settings), f"{MAC}.xml"))
    return {element.tag: element.text or "" for element in root}


def grandstream(settings: dict[str, Any]) -> dict[str, str]:
    root = parse_xml(render(config("grandstream", "GRP2614", MAC, settings), f"cfg{MAC}.xml"))
    return {element.tag: element.text or "" for element in root.iter() if element.tag[1:].isdigit()}


def fanvil(settings: dict[str, Any]) -> dict[str, str]:
    root = parse_xml(render(config("fanvil", "X4U", MAC, settings), f"{MAC}.cfg"))
    line = root.find("sip/line[@index='1']")
    assert line is not None
    return {element.tag: element.text or "" for element in line}


def snom(settings: dict[str, Any]) -> dict[str, str]:
    upper = MAC.upper()
    root = parse_xml(render(config("snom", "D785", MAC, settings), f"{upper}.xml"))
    return {
        element.tag: element.text or ""
        for element in root.iter()
        if element.get("idx") in (None, "1") and element.get("perm") is not None
    }


def test_yealink_gets_the_policy_on_server_and_outbound_proxy() -> None:
    values = yealink(POLICY)
    for line in ("1", "2"):
        for server in ("sip_server.1", "outbound_proxy.1"):
            key = f"account.{line}.{server}"
            assert values[f"{key}.retry_counts"] == "3"
            assert values[f"{key}.failback_mode"] == "3"  # duration
            assert values[f"{key}.failback_timeout"] == "1500"  # seconds
            assert values[f"{key}.register_on_enable"] == "1"
            assert values[f"{key}.only_signal_with_registered"] == "0"
        assert values[f"account.{line}.sip_server.1.failback_subscribe.enable"] == "0"
        assert values[f"account.{line}.failback_subscribe.enable"] == "0"
        assert values[f"account.{line}.sip_server.1.expires"] == "240"
        assert values[f"account.{line}.naptr_build"] == "1"
    for mode, code in (("new-requests", "0"), ("dns-ttl", "1"), ("registration", "2")):
        settings = {"failover.failback": mode, "failover.signal_only_registered": "no"}
        assert yealink(settings)["account.1.sip_server.1.failback_mode"] == code


def test_poly_registers_where_it_fails_over_and_counts_milliseconds() -> None:
    values = poly(POLICY)
    for prefix in ("reg.1.server.1", "reg.1.outboundProxy"):
        assert values[f"{prefix}.failOver.reRegisterOn"] == "1"
        assert values[f"{prefix}.failOver.failRegistrationOn"] == "1"
        assert values[f"{prefix}.failOver.onlySignalWithRegistered"] == "0"
        assert values[f"{prefix}.failOver.failBack.mode"] == "duration"
        assert values[f"{prefix}.failOver.failBack.timeout"] == "1500"
    assert values["reg.1.server.1.retryMaxCount"] == "3"
    assert values["reg.1.server.1.retryTimeOut"] == "4000"  # ms
    assert values["reg.1.tcpFastFailover"] == "1"
    # the factory default the issue found (reRegisterOn 0) is never left in place
    assert poly({})["reg.1.server.1.failOver.reRegisterOn"] == "1"
    modes = {"new-requests": "newRequests", "dns-ttl": "DNSTTL", "registration": "registration"}
    for mode, value in modes.items():
        settings = {"failover.failback": mode, "failover.signal_only_registered": "no"}
        assert poly(settings)["reg.1.server.1.failOver.failBack.mode"] == value


def test_cisco_gets_the_failback_as_seconds_and_auto_register() -> None:
    values = cisco(POLICY)
    for n in ("1", "2"):
        assert values[f"Proxy_Fallback_Intvl_{n}_"] == "1500"
        assert values[f"Auto_Register_When_Failover_{n}_"] == "Yes"
        assert values[f"Dual_Registration_{n}_"] == "No"
    # registration has no Cisco mode: the fallback interval becomes the expiry
    registration = cisco({**POLICY, "failover.failback": "registration"})
    assert registration["Proxy_Fallback_Intvl_1_"] == "240"
    off = cisco({"failover.register_on_failover": "no", "failover.signal_only_registered": "no"})
    assert off["Auto_Register_When_Failover_1_"] == "No"


def test_grandstream_counts_the_failback_in_minutes() -> None:
    values = grandstream(POLICY)
    assert values["P26040"] == "3"  # saved address until the failback timeout
    assert values["P60056"] == "25"  # 1500 s in minutes
    assert values["P29095"] == "1"
    assert values["P60055"] == "3"
    assert values["P32"] == "4"  # expiry in minutes
    assert grandstream({**POLICY, "failover.failback_interval": 61})["P60056"] == "2"  # rounds up
    ttl = grandstream({**POLICY, "failover.failback": "dns-ttl"})
    assert ttl["P26040"] == "1"
    registration = grandstream({**POLICY, "failover.failback": "registration"})
    assert (registration["P26040"], registration["P60056"]) == ("3", "4")  # the expiry
    new = grandstream({"failover.failback": "new-requests", "failover.signal_only_registered": 0})
    assert new["P26040"] == "0"


def test_fanvil_gets_its_failback_keys() -> None:
    values = fanvil(POLICY)
    assert values["EnableFailback"] == "1"
    assert values["FailbackInterval"] == "1500"
    assert values["SignalRetryCounts"] == "3"
    assert values["BackupNeedRegOn"] == "1"
    assert "SignalFailback" not in values  # semantics unknown: not written


def test_snom_gets_t1_from_the_try_timeout() -> None:
    assert snom(POLICY)["sip_retry_t1"] == "62"  # 4 s = 64 × T1
    assert snom({"failover.try_timeout": 32})["sip_retry_t1"] == "500"  # the RFC's T1
    assert snom(POLICY)["user_expiry"] == "240"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"failover.tries_per_server": 0}, "0 is out of range 1..10"),
        ({"failover.try_timeout": 33}, "33 is out of range 1..32 seconds"),
        ({"failover.failback": "sometimes"}, "is not one of new-requests"),
        ({"failover.failback_interval": 59}, "59 is out of range 60..86400 seconds"),
        ({"failover.register_on_failover": "maybe"}, "'maybe' is not yes or no"),
    ],
)
def test_bad_policy_values_are_refused_naming_the_layer_and_key(
    value: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidValue) as raised:
        validate_layer(value, "cluster hosted")
    key = next(iter(value))
    assert str(raised.value).startswith(f"cluster hosted: {key}: ")
    assert message in str(raised.value)


def test_the_defaults_are_the_hosted_policy() -> None:
    defaults = {key: SCHEMA[key].default for key in SCHEMA if key.startswith("failover.")}
    assert defaults == {
        "failover.tries_per_server": 1,
        "failover.try_timeout": 8,
        "failover.register_on_failover": True,
        "failover.signal_only_registered": True,
        "failover.failback": "duration",
        "failover.failback_interval": 600,
        "failover.subscriptions_follow": True,
        "failover.static_dns_cache": False,
    }
    assert SCHEMA["registration.expiry"].default == 300
    assert conflicts(merge([])) == []


def test_signalling_only_where_registered_needs_registering_there_and_a_failback() -> None:
    settings = merge(
        [
            LayerValues(Layer.CLUSTER, {"failover.signal_only_registered": True}, "hosted"),
            LayerValues(Layer.ACCOUNT, {"failover.failback": "new-requests"}, "dental"),
            LayerValues(Layer.DEVICE, {"failover.register_on_failover": False}, MAC),
        ]
    )
    found = sorted(str(problem) for problem in conflicts(settings))
    assert found == [
        "cluster hosted: failover.signal_only_registered: needs a failback other than "
        "new-requests, but failover.failback = new-requests (from account dental)",
        "cluster hosted: failover.signal_only_registered: needs "
        f"failover.register_on_failover = yes, but failover.register_on_failover = no "
        f"(from device {MAC})",
    ]
