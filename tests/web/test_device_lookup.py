"""The phones' one-query device lookup answers exactly as the estate snapshot's."""

from __future__ import annotations

from provisioner.storage.database import Database
from provisioner.storage.device_lookup import fetch_device, fetch_devices
from provisioner.storage.snapshot import load_device
from tests.web.support import DEMO_DEVICES


def test_fetch_device_equals_load_device(demo_database: Database) -> None:
    with demo_database.read() as session, demo_database.engine.connect() as connection:
        for mac in [*DEMO_DEVICES, "001565ffffff"]:
            assert fetch_device(connection, mac) == load_device(session, mac), mac


def test_fetch_devices_reads_many_at_once(demo_database: Database) -> None:
    macs = [*DEMO_DEVICES, "001565ffffff"]
    with demo_database.read() as session, demo_database.engine.connect() as connection:
        found = fetch_devices(connection, macs)
        assert set(found) == set(DEMO_DEVICES)
        for mac in DEMO_DEVICES:
            assert found[mac] == load_device(session, mac)
        assert fetch_devices(connection, []) == {}
