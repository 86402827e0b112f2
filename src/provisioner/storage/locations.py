"""Where a device was last located: the address it last fetched from and the zone it was
given (``devices.last_address``, ``devices.located_zone_id``), which the GeoIP chain's
stickiness weighs the next choice against.

Not an estate change: writing it records no row in ``changes``, so DNS serials and
cached configs are untouched. It is written only when it changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, bindparam, select, update
from sqlalchemy.orm import Session

from provisioner.storage import models
from provisioner.storage.database import Database


def located_zone_id(zone_name: ColumnElement[Any]) -> ScalarSelect[Any]:
    """The id of the zone named `zone_name` in the updated device's cluster (NULL for a
    name the cluster lacks): what an UPDATE of devices sets as ``located_zone_id``."""
    return (
        select(models.Zone.id)
        .join(models.Account, models.Account.cluster_id == models.Zone.cluster_id)
        .where(models.Account.id == models.Device.account_id, models.Zone.name == zone_name)
        .scalar_subquery()
    )


# ... named by the bound parameter ``located_zone``
LOCATED_ZONE_ID = located_zone_id(bindparam("located_zone"))


@dataclass(frozen=True)
class DeviceLocation:
    address: str | None
    zone: str | None  # a zone name of the device's cluster


def load_device_location(session: Session, mac: str) -> DeviceLocation | None:
    """Where the device with this (normalised) MAC was last located; None for no such
    device. One indexed lookup."""
    row = session.execute(
        select(models.Device.last_address, models.Zone.name)
        .outerjoin(models.Zone, models.Device.located_zone_id == models.Zone.id)
        .where(models.Device.mac == mac)
    ).one_or_none()
    if row is None:
        return None
    return DeviceLocation(row[0], row[1])


def save_device_location(
    database: Database,
    mac: str,
    address: str | None,
    zone: str | None,
    previous: DeviceLocation | None = None,
) -> bool:
    """Store that the device was located at `address` and given `zone` (a zone name of
    its cluster; an unknown name stores no zone). Skips the write when `previous` (as
    loaded before the choice) already says so; True when a row was written."""
    location = DeviceLocation(address, zone)
    if previous == location:
        return False
    statement = (
        update(models.Device)
        .where(models.Device.mac == mac)
        .values(last_address=address[:45] if address else None, located_zone_id=LOCATED_ZONE_ID)
        .execution_options(synchronize_session=False)
    )
    with database.write_connection() as connection:
        return connection.execute(statement, {"located_zone": zone}).rowcount > 0
