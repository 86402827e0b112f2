"""Devices by MAC, for the phones' hot path: the same `DeviceRecord`s as the ORM would
build (tests/web/test_device_lookup.py holds them to the same answers), read by one indexed
query per batch of MACs — the device with its account and cluster, the names of its
partner and zones, and its lines — without ORM objects.

The phones' lookups hold the GIL in a worker thread while the event loop serves phones, so
the work per device is kept small:

* the query is compiled once per dialect to plain SQL, with the batch as *one* parameter
  (SQLite: ``IN (SELECT value FROM json_each(?))`` over a JSON array; PostgreSQL:
  ``= ANY(%(macs)s)`` over an array), so every batch size runs the same statement, which
  the drivers keep prepared (and a single MAC its own ``= ?``, which PostgreSQL need not
  plan each time);
* `read_devices` runs it on the DBAPI connection itself, outside any transaction: a
  single statement reads a consistent snapshot by itself, and no BEGIN and ROLLBACK go
  to the server; `fetch_devices` runs it through a SQLAlchemy `Connection` (in its
  transaction, as any query there would);
* the partner's and zones' names are scalar subqueries, not joins: PostgreSQL plans a
  three-table join instead of searching the orders of an eight-table one;
* rows become records by position, with no per-column processing, and records are built
  without a frozen dataclass's per-field ``object.__setattr__`` (`_builder`); the JSON
  settings come as text (PostgreSQL's json cast to text: psycopg would decode it from
  bytes, slower) and are decoded here as SQLAlchemy's JSON type would decode them.

Other drivers (a ``postgresql+psycopg2`` URL, say) get the same records from SQLAlchemy's
own execution of the same query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Text, any_, bindparam, cast, func, select
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from provisioner.domain.estate import DeviceRecord, LineConfig
from provisioner.storage import models

_T = TypeVar("_T")

_DEVICE = models.Device.__table__
_ACCOUNT = models.Account.__table__
_CLUSTER = models.Cluster.__table__
_PARTNER = models.Partner.__table__
_ZONE = models.Zone.__table__
_LINE = models.Line.__table__


def _zone_name(zone_id: ColumnElement[Any]) -> ColumnElement[Any]:
    return select(_ZONE.c.name).where(_ZONE.c.id == zone_id).scalar_subquery()


def _query(settings: Callable[[ColumnElement[Any]], ColumnElement[Any]]) -> Select[Any]:
    """The query, less its WHERE; `settings` gives how the JSON columns are selected.
    The columns' positions are those `_record` and `_line` read."""
    return (
        select(
            _DEVICE.c.mac,
            _DEVICE.c.vendor,
            _DEVICE.c.model,
            settings(_DEVICE.c.settings),
            _DEVICE.c.provisioning_user,
            _DEVICE.c.provisioning_password,
            _ACCOUNT.c.name,
            _ACCOUNT.c.sip_domain,
            settings(_ACCOUNT.c.settings),
            _CLUSTER.c.name,
            select(_PARTNER.c.name).where(_PARTNER.c.id == _ACCOUNT.c.partner_id).scalar_subquery(),
            _zone_name(_DEVICE.c.zone_id),
            _zone_name(_ACCOUNT.c.zone_id),
            _zone_name(_DEVICE.c.located_zone_id),
            _LINE.c.index,
            _LINE.c.sip_user,
            _LINE.c.auth_name,
            _LINE.c.password,
            _LINE.c.display_name,
            _LINE.c.label,
        )
        .select_from(
            _DEVICE.join(_ACCOUNT, _DEVICE.c.account_id == _ACCOUNT.c.id)
            .join(_CLUSTER, _ACCOUNT.c.cluster_id == _CLUSTER.c.id)
            .outerjoin(_LINE, _LINE.c.device_id == _DEVICE.c.id)
        )
        # lines in index order: a device's rows keep it when they are grouped by MAC
        .order_by(_LINE.c.index)
    )


