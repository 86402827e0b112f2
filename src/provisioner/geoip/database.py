"""The city-level database: any MaxMind-format ``.mmdb`` (GeoLite2-City, DB-IP City
Lite, ...), read through `maxminddb`'s C extension with the file memory-mapped.

A running server picks up a changed file without a restart: at most once a second a
lookup checks the file's inode, size and modification time, and a changed file is opened
beside the old one and swapped in. A replacement that does not open is logged and the old
database kept; a phone's request never fails because of the file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

from provisioner.domain.errors import ProvisionerError
from provisioner.domain.geography import Location
from provisioner.geoip.addresses import IPAddress

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 1.0


class GeoipDatabaseError(ProvisionerError):
    """The city database cannot be used; the message names the file and the option."""


@dataclass(frozen=True, slots=True)
class CityRecord:
    """What the database says about an address."""

    location: Location | None
    country: str | None  # ISO 3166-1 alpha-2
    city: str | None  # the English name, when the database has one

    def describe(self) -> str:
        place = ", ".join(part for part in (self.city, self.country) if part)
        if self.location is None:
            return place or "no location"
        where = f"{self.location.latitude:.4f},{self.location.longitude:.4f}"
        return f"{where} ({place})" if place else where


def record_from(data: Any) -> CityRecord | None:
    """A `CityRecord` from a MaxMind-format record (GeoIP2/GeoLite2 City, DB-IP City),
    None when it holds neither a usable location nor a country."""
    if not isinstance(data, dict):
        return None
    location = None
    place = data.get("location")
    if isinstance(place, dict):
        latitude, longitude = place.get("latitude"), place.get("longitude")
        if isinstance(latitude, int | float) and isinstance(longitude, int | float):
            try:
                location = Location(float(latitude), float(longitude))
            except ValueError:
                location = None
    country = None
    for key in ("country", "registered_country"):
        entry = data.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("iso_code"), str):
            country = entry["iso_code"].upper()
            break
    city = None
    entry = data.get("city")
    if isinstance(entry, dict) and isinstance(entry.get("names"), dict):
        name = entry["names"].get("en")
        city = name if isinstance(name, str) else None
    if location is None and country is None:
        return None
    return CityRecord(location, country, city)


@dataclass(frozen=True)
class DatabaseInfo:
    path: str
    database_type: str
    ip_version: int
    node_count: int
    built: float  # epoch seconds

    def describe(self) -> str:
        built = time.strftime("%Y-%m-%d", time.gmtime(self.built))
        return f"{self.path} ({self.database_type}, IPv{self.ip_version}, built {built})"


def open_reader(path: Path, where: str) -> tuple[maxminddb.Reader, DatabaseInfo]:
    """Open `path` and check it holds records, or raise an error starting with `where`
    (the option and the file: ``--geoip /var/lib/geoip/city.mmdb``)."""
    try:
        reader = maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
    except FileNotFoundError:
        raise GeoipDatabaseError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise GeoipDatabaseError(f"{where}: is a directory, not an .mmdb file") from None
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
        raise GeoipDatabaseError(f"{where}: not a MaxMind-format database ({error})") from None
    try:
        metadata = reader.metadata()
        first = next(iter(reader), None)
    except (ValueError, maxminddb.InvalidDatabaseError) as error:
        reader.close()
        raise GeoipDatabaseError(f"{where}: corrupt database ({error})") from None
    if first is None:
        reader.close()
        raise GeoipDatabaseError(f"{where}: the database holds no records")
    info = DatabaseInfo(
        path=str(path),
        database_type=str(metadata.database_type),
        ip_version=int(metadata.ip_version),
        node_count=int(metadata.node_count),
        built=float(metadata.build_epoch),
    )
    return reader, info


def _signature(path: Path) -> tuple[int, int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_dev, stat.st_size, stat.st_mtime_ns)


class CityDatabase:
    """The city database at `path`, reloaded when the file changes.

    `optional`: a missing or corrupt file is a warning instead of an error, lookups find
    nothing (the chain goes on to the country fallback), and the file is used as soon as a
    good one appears there.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        option: str = "--geoip",
        optional: bool = False,
        check_seconds: float = RELOAD_CHECK_SECONDS,
    ) -> None:
        self.path = Path(path)
        self.option = option
        self.optional = optional
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._reader: maxminddb.Reader | None = None
        self.info: DatabaseInfo | None = None
        self.problem: str | None = None
        self._signature = _signature(self.path)
        self._next_check = time.monotonic() + check_seconds
        try:
            self._reader, self.info = open_reader(self.path, f"{option} {self.path}")
        except GeoipDatabaseError as error:
            if not optional:
                raise
            self.problem = str(error)
            log.warning("%s; using the country fallback until it is fixed", error)

    @property
    def loaded(self) -> bool:
        return self._reader is not None

    def describe(self) -> str:
        if self.info is not None:
            return self.info.describe()
        return f"{self.path} (not loaded: {self.problem})"

    def get(self, address: IPAddress | str) -> Any:
        """The database's raw record for `address` (an address, or the text of a plain
        one, which the C extension parses fastest); None when it has no entry or no
        database is loaded."""
        if time.monotonic() >= self._next_check:
            self.reload_if_changed()
        reader = self._reader
        if reader is None:
            return None
        try:
            return reader.get(address)
        except ValueError:  # an IPv6 address in an IPv4-only database, a closed reader
            return None

    def lookup(self, address: IPAddress | str) -> CityRecord | None:
        """What the database says about `address`; None when it has no entry (or no
        database is loaded)."""
        data = self.get(address)
        return record_from(data) if data is not None else None

    def raw(self, address: IPAddress) -> tuple[Any, int] | None:
        """The database's record for `address` and its network's prefix length (for
        `geoip explain`)."""
        reader = self._reader
        if reader is None:
            return None
        try:
            data, prefix = reader.get_with_prefix_len(address)
        except ValueError:
            return None
        return (data, prefix) if data is not None else None

    def reload_if_changed(self) -> bool:
        """Swap in the file at `path` if it changed since it was last read; True when a
        new database was loaded. Never raises: a bad file is logged and the old kept."""
        if not self._lock.acquire(blocking=False):
            return False  # another thread is checking right now
        try:
            self._next_check = time.monotonic() + self.check_seconds
            signature = _signature(self.path)
            if signature == self._signature:
                return False
            self._signature = signature
            if signature is None:
                log.warning(
                    "%s %s has gone; keeping the database already loaded", self.option, self.path
                )
                return False
            try:
                reader, info = open_reader(self.path, f"{self.option} {self.path}")
            except GeoipDatabaseError as error:
                self.problem = str(error)
                log.warning("%s; keeping the database already loaded", error)
                return False
            # The old reader is not closed here: a lookup in another thread may be using
            # it. It is closed when the last reference goes.
            self._reader, self.info, self.problem = reader, info, None
            log.info("city database reloaded: %s", info.describe())
            return True
        finally:
            self._lock.release()
