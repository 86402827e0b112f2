"""The phones' one-query device lookup answers exactly as the ORM would, on SQLite and
PostgreSQL: through a SQLAlchemy connection (`fetch_device`, `fetch_devices`), on a pooled
connection of its own (`read_devices`), and by SQLAlchemy's own execution (the path of
drivers without a plain-SQL statement)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from provisioner.domain.estate import DeviceRecord, LineConfig
from provisioner.storage import device_lookup, models
from provisioner.storage.database import Database
from provisioner.storage.device_lookup import fetch_device, fetch_devices, read_devices
from provisioner.storage.snapshot import load_device
from provisioner.web.digest import ALGORITHMS, ha1, ha1_all
from provisioner.web.lookup import lookup_devices
from tests.web.support import DEMO_DEVICES

UNKNOWN = ["001565ffffff", "", "ZZ", "0015'65", 'a"b', "é", "001565A00001"]


def orm_record(session: Session, mac: str) -> DeviceRecord | None:
    """The record as the ORM's objects give it: the yardstick (`load_device` itself reads
    through `fetch_device`)."""
    device = session.scalars(select(models.Device).where(models.Device.mac == mac)).first()
    if device is None:
        return None
    account = device.account
    pinned = device.zone or account.zone
    located = session.get(models.Zone, device.located_zone_id) if device.located_zone_id else None
    return DeviceRecord(
        mac=device.mac,
        vendor=device.vendor,
        model=device.model,
        account=account.name,
        cluster=account.cluster.name,
        partner=account.partner.name if account.partner else None,
        sip_domain=account.sip_domain,
        pinned_zone=pinned.name if pinned else None,
        pinned_by="device" if device.zone else "account" if account.zone else None,
        account_settings=dict(account.settings or {}),
        settings=dict(device.settings or {}),
        provisioning_user=device.provisioning_user,
        provisioning_password=device.provisioning_password,
        lines=tuple(
            LineConfig(
                index=line.index,
                sip_user=line.sip_user,
                auth_name=line.auth_name,
                password=line.password,
                display_name=line.display_name,
                label=line.label,
            )
            for line in sorted(device.lines, key=lambda line: line.index)
        ),
        located_zone=located.name if located else None,
    )


def add_varied_estate(database: Database, devices: int = 300) -> list[str]:
    """Devices with and without lines (added out of order), partner and zones, and JSON
    settings of every shape; their MACs."""
    with database.write("varied devices") as session:
        cluster = models.Cluster(name="vary", kind="hosted", domain="vary.example.net")
        session.add(cluster)
        session.flush()
        zones = [
            models.Zone(
                cluster_id=cluster.id,
                name=f"vz{n}",
                proxy_label=f"vp{n}",
                latitude=1.0 * n,
                longitude=2.0 * n,
            )
            for n in range(3)
        ]
        partner = models.Partner(name="vary-partner", cluster_id=cluster.id, domain="vp.example")
        session.add_all([*zones, partner])
        session.flush()
        settings_shapes: list[object] = [
            {},
            {"time_zone": "Europe/Paris", "codecs": ["opus", "g722"], "n": 1.5, "on": True},
            {"nested": {"deep": [1, {"x": None}]}, "text": 'héllo ☎ "quoted" \\ / \u2028'},
            None,  # stored as JSON null: read as {}
        ]
        accounts = [
            models.Account(
                name=f"vary-{n}",
                cluster_id=cluster.id,
                partner_id=partner.id if n % 2 else None,
                sip_domain=f"vary-{n}.sip.example",
                zone_id=zones[n % 3].id if n % 3 else None,
                settings=settings_shapes[n % len(settings_shapes)],
            )
            for n in range(5)
        ]
        session.add_all(accounts)
        session.flush()
        macs = []
        for n in range(devices):
            mac = f"02bb{n:08x}"
            macs.append(mac)
            device = models.Device(
                mac=mac,
                vendor="yealink",
                model="T46U",
                account_id=accounts[n % 5].id,
                zone_id=zones[n % 3].id if n % 4 == 1 else None,
                located_zone_id=zones[n % 2].id if n % 3 == 2 else None,
                provisioning_user=f"user-{n}" if n % 2 else mac,
                provisioning_password=f"pw-{n}-é",
                settings=settings_shapes[(n // 5) % len(settings_shapes)],
            )
            session.add(device)
            session.flush()
            for index in [(3, 1, 2), (1,), (), (2, 1)][n % 4]:
                session.add(
                    models.Line(
                        device_id=device.id,
                        index=index,
                        sip_user=f"{n}-{index}",
                        auth_name=f"auth-{n}-{index}",
                        password=f"sip-{n}-{index}",
                        display_name=f"Phone {n}" if index == 1 else "",
                        label=f"L{index}",
                    )
                )
    return macs


@pytest.fixture
def varied_database(demo_database: Database) -> tuple[Database, list[str]]:
    return demo_database, [*DEMO_DEVICES, *add_varied_estate(demo_database)]


@pytest.fixture(params=["plain SQL", "SQLAlchemy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test once on the plain-SQL statements, once on SQLAlchemy's own execution."""
    if request.param == "SQLAlchemy":
        for key in [("sqlite", "pysqlite"), ("postgresql", "psycopg")]:
            monkeypatch.setitem(device_lookup._COMPILED, key, None)
    yield request.param


