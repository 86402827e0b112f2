from __future__ import annotations

import ipaddress

from provisioner.domain.estate import ZoneRule
from provisioner.geoip.rules import NetworkRules

RULES = NetworkRules.build(
    [
        ZoneRule("10.0.0.0/8", "us-east"),
        ZoneRule("10.20.0.0/16", "us-west"),
        ZoneRule("10.20.30.0/24", "us-central"),
        ZoneRule("10.20.30.40/32", "us-east"),
        ZoneRule("2001:db8::/32", "us-east"),
        ZoneRule("2001:db8:1::/48", "us-west"),
        ZoneRule("not a network", "us-west"),
    ]
)


def zone_of(text: str) -> str | None:
    rule = RULES.match(ipaddress.ip_address(text))
    return rule.zone if rule else None


def test_the_most_specific_network_wins() -> None:
    assert zone_of("10.1.1.1") == "us-east"
    assert zone_of("10.20.1.1") == "us-west"
    assert zone_of("10.20.30.1") == "us-central"
    assert zone_of("10.20.30.40") == "us-east"


def test_ipv6_rules_and_no_match() -> None:
    assert zone_of("2001:db8::1") == "us-east"
    assert zone_of("2001:db8:1::1") == "us-west"
    assert zone_of("2001:db9::1") is None
    assert zone_of("11.0.0.1") is None


def test_no_rules() -> None:
    assert not NetworkRules.build([])
    assert NetworkRules.build([]).match(ipaddress.ip_address("10.0.0.1")) is None
