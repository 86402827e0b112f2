"""The choice reaches the phone: the chosen zone's proxy name (the partner's white-label
name for a partner's device) is the outbound proxy host of the device's configuration.

At the `device_config` level; `test_http.py` checks the same through the phones' routes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.domain.effective import device_config
from provisioner.domain.estate import Estate
from provisioner.geoip import CityDatabase, TrustedProxies, ZoneLocator
from tests.geoip.conftest import EAST_V4, EAST_V6, LONDON_V4, WEST_V4, WEST_V6


@pytest.fixture
def locator(city_mmdb: Path) -> ZoneLocator:
    return ZoneLocator(CityDatabase(city_mmdb), trusted=TrustedProxies.parse(["10.0.0.0/8"]))


def proxy_host(
    locator: ZoneLocator, estate: Estate, devices: dict, mac: str, peer: str, headers: dict
) -> str:
    record = devices[mac]
    address = locator.client_address(peer, headers)
    config = device_config(estate, record, locator.choose(estate, record, address))
    return config.settings["outbound_proxy.host"]


@pytest.mark.parametrize(
    ("mac", "peer", "headers", "host"),
    [
        ("001565a00001", WEST_V4, {}, "us-west.p.example.net"),
        ("001565a00001", EAST_V4, {}, "us-east.p.example.net"),
        ("001565a00001", WEST_V6, {}, "us-west.p.example.net"),
        ("001565a00001", EAST_V6, {}, "us-east.p.example.net"),
        # through our proxy
        ("001565a00001", "10.0.0.5", {"X-Forwarded-For": WEST_V4}, "us-west.p.example.net"),
        # a forged header from a phone in the east changes nothing
        ("001565a00001", EAST_V4, {"X-Forwarded-For": WEST_V4}, "us-east.p.example.net"),
        # the partner's device sees the white-label name
        ("0c383ea00006", WEST_V4, {}, "us-west.p.acme.example"),
        ("0c383ea00006", EAST_V6, {}, "us-east.p.acme.example"),
        # pinned to us-west wherever it is
        ("000b82a00004", EAST_V4, {}, "us-west.p.acme.example"),
        # the private cloud's phone in London
        ("00562ba00003", LONDON_V4, {}, "eu-west.voice.globex.example"),
    ],
)
def test_the_zone_reaches_the_outbound_proxy_host(
    locator: ZoneLocator,
    demo_estate: Estate,
    demo_devices: dict,
    mac: str,
    peer: str,
    headers: dict,
    host: str,
) -> None:
    assert proxy_host(locator, demo_estate, demo_devices, mac, peer, headers) == host
