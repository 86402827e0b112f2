"""The chain, step by step, on the demo estate and a generated city database."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from provisioner.domain.errors import InvalidValue
from provisioner.domain.estate import DeviceRecord, Estate
from provisioner.geoip import CityDatabase, Step, ZoneLocator
from provisioner.geoip.addresses import IPAddress
from tests.geoip.conftest import (
    CENTRAL_V4,
    CENTRAL_V6,
    DENVER,
    EAST_V4,
    EAST_V6,
    FRANKFURT_V4,
    FRANKFURT_V6,
    LONDON_V4,
    LONDON_V6,
    WEST_V4,
    WEST_V6,
)

YEALINK = "001565a00001"  # example-dental, hosted, not pinned
PINNED = "000b82a00004"  # acme-bakery, pinned to us-west on the device
CISCO = "00562ba00003"  # globex-hq, private cloud


@pytest.fixture
def locator(city_mmdb: Path) -> ZoneLocator:
    return ZoneLocator(CityDatabase(city_mmdb))


@pytest.mark.parametrize(
    ("address", "zone"),
    [
        (EAST_V4, "us-east"),
        (EAST_V6, "us-east"),
        (CENTRAL_V4, "us-central"),
        (CENTRAL_V6, "us-central"),
        (WEST_V4, "us-west"),
        (WEST_V6, "us-west"),
        (f"::ffff:{WEST_V4}", "us-west"),
    ],
)
def test_city_database_gives_the_nearest_zone(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict, address: str, zone: str
) -> None:
    decision = locator.decide(demo_estate, "hosted", address, record=demo_devices[YEALINK])
    assert decision.step is Step.CITY
    assert decision.choice.zone.name == zone
    assert "by the city database" in decision.choice.reason


@pytest.mark.parametrize(
    ("address", "zone"),
    [
        (LONDON_V4, "eu-west"),
        (LONDON_V6, "eu-west"),
        (FRANKFURT_V4, "eu-central"),
        (FRANKFURT_V6, "eu-central"),
        (WEST_V4, "eu-west"),  # a private cloud's phone in California: its nearest zone
    ],
)
def test_the_nearest_zone_of_the_devices_own_cluster(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict, address: str, zone: str
) -> None:
    choice = locator.choose(demo_estate, demo_devices[CISCO], address)
    assert choice.zone.name == zone
    assert choice.zone.cluster == "globex"


def test_a_pinned_device_keeps_its_zone(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict
) -> None:
    decision = locator.decide(demo_estate, "hosted", EAST_V4, record=demo_devices[PINNED])
    assert decision.step is Step.PINNED
    assert decision.choice.zone.name == "us-west"
    assert decision.choice.reason == "pinned on the device"


def test_a_zone_pinned_on_the_account(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict
) -> None:
    record = dataclasses.replace(
        demo_devices[YEALINK], pinned_zone="us-central", pinned_by="account"
    )
    choice = locator.choose(demo_estate, record, WEST_V4)
    assert (choice.zone.name, choice.reason) == ("us-central", "pinned on the account")


def test_cidr_rules_come_before_the_database(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict
) -> None:
    # demo rules: 10.0.0.0/8 → us-east, 198.51.100.0/24 → us-west
    decision = locator.decide(demo_estate, "hosted", "198.51.100.7")
    assert decision.step is Step.RULE and decision.choice.zone.name == "us-west"
    assert "198.51.100.0/24" in decision.choice.reason
    private = locator.decide(demo_estate, "hosted", "10.9.8.7")
    assert private.step is Step.RULE and private.choice.zone.name == "us-east"


def test_the_most_specific_rule_wins(locator: ZoneLocator, demo_estate: Estate) -> None:
    hosted = demo_estate.cluster("hosted")
    rules = (*hosted.zone_rules, type(hosted.zone_rules[0])("10.20.0.0/16", "us-west"))
    estate = dataclasses.replace(
        demo_estate,
        clusters=tuple(
            dataclasses.replace(c, zone_rules=rules) if c.name == "hosted" else c
            for c in demo_estate.clusters
        ),
    )
    assert locator.decide(estate, "hosted", "10.20.1.1").choice.zone.name == "us-west"
    assert locator.decide(estate, "hosted", "10.21.1.1").choice.zone.name == "us-east"


@pytest.mark.parametrize(
    "address",
    ["192.168.1.1", "172.16.5.5", "100.64.1.1", "127.0.0.1", "169.254.1.1", "fd00::1", "fe80::1"],
)
def test_local_addresses_never_reach_the_database_steps(
    city_mmdb: Path, demo_estate: Estate, address: str
) -> None:
    asked: list[IPAddress] = []

    class Spy(CityDatabase):
        def lookup(self, address: IPAddress):  # type: ignore[no-untyped-def]
            asked.append(address)
            return super().lookup(address)

    def countries(address: IPAddress) -> str | None:
        asked.append(address)
        return "MX"

    locator = ZoneLocator(Spy(city_mmdb), countries=countries)
    for cluster, default in (("hosted", "us-east"), ("globex", "eu-west")):
        decision = locator.decide(demo_estate, cluster, address)
        assert decision.step is Step.DEFAULT
        assert decision.choice.zone.name == default
        assert "never looked up" in decision.choice.reason
    assert asked == []


def test_country_from_the_database_when_it_has_no_location(
    locator: ZoneLocator, demo_estate: Estate
) -> None:
    decision = locator.decide(demo_estate, "hosted", "45.10.1.1")  # CA in the test database
    assert decision.step is Step.COUNTRY and decision.choice.zone.name == "us-east"
    assert decision.country == "CA" and decision.country_source == "city database"


def test_country_fallback_with_no_entry(locator: ZoneLocator, demo_estate: Estate) -> None:
    decision = locator.decide(demo_estate, "hosted", "8.8.8.8")  # not in the test database
    assert decision.step is Step.COUNTRY and decision.choice.zone.name == "us-central"
    assert decision.country == "US" and decision.country_source == "iptocc"
    assert "no entry for 8.8.8.8" in decision.choice.reason or "iptocc" in decision.choice.reason


def test_country_fallback_with_no_file(demo_estate: Estate) -> None:
    locator = ZoneLocator()
    decision = locator.decide(demo_estate, "hosted", "2001:4860:4860::8888")
    assert decision.step is Step.COUNTRY and decision.choice.zone.name == "us-central"
    assert "no city database" in decision.notes


def test_default_zone_when_nothing_is_known(locator: ZoneLocator, demo_estate: Estate) -> None:
    decision = locator.decide(demo_estate, "hosted", "1.1.1.1")  # AU: not in the country map
    assert decision.step is Step.DEFAULT and decision.choice.zone.name == "us-east"
    assert "country AU (iptocc) is not in the country map" in decision.choice.reason
    # the private cloud has no country map at all
    assert locator.decide(demo_estate, "globex", "8.8.8.8").choice.zone.name == "eu-west"


@pytest.mark.parametrize("address", [None, "", "garbage", "999.1.1.1"])
def test_no_usable_address_gives_the_default(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict, address: str | None
) -> None:
    choice = locator.choose(demo_estate, demo_devices[YEALINK], address)
    assert choice.zone.name == "us-east"
    assert choice.reason.startswith("default zone of cluster hosted")


def test_a_cluster_without_default_zone_uses_its_first(
    locator: ZoneLocator, demo_estate: Estate
) -> None:
    estate = dataclasses.replace(
        demo_estate,
        clusters=tuple(dataclasses.replace(c, default_zone=None) for c in demo_estate.clusters),
    )
    decision = locator.decide(estate, "globex", "192.168.1.1")
    assert decision.choice.zone.name == "eu-west"
    assert "no default zone" in decision.choice.reason


def test_stickiness_keeps_the_previous_zone_within_the_margin(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict
) -> None:
    record: DeviceRecord = demo_devices[YEALINK]
    assert locator.choose(demo_estate, record, DENVER).zone.name == "us-central"
    kept = locator.choose(demo_estate, record, DENVER, previous_zone="us-west")
    assert kept.zone.name == "us-west" and "kept us-west" in kept.reason
    moved = locator.choose(demo_estate, record, WEST_V4, previous_zone="us-east")
    assert moved.zone.name == "us-west" and "moved from us-east" in moved.reason
    # rules and pins are not weighed against the previous zone
    assert locator.choose(demo_estate, record, "10.0.0.1", previous_zone="us-west").zone.name == (
        "us-east"
    )


def test_the_margin_is_configurable(city_mmdb: Path, demo_estate: Estate, demo_devices) -> None:
    locator = ZoneLocator(CityDatabase(city_mmdb), margin_km=0)
    choice = locator.choose(demo_estate, demo_devices[YEALINK], DENVER, previous_zone="us-west")
    assert choice.zone.name == "us-central"
    with pytest.raises(InvalidValue, match="--geoip-margin-km"):
        ZoneLocator(margin_km=-1)


def test_the_estate_is_prepared_once(locator: ZoneLocator, demo_estate: Estate) -> None:
    first = locator.prepared(demo_estate)
    assert locator.prepared(demo_estate) is first
    assert locator.prepared(dataclasses.replace(demo_estate)) is not first


def test_accepts_address_objects(locator: ZoneLocator, demo_estate: Estate) -> None:
    address = ipaddress.ip_address(WEST_V6)
    assert locator.decide(demo_estate, "hosted", address).choice.zone.name == "us-west"


@pytest.mark.parametrize("previous", [None, "us-east", "us-central", "us-west", "gone"])
def test_choose_agrees_with_decide(
    locator: ZoneLocator, demo_estate: Estate, demo_devices: dict, previous: str | None
) -> None:
    addresses = [
        EAST_V4, EAST_V6, CENTRAL_V4, CENTRAL_V6, WEST_V4, WEST_V6, DENVER, LONDON_V4,
        f"::ffff:{WEST_V4}", "10.1.1.1", "198.51.100.9", "192.168.1.1", "8.8.8.8", "1.1.1.1",
        "45.10.1.1", "45.20.1.1", "garbage", "", f"{WEST_V4}:5060",
    ]  # fmt: skip
    for mac in (YEALINK, PINNED, CISCO):
        record = demo_devices[mac]
        for address in addresses:
            # twice: the second answer comes from the places already seen
            for _ in range(2):
                chosen = locator.choose(demo_estate, record, address, previous)
                decided = locator.decide(
                    demo_estate, record.cluster, address, record=record, previous_zone=previous
                ).choice
                assert chosen == decided, (mac, address)


def test_an_optional_database_not_loaded_says_so(
    tmp_path: Path, city_mmdb: Path, demo_estate: Estate, demo_devices: dict
) -> None:
    path = tmp_path / "later.mmdb"
    locator = ZoneLocator(CityDatabase(path, optional=True, check_seconds=0))
    decision = locator.decide(demo_estate, "hosted", WEST_V4)
    assert decision.step is Step.COUNTRY  # iptocc: the address's real country
    assert f"the city database {path} is not loaded" in decision.notes
    path.write_bytes(city_mmdb.read_bytes())
    assert locator.choose(demo_estate, demo_devices[YEALINK], WEST_V4).zone.name == "us-west"