def _as_is(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return column


def _as_text(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(column, Text)


_MACS: BindParameter[Any] = bindparam("macs")
_MAC_VALUES = func.json_each(_MACS).table_valued("value")
_STATEMENTS: dict[str, Select[Any]] = {
    # JSON as SQLite stores it: text
    "sqlite": _query(_as_is).where(_DEVICE.c.mac.in_(select(_MAC_VALUES.c.value))),
    # json as text too, decoded here as psycopg would (with the dialect's deserializer)
    "postgresql": _query(_as_text).where(_DEVICE.c.mac == any_(_MACS)),
}
# one MAC (the usual batch when phones are not booting together): PostgreSQL keeps a
# generic plan of ``= $1`` instead of planning ``= ANY($1)`` afresh each time
_ONE: dict[str, Select[Any]] = {
    "sqlite": _query(_as_is).where(_DEVICE.c.mac == bindparam("mac")),
    "postgresql": _query(_as_text).where(_DEVICE.c.mac == bindparam("mac")),
}
_BY_MACS = _query(_as_is).where(_DEVICE.c.mac.in_(bindparam("macs", expanding=True)))
_JSON_LOADS = json.loads


@dataclass(frozen=True, slots=True)
class _Statement:
    """The query as one dialect's driver takes it."""

    sql: str  # for a batch of MACs
    parameters: Callable[[list[str]], Any]  # the batch → the driver's parameters
    one_sql: str  # for a single MAC
    one_parameters: Callable[[str], Any]
    loads: Callable[[Any], Any] | None  # decodes a JSON column; None: it comes decoded

    def for_batch(self, macs: list[str]) -> tuple[str, Any]:
        """The SQL and parameters to read these MACs with."""
        if len(macs) == 1:
            return self.one_sql, self.one_parameters(macs[0])
        return self.sql, self.parameters(macs)


_COMPILED: dict[tuple[str, str], _Statement | None] = {}


def _statement(dialect: Dialect) -> _Statement | None:
    """The plain-SQL statement for this dialect's driver, or None to let SQLAlchemy run
    `_BY_MACS` (a driver whose types and parameters have not been checked here)."""
    key = (dialect.name, dialect.driver)
    try:
        return _COMPILED[key]
    except KeyError:
        pass
    statement: _Statement | None = None
    if key in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        compiled = _STATEMENTS[dialect.name].compile(dialect=dialect)
        one = _ONE[dialect.name].compile(dialect=dialect)
        # what SQLAlchemy's JSON type decodes with (SQLite), or has psycopg decode with
        # (PostgreSQL): the engine's json_deserializer, else json.loads
        loads = getattr(dialect, "_json_deserializer", None) or _JSON_LOADS
        if dialect.name == "sqlite":
            assert compiled.positiontup == ["macs"] and one.positiontup == ["mac"]
            dumps = json.dumps
            statement = _Statement(
                compiled.string,
                lambda macs: (dumps(macs),),
                one.string,
                lambda mac: (mac,),
                loads,
            )
        else:
            assert not compiled.positional and compiled.string.count("%(macs)s") == 1
            assert not one.positional and one.string.count("%(mac)s") == 1
            statement = _Statement(
                compiled.string,
                lambda macs: {"macs": macs},
                one.string,
                lambda mac: {"mac": mac},
                loads,
            )
    _COMPILED[key] = statement
    return statement


def fetch_device(connection: Connection, mac: str) -> DeviceRecord | None:
    """The device with this (normalised) MAC, or None; one query."""
    return fetch_devices(connection, [mac]).get(mac)


def fetch_devices(connection: Connection, macs: Sequence[str]) -> dict[str, DeviceRecord]:
    """The devices with these MACs (those that exist), in one query on `connection`, in
    its transaction (begun if none is)."""
    if not macs:
        return {}
    statement = _statement(connection.dialect)
    if statement is None:
        rows = connection.execute(_BY_MACS, {"macs": list(macs)}).all()
        return _records(rows, None)
    sql, parameters = statement.for_batch(list(macs))
    return _records(connection.exec_driver_sql(sql, parameters).all(), statement.loads)


def read_devices(engine: Engine, macs: Sequence[str]) -> dict[str, DeviceRecord]:
    """`fetch_devices` on a pooled connection of its own, for the phones' lookups: the one
    statement runs outside any transaction, on the driver's connection."""
    if not macs:
        return {}
    statement = _statement(engine.dialect)
    if statement is None:
        with engine.connect() as connection:
            return fetch_devices(connection, macs)
    sql, parameters = statement.for_batch(list(macs))
    pooled = engine.raw_connection()
    try:
        driver: Any = pooled.driver_connection
        cursor = None
        try:
            if engine.dialect.driver == "psycopg" and not driver.autocommit:
                from psycopg.pq import TransactionStatus

                # no BEGIN (and so no ROLLBACK when the pool takes the connection back);
                # a checked-out connection is idle, out of any transaction
                driver.autocommit = True
                try:
                    cursor = driver.cursor()
                    rows = cursor.execute(sql, parameters).fetchall()
                finally:
                    if driver.info.transaction_status == TransactionStatus.IDLE:
                        driver.autocommit = False
            else:  # sqlite3: a lone SELECT begins no transaction
                cursor = driver.cursor()
                cursor.execute(sql, parameters)
                rows = cursor.fetchall()
            cursor.close()
        except engine.dialect.loaded_dbapi.Error as error:
            # as SQLAlchemy's own execution would: its exception, and a connection that
            # was lost is not given back to the pool
            lost = engine.dialect.is_disconnect(error, pooled, cursor)
            if lost:
                pooled.invalidate(error)
            raise DBAPIError.instance(
                sql,
                parameters,
                error,
                engine.dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=engine.dialect,
            ) from error
    finally:
        pooled.close()
    return _records(rows, statement.loads)


def _builder(cls: type[_T], names: frozenset[str]) -> Callable[[dict[str, Any]], _T]:
    """``cls(**values)`` for a frozen dataclass whose fields are `names`, by setting the
    new instance's ``__dict__`` at once rather than each field through
    ``object.__setattr__`` (about four times faster for `DeviceRecord`): the same object,
    as long as `cls` has no ``__post_init__``, no slots, and every field is an ``__init__``
    argument; otherwise `cls` itself (and tests/web/test_device_lookup.py says so)."""
    params = getattr(cls, "__dataclass_params__", None)
    plain = (
        params is not None
        and params.frozen
        and not hasattr(cls, "__post_init__")
        and "__slots__" not in vars(cls)
        and {field.name for field in fields(cls)} == names  # type: ignore[arg-type]
        and all(field.init for field in fields(cls))  # type: ignore[arg-type]
    )
    if not plain:
        return lambda values: cls(**values)
    new = object.__new__
    set_attribute = object.__setattr__

    def build(values: dict[str, Any]) -> _T:
        instance = new(cls)
        set_attribute(instance, "__dict__", values)
        return instance

    build.plain = True  # type: ignore[attr-defined]
    return build


_RECORD_FIELDS = frozenset(
    (
        "mac",
        "vendor",
        "model",
        "account",
        "cluster",
        "partner",
        "sip_domain",
        "pinned_zone",
        "pinned_by",
        "account_settings",
        "settings",
        "provisioning_user",
        "provisioning_password",
        "lines",
        "located_zone",
    )
)
_LINE_FIELDS = frozenset(("index", "sip_user", "auth_name", "password", "display_name", "label"))
_new_record = _builder(DeviceRecord, _RECORD_FIELDS)
_new_line = _builder(LineConfig, _LINE_FIELDS)


def _records(
    rows: Sequence[Sequence[Any]], loads: Callable[[Any], Any] | None
) -> dict[str, DeviceRecord]:
    """The records in these rows (a device's lines in the order of its rows)."""
    first: dict[str, Sequence[Any]] = {}
    lines: dict[str, list[LineConfig]] = {}
    new_line = _new_line
    for row in rows:
        mac = row[0]
        if mac not in first:
            first[mac] = row
        if row[14] is not None:
            line = new_line(
                {
                    "index": row[14],
                    "sip_user": row[15],
                    "auth_name": row[16],
                    "password": row[17],
                    "display_name": row[18],
                    "label": row[19],
                }
            )
            try:
                lines[mac].append(line)
            except KeyError:
                lines[mac] = [line]
    no_lines: tuple[LineConfig, ...] = ()
    return {
        mac: _record(row, tuple(lines[mac]) if mac in lines else no_lines, loads)
        for mac, row in first.items()
    }


def _settings(value: Any, loads: Callable[[Any], Any] | None) -> dict[str, Any]:
    """A JSON settings column as a fresh dict: ``dict(value or {})`` of the value as
    SQLAlchemy's JSON type decodes it (None for SQL NULL and for JSON null)."""
    if loads is not None and value is not None:
        value = {} if value == "{}" and loads is _JSON_LOADS else loads(value)
    # a dict decoded for this row is fresh already
    return value if type(value) is dict else dict(value or {})


def _record(
    row: Sequence[Any], lines: tuple[LineConfig, ...], loads: Callable[[Any], Any] | None
) -> DeviceRecord:
    device_zone = row[11]
    account_zone = row[12]
    return _new_record(
        {
            "mac": row[0],
            "vendor": row[1],
            "model": row[2],
            "account": row[6],
            "cluster": row[9],
            "partner": row[10],
            "sip_domain": row[7],
            "pinned_zone": device_zone or account_zone,
            "pinned_by": "device" if device_zone else "account" if account_zone else None,
            "account_settings": _settings(row[8], loads),
            "settings": _settings(row[3], loads),
            "provisioning_user": row[4],
            "provisioning_password": row[5],
            "lines": lines,
            "located_zone": row[13],
        }
    )
