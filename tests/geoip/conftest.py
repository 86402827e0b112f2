"""City databases written with mmdb-writer, with IPv4 and IPv6 networks placed near each
demo zone, and the demo estate as value objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from provisioner.domain.estate import DeviceRecord, Estate
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import migrate
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device, load_estate
from tests.conftest import DEMO


def city(name: str, country: str, latitude: float, longitude: float) -> dict[str, Any]:
    """A record shaped like GeoLite2-City's."""
    return {
        "city": {"geoname_id": 1, "names": {"en": name, "de": name}},
        "country": {"iso_code": country, "names": {"en": country}},
        "location": {"latitude": latitude, "longitude": longitude, "accuracy_radius": 20},
    }


# network → record; one IPv4 and one IPv6 network near each demo zone, and some oddities.
PLACES: dict[str, dict[str, Any]] = {
    "23.10.0.0/16": city("New York", "US", 40.7306, -73.9866),
    "2600:e000::/32": city("New York", "US", 40.7306, -73.9866),
    "24.10.0.0/16": city("Chicago", "US", 41.8818, -87.6231),
    "2600:c000::/32": city("Chicago", "US", 41.8818, -87.6231),
    "24.20.0.0/16": city("San Jose", "US", 37.3394, -121.8950),
    "2600:a000::/32": city("San Jose", "US", 37.3394, -121.8950),
    "81.2.69.0/24": city("London", "GB", 51.5142, -0.0931),
    "2a02:1000::/32": city("London", "GB", 51.5142, -0.0931),
    "85.10.0.0/16": city("Frankfurt am Main", "DE", 50.1155, 8.6842),
    "2a02:2000::/32": city("Frankfurt am Main", "DE", 50.1155, 8.6842),
    # Denver: 1475 km from Chicago, 1520 km from San Jose (inside the 500 km margin)
    "67.10.0.0/16": city("Denver", "US", 39.7392, -104.9903),
    # a network the database knows only the country of
    "45.10.0.0/16": {"country": {"iso_code": "CA"}},
    # a location out of range: treated as no location
    "45.20.0.0/16": {"location": {"latitude": 200.0, "longitude": 0.0}},
    # addresses that must never be looked up, placed far from their cluster's default
    "192.168.0.0/16": city("San Jose", "US", 37.3394, -121.8950),
    "172.16.0.0/12": city("Frankfurt am Main", "DE", 50.1155, 8.6842),
    "100.64.0.0/10": city("San Jose", "US", 37.3394, -121.8950),
    "fd00::/8": city("San Jose", "US", 37.3394, -121.8950),
    "fe80::/10": city("San Jose", "US", 37.3394, -121.8950),
}

EAST_V4, EAST_V6 = "23.10.1.2", "2600:e000::1"
CENTRAL_V4, CENTRAL_V6 = "24.10.1.2", "2600:c000::1"
WEST_V4, WEST_V6 = "24.20.1.2", "2600:a000::1"
LONDON_V4, LONDON_V6 = "81.2.69.160", "2a02:1000::1"
FRANKFURT_V4, FRANKFURT_V6 = "85.10.1.2", "2a02:2000::1"
DENVER = "67.10.1.2"


def write_city_database(
    path: Path, places: dict[str, dict[str, Any]] | None = None, ip_version: int = 6
) -> Path:
    writer = MMDBWriter(
        ip_version=ip_version,
        ipv4_compatible=ip_version == 6,
        database_type="Test-City",
        languages=["en"],
        description="test city database",
    )
    for network, record in (PLACES if places is None else places).items():
        if ip_version == 4 and ":" in network:
            continue
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture(scope="session")
def city_mmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An IPv6 city database (IPv4 networks under ::/96, as MaxMind's are)."""
    return write_city_database(tmp_path_factory.mktemp("geoip") / "city.mmdb")


@pytest.fixture(scope="session")
def city_mmdb_v4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An IPv4-only city database."""
    return write_city_database(tmp_path_factory.mktemp("geoip") / "city4.mmdb", ip_version=4)


DEMO_MACS = ("001565a00001", "0004f2a00002", "000b82a00004", "0c383ea00006", "00562ba00003")


@pytest.fixture(scope="session")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Estate, dict[str, DeviceRecord]]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('estate') / 'demo.db'}")
    migrate.ensure_schema(database)
    load_estate_file(database, read_estate_file(DEMO.read_text(), "demo.yaml"))
    with database.read() as session:
        estate = load_estate(session)
        devices = {mac: load_device(session, mac) for mac in DEMO_MACS}
    database.dispose()
    return estate, {mac: record for mac, record in devices.items() if record is not None}


@pytest.fixture
def demo_estate(_demo: tuple[Estate, dict[str, DeviceRecord]]) -> Estate:
    """The demo estate as value objects (read once; immutable)."""
    return _demo[0]


@pytest.fixture
def demo_devices(_demo: tuple[Estate, dict[str, DeviceRecord]]) -> dict[str, DeviceRecord]:
    """The demo estate's devices by MAC, as `load_device` reads them."""
    return _demo[1]
