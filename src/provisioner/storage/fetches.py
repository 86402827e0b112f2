"""What phones' fetches leave in the database: last seen (time, address, User-Agent,
firmware) per device, and the log files Poly phones upload.

Neither is a change to the estate: they do not append to ``changes`` (that would drop
every cached file), they only take the writers' lock so SQLite writers queue.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TableClause, bindparam, column, delete, select, update
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.locations import LOCATED_ZONE_ID, located_zone_id


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
# SQLAlchemy's executemany of one UPDATE per fetch: what the plain-SQL statements below
# must store the same as, and what runs a batch they do not take.
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

# The whole batch as one statement with one parameter per column (PostgreSQL: arrays
# unnested) or one in all (SQLite: a JSON array of rows), so the database walks it while
# the driver has let go of the GIL, instead of Python binding and stepping row by row.
# The batch is the table ``b``, given by each dialect's WITH; the located zone is
# `located_zone_id`'s correlated subquery: an indexed lookup or two per row, in the database.
_BATCH = TableClause(
    "b",
    column("mac"),
    column("at"),
    column("address"),
    column("user_agent"),
    column("firmware"),
    column("zone"),
)
_FROM_BATCH = (
    update(_DEVICES)
    .values(
        last_seen_at=_BATCH.c.at,
        last_address=_BATCH.c.address,
        last_user_agent=_BATCH.c.user_agent,
        last_firmware=_BATCH.c.firmware,
        located_zone_id=located_zone_id(_BATCH.c.zone),
    )
    .where(_DEVICES.c.mac == _BATCH.c.mac)
)
_SQLITE = (
    "WITH b AS (SELECT json_extract(value, '$[0]') AS mac,"
    " json_extract(value, '$[1]') AS at, json_extract(value, '$[2]') AS address,"
    " json_extract(value, '$[3]') AS user_agent, json_extract(value, '$[4]') AS firmware,"
    " json_extract(value, '$[5]') AS zone FROM json_each(?)) "
    + str(_FROM_BATCH.compile(dialect=sqlite_dialect.dialect()))
)
_POSTGRESQL = (
    "WITH b AS (SELECT * FROM unnest(%(mac)b::text[], %(at)b::timestamptz[],"
    " %(address)b::text[], %(user_agent)b::text[], %(firmware)b::text[], %(zone)b::text[])"
    " AS b(mac, at, address, user_agent, firmware, zone)) "
    + str(_FROM_BATCH.compile(dialect=postgresql_dialect.psycopg.dialect()))
)
_DUMPS = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
# UPDATE ... FROM: SQLite 3.33
_SQLITE_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)
_SQLITE_TIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # SQLAlchemy's SQLite DATETIME


def _stored(fetch: Fetch) -> tuple[str | None, str | None, str | None]:
    """Address, User-Agent and firmware as the row keeps them: empty as NULL, cut to the
    columns' sizes."""
    return (
        (fetch.address or None) and fetch.address[:45],
        (fetch.user_agent or None) and fetch.user_agent[:255],
        (fetch.firmware or None) and fetch.firmware[:64],
    )


def record_fetches(database: Database, fetches: Sequence[Fetch]) -> None:
    """Write the latest fetch of each device, in one transaction."""
    if not fetches:
        return
    # One row per MAC, the batch's last: executemany's UPDATEs leave the last one, an
    # UPDATE ... FROM would take any of them.
    latest = {fetch.mac: fetch for fetch in fetches}.values()
    # The plain statements take times that are aware datetimes: bound one by one,
    # SQLAlchemy would store anything else in ways an array or JSON need not follow.
    plain = all(type(fetch.at) is datetime and fetch.at.tzinfo for fetch in latest)
    dialect = database.engine.dialect
    key = (dialect.name, dialect.driver)
    if plain and key == ("sqlite", "pysqlite") and _SQLITE_UPDATE_FROM:
        text = _DUMPS(
            [
                [
                    fetch.mac,
                    # SQLAlchemy's SQLite DATETIME: the datetime's fields, its offset dropped
                    _SQLITE_TIME
                    % (
                        (at := fetch.at).year,
                        at.month,
                        at.day,
                        at.hour,
                        at.minute,
                        at.second,
                        at.microsecond,
                    ),
                    *_stored(fetch),
                    fetch.zone,
                ]
                for fetch in latest
            ]
        )
        # SQLite's JSON cuts a string at an escaped NUL: those go row by row
        if "\\u0000" not in text:
            with database.write_connection() as connection:
                connection.exec_driver_sql(_SQLITE, (text,))
            return
    elif plain and key == ("postgresql", "psycopg"):
        addresses, user_agents, firmwares = zip(*map(_stored, latest), strict=True)
        parameters = {
            "mac": [fetch.mac for fetch in latest],
            "at": [fetch.at for fetch in latest],
            "address": list(addresses),
            "user_agent": list(user_agents),
            "firmware": list(firmwares),
            "zone": [fetch.zone for fetch in latest],
        }
        with database.write_connection() as connection:
            connection.exec_driver_sql(_POSTGRESQL, parameters)
        return
    rows = []
    for fetch in fetches:
        address, user_agent, firmware = _stored(fetch)
        rows.append(
            {
                "b_mac": fetch.mac,
                "b_at": fetch.at,
                "b_address": address,
                "b_user_agent": user_agent,
                "b_firmware": firmware,
                "located_zone": fetch.zone,
            }
        )
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
