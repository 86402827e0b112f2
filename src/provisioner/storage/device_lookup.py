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

The phones' form of the query (`read_devices`) costs the same whether a MAC exists: for a
MAC no device has, it reads the rows of a stand-in (the device with the next MAC) and
builds its record, then drops it, so timing does not tell which MACs exist.

Other drivers (a ``postgresql+psycopg2`` URL, say) get the same records from SQLAlchemy's
own execution of the same query (without the stand-ins).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Text, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from provisioner.domain.estate import DeviceRecord, LineConfig
from provisioner.storage import models
from provisioner.storage.secrets import SecretError, keyring_of

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_DEVICE = models.Device.__table__
_ACCOUNT = models.Account.__table__
_CLUSTER = models.Cluster.__table__
_PARTNER = models.Partner.__table__
_ZONE = models.Zone.__table__
_LINE = models.Line.__table__


def _zone_name(zone_id: ColumnElement[Any]) -> ColumnElement[Any]:
    return select(_ZONE.c.name).where(_ZONE.c.id == zone_id).scalar_subquery()


_OTHER = _DEVICE.alias("other_device")


def _read_for(mac: ColumnElement[Any]) -> ColumnElement[Any]:
    """The MAC of the device a phones' lookup of `mac` reads: that device's, or with no
    such device the next one's in MAC order (past the last, the first's). One index seek
    either way, and then one device's rows either way."""
    return func.coalesce(
        select(func.min(_OTHER.c.mac)).where(_OTHER.c.mac >= mac).scalar_subquery(),
        select(func.min(_OTHER.c.mac)).scalar_subquery(),
    )