def test_the_reference_sees_what_the_estate_holds(varied_database: tuple[Database, list[str]]):
    database, macs = varied_database
    with database.read() as session:
        records = [orm_record(session, mac) for mac in macs]
    assert all(records)
    seen = {
        "lines out of order": any(r and [ln.index for ln in r.lines] == [1, 2, 3] for r in records),
        "no lines": any(r and not r.lines for r in records),
        "partner": any(r and r.partner for r in records),
        "no partner": any(r and not r.partner for r in records),
        "device pin": any(r and r.pinned_by == "device" for r in records),
        "account pin": any(r and r.pinned_by == "account" for r in records),
        "no pin": any(r and r.pinned_by is None for r in records),
        "located": any(r and r.located_zone for r in records),
        "settings": any(r and r.settings.get("nested") for r in records),
        "account settings": any(r and r.account_settings.get("codecs") for r in records),
    }
    assert all(seen.values()), seen


def test_fetch_device_equals_the_orm(varied_database: tuple[Database, list[str]], path: str):
    database, macs = varied_database
    with database.read() as session, database.engine.connect() as connection:
        for mac in [*macs[:40], *UNKNOWN]:
            expected = orm_record(session, mac)
            assert fetch_device(connection, mac) == expected, mac
            assert load_device(session, mac) == expected, mac


@pytest.mark.parametrize("size", [1, 2, 7, 64, 256, 300])
def test_fetch_and_read_devices_equal_the_orm(
    varied_database: tuple[Database, list[str]], path: str, size: int
):
    database, macs = varied_database
    rng = random.Random(size)
    with database.read() as session:
        expected = {mac: orm_record(session, mac) for mac in [*macs, *UNKNOWN]}
    with database.engine.connect() as connection:
        for _ in range(3):
            batch = rng.sample([*macs, *UNKNOWN], size)
            wanted = {mac: record for mac, record in expected.items() if mac in batch and record}
            found = fetch_devices(connection, batch)
            assert found == wanted
            assert read_devices(database.engine, batch) == wanted
            # each record has its own settings, as each decoded row does
            assert len({id(r.settings) for r in found.values()}) == len(found)
            assert all(type(r.settings) is dict for r in found.values())
            assert all(type(r.lines) is tuple for r in found.values())
        assert fetch_devices(connection, []) == {}
        assert read_devices(database.engine, []) == {}
        duplicated = [macs[0], macs[0], UNKNOWN[0], macs[1], macs[0]]
        assert fetch_devices(connection, duplicated) == {m: expected[m] for m in macs[:2]}
        assert read_devices(database.engine, duplicated) == {m: expected[m] for m in macs[:2]}


