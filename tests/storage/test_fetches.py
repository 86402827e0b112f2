"""What `record_fetches` leaves in ``devices``, value for value, on both databases: the
time as each database stores it, the truncated address / User-Agent / firmware, NULL for
empty strings, the located zone looked up in the device's own cluster, unknown MACs
ignored, the last fetch of a MAC in a batch winning — and the same rows as SQLAlchemy's
own executemany of the plain UPDATE it replaced, for batches of one to thousands."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from bench.synthetic_estate import accounts, cluster
from sqlalchemy import bindparam, select, update

from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.fetches import Fetch, record_fetches

PER_CLUSTER = 1000
BENCH = [f"{0x02AA00000000 + index:012x}" for index in range(PER_CLUSTER)]  # cluster "bench"
OTHER = [f"{0x02BB00000000 + index:012x}" for index in range(PER_CLUSTER)]  # cluster "other"
UNKNOWN = [f"{0x02CC00000000 + index:012x}" for index in range(50)]  # no such device
AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def _estate() -> str:
    other = cluster("other", "other.example.net")
    # a zone only "other" has; east, central and west are in both clusters
    other["zones"].append(
        {"name": "south", "latitude": 29.8, "longitude": -95.4, "media_servers": "nearest"}
    )
    document = {
        "clusters": [cluster(), other],
        "accounts": [
            *accounts(PER_CLUSTER),
            *accounts(PER_CLUSTER, prefix="other", mac_base=0x02BB00000000, cluster_name="other"),
        ],
    }
    return yaml.safe_dump(document)


def _load(database: Database) -> Database:
    load_estate_file(database, read_estate_file(_estate(), "fetches.yaml"))
    return database


@pytest.fixture
def estate(database: Database) -> Database:
    return _load(database)


def _zone_ids(database: Database) -> dict[tuple[str, str], int]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(models.Cluster.name, models.Zone.name, models.Zone.id).join(
                models.Cluster, models.Cluster.id == models.Zone.cluster_id
            )
        ).all()
    return {(cluster_name, zone): zone_id for cluster_name, zone, zone_id in rows}


def _stored(database: Database) -> dict[str, tuple[Any, ...]]:
    """Each device's last-seen columns as the driver returns them (SQLite: the stored text
    of the time), with the located zone as (cluster, zone) names rather than an id."""
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT d.mac, d.last_seen_at, d.last_address, d.last_user_agent, "
            "d.last_firmware, c.name, z.name "
            "FROM devices d LEFT JOIN zones z ON z.id = d.located_zone_id "
            "LEFT JOIN clusters c ON c.id = z.cluster_id ORDER BY d.mac"
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _stored_time(database: Database, at: datetime) -> Any:
    """How the database stores `at` as a last-seen time, as its driver returns it."""
    if database.engine.dialect.name == "sqlite":
        # SQLAlchemy's SQLite DATETIME: the datetime's own fields, its offset dropped
        return (
            f"{at.year:04d}-{at.month:02d}-{at.day:02d} "
            f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}.{at.microsecond:06d}"
        )
    return at  # timestamptz: the same instant


def test_each_value_is_stored_as_it_should_be(estate: Database) -> None:
    zone = _zone_ids(estate)
    plus_two = datetime(2026, 3, 4, 7, 6, 7, 5, tzinfo=timezone(timedelta(hours=2)))
    fetches = [
        Fetch(BENCH[0], AT, "192.0.2.10", "Yealink SIP-T46U 108.86.0.20", "108.86.0.20", "east"),
        Fetch(OTHER[0], AT, "192.0.2.11", "Yealink SIP-T46U 108.86.0.20", "108.86.0.20", "east"),
        Fetch(BENCH[1], AT.replace(microsecond=0), "a" * 46, "u" * 300, "f" * 70, "west"),
        Fetch(BENCH[2], plus_two, "", "", "", ""),
        Fetch(BENCH[3], AT, None, None, None, None),
        Fetch(BENCH[4], AT, "2001:db8::1", "Poly ☎ VVX 😀", "ünïcode", "south"),
        Fetch(OTHER[4], AT, "x" * 45, "y" * 255, "z" * 64, "south"),
        Fetch(OTHER[5], AT, "12345", "0", "1.5", "nowhere"),
        Fetch(UNKNOWN[0], AT, "192.0.2.99", "ghost", "1", "east"),
    ]
    record_fetches(estate, fetches)
    stored = _stored(estate)
    at = _stored_time(estate, AT)
    ua = "Yealink SIP-T46U 108.86.0.20"
    assert stored[BENCH[0]] == (at, "192.0.2.10", ua, "108.86.0.20", "bench", "east")
    assert stored[OTHER[0]] == (at, "192.0.2.11", ua, "108.86.0.20", "other", "east")
    assert stored[BENCH[1]] == (
        _stored_time(estate, AT.replace(microsecond=0)),
        "a" * 45,
        "u" * 255,
        "f" * 64,
        "bench",
        "west",
    )
    assert stored[BENCH[2]] == (_stored_time(estate, plus_two), None, None, None, None, None)
    assert stored[BENCH[3]] == (at, None, None, None, None, None)
    # a zone name the device's cluster lacks (only "other" has "south"): no zone
    assert stored[BENCH[4]] == (at, "2001:db8::1", "Poly ☎ VVX 😀", "ünïcode", None, None)
    assert stored[OTHER[4]] == (at, "x" * 45, "y" * 255, "z" * 64, "other", "south")
    assert stored[OTHER[5]] == (at, "12345", "0", "1.5", None, None)
    if estate.engine.dialect.name == "sqlite":
        assert _stored_time(estate, AT) == "2026-03-04 05:06:07.890123"
        assert _stored_time(estate, plus_two) == "2026-03-04 07:06:07.000005"
        with estate.engine.connect() as connection:
            kinds = connection.exec_driver_sql(
                "SELECT typeof(last_seen_at), typeof(last_address), typeof(last_user_agent), "
                "typeof(last_firmware) FROM devices WHERE mac = ?",
                (OTHER[5],),
            ).one()
        assert tuple(kinds) == ("text", "text", "text", "text")
    # the ids themselves, not just the names
    with estate.engine.connect() as connection:
        located = dict(
            connection.execute(
                select(models.Device.mac, models.Device.located_zone_id).where(
                    models.Device.mac.in_([BENCH[0], OTHER[0], OTHER[4]])
                )
            ).all()
        )
    assert located == {
        BENCH[0]: zone["bench", "east"],
        OTHER[0]: zone["other", "east"],
        OTHER[4]: zone["other", "south"],
    }
    # the ORM reads the time back as the same instant
    with estate.read() as session:
        device = session.scalar(select(models.Device).where(models.Device.mac == BENCH[0]))
        assert device is not None and device.last_seen_at is not None
        assert device.last_seen_at.replace(tzinfo=UTC) == AT
    # nothing else was touched, and no device appeared
    untouched = (None, None, None, None, None, None)
    touched = {f.mac for f in fetches}
    assert all(stored[mac] == untouched for mac in stored if mac not in touched)
    assert UNKNOWN[0] not in stored and len(stored) == 2 * PER_CLUSTER


def test_a_later_fetch_overwrites_every_column(estate: Database) -> None:
    record_fetches(estate, [Fetch(BENCH[7], AT, "192.0.2.1", "ua", "fw", "central")])
    later = AT + timedelta(minutes=5)
    record_fetches(estate, [Fetch(BENCH[7], later, None, None, None, None)])
    assert _stored(estate)[BENCH[7]] == (_stored_time(estate, later), None, None, None, None, None)
    record_fetches(estate, [Fetch(BENCH[7], later, "192.0.2.2", "ua2", "fw2", "west")])
    assert _stored(estate)[BENCH[7]] == (
        _stored_time(estate, later),
        "192.0.2.2",
        "ua2",
        "fw2",
        "bench",
        "west",
    )


def test_the_last_fetch_of_a_mac_in_a_batch_wins(estate: Database) -> None:
    early, late = AT, AT + timedelta(seconds=30)
    record_fetches(
        estate,
        [
            Fetch(BENCH[9], late, "192.0.2.1", "first", "1", "east"),
            Fetch(OTHER[9], early, "192.0.2.5", "other", "5", "west"),
            Fetch(BENCH[9], early, "192.0.2.2", "second", "2", "west"),
        ],
    )
    stored = _stored(estate)
    at = _stored_time(estate, early)
    assert stored[BENCH[9]] == (at, "192.0.2.2", "second", "2", "bench", "west")
    assert stored[OTHER[9]] == (at, "192.0.2.5", "other", "5", "other", "west")


def test_nothing_to_record(estate: Database) -> None:
    before = _stored(estate)
    record_fetches(estate, [])
    record_fetches(estate, [Fetch(UNKNOWN[1], AT, "192.0.2.1", "ua", "fw", "east")])
    assert _stored(estate) == before


# The statement record_fetches ran before it was made cheaper: SQLAlchemy's executemany of
# one UPDATE per fetch with the located zone as a correlated subquery. What it stores is
# what record_fetches must store.
_DEVICES = models.Device.__table__
_REFERENCE = (
    update(_DEVICES)
    .where(_DEVICES.c.mac == bindparam("b_mac"))
    .values(
        last_seen_at=bindparam("b_at"),
        last_address=bindparam("b_address"),
        last_user_agent=bindparam("b_user_agent"),
        last_firmware=bindparam("b_firmware"),
        located_zone_id=(
            select(models.Zone.id)
            .join(models.Account, models.Account.cluster_id == models.Zone.cluster_id)
            .where(
                models.Account.id == _DEVICES.c.account_id,
                models.Zone.name == bindparam("b_zone"),
            )
            .scalar_subquery()
        ),
    )
)


def _reference(database: Database, fetches: Sequence[Fetch]) -> None:
    rows = [
        {
            "b_mac": f.mac,
            "b_at": f.at,
            "b_address": (f.address or None) and f.address[:45],
            "b_user_agent": (f.user_agent or None) and f.user_agent[:255],
            "b_firmware": (f.firmware or None) and f.firmware[:64],
            "b_zone": f.zone,
        }
        for f in fetches
    ]
    with database.write_connection() as connection:
        connection.execute(_REFERENCE, rows)


def _random_batch(rng: random.Random, size: int, start: datetime) -> list[Fetch]:
    macs = rng.sample(BENCH + OTHER + UNKNOWN, size)
    macs += rng.sample(macs, size // 20)  # some MACs twice: the later fetch wins
    texts: list[str | None] = [None, "", "a", "192.0.2.7", "ü" * 50, "b" * 300]
    zones = [None, "", "east", "central", "west", "south", "nowhere"]
    return [
        Fetch(
            mac,
            start + timedelta(microseconds=rng.randrange(10**9)),
            rng.choice([*texts, f"198.51.100.{index % 256}"]),
            rng.choice([*texts, f"Yealink SIP-T46U 108.86.0.{index}"]),
            rng.choice([*texts, f"108.86.0.{index}"]),
            rng.choice(zones),
        )
        for index, mac in enumerate(macs)
    ]


@pytest.mark.parametrize("sizes", [[1], [1, 1, 2], [100, 3], [2000]], ids=str)
def test_the_same_rows_as_the_plain_update(
    estate: Database, another_database: Callable[[], Database], sizes: list[int]
) -> None:
    reference = _load(another_database())
    rng = random.Random(sum(sizes))
    start = AT
    for size in sizes:
        batch = _random_batch(rng, size, start)
        record_fetches(estate, batch)
        _reference(reference, batch)
        start += timedelta(hours=1)
    stored = _stored(estate)
    assert stored == _stored(reference)
    assert sum(row[0] is not None for row in stored.values()) >= max(sizes) * 0.9


def test_odd_batches_store_the_same_rows_as_the_plain_update(
    estate: Database, another_database: Callable[[], Database]
) -> None:
    """Naive times, naive and aware times in one batch, and (SQLite, which keeps them) NUL
    characters: still the rows the plain UPDATE leaves."""
    reference = _load(another_database())
    naive = AT.replace(tzinfo=None)
    batches = [
        [Fetch(BENCH[20], naive, "192.0.2.1", "ua", "fw", "east")],
        [
            Fetch(BENCH[21], naive, "192.0.2.2", "ua", "fw", "west"),
            Fetch(OTHER[21], AT, "192.0.2.3", "ua", "fw", "south"),
        ],
    ]
    if estate.engine.dialect.name == "sqlite":
        batches.append(
            [
                Fetch(BENCH[22], AT, "192.0.2.4", "nul\x00inside", "\x00", "east"),
                Fetch(OTHER[22], AT, "192.0.2.5", "back\\u0000slash", "fw", "east"),
            ]
        )
    for batch in batches:
        record_fetches(estate, batch)
        _reference(reference, batch)
    stored = _stored(estate)
    assert stored == _stored(reference)
    assert stored[BENCH[21]][1:] == ("192.0.2.2", "ua", "fw", "bench", "west")
    if estate.engine.dialect.name == "sqlite":
        assert stored[BENCH[22]][2:4] == ("nul\x00inside", "\x00")
        assert stored[OTHER[22]][2] == "back\\u0000slash"
