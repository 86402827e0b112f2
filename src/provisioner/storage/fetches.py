"""What phones' fetches leave in the database: last seen (time, address, User-Agent,
firmware) per device, and the log files Poly phones upload.

Neither is a change to the estate: they do not append to ``changes`` (that would drop
every cached file), they only take the writers' lock so SQLite writers queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update

from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.locations import LOCATED_ZONE_ID


@dataclass(frozen=True, slots=True)
class Fetch:
    """One successful fetch, as recorded on the device."""

    mac: str
    at: datetime
    address: str | None
    user_agent: str | None
    firmware: str | None
    zone: str | None = None  # the zone it was given (a zone name of its cluster)


_TABLES = models.Base.metadata.tables
_DEVICES = _TABLES["devices"]
_LOGS = _TABLES["device_logs"]
_SEEN = (
    update(_DEVICES)
    .where(_DEVICES.c.mac == bindparam("b_mac"))
    .values(
        last_seen_at=bindparam("b_at"),
        last_address=bindparam("b_address"),
        last_user_agent=bindparam("b_user_agent"),
        last_firmware=bindparam("b_firmware"),
        located_zone_id=LOCATED_ZONE_ID,
    )
)


def record_fetches(database: Database, fetches: Sequence[Fetch]) -> None:
    """Write the latest fetch of each device, in one transaction."""
    if not fetches:
        return
    rows = [
        {
            "b_mac": fetch.mac,
            "b_at": fetch.at,
            "b_address": (fetch.address or None) and fetch.address[:45],
            "b_user_agent": (fetch.user_agent or None) and fetch.user_agent[:255],
            "b_firmware": (fetch.firmware or None) and fetch.firmware[:64],
            "located_zone": fetch.zone,
        }
        for fetch in fetches
    ]
    with database.write_connection() as connection:
        connection.execute(_SEEN, rows)


@dataclass(frozen=True)
class DeviceLog:
    name: str
    received_at: datetime
    size: int


def store_device_log(
    database: Database, mac: str, name: str, content: bytes, at: datetime, keep: int
) -> bool:
    """Keep `content` as the device's newest log `name`, and only its `keep` newest logs.
    False when no device has this MAC."""
    table = _LOGS
    with database.write_connection() as connection:
        device_id = connection.scalar(select(models.Device.id).where(models.Device.mac == mac))
        if device_id is None:
            return False
        connection.execute(
            table.insert().values(device_id=device_id, name=name, received_at=at, content=content)
        )
        kept = (
            select(table.c.id)
            .where(table.c.device_id == device_id)
            .order_by(table.c.received_at.desc(), table.c.id.desc())
            .limit(keep)
        )
        connection.execute(
            delete(table).where(table.c.device_id == device_id, table.c.id.not_in(kept))
        )
    return True


def device_logs(database: Database, mac: str) -> list[DeviceLog]:
    """The device's kept logs, newest first."""
    table = _LOGS
    with database.read() as session:
        rows = session.execute(
            select(table.c.name, table.c.received_at, table.c.content)
            .join(models.Device, models.Device.id == table.c.device_id)
            .where(models.Device.mac == mac)
            .order_by(table.c.received_at.desc(), table.c.id.desc())
        ).all()
    return [DeviceLog(name, received, len(content)) for name, received, content in rows]


def read_device_log(database: Database, mac: str, index: int = 0) -> bytes | None:
    """The content of the device's `index`-th newest log."""
    table = _LOGS
    with database.read() as session:
        return session.scalar(
            select(table.c.content)
            .join(models.Device, models.Device.id == table.c.device_id)
            .where(models.Device.mac == mac)
            .order_by(table.c.received_at.desc(), table.c.id.desc())
            .offset(index)
            .limit(1)
        )
