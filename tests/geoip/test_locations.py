"""Storing where a device was last located (SQLite and PostgreSQL)."""

from __future__ import annotations

from provisioner.storage.database import Database
from provisioner.storage.locations import (
    DeviceLocation,
    load_device_location,
    save_device_location,
)


def test_a_device_never_located(demo_database: Database) -> None:
    with demo_database.read() as session:
        assert load_device_location(session, "001565a00001") == DeviceLocation(None, None)
        assert load_device_location(session, "ffffffffffff") is None


def test_saves_and_loads_the_address_and_zone(demo_database: Database) -> None:
    before = demo_database.latest_change()
    assert save_device_location(demo_database, "001565a00001", "24.20.1.2", "us-west")
    with demo_database.read() as session:
        location = load_device_location(session, "001565a00001")
    assert location == DeviceLocation("24.20.1.2", "us-west")
    # not an estate change: no new change, so DNS serials and cached configs stay
    assert demo_database.latest_change() == before
    # nothing to write when nothing changed
    assert not save_device_location(
        demo_database, "001565a00001", "24.20.1.2", "us-west", previous=location
    )


def test_the_zone_is_looked_up_in_the_devices_own_cluster(demo_database: Database) -> None:
    # globex has eu-west; the hosted cluster does not
    save_device_location(demo_database, "00562ba00003", "81.2.69.160", "eu-west")
    save_device_location(demo_database, "001565a00001", "81.2.69.160", "eu-west")
    with demo_database.read() as session:
        assert load_device_location(session, "00562ba00003") == DeviceLocation(
            "81.2.69.160", "eu-west"
        )
        assert load_device_location(session, "001565a00001") == DeviceLocation("81.2.69.160", None)


def test_an_unknown_device_writes_nothing(demo_database: Database) -> None:
    assert not save_device_location(demo_database, "ffffffffffff", "24.20.1.2", "us-west")
