from __future__ import annotations

import gzip
import ipaddress
import logging
import os
import shutil
from pathlib import Path

import pytest

from provisioner.geoip.database import CityDatabase, GeoipDatabaseError
from tests.geoip.conftest import (
    FRANKFURT_V4,
    LONDON_V6,
    WEST_V4,
    WEST_V6,
    city,
    write_city_database,
)


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_looks_up_ipv4_and_ipv6(city_mmdb: Path) -> None:
    database = CityDatabase(city_mmdb)
    west = database.lookup(ip(WEST_V4))
    assert west is not None and west.city == "San Jose" and west.country == "US"
    assert west.location is not None and round(west.location.latitude) == 37
    london = database.lookup(ip(LONDON_V6))
    assert london is not None and london.city == "London" and london.country == "GB"


def test_an_address_with_no_entry(city_mmdb: Path) -> None:
    assert CityDatabase(city_mmdb).lookup(ip("8.8.8.8")) is None


def test_ipv6_in_an_ipv4_only_database_finds_nothing(city_mmdb_v4: Path) -> None:
    database = CityDatabase(city_mmdb_v4)
    assert database.lookup(ip(WEST_V6)) is None
    assert database.lookup(ip(WEST_V4)) is not None


def test_a_missing_file_is_an_error_naming_file_and_option(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mmdb"
    with pytest.raises(GeoipDatabaseError, match=rf"--geoip {missing}: no such file"):
        CityDatabase(missing)
    with pytest.raises(GeoipDatabaseError, match="PROVISIONER_GEOIP"):
        CityDatabase(missing, option="PROVISIONER_GEOIP")


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a database", gzip.compress(b"a gzip file is not an mmdb"), b"\0" * 4096],
)
def test_a_corrupt_file_is_an_error_naming_file_and_option(tmp_path: Path, content: bytes) -> None:
    corrupt = tmp_path / "corrupt.mmdb"
    corrupt.write_bytes(content)
    with pytest.raises(GeoipDatabaseError, match=rf"--geoip {corrupt}: (not a MaxMind|corrupt)"):
        CityDatabase(corrupt)


def test_a_truncated_file_is_an_error(tmp_path: Path, city_mmdb: Path) -> None:
    truncated = tmp_path / "truncated.mmdb"
    truncated.write_bytes(city_mmdb.read_bytes()[:200])
    with pytest.raises(GeoipDatabaseError, match=str(truncated)):
        CityDatabase(truncated)


def test_an_empty_database_is_an_error(tmp_path: Path) -> None:
    empty = write_city_database(tmp_path / "empty.mmdb", places={})
    with pytest.raises(GeoipDatabaseError, match="holds no records"):
        CityDatabase(empty)


def test_optional_missing_file_warns_and_finds_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        database = CityDatabase(tmp_path / "nowhere.mmdb", optional=True)
    assert "no such file" in caplog.text and "country fallback" in caplog.text
    assert not database.loaded
    assert database.lookup(ip(WEST_V4)) is None


def test_an_optional_file_is_used_once_it_appears(tmp_path: Path, city_mmdb: Path) -> None:
    path = tmp_path / "later.mmdb"
    database = CityDatabase(path, optional=True, check_seconds=0)
    assert database.lookup(ip(WEST_V4)) is None
    shutil.copy(city_mmdb, path)
    found = database.lookup(ip(WEST_V4))
    assert found is not None and found.city == "San Jose"


def replace(path: Path, places: dict, tmp_path: Path) -> None:
    """Swap a new database in the way `geoip update` does: write beside, then rename."""
    partial = write_city_database(tmp_path / "partial.mmdb", places=places)
    os.replace(partial, path)


def test_a_changed_file_is_reloaded_without_a_restart(tmp_path: Path, city_mmdb: Path) -> None:
    path = tmp_path / "city.mmdb"
    shutil.copy(city_mmdb, path)
    database = CityDatabase(path, check_seconds=0)
    assert database.lookup(ip(WEST_V4)).city == "San Jose"  # type: ignore[union-attr]
    replace(path, {"24.20.0.0/16": city("Frankfurt am Main", "DE", 50.1, 8.7)}, tmp_path)
    moved = database.lookup(ip(WEST_V4))
    assert moved is not None and moved.city == "Frankfurt am Main"
    assert database.lookup(ip(FRANKFURT_V4)) is None


def test_the_file_is_checked_at_most_once_per_interval(tmp_path: Path, city_mmdb: Path) -> None:
    path = tmp_path / "city.mmdb"
    shutil.copy(city_mmdb, path)
    database = CityDatabase(path, check_seconds=3600)
    replace(path, {"24.20.0.0/16": city("Frankfurt am Main", "DE", 50.1, 8.7)}, tmp_path)
    assert database.lookup(ip(WEST_V4)).city == "San Jose"  # type: ignore[union-attr]
    assert database.reload_if_changed()  # what the next check, an hour on, does
    assert database.lookup(ip(WEST_V4)).city == "Frankfurt am Main"  # type: ignore[union-attr]


def test_a_corrupt_replacement_keeps_the_old_database(
    tmp_path: Path, city_mmdb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "city.mmdb"
    shutil.copy(city_mmdb, path)
    database = CityDatabase(path, check_seconds=0)
    partial = tmp_path / "partial"
    partial.write_bytes(b"garbage" * 100)
    os.replace(partial, path)
    with caplog.at_level(logging.WARNING):
        found = database.lookup(ip(WEST_V4))
    assert found is not None and found.city == "San Jose"
    assert "keeping the database already loaded" in caplog.text
    path.unlink()  # and a file that is gone
    assert database.lookup(ip(WEST_V4)) is not None
