from __future__ import annotations

from provisioner.domain.estate import Estate
from provisioner.domain.geography import Location
from provisioner.geoip.stickiness import sticky_zone

DENVER = Location(39.7392, -104.9903)  # 1478 km from Chicago, 1491 km from San Jose
SAN_JOSE = Location(37.3394, -121.8950)


def test_a_device_never_located_gets_the_nearest(demo_estate: Estate) -> None:
    hosted = demo_estate.cluster("hosted")
    zone, why = sticky_zone(hosted, DENVER, hosted.zone("us-central"), None)
    assert zone.name == "us-central" and why is None


def test_keeps_its_zone_inside_the_margin(demo_estate: Estate) -> None:
    hosted = demo_estate.cluster("hosted")
    zone, why = sticky_zone(hosted, DENVER, hosted.zone("us-central"), "us-west")
    assert zone.name == "us-west"
    assert why is not None and "kept us-west" in why and "500 km" in why


def test_moves_beyond_the_margin(demo_estate: Estate) -> None:
    hosted = demo_estate.cluster("hosted")
    zone, why = sticky_zone(hosted, SAN_JOSE, hosted.zone("us-west"), "us-east")
    assert zone.name == "us-west"
    assert why is not None and "moved from us-east" in why


def test_the_margin_is_configurable(demo_estate: Estate) -> None:
    hosted = demo_estate.cluster("hosted")
    zone, _ = sticky_zone(hosted, DENVER, hosted.zone("us-central"), "us-west", margin_km=5)
    assert zone.name == "us-central"
    zone, _ = sticky_zone(hosted, SAN_JOSE, hosted.zone("us-west"), "us-east", margin_km=5000)
    assert zone.name == "us-east"


def test_a_previous_zone_that_is_gone_is_ignored(demo_estate: Estate) -> None:
    hosted = demo_estate.cluster("hosted")
    zone, why = sticky_zone(hosted, DENVER, hosted.zone("us-central"), "eu-west")
    assert zone.name == "us-central" and why is None