def _query(
    settings: Callable[[ColumnElement[Any]], ColumnElement[Any]], asked: Any = None
) -> Select[Any]:
    """The query, less its WHERE; `settings` gives how the JSON columns are selected.
    The columns' positions are those `_record` and `_line` read. With `asked` (a table of
    MACs, column ``value``), each asked MAC joins the device `_read_for` it, and the
    asked MAC is one more column (`_ASKED_COLUMN`)."""
    devices: Any = _DEVICE
    extra: list[Any] = []
    if asked is not None:
        devices = asked.join(_DEVICE, _DEVICE.c.mac == _read_for(asked.c.value))
        extra.append(asked.c.value)
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
            *extra,
        )
        .select_from(
            devices.join(_ACCOUNT, _DEVICE.c.account_id == _ACCOUNT.c.id)
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
# The phones' lookups (`read_devices`): every asked MAC reads one device's rows, its own or
# a stand-in's (`_read_for`), so an unknown MAC costs the database and the building of a
# record what a known one costs; the stand-in's record is then dropped.
_ASKED_COLUMN = 20
_PHONES_STATEMENTS: dict[str, Select[Any]] = {
    "sqlite": _query(_as_is, func.json_each(_MACS).table_valued("value").alias("asked")),
    "postgresql": _query(
        _as_text,
        # typed, or PostgreSQL cannot tell which unnest an untyped parameter is for
        func.unnest(cast(_MACS, ARRAY(Text))).table_valued("value").render_derived(name="asked"),
    ),
}
_PHONES_ONE: dict[str, Select[Any]] = {
    "sqlite": _query(_as_is).where(_DEVICE.c.mac == _read_for(bindparam("mac"))),
    "postgresql": _query(_as_text).where(_DEVICE.c.mac == _read_for(bindparam("mac"))),
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


_COMPILED: dict[tuple[str, str, bool], _Statement | None] = {}


def _statement(dialect: Dialect, phones: bool = False) -> _Statement | None:
    """The plain-SQL statement for this dialect's driver, or None to let SQLAlchemy run
    `_BY_MACS` (a driver whose types and parameters have not been checked here).
    `phones`: the phones' form, every asked MAC reading one device (`_PHONES_STATEMENTS`)."""
    key = (dialect.name, dialect.driver, phones)
    try:
        return _COMPILED[key]
    except KeyError:
        pass
    statement: _Statement | None = None
    if key[:2] in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        many_select = (_PHONES_STATEMENTS if phones else _STATEMENTS)[dialect.name]
        compiled = many_select.compile(dialect=dialect)
        one = (_PHONES_ONE if phones else _ONE)[dialect.name].compile(dialect=dialect)
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
        return _records(rows, None, keyring_of(connection.engine).decrypt)
    sql, parameters = statement.for_batch(list(macs))
    return _records(
        connection.exec_driver_sql(sql, parameters).all(),
        statement.loads,
        keyring_of(connection.engine).decrypt,
    )


def read_devices(engine: Engine, macs: Sequence[str]) -> dict[str, DeviceRecord]:
    """`fetch_devices` on a pooled connection of its own, for the phones' lookups: the one
    statement runs outside any transaction, on the driver's connection. Each MAC reads one
    device's rows and builds its record, an unknown MAC a stand-in's (`_read_for`), which
    is dropped: the same work whether or not the MAC exists."""
    if not macs:
        return {}
    asked = list(dict.fromkeys(macs))  # each once: a MAC asked twice would read twice
    statement = _statement(engine.dialect, phones=True)
    if statement is None:
        with engine.connect() as connection:
            return fetch_devices(connection, asked)
    sql, parameters = statement.for_batch(asked)
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
    # one MAC: rows of one device; a batch: rows grouped by the MAC they were read for
    key = 0 if len(asked) == 1 else _ASKED_COLUMN
    records = _records(rows, statement.loads, _isolating(keyring_of(engine).decrypt), key)
    wanted = set(asked)
    return {mac: record for mac, record in records.items() if record.mac == mac and mac in wanted}


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
    rows: Sequence[Sequence[Any]],
    loads: Callable[[Any], Any] | None,
    decrypt: Callable[[str, str], str],
    key: int = 0,
) -> dict[str, DeviceRecord]:
    """The records in these rows (a device's lines in the order of its rows), their
    passwords decrypted (`storage.secrets`: once per lookup, not per request); by the
    value of column `key` (the device's MAC, or the MAC it was read for)."""
    first: dict[str, Sequence[Any]] = {}
    lines: dict[str, list[LineConfig]] = {}
    new_line = _new_line
    for row in rows:
        mac = row[key]
        if mac not in first:
            first[mac] = row
        if row[14] is not None:
            line = new_line(
                {
                    "index": row[14],
                    "sip_user": row[15],
                    "auth_name": row[16],
                    "password": decrypt(row[17], row[0]),
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
        mac: _record(row, tuple(lines[mac]) if mac in lines else no_lines, loads, decrypt)
        for mac, row in first.items()
    }


def _isolating(decrypt: Callable[[str, str], str]) -> Callable[[str, str], str]:
    """`decrypt`, with a value that cannot be decrypted (a wrong key, a damaged value)
    kept to its own device: logged (naming the device and the error, never a secret)
    and replaced by a password no phone can know, so that device is refused like any
    wrong password while every other device of the batch is served."""

    def decrypt_one(stored: str, where: str) -> str:
        try:
            return decrypt(stored, where)
        except SecretError as error:
            log.error("device %s is refused until its secret is fixed: %s", where, error)
            return _UNUSABLE

    return decrypt_one


_UNUSABLE = secrets.token_urlsafe(32)  # per process; never stored, never shown


def _settings(value: Any, loads: Callable[[Any], Any] | None) -> dict[str, Any]:
    """A JSON settings column as a fresh dict: ``dict(value or {})`` of the value as
    SQLAlchemy's JSON type decodes it (None for SQL NULL and for JSON null)."""
    if loads is not None and value is not None:
        value = {} if value == "{}" and loads is _JSON_LOADS else loads(value)
    # a dict decoded for this row is fresh already
    return value if type(value) is dict else dict(value or {})


def _record(
    row: Sequence[Any],
    lines: tuple[LineConfig, ...],
    loads: Callable[[Any], Any] | None,
    decrypt: Callable[[str, str], str],
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
            "provisioning_password": decrypt(row[5], row[0]),
            "lines": lines,
            "located_zone": row[13],
        }
    )