def test_fetch_devices_reads_in_the_connection_s_transaction(database: Database):
    with database.engine.connect() as connection:
        assert fetch_devices(connection, ["001565a00001"]) == {}
        assert connection.in_transaction()  # as any query there begins one
    add_varied_estate(database, devices=1)
    with database.write("one more") as session:
        device = session.scalars(select(models.Device)).one()
        device.model = "T54W"
        session.flush()
        assert fetch_device(session.connection(), device.mac).model == "T54W"  # type: ignore[union-attr]
        assert load_device(session, device.mac) == orm_record(session, device.mac)


def test_read_devices_gives_the_connection_back_as_it_was(database: Database):
    add_varied_estate(database, devices=3)
    for _ in range(3):
        assert len(read_devices(database.engine, ["02bb00000000", "02bb00000002"])) == 2
    with database.engine.connect() as connection:
        driver = connection.connection.driver_connection
        if database.engine.dialect.name == "postgresql":
            assert driver.autocommit is False  # type: ignore[union-attr]
            assert driver.info.transaction_status == 0  # type: ignore[union-attr]  # idle
        else:
            assert driver.in_transaction is False  # type: ignore[union-attr]
        # and transactions work on it as before
        with connection.begin():
            assert connection.execute(text("SELECT count(*) FROM devices")).scalar() == 3


def test_read_devices_raises_as_sqlalchemy_would(database_url: str):
    unmigrated = Database(database_url)  # no tables
    try:
        with pytest.raises(DBAPIError):
            read_devices(unmigrated.engine, ["001565a00001"])
        with unmigrated.engine.connect() as connection:  # the connection is still good
            assert connection.execute(text("SELECT 1")).scalar() == 1
            with pytest.raises(DBAPIError):
                fetch_devices(connection, ["001565a00001"])
    finally:
        unmigrated.dispose()


def test_lookup_devices_gives_an_entry_for_every_mac(demo_database: Database):
    macs = [*DEMO_DEVICES, "001565ffffff"]
    entries = lookup_devices(demo_database, macs, "realm")
    assert list(entries) == macs
    with demo_database.read() as session:
        for mac in DEMO_DEVICES:
            record = orm_record(session, mac)
            assert record is not None
            entry = entries[mac]
            assert entry.record == record
            assert entry.user == record.provisioning_user
            assert entry.ha1 == ha1_all(
                record.provisioning_user, "realm", record.provisioning_password
            )
    unknown = entries["001565ffffff"]
    assert unknown.record is None and unknown.user == "001565ffffff"
    assert set(unknown.ha1) == set(entries[next(iter(DEMO_DEVICES))].ha1)


@pytest.mark.parametrize(
    ("user", "realm", "password"),
    [("001565a00001", "provisioner", "pw"), ("", "", ""), ("ü:s", "réalm", "☎ pass:word")],
)
def test_ha1_all_is_each_algorithms_ha1(user: str, realm: str, password: str):
    assert ha1_all(user, realm, password) == {
        algorithm: ha1(algorithm, user, realm, password) for algorithm in ALGORITHMS
    }


def test_records_are_built_as_their_constructors_build_them():
    # the fast builders are in use: a change to DeviceRecord or LineConfig that turns
    # them off (a field, a __post_init__, slots) should be seen, and the builders updated
    assert getattr(device_lookup._new_record, "plain", False)
    assert getattr(device_lookup._new_line, "plain", False)
    values = {field.name: f"v-{field.name}" for field in dataclasses.fields(DeviceRecord)}
    built = device_lookup._new_record(dict(values))
    assert built == DeviceRecord(**values)  # type: ignore[arg-type]
    assert repr(built) == repr(DeviceRecord(**values))  # type: ignore[arg-type]
    assert hash(built) == hash(DeviceRecord(**values))  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.mac = "x"  # type: ignore[misc]

    @dataclasses.dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")

    build = device_lookup._builder(Checked, frozenset({"a"}))
    assert not getattr(build, "plain", False)
    assert build({"a": 1}) == Checked(1)
    with pytest.raises(ValueError, match="negative"):
        build({"a": -1})
    assert not getattr(device_lookup._builder(Checked, frozenset({"a", "b"})), "plain", False)
